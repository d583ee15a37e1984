use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize as _;
use serde_json::{Map, Value};

use crate::atomic_file;
use crate::file_lock::{LockOptions, LockWait};
use crate::group_commit::{GroupCommit, StoreFile};
use crate::{Storage, StorageError, UploadRecord};

/// The `format` field that marks a tusky URL store.
const FORMAT: &str = "tusky-url-store";
/// The newest format version this code reads and the one it writes.
const VERSION: u64 = 1;

/// Upload records in one JSON file, safe to share between processes.
///
/// The file looks like
/// `{"format": "tusky-url-store", "version": 1, "uploads": {"<key>": {"url": "...", ...}}}`.
///
/// - **Missing file**: an empty store; the file (and its parent directories) is created by the
///   first `set`. An empty (0-byte) file is also an empty store.
/// - **Writes** (`set`, `remove`) re-read the file under an exclusive lock of the sidecar file
///   `<path>.lock`, apply the one change, write `<path>.tusky-tmp`, fsync it, rename it over
///   the store and fsync the directory. Two processes (or two `JsonFileStorage` values) on one
///   file therefore never lose each other's records, and a crash leaves the old or the new
///   file, never a torn one (at worst a stale `<path>.tusky-tmp`, which the next write
///   replaces). The lock file is left in place on purpose.
/// - **Writes that come at once are made together**: a `set` or `remove` made through a handle
///   (or its clones) while another of its writes is under way waits for that one, then goes
///   out with every other change that came meanwhile, in one rewrite (applied in the order
///   they came). Each call returns when the write carrying its change is done (and fails if
///   that write fails), so uploads running side by side pay for one write (two fsyncs) per
///   round instead of one each.
/// - **The lock is waited for with a deadline**: [`DEFAULT_LOCK_TIMEOUT`] (30 s), or
///   [`lock_timeout`]. A write that waits longer fails with [`StorageError::LockTimeout`],
///   which names the holder's process id (a writer keeps its pid in the lock file while it
///   holds the lock); [`on_lock_wait`] is told when a write starts waiting. Dropping the future
///   of a waiting `set` or `remove` stops the wait: nothing is written.
/// - **Private files** (Unix): parent directories the store creates are 0700, the store and its
///   lock file 0600. The temporary file is 0600 before any byte goes in, and a rewrite never
///   widens the store's permissions (it narrows them to at most 0600, so a store written by an
///   older version with 0644 becomes 0600).
/// - **A symbolic link** is written through: the new version is written beside the link's
///   target and renamed over it (with the lock file beside the target too), so the link stays.
/// - **Reads** (`get`, `list`) take no lock: they see the last completed write.
/// - **Foreign files** (not JSON, another program's JSON, a tuspy/TinyDB store, or a newer format
///   version) give [`StorageError::Corrupt`] naming the path, and are never written to.
/// - Fields and records this version does not know are kept as they are when another record
///   is written.
///
/// All file I/O runs on tokio's blocking pool (`spawn_blocking`), except in [`open`], which
/// reads the file once on the calling thread.
///
/// [`open`]: JsonFileStorage::open
/// [`lock_timeout`]: JsonFileStorage::lock_timeout
/// [`on_lock_wait`]: JsonFileStorage::on_lock_wait
/// [`DEFAULT_LOCK_TIMEOUT`]: crate::DEFAULT_LOCK_TIMEOUT
///
/// ```
/// use tusky_storage::{JsonFileStorage, Storage, UploadRecord};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let store = JsonFileStorage::open(dir.path().join("uploads.json"))?;
/// store.set("size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3",
///           UploadRecord::new("https://tus.example/files/1").with_size(11)).await?;
///
/// // Another handle (or another process) on the same file sees the record.
/// let again = JsonFileStorage::open(store.path())?;
/// let record = again.get("size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3").await?;
/// assert_eq!(record.map(|r| r.url), Some("https://tus.example/files/1".to_owned()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct JsonFileStorage {
    path: Arc<Path>,
    /// Its writes (and its clones'), made together when they come at once.
    writes: GroupCommit<Document>,
}

impl JsonFileStorage {
    /// A store kept in the file at `path`.
    ///
    /// Synchronous: reads the file once, if it exists, to refuse a foreign or corrupt file
    /// early ([`StorageError::Corrupt`]) and to report an unreadable one
    /// ([`StorageError::Io`]). Creates nothing; the first write creates the file.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let path: Arc<Path> = Arc::from(path.into());
        let bytes = atomic_file::read_if_exists(&path)?;
        Document::parse(&path, bytes.as_deref())?;
        Ok(Self {
            writes: GroupCommit::new(Arc::clone(&path), LockOptions::default()),
            path,
        })
    }

    /// How long a write waits for another writer's lock before it fails with
    /// [`StorageError::LockTimeout`] (default [`DEFAULT_LOCK_TIMEOUT`](crate::DEFAULT_LOCK_TIMEOUT),
    /// 30 s; zero: do not wait).
    ///
    /// ```
    /// # fn main() -> Result<(), tusky_storage::StorageError> {
    /// let store = tusky_storage::JsonFileStorage::open("uploads.json")?
    ///     .lock_timeout(std::time::Duration::from_secs(5));
    /// # let _ = store; Ok(()) }
    /// ```
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        let mut lock = self.writes.lock().clone();
        lock.timeout = timeout;
        self.writes = self.writes.with_lock(lock);
        self
    }

    /// Calls `callback` (on a blocking thread) when a write finds the lock held and starts
    /// waiting for it, once per waiting write: to tell a user who holds the store.
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

    async fn read(&self) -> Result<Document, StorageError> {
        let path = Arc::clone(&self.path);
        atomic_file::run_blocking(move |_| {
            let bytes = atomic_file::read_if_exists(&path)?;
            Document::parse(&path, bytes.as_deref())
        })
        .await
    }

    /// Applies `edit` to the uploads in the next write of the file (with any other edits
    /// made meanwhile through this handle); writes only when something changed.
    async fn update(
        &self,
        edit: impl FnOnce(&mut Map<String, Value>) -> bool + Send + 'static,
    ) -> Result<(), StorageError> {
        self.writes
            .apply(Box::new(move |document: &mut Document| {
                edit(&mut document.uploads)
            }))
            .await
    }
}

#[async_trait]
impl Storage for JsonFileStorage {
    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
        Ok(self.read().await?.records.remove(key))
    }

    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
        let value =
            serde_json::to_value(&record).map_err(|err| StorageError::Backend(Box::new(err)))?;
        let key = key.to_owned();
        self.update(move |uploads| uploads.insert(key, value.clone()).as_ref() != Some(&value))
            .await
    }

    async fn remove(&self, key: &str) -> Result<(), StorageError> {
        let key = key.to_owned();
        self.update(move |uploads| uploads.remove(&key).is_some())
            .await
    }

    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        Ok(self.read().await?.records.into_iter().collect())
    }
}

/// A validated store file: the JSON as read (to write back what this version does not know)
/// and its records.
struct Document {
    /// Every top-level field but `uploads`, kept as read.
    rest: Map<String, Value>,
    /// The `uploads` object, kept as read (unknown record fields included).
    uploads: Map<String, Value>,
    /// `uploads`, parsed.
    records: BTreeMap<String, UploadRecord>,
}

impl StoreFile for Document {
    fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<Self, StorageError> {
        Document::parse(path, bytes)
    }

    fn into_bytes(self) -> Result<Vec<u8>, StorageError> {
        Document::into_bytes(self)
    }
}

impl Document {
    /// Parses and validates a store file; `None` (missing) or empty bytes give an empty store.
    fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<Self, StorageError> {
        let corrupt = |reason: String| StorageError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let bytes = match bytes {
            None | Some([]) => return Ok(Self::empty()),
            Some(bytes) => bytes,
        };
        let mut rest = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(root)) => root,
            Ok(_) => return Err(corrupt("the top level is not a JSON object".into())),
            Err(err) => return Err(corrupt(format!("not valid JSON: {err}"))),
        };
        match rest.get("format") {
            Some(Value::String(format)) if format == FORMAT => {}
            Some(other) => {
                return Err(corrupt(format!("its format is {other}, not \"{FORMAT}\"")));
            }
            None if rest.contains_key("_default") => {
                return Err(corrupt(
                    "it looks like a tuspy (TinyDB) URL store; open it with TuspyFileStorage"
                        .into(),
                ));
            }
            None => return Err(corrupt(format!("it has no \"format\": \"{FORMAT}\" field"))),
        }
        match rest.get("version") {
            Some(version) if version.as_u64() == Some(VERSION) => {}
            Some(version) if version.as_u64().is_some_and(|v| v > VERSION) => {
                return Err(corrupt(format!(
                    "format version {version} was written by a newer tusky; this one reads \
                     version {VERSION}"
                )));
            }
            Some(version) => return Err(corrupt(format!("unsupported format version {version}"))),
            None => return Err(corrupt("it has no format version".into())),
        }
        let uploads = match rest.remove("uploads") {
            Some(Value::Object(uploads)) => uploads,
            _ => return Err(corrupt("\"uploads\" is missing or not an object".into())),
        };
        let mut records = BTreeMap::new();
        for (key, value) in &uploads {
            let record = UploadRecord::deserialize(value)
                .map_err(|err| corrupt(format!("the record under {key:?} is invalid: {err}")))?;
            records.insert(key.clone(), record);
        }
        Ok(Self {
            rest,
            uploads,
            records,
        })
    }

    fn empty() -> Self {
        let mut rest = Map::new();
        rest.insert("format".into(), FORMAT.into());
        rest.insert("version".into(), VERSION.into());
        Self {
            rest,
            uploads: Map::new(),
            records: BTreeMap::new(),
        }
    }

    fn into_bytes(self) -> Result<Vec<u8>, StorageError> {
        let mut root = self.rest;
        root.insert("uploads".into(), Value::Object(self.uploads));
        let mut bytes =
            serde_json::to_vec_pretty(&root).map_err(|err| StorageError::Backend(Box::new(err)))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
