//! A custom URL store: implementing [`Storage`] for your own backend, checking it with the
//! conformance suite, and resuming an upload through it.
//!
//! What it shows: the four methods of the [`Storage`] trait (`get`, `set`, `remove`, `list`),
//! implemented over a map shared between handles, `Arc<Mutex<HashMap<String, UploadRecord>>>`.
//! It is written the way a networked backend (Redis, say) would be: every handle is a cheap
//! clone talking to the same data, records are copied in and out (never borrowed), the lock is
//! never held across an `.await`, and each method says in a comment which Redis command it
//! would be. Then `tusky_storage::conformance::run_all` (crate `tusky-storage`, feature
//! `conformance`) runs the suite every built-in backend passes, and an upload interrupted
//! half-way is resumed by a second uploader through the same store.
//!
//! It uploads to the bundled mock tus server on 127.0.0.1 and checks the result, so it doubles
//! as a test:
//!
//! ```sh
//! cargo run --example custom_storage --features mock-server
//! ```
//!
//! In your own crate: depend on `async-trait`, and on `tusky-storage` with
//! `features = ["conformance"]` in `[dev-dependencies]` for the suite.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tusky::mock::{sample_bytes, TusMockServer};
use tusky::storage::{Storage, StorageError, UploadRecord};

/// Upload records in a map that every clone shares.
///
/// With Redis, this struct would hold a connection manager (cheap to clone, shared) and a hash
/// name such as `"tusky:uploads"`; each record would be one field of that hash, serialized as
/// JSON (`UploadRecord` implements serde's traits when `tusky-storage` has the `json` or `redb`
/// feature).
#[derive(Debug, Clone, Default)]
struct SharedMapStorage {
    map: Arc<Mutex<HashMap<String, UploadRecord>>>,
}

impl SharedMapStorage {
    fn new() -> Self {
        Self::default()
    }

    /// The map, locked for one short, synchronous operation.
    ///
    /// A poisoned lock (a thread panicked while holding it) is reported as a backend error,
    /// just as a Redis client reports a broken connection: as `StorageError::Backend`, which
    /// the uploader passes on as `tusky::Error::Storage`.
    fn map(&self) -> Result<MutexGuard<'_, HashMap<String, UploadRecord>>, StorageError> {
        self.map
            .lock()
            .map_err(|_| StorageError::Backend("the shared map's lock is poisoned".into()))
    }
}

#[async_trait]
impl Storage for SharedMapStorage {
    /// Redis: `HGET tusky:uploads <key>`, then deserialize the JSON.
    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
        Ok(self.map()?.get(key).cloned())
    }

    /// Redis: `HSET tusky:uploads <key> <record as JSON>` (replaces an earlier record).
    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
        self.map()?.insert(key.to_owned(), record);
        Ok(())
    }

    /// Redis: `HDEL tusky:uploads <key>` (deleting a missing field is not an error there either).
    async fn remove(&self, key: &str) -> Result<(), StorageError> {
        self.map()?.remove(key);
        Ok(())
    }

    /// Redis: `HGETALL tusky:uploads`. The trait wants the records sorted by key, and neither
    /// a hash map nor Redis returns them in order, so sort here.
    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        let mut records: Vec<_> = self
            .map()?
            .iter()
            .map(|(key, record)| (key.clone(), record.clone()))
            .collect();
        records.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(records)
    }
}

const SIZE: usize = 300_000;
const CHUNK: u64 = 50_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The conformance suite: every scenario on a fresh, empty store. It panics, naming the
    //    scenario, if the store misbehaves. (In your crate, put this in a #[tokio::test].)
    tusky_storage::conformance::run_all(|_scenario| async { SharedMapStorage::new() }).await;
    println!(
        "conformance: SharedMapStorage passes all {} scenarios ({})",
        tusky_storage::conformance::SCENARIOS.len(),
        tusky_storage::conformance::SCENARIOS.join(", ")
    );

    // 2. An upload that resumes through it.
    let server = TusMockServer::start().await;
    let client = tusky::Client::new(server.endpoint())?;
    let store = SharedMapStorage::new();
    let content = sample_bytes(SIZE, 0);

    // The first uploader stops at 40% (tuspy's `upload(stop_at=...)`): its record stays.
    // The storage is moved into the uploader; giving it a clone keeps a handle here.
    let uploader = || {
        client
            .uploader()
            .reader(Cursor::new(content.clone()))
            .source_name("dataset.csv")
            .chunk_size(CHUNK)
            .storage(store.clone())
            .build()
    };
    let mut first = uploader()?;
    let partial = first.upload_until(120_000).await?;
    println!(
        "first uploader: stopped at {} of {SIZE} bytes",
        partial.offset
    );

    let records = store.list().await?;
    assert_eq!(records.len(), 1);
    let (key, record) = &records[0];
    assert_eq!(Some(key.as_str()), first.fingerprint_key());
    assert_eq!(record.url, partial.url.as_str());
    assert_eq!(record.size, Some(SIZE as u64));
    println!(
        "store: {key} -> {} (size {:?}, source {:?})",
        record.url, record.size, record.source
    );

    // The second uploader (another task, another process with Redis) finds the record.
    let mut second = uploader()?;
    let summary = second.upload().await?;
    println!(
        "second uploader: resumed from {:?}, sent {} bytes, done at {}",
        summary.resumed_from, summary.bytes_uploaded, summary.url
    );

    assert_eq!(summary.url, partial.url);
    assert_eq!(summary.resumed_from, Some(partial.offset));
    assert_eq!(server.upload_bytes(summary.url.as_str()), Some(content));
    assert!(
        store.list().await?.is_empty(),
        "a finished upload is forgotten"
    );
    println!("verified: the server holds exactly the data; the store is empty again");
    Ok(())
}
