//! Many files at once: a [`Batch`] of uploads through one client, at most `jobs` at a time,
//! with a result per file as it finishes ([`BatchRun::next`]), a [`BatchSummary`], shared
//! cancellation, progress tagged with the file plus totals over all files ([`BatchEvent`]),
//! and completion records so that running the same batch again uploads only what is left.
//!
//! - [`BatchItem`]: one file and its metadata (`filename`, [`relativePath`](RELATIVE_PATH));
//!   [`walk`] makes them from a directory tree.
//! - [`Batch`]: the files and the settings; [`Batch::run`] starts a [`BatchRun`].
//! - [`Outcome`]: how one file ended; [`BatchSummary`]: how many ended how.
//!
//! Completion records: with a store, a finished file's record is kept (not removed, as a lone
//! uploader does) and marked complete ([`UploadRecord::completed_unix`]), with the upload URL,
//! the file's identity (size, modification time, inode) and an expiry ([`Completions`],
//! 30 days by default). A later run skips the file while that holds
//! ([`Outcome::AlreadyUploaded`], no request sent); a file that changed, or whose record
//! expired, is uploaded again; [`Batch::fresh`] uploads every file again.
//!
//! [`UploadRecord::completed_unix`]: crate::storage::UploadRecord::completed_unix

mod config;
mod item;
mod outcome;
mod progress;
mod run;
mod walk;

pub use config::{Batch, Completions, Template, DEFAULT_COMPLETION_KEEP, DEFAULT_JOBS};
pub use item::{BatchItem, RELATIVE_PATH};
pub use outcome::{BatchResult, BatchSummary, Outcome, OutcomeKind};
pub use progress::{BatchEvent, FileEvent, Totals};
pub use run::BatchRun;
pub use walk::{walk, SkipReason, Skipped, Walk};

pub use crate::uploader::Completion;
