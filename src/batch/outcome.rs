//! What became of each file of a batch ([`BatchResult`], [`Outcome`]) and of the whole batch
//! ([`BatchSummary`]).

use std::sync::Arc;

use url::Url;

use super::BatchItem;
use crate::uploader::Completion;
use crate::{Error, UploadSummary};

/// How one file of a batch ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Every byte is on the server: sent in this run, or found there (a resumed upload).
    Uploaded(UploadSummary),
    /// A completion record says the file was uploaded already: nothing was sent.
    AlreadyUploaded(Completion),
    /// Every byte is stored, but the server's final answer was an error (its post-processing
    /// refused the file): not recorded as complete, so running the batch again uploads it again.
    StoredButRefused(UploadSummary),
    /// The upload failed; the other files went on.
    Failed {
        /// Why.
        error: Error,
        /// The upload, if one was created or resumed (its record is kept when resumable).
        url: Option<Url>,
        /// The server's offset, as last known.
        offset: u64,
    },
    /// Stopped by the batch's cancellation token, before or during its upload; a started
    /// upload's record is kept, so running the batch again resumes it.
    Cancelled {
        /// The upload, if one was created or resumed.
        url: Option<Url>,
        /// The server's offset, as last known.
        offset: u64,
    },
}

/// An [`Outcome`] without its details, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum OutcomeKind {
    /// [`Outcome::Uploaded`].
    Uploaded,
    /// [`Outcome::AlreadyUploaded`].
    AlreadyUploaded,
    /// [`Outcome::StoredButRefused`].
    StoredButRefused,
    /// [`Outcome::Failed`].
    Failed,
    /// [`Outcome::Cancelled`].
    Cancelled,
}

impl OutcomeKind {
    /// Every kind, in this order.
    pub const ALL: [OutcomeKind; 5] = [
        OutcomeKind::Uploaded,
        OutcomeKind::AlreadyUploaded,
        OutcomeKind::StoredButRefused,
        OutcomeKind::Failed,
        OutcomeKind::Cancelled,
    ];

    /// A name for the kind: `uploaded`, `already_uploaded`, `stored_but_refused`, `failed`,
    /// `cancelled`.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Uploaded => "uploaded",
            OutcomeKind::AlreadyUploaded => "already_uploaded",
            OutcomeKind::StoredButRefused => "stored_but_refused",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Cancelled => "cancelled",
        }
    }
}

impl Outcome {
    /// The kind of outcome.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Uploaded(_) => OutcomeKind::Uploaded,
            Outcome::AlreadyUploaded(_) => OutcomeKind::AlreadyUploaded,
            Outcome::StoredButRefused(_) => OutcomeKind::StoredButRefused,
            Outcome::Failed { .. } => OutcomeKind::Failed,
            Outcome::Cancelled { .. } => OutcomeKind::Cancelled,
        }
    }

    /// The upload's URL, when there is one.
    pub fn url(&self) -> Option<&Url> {
        match self {
            Outcome::Uploaded(summary) | Outcome::StoredButRefused(summary) => Some(&summary.url),
            Outcome::AlreadyUploaded(completion) => Some(&completion.url),
            Outcome::Failed { url, .. } | Outcome::Cancelled { url, .. } => url.as_ref(),
        }
    }

    /// The bytes the server acknowledged during this run.
    pub fn bytes_uploaded(&self) -> u64 {
        match self {
            Outcome::Uploaded(summary) | Outcome::StoredButRefused(summary) => {
                summary.bytes_uploaded
            }
            _ => 0,
        }
    }

    /// The error, for a failed file.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// One file's result, yielded by [`BatchRun::next`](super::BatchRun::next) as it finishes.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchResult {
    /// The item's position in the batch (from 0).
    pub index: usize,
    /// The item.
    pub item: Arc<BatchItem>,
    /// The file's size, when it could be read.
    pub size: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
}

/// How many files of a batch ended how, and the bytes this run sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSummary {
    /// The files in the batch.
    pub files: usize,
    /// Files with a result so far, per kind, in [`OutcomeKind::ALL`] order.
    counts: [usize; 5],
    /// The bytes the server acknowledged during this run, over every file.
    pub bytes_uploaded: u64,
}

impl BatchSummary {
    pub(crate) fn new(files: usize) -> Self {
        Self {
            files,
            ..Self::default()
        }
    }

    pub(crate) fn add(&mut self, result: &BatchResult) {
        self.counts[Self::slot(result.outcome.kind())] += 1;
        self.bytes_uploaded += result.outcome.bytes_uploaded();
    }

    fn slot(kind: OutcomeKind) -> usize {
        OutcomeKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_default()
    }

    /// How many files ended as `kind`.
    pub fn count(&self, kind: OutcomeKind) -> usize {
        self.counts[Self::slot(kind)]
    }

    /// How many files have a result.
    pub fn finished(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Whether every file of the batch is on the server (uploaded now or before).
    pub fn all_uploaded(&self) -> bool {
        self.count(OutcomeKind::Uploaded) + self.count(OutcomeKind::AlreadyUploaded) == self.files
    }
}
