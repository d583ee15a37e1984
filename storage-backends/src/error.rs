use std::path::PathBuf;
use std::time::Duration;

/// Why a storage operation failed.
///
/// ```
/// use tusky_storage::StorageError;
///
/// fn advice(err: &StorageError) -> &'static str {
///     match err {
///         StorageError::Corrupt { .. } => "choose another --store file; this one was not changed",
///         StorageError::Io { .. } => "check the path and its permissions",
///         _ => "try again",
///     }
/// }
/// let err = StorageError::Corrupt { path: "urls.json".into(), reason: "not valid JSON".into() };
/// assert_eq!(advice(&err), "choose another --store file; this one was not changed");
/// assert!(err.to_string().contains("urls.json"));
/// ```
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
    #[error(
        "URL store {path} is not a store this version of tusky can read ({reason}); it was left untouched"
    )]
    Corrupt {
        /// The store's file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another writer held the store's lock for longer than the store waits (see
    /// `JsonFileStorage::lock_timeout`); nothing was written.
    #[error(
        "URL store {path}: gave up after waiting {:.1} s for its lock, held by {}",
        waited.as_secs_f64(),
        match holder { Some(pid) => format!("pid {pid}"), None => "another process".to_owned() }
    )]
    LockTimeout {
        /// The store's file.
        path: PathBuf,
        /// How long the write waited.
        waited: Duration,
        /// The process id the holder wrote into the lock file, when it did.
        holder: Option<u32>,
    },
    /// The operation was given up (its caller stopped waiting for it) before it wrote anything.
    #[error("URL store operation cancelled")]
    Cancelled,
    /// Any other backend failure (a database error, a lost connection).
    #[error("URL store backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StorageError {
    /// The same error again, for each caller of a write that carried several callers' edits
    /// (an I/O error keeps its kind and message; a backend error its message).
    #[cfg(feature = "json")]
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Self::Io {
                path,
                operation,
                source,
            } => Self::Io {
                path: path.clone(),
                operation,
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Self::Corrupt { path, reason } => Self::Corrupt {
                path: path.clone(),
                reason: reason.clone(),
            },
            Self::LockTimeout {
                path,
                waited,
                holder,
            } => Self::LockTimeout {
                path: path.clone(),
                waited: *waited,
                holder: *holder,
            },
            Self::Cancelled => Self::Cancelled,
            Self::Backend(source) => Self::Backend(source.to_string().into()),
        }
    }
}
