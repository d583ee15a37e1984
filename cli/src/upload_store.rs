//! The URL store as one `tusky upload` uses it: every operation gives way to Ctrl-C, and the
//! command knows afterwards whether its record is really on disk, so that it never says "the
//! upload URL is kept" when it is not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tusky::storage::{Storage, StorageError, UploadRecord};
use tusky::CancellationToken;

/// A store that stops any operation when `cancel` fires ([`StorageError::Cancelled`]) and
/// remembers the records this upload has seen stored.
///
/// Cancelling drops the inner operation: a `JsonFileStorage` write still waiting for the lock
/// then stops waiting and writes nothing; a write already under way completes or not at all.
pub struct UploadStore {
    inner: Arc<dyn Storage>,
    cancel: CancellationToken,
    /// Key → the record the store held as of the last operation that succeeded on that key.
    held: Mutex<HashMap<String, UploadRecord>>,
}

impl UploadStore {
    /// `inner`, cancelled by `cancel`.
    pub fn new(inner: Arc<dyn Storage>, cancel: CancellationToken) -> Self {
        Self {
            inner,
            cancel,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the store holds a record for the upload at `url` (any record when `None`), as
    /// far as the operations through this store have seen.
    pub fn keeps(&self, url: Option<&str>) -> bool {
        self.held().values().any(|record| match url {
            None => true,
            Some(url) => record.url == url || record.partial_urls.iter().any(|p| p == url),
        })
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, UploadRecord>> {
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `operation` unless `cancel` fires first.
    async fn or_cancelled<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        if self.cancel.is_cancelled() {
            return Err(StorageError::Cancelled);
        }
        tokio::select! {
            result = operation => result,
            () = self.cancel.cancelled() => Err(StorageError::Cancelled),
        }
    }
}

#[async_trait::async_trait]
impl Storage for UploadStore {
    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
        let found = self.or_cancelled(self.inner.get(key)).await?;
        match &found {
            Some(record) => self.held().insert(key.to_owned(), record.clone()),
            None => self.held().remove(key),
        };
        Ok(found)
    }

    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
        self.or_cancelled(self.inner.set(key, record.clone()))
            .await?;
        self.held().insert(key.to_owned(), record);
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), StorageError> {
        self.or_cancelled(self.inner.remove(key)).await?;
        self.held().remove(key);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        self.or_cancelled(self.inner.list()).await
    }
    fn keys_include_server(&self) -> bool {
        self.inner.keys_include_server()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tusky::storage::MemoryStorage;

    use super::*;

    /// A store whose writes never finish, as one whose lock is held by a stopped process.
    struct Stuck;

    #[async_trait::async_trait]
    impl Storage for Stuck {
        async fn get(&self, _: &str) -> Result<Option<UploadRecord>, StorageError> {
            Ok(None)
        }
        async fn set(&self, _: &str, _: UploadRecord) -> Result<(), StorageError> {
            std::future::pending().await
        }
        async fn remove(&self, _: &str) -> Result<(), StorageError> {
            std::future::pending().await
        }
        async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn a_stuck_write_gives_way_to_cancel_and_is_not_counted_as_kept() {
        let cancel = CancellationToken::new();
        let store = UploadStore::new(Arc::new(Stuck), cancel.clone());
        let write = store.set("k", UploadRecord::new("https://t/1"));
        cancel.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), write).await;
        assert!(
            matches!(result, Ok(Err(StorageError::Cancelled))),
            "{result:?}"
        );
        assert!(!store.keeps(Some("https://t/1")));
        assert!(!store.keeps(None));
    }

    #[tokio::test]
    async fn it_knows_what_was_written_found_and_removed() {
        let store = UploadStore::new(Arc::new(MemoryStorage::new()), CancellationToken::new());
        store
            .set("k", UploadRecord::new("https://t/1"))
            .await
            .unwrap();
        assert!(store.keeps(Some("https://t/1")));
        assert!(!store.keeps(Some("https://t/2")));
        store.remove("k").await.unwrap();
        assert!(!store.keeps(None));

        let inner = Arc::new(MemoryStorage::new());
        inner
            .set("k", UploadRecord::new("https://t/3"))
            .await
            .unwrap();
        let store = UploadStore::new(inner, CancellationToken::new());
        assert!(store.get("k").await.unwrap().is_some());
        assert!(store.keeps(Some("https://t/3")));
    }
}
