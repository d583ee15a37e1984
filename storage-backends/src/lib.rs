//! URL storage for tusky: remembers, per source fingerprint, the upload URL (and what else is
//! needed to resume safely) so that an interrupted upload can continue in a later run.
//!
//! | backend | feature | notes |
//! |---|---|---|
//! | [`MemoryStorage`] | always | process-local, for tests and single runs |
//! | `JsonFileStorage` | `json` | one JSON file, atomic writes, locked against other processes |
//! | `RedbStorage` | `redb` | the redb embedded database |
//!
//! Every backend passes the same [`conformance`] suite (feature `conformance`), which a custom
//! backend (Redis, say) can run too.
#![warn(missing_docs)]

#[cfg(feature = "json")]
mod atomic_file;
mod error;
mod memory;
mod record;
mod storage;

#[cfg(feature = "json")]
mod json;
#[cfg(feature = "redb")]
mod redb_backend;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::StorageError;
pub use memory::MemoryStorage;
pub use record::UploadRecord;
pub use storage::Storage;

#[cfg(feature = "json")]
pub use json::JsonFileStorage;
#[cfg(feature = "redb")]
pub use redb_backend::RedbStorage;
