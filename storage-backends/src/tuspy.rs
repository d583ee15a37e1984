use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::atomic_file;
use crate::file_lock::{LockOptions, LockWait};
use crate::group_commit::{GroupCommit, StoreFile};
use crate::tinydb::TinyDb;
use crate::{Storage, StorageError, UploadRecord};

/// tuspy's URL store: the TinyDB JSON file that tuspy's `FileStorage(path)` reads and writes.
///
/// Lets tusky resume uploads that tuspy started and the other way round (with
/// `Md5Fingerprint`, whose keys are tuspy's). The file is
/// `{"_default": {"1": {"key": "size:11--md5:…", "url": "https://…"}, "2": {…}}}`.
///
/// - **Only the URL is kept**: tuspy's documents have no room for more, so `set` stores
///   `record.url` and `get`/`list` return records whose other fields are `None`/empty.
/// - `get` returns the URL of the first document (lowest id) with the key, as tuspy's
///   `get_item`; `set` updates the URL of every document with the key, or inserts
///   `{"key", "url"}` under the next id (largest integer id + 1, as a string), as tuspy's
///   `set_item`; `remove` deletes every document with the key; `list` gives each key once,
///   sorted.
/// - Other tables, other fields and documents of other shapes are kept as they are. The file is
///   written the way TinyDB writes it (`json.dumps` defaults: ASCII only, `", "`/`": "`
///   separators, no trailing newline).
/// - Missing or empty file: an empty store (TinyDB's own convention); created, with its parent
///   directories, by the first `set`.
/// - Writes take the same sidecar `<path>.lock` and atomic replace as `JsonFileStorage`, so
///   tusky processes sharing the file never lose records. **tuspy itself does not take that
///   lock**: a tuspy process writing the file at the same moment can still lose a record.
///   The lock is waited for with a deadline ([`lock_timeout`], [`on_lock_wait`]), the files
///   tusky creates are private (0600, directories 0700, on Unix), a symbolic link is
///   written through, and writes that come at once through one handle are made together in
///   one rewrite, all as for `JsonFileStorage`.
/// - Files that are not TinyDB documents give [`StorageError::Corrupt`] and are never written.
///
/// All file I/O runs on tokio's blocking pool, except in [`open`], which reads the file once
/// on the calling thread.
///
/// [`open`]: TuspyFileStorage::open
/// [`lock_timeout`]: TuspyFileStorage::lock_timeout
/// [`on_lock_wait`]: TuspyFileStorage::on_lock_wait
///
/// ```
/// use tusky_storage::{Storage, TuspyFileStorage, UploadRecord};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("tuspy-urls.json");
/// // A file as tuspy 1.1.0 writes it.
/// std::fs::write(&path, r#"{"_default": {"1": {"key": "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3", "url": "http://localhost:1080/files/abc"}}}"#)?;
///
/// let store = TuspyFileStorage::open(&path)?;
/// let record = store.get("size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3").await?;
/// assert_eq!(record, Some(UploadRecord::new("http://localhost:1080/files/abc")));
///
/// store.set("size:0--md5:d41d8cd98f00b204e9800998ecf8427e",
///           UploadRecord::new("http://localhost:1080/files/def")).await?;
/// assert!(std::fs::read_to_string(&path)?.contains(r#""2": {"key": "size:0--md5:"#));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TuspyFileStorage {
    path: Arc<Path>,
    /// Its writes (and its clones'), made together when they come at once.
    writes: GroupCommit<TinyDb>,
}

impl TuspyFileStorage {
    /// The tuspy store kept in the file at `path`.
    ///
    /// Synchronous: reads the file once, if it exists, to refuse a file that is not a TinyDB
    /// document early ([`StorageError::Corrupt`]). Creates nothing.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let path: Arc<Path> = Arc::from(path.into());
        let bytes = atomic_file::read_if_exists(&path)?;
        TinyDb::parse(&path, bytes.as_deref())?;
        Ok(Self {
            writes: GroupCommit::new(Arc::clone(&path), LockOptions::default()),
            path,
        })
    }

    /// How long a write waits for another tusky writer's lock before it fails with
    /// [`StorageError::LockTimeout`] (default 30 s; zero: do not wait).
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        let mut lock = self.writes.lock().clone();
        lock.timeout = timeout;
        self.writes = self.writes.with_lock(lock);
        self
    }

    /// Calls `callback` (on a blocking thread) when a write finds the lock held and starts
    /// waiting for it, once per waiting write.
    #[must_use]
    pub fn on_lock_wait(mut self, callback: impl Fn(&LockWait) + Send + Sync + 'static) -> Self {
        let mut lock = self.writes.lock().clone();
        lock.on_wait = Some(Arc::new(callback));
        self.writes = self.writes.with_lock(lock);
        self
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&TinyDb) -> T + Send + 'static,
    ) -> Result<T, StorageError> {
        let path = Arc::clone(&self.path);
        atomic_file::run_blocking(move |_| {
            let bytes = atomic_file::read_if_exists(&path)?;
            Ok(query(&TinyDb::parse(&path, bytes.as_deref())?))
        })
        .await
    }

    /// Applies `edit` in the next write of the file (with any other edits made meanwhile
    /// through this handle); writes only when one reports a change.
    async fn update(
        &self,
        edit: impl FnOnce(&mut TinyDb) -> bool + Send + 'static,
    ) -> Result<(), StorageError> {
        self.writes.apply(Box::new(edit)).await
    }
}

#[async_trait]
impl Storage for TuspyFileStorage {
    /// tuspy finds records by fingerprint alone, so tusky keeps them that way here.
    fn keys_include_server(&self) -> bool {
        false
    }

    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
        let key = key.to_owned();
        self.read(move |db| db.get(&key).map(UploadRecord::new))
            .await
    }

    /// Stores `record.url` only; tuspy's format has no place for the other fields.
    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
        let key = key.to_owned();
        self.update(move |db| db.set(&key, &record.url)).await
    }

    async fn remove(&self, key: &str) -> Result<(), StorageError> {
        let key = key.to_owned();
        self.update(move |db| db.remove(&key)).await
    }

    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        self.read(|db| {
            db.list()
                .into_iter()
                .map(|(key, url)| (key, UploadRecord::new(url)))
                .collect()
        })
        .await
    }
}

/// Whether `bytes` look like a tuspy (TinyDB) URL store rather than a tusky one, so that a
/// command line can accept either kind of file for one option.
///
/// True when `bytes` are a JSON object every value of which is a TinyDB table: an object whose
/// keys are integer document ids and whose values are objects. That includes `{}` (a TinyDB
/// file with no tables). False for empty bytes (a new file can be either kind; TinyDB creates
/// one empty), for tusky's own `JsonFileStorage` files, and for anything else.
///
/// ```
/// use tusky_storage::detect_tuspy_store;
///
/// assert!(detect_tuspy_store(br#"{"_default": {"1": {"key": "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3", "url": "http://localhost/files/1"}}}"#));
/// assert!(detect_tuspy_store(br#"{"_default": {}}"#));
/// assert!(!detect_tuspy_store(br#"{"format": "tusky-url-store", "version": 1, "uploads": {}}"#));
/// assert!(!detect_tuspy_store(b""));
/// ```
pub fn detect_tuspy_store(bytes: &[u8]) -> bool {
    let Ok(Value::Object(tables)) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    tables.values().all(|table| match table {
        Value::Object(docs) => docs
            .iter()
            .all(|(id, doc)| id.parse::<u64>().is_ok() && doc.is_object()),
        _ => false,
    })
}

impl StoreFile for TinyDb {
    fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<Self, StorageError> {
        TinyDb::parse(path, bytes)
    }

    fn into_bytes(self) -> Result<Vec<u8>, StorageError> {
        self.to_bytes()
    }
}
