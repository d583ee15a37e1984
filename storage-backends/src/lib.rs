//! URL storage for tusky: remembers, per source fingerprint, the upload URL (and what else is
//! needed to resume safely) so that an interrupted upload can continue in a later run.
//!
//! ```
//! use tusky_storage::{MemoryStorage, Storage, UploadRecord};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tusky_storage::StorageError> {
//! let store = MemoryStorage::new();
//! let key = "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3";
//! store.set(key, UploadRecord::new("https://tus.example/files/1").with_size(11)).await?;
//! assert_eq!(store.get(key).await?.map(|r| r.url), Some("https://tus.example/files/1".into()));
//! store.remove(key).await?;
//! assert!(store.list().await?.is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! | backend | feature | notes |
//! |---|---|---|
//! | [`MemoryStorage`] | always | process-local, for tests and single runs |
//! | `JsonFileStorage` | `json` | one JSON file, atomic writes, locked against other processes |
//! | `TuspyFileStorage` | `json` | tuspy's TinyDB file (URLs only), to share uploads with tuspy |
//! | `RedbStorage` | `redb` | the redb embedded database (one handle per file) |
//! | `RedisStorage` | `redis` | a Redis server: resume state shared by every machine that reaches it |
//!
//! Features:
//! - `json`: `JsonFileStorage`, `TuspyFileStorage` and `detect_tuspy_store`.
//! - `redb`: `RedbStorage`.
//! - `redis`: `RedisStorage` (the `redis` crate on tokio; keys under a prefix, expiring with
//!   the upload, every command with a deadline).
//! - `conformance`: the `conformance` module, the suite every backend passes and a custom
//!   backend (Redis, say) can run too.
#![warn(missing_docs)]

#[cfg(feature = "json")]
mod atomic_file;
mod error;
#[cfg(feature = "json")]
mod file_lock;
#[cfg(feature = "json")]
mod group_commit;
mod identity;
mod key;
mod memory;
mod none;
#[cfg(any(feature = "json", feature = "redb"))]
mod permissions;
mod record;
mod storage;

#[cfg(feature = "json")]
mod json;
#[cfg(feature = "redb")]
mod redb_backend;
#[cfg(feature = "redis")]
mod redis_backend;
#[cfg(feature = "json")]
mod tinydb;
#[cfg(feature = "json")]
mod tuspy;
#[cfg(any(feature = "redb", feature = "redis"))]
mod versioned;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::StorageError;

/// Waiting for a condition with a deadline, in unit tests (the workspace's shared helper).
#[cfg(test)]
#[path = "../../tests/shared/wait_until.rs"]
mod wait_until;
pub use identity::{FileIdentity, PrefixDigest};
pub use key::{file_key, key_fingerprint, records_with_fingerprint, scoped_key};
pub use memory::MemoryStorage;
pub use none::NoStorage;
pub use record::UploadRecord;
pub use storage::Storage;

#[cfg(feature = "json")]
pub use file_lock::{LockWait, DEFAULT_LOCK_TIMEOUT};
#[cfg(feature = "json")]
pub use json::JsonFileStorage;
#[cfg(feature = "redb")]
pub use redb_backend::RedbStorage;
#[cfg(feature = "redis")]
pub use redis_backend::RedisStorage;
#[cfg(feature = "json")]
pub use tuspy::{detect_tuspy_store, TuspyFileStorage};
