use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{versioned, Storage, StorageError, UploadRecord};
use async_trait::async_trait;
use redb::{Database, TableDefinition};

/// The table's keys: fingerprint keys.
type Key = &'static str;
/// The table's values: encoded records.
type Value = &'static [u8];

/// The one table: fingerprint key → the record as versioned JSON ([`versioned`](crate::versioned)).
const UPLOADS: TableDefinition<Key, Value> = TableDefinition::new("tusky_uploads");

/// The first bytes of every redb file (redb's header magic number).
const REDB_MAGIC: [u8; 9] = [b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];

/// Upload records in a [redb](https://docs.rs/redb) embedded database file.
///
/// One table, `tusky_uploads`, maps each key to the record encoded as JSON inside a versioned
/// wrapper (`{"version": 1, "record": {...}}`), so a later tusky can change the encoding and an
/// older one refuses what it cannot read ([`StorageError::Corrupt`]) instead of misreading it.
/// Every write is its own durable redb transaction.
///
/// **One handle per file.** redb locks the file for as long as a `Database` is open, in this
/// process or another: a second [`open`] of the same file fails with a [`StorageError::Io`]
/// whose source has kind [`io::ErrorKind::ResourceBusy`] and says the database is already open
/// (redb's `DatabaseAlreadyOpen`). To share a store, clone the `RedbStorage` (it is an `Arc`
/// inside) rather than opening the file again. Processes that must share one store file at
/// the same time should use `JsonFileStorage` instead.
///
/// Every operation runs on tokio's blocking pool (`spawn_blocking`); [`open`] blocks the
/// calling thread while it opens the file.
///
/// [`open`]: RedbStorage::open
///
/// ```
/// use tusky_storage::{RedbStorage, Storage, UploadRecord};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("uploads.redb");
/// let store = RedbStorage::open(&path)?;
/// store.set("size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3",
///           UploadRecord::new("https://tus.example/files/1")).await?;
///
/// // The file is locked while `store` (or a clone of it) lives...
/// assert!(RedbStorage::open(&path).is_err());
/// drop(store);
/// // ...and the records are there when it is opened again.
/// let store = RedbStorage::open(&path)?;
/// assert_eq!(store.list().await?.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedbStorage {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    path: PathBuf,
}

impl fmt::Debug for RedbStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStorage")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl RedbStorage {
    /// Opens the database file at `path`, creating it (and its parent directories) when missing.
    /// What it creates is private on Unix: the file 0600, the directories 0700.
    ///
    /// Synchronous. Fails with [`StorageError::Corrupt`] when the file exists but is not a redb
    /// database (the file is not touched), and with [`StorageError::Io`] (kind
    /// [`io::ErrorKind::ResourceBusy`]) when the database is already open.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let path = path.into();
        refuse_foreign_file(&path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::permissions::create_private_dirs(parent).map_err(|source| StorageError::Io {
                path: path.clone(),
                operation: "create the parent directory",
                source,
            })?;
        }
        // Created private (0600 on Unix) before redb writes anything into it; redb initialises
        // an empty file as a new database.
        crate::permissions::open_private(&path).map_err(|source| StorageError::Io {
            path: path.clone(),
            operation: "create",
            source,
        })?;
        let db = Database::create(&path).map_err(|err| map_error(&path, "open", err.into()))?;
        Ok(Self {
            inner: Arc::new(Inner { db, path }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `work` on the blocking pool with the database.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let inner = Arc::clone(&self.inner);
        match tokio::task::spawn_blocking(move || work(&inner)).await {
            Ok(result) => result,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(join) => Err(StorageError::Backend(Box::new(join))),
        }
    }
}

impl Inner {
    fn error(&self, operation: &'static str) -> impl FnOnce(redb::Error) -> StorageError + '_ {
        move |err| map_error(&self.path, operation, err)
    }

    /// The table in a read transaction, or `None` while nothing was ever written.
    fn read_table(
        &self,
    ) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static [u8]>>, StorageError> {
        let read = self
            .db
            .begin_read()
            .map_err(|e| self.error("begin a read")(e.into()))?;
        match read.open_table(UPLOADS) {
            Ok(table) => Ok(Some(table)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(err) => Err(self.error("open the table")(err.into())),
        }
    }

    /// Runs `change` (named `operation` in errors) on the table in a write transaction and
    /// commits it.
    fn write(
        &self,
        operation: &'static str,
        change: impl FnOnce(
            &mut redb::Table<'_, &'static str, &'static [u8]>,
        ) -> Result<(), redb::StorageError>,
    ) -> Result<(), StorageError> {
        let write = self
            .db
            .begin_write()
            .map_err(|e| self.error("begin a write")(e.into()))?;
        {
            let mut table = write
                .open_table(UPLOADS)
                .map_err(|e| self.error("open the table")(e.into()))?;
            change(&mut table).map_err(|e| self.error(operation)(e.into()))?;
        }
        write.commit().map_err(|e| self.error("commit")(e.into()))
    }

    fn decode(&self, key: &str, bytes: &[u8]) -> Result<UploadRecord, StorageError> {
        versioned::decode(key, bytes).map_err(|reason| StorageError::Corrupt {
            path: self.path.clone(),
            reason,
        })
    }
}

#[async_trait]
impl Storage for RedbStorage {
    async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
        let key = key.to_owned();
        self.blocking(move |inner| {
            let Some(table) = inner.read_table()? else {
                return Ok(None);
            };
            let found = table
                .get(key.as_str())
                .map_err(|e| inner.error("read")(e.into()))?;
            found
                .map(|bytes| inner.decode(&key, bytes.value()))
                .transpose()
        })
        .await
    }

    async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
        let key = key.to_owned();
        let bytes = versioned::encode(&record)?;
        self.blocking(move |inner| {
            inner.write("write", |table| {
                table.insert(key.as_str(), bytes.as_slice()).map(drop)
            })
        })
        .await
    }

    async fn remove(&self, key: &str) -> Result<(), StorageError> {
        let key = key.to_owned();
        self.blocking(move |inner| {
            inner.write("remove", |table| table.remove(key.as_str()).map(drop))
        })
        .await
    }

    async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        self.list_prefix("").await
    }

    async fn list_prefix(&self, prefix: &str) -> Result<Vec<(String, UploadRecord)>, StorageError> {
        let prefix = prefix.to_owned();
        self.blocking(move |inner| {
            let Some(table) = inner.read_table()? else {
                return Ok(Vec::new());
            };
            let mut records = Vec::new();
            let entries = table
                .range::<&str>(prefix.as_str()..)
                .map_err(|e| inner.error("list")(e.into()))?;
            for entry in entries {
                let (key, bytes) = entry.map_err(|e| inner.error("list")(e.into()))?;
                let key = key.value().to_owned();
                if !key.starts_with(&prefix) {
                    break;
                }
                let record = inner.decode(&key, bytes.value())?;
                records.push((key, record));
            }
            // redb orders `&str` keys bytewise already; sort anyway so `list` never depends on it.
            records.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(records)
        })
        .await
    }
}

/// Refuses, without writing to it, a non-empty file that does not start like a redb database.
fn refuse_foreign_file(path: &Path) -> Result<(), StorageError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StorageError::Io {
                path: path.to_owned(),
                operation: "open",
                source,
            })
        }
    };
    let mut head = Vec::with_capacity(REDB_MAGIC.len());
    file.by_ref()
        .take(REDB_MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(|source| StorageError::Io {
            path: path.to_owned(),
            operation: "read",
            source,
        })?;
    if head.is_empty() || head == REDB_MAGIC {
        return Ok(());
    }
    Err(StorageError::Corrupt {
        path: path.to_owned(),
        reason: "it is not a redb database".into(),
    })
}

/// A redb failure, with the file and the operation, for [`StorageError::Backend`].
#[derive(Debug)]
struct RedbError {
    path: PathBuf,
    operation: &'static str,
    source: redb::Error,
}

impl fmt::Display for RedbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "redb database {}: {}: {}",
            self.path.display(),
            self.operation,
            self.source
        )
    }
}

impl std::error::Error for RedbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Turns a redb error into the storage error that says best what happened.
fn map_error(path: &Path, operation: &'static str, err: redb::Error) -> StorageError {
    match err {
        redb::Error::DatabaseAlreadyOpen => StorageError::Io {
            path: path.to_owned(),
            operation: "open",
            source: io::Error::new(
                io::ErrorKind::ResourceBusy,
                "the redb database is already open (in this process or another); redb allows one \
                 handle per file, so share one RedbStorage (clone it) instead of opening the file \
                 twice",
            ),
        },
        redb::Error::Io(source) => StorageError::Io {
            path: path.to_owned(),
            operation,
            source,
        },
        redb::Error::Corrupted(reason) => StorageError::Corrupt {
            path: path.to_owned(),
            reason,
        },
        redb::Error::UpgradeRequired(version) => StorageError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "the redb file format {version} needs an upgrade this tusky does not do"
            ),
        },
        source => StorageError::Backend(Box::new(RedbError {
            path: path.to_owned(),
            operation,
            source,
        })),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn a_new_database_and_the_directories_it_creates_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/uploads.redb");
        let store = RedbStorage::open(&path).unwrap();
        store
            .set("k", UploadRecord::new("https://secret/1"))
            .await
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("data")), 0o700);
    }
}
