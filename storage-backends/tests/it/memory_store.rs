//! MemoryStorage against the conformance suite, directly and through the forwarding impls.
#![cfg(feature = "conformance")]

use std::sync::Arc;

use tusky_storage::conformance::{self, Fidelity};
use tusky_storage::{MemoryStorage, Storage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_passes_conformance() {
    conformance::run_all(|_| async { MemoryStorage::new() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boxed_and_shared_stores_pass_conformance() {
    conformance::run_all(|_| async { Box::new(MemoryStorage::new()) as Box<dyn Storage> }).await;
    conformance::run_all(|_| async { Arc::new(MemoryStorage::new()) }).await;
}

#[tokio::test]
async fn url_only_mode_notices_extra_fields_and_record_free_scenarios_take_dyn() {
    // A full-fidelity store does not pass in url-only mode (it returns more than the URL)...
    let full = tokio::spawn(async {
        conformance::round_trips_every_field(&MemoryStorage::new(), Fidelity::UrlOnly).await
    })
    .await;
    assert!(
        full.is_err(),
        "url-only comparison must notice the extra fields"
    );
    // ...and scenarios that compare no records pass either way, through a `&dyn Storage`.
    let store = MemoryStorage::new();
    let dyn_store: &dyn Storage = &store;
    conformance::get_missing_is_none(dyn_store).await;
    conformance::remove_missing_is_ok(&dyn_store).await;
}

#[tokio::test]
async fn a_broken_backend_fails_with_the_scenario_name() {
    /// Forgets everything it is told.
    struct Forgetful;
    #[async_trait::async_trait]
    impl Storage for Forgetful {
        async fn get(
            &self,
            _: &str,
        ) -> Result<Option<tusky_storage::UploadRecord>, tusky_storage::StorageError> {
            Ok(None)
        }
        async fn set(
            &self,
            _: &str,
            _: tusky_storage::UploadRecord,
        ) -> Result<(), tusky_storage::StorageError> {
            Ok(())
        }
        async fn remove(&self, _: &str) -> Result<(), tusky_storage::StorageError> {
            Ok(())
        }
        async fn list(
            &self,
        ) -> Result<Vec<(String, tusky_storage::UploadRecord)>, tusky_storage::StorageError>
        {
            Ok(Vec::new())
        }
    }
    let outcome = tokio::spawn(conformance::run_all(|_| async { Forgetful })).await;
    let panic = match outcome {
        Err(err) if err.is_panic() => err.into_panic(),
        other => panic!("a forgetful store passed the suite: {other:?}"),
    };
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("round_trips_every_field"),
        "message should name the scenario: {message}"
    );
}
