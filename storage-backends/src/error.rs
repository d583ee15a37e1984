use std::path::PathBuf;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// Reading or writing the store's file failed.
    #[error("URL store {path}: {operation}: {source}")]
    Io {
        /// The store's file.
        path: PathBuf,
        /// What was being done (e.g. "write", "lock").
        operation: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The store's file exists but is not a store this version understands; it is left untouched.
    #[error("URL store {path} is not a tusky store this version can read ({reason}); it was left untouched")]
    Corrupt {
        /// The store's file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Any other backend failure (a database error, a lost connection).
    #[error("URL store backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}
