//! Store maintenance: [`prune`] removes the records that can no longer resume anything —
//! expired ones, ones whose server says the upload is gone — and, when asked, terminates
//! uploads older than a given age and removes their records. Completion records (finished
//! uploads a [`Batch`](crate::batch::Batch) keeps so that it skips them when run again) are
//! removed only when they expire.

use std::time::{Duration, SystemTime};

use http::StatusCode;

use crate::storage::{Storage, UploadRecord};
use crate::transport::Transport;
use crate::uploader::unix_seconds;
use crate::{Client, Error, Result};

/// What [`prune`] does besides removing expired records.
///
/// ```
/// use std::time::Duration;
/// use tusky::maintenance::PruneOptions;
///
/// let options = PruneOptions::new()
///     .check_server(true)
///     .terminate_older_than(Duration::from_secs(7 * 86_400))
///     .dry_run(true);
/// assert!(options.checks_server());
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PruneOptions {
    check_server: bool,
    terminate_older_than: Option<Duration>,
    dry_run: bool,
    now: Option<SystemTime>,
}

impl PruneOptions {
    /// Only expired records are removed; nothing is sent to a server.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also ask each record's server (HEAD) and remove the records whose upload it answers
    /// 404 or 410 for (a parallel upload's, when every part it created is gone).
    pub fn check_server(mut self, check: bool) -> Self {
        self.check_server = check;
        self
    }

    /// Also terminate (DELETE) the uploads first recorded more than `age` ago, and remove their
    /// records. Records without a creation time (tuspy's, older tusky's) are never terminated.
    pub fn terminate_older_than(mut self, age: Duration) -> Self {
        self.terminate_older_than = Some(age);
        self
    }

    /// Report what would be done, but change nothing: no DELETE, no record removed (HEADs are
    /// still sent with [`check_server`](Self::check_server)).
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// The time to judge expiry and age by (default: now).
    pub fn now(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Whether servers are asked.
    pub fn checks_server(&self) -> bool {
        self.check_server
    }
}

/// Why a record was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PruneReason {
    /// Its `expires_unix` has passed.
    Expired {
        /// When it expired (seconds since the Unix epoch).
        expires_unix: u64,
    },
    /// Its server answered this status (404 or 410) for the upload.
    Gone {
        /// The server's status.
        status: u16,
    },
    /// It was older than asked and was terminated (a DELETE the server answered with success,
    /// 404 or 410).
    Terminated {
        /// Its age.
        age: Duration,
    },
}

impl std::fmt::Display for PruneReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Expired { .. } => f.write_str("expired"),
            Self::Gone { status } => write!(f, "gone on the server ({status})"),
            Self::Terminated { age } => write!(f, "terminated ({} s old)", age.as_secs()),
        }
    }
}

/// One record [`prune`] removed (or, in a dry run, would remove).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Pruned {
    /// Its key in the store.
    pub key: String,
    /// The record as it was.
    pub record: UploadRecord,
    /// Why.
    pub reason: PruneReason,
}

/// What [`prune`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct PruneReport {
    /// The records removed (in a dry run: that would be), in key order.
    pub removed: Vec<Pruned>,
    /// How many records were kept.
    pub kept: usize,
    /// Records kept because asking their server failed (key and error), in key order.
    pub errors: Vec<(String, Error)>,
    /// Whether this was a dry run (nothing was changed).
    pub dry_run: bool,
}

/// Removes the records in `store` that can no longer resume anything: expired ones; with
/// [`PruneOptions::check_server`], those whose server says the upload is gone; with
/// [`PruneOptions::terminate_older_than`], old uploads, after terminating them with `client`.
/// A server that cannot be asked keeps its record (listed in [`PruneReport::errors`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tusky::maintenance::{prune, PruneOptions, PruneReason};
/// use tusky::storage::{MemoryStorage, Storage, UploadRecord};
///
/// let store = MemoryStorage::new();
/// store.set("old", UploadRecord::new("https://tus.example/files/1").with_expires_unix(1)).await?;
/// let client = tusky::Client::builder().build()?;
/// let report = prune(&store, &client, &PruneOptions::new()).await?;
/// assert_eq!(report.removed[0].reason, PruneReason::Expired { expires_unix: 1 });
/// assert!(store.list().await?.is_empty());
/// # Ok(()) }
/// ```
pub async fn prune<S, T>(
    store: &S,
    client: &Client<T>,
    options: &PruneOptions,
) -> Result<PruneReport>
where
    S: Storage + ?Sized,
    T: Transport,
{
    let now = unix_seconds(options.now.unwrap_or_else(SystemTime::now));
    let mut report = PruneReport {
        dry_run: options.dry_run,
        ..PruneReport::default()
    };
    let records = store.list().await.map_err(storage_error(None))?;
    for (key, record) in records {
        match judge(client, options, now, &record).await {
            Ok(Some(reason)) => {
                if !options.dry_run {
                    store
                        .remove(&key)
                        .await
                        .map_err(storage_error(Some(&key)))?;
                }
                report.removed.push(Pruned {
                    key,
                    record,
                    reason,
                });
            }
            Ok(None) => report.kept += 1,
            Err(error) => {
                report.kept += 1;
                report.errors.push((key, error));
            }
        }
    }
    Ok(report)
}

fn storage_error(key: Option<&str>) -> impl Fn(crate::storage::StorageError) -> Error + '_ {
    move |source| Error::Storage {
        key: key.map(str::to_owned),
        source,
    }
}

/// Why `record` should go, if it should (terminating it when it is too old).
async fn judge<T: Transport>(
    client: &Client<T>,
    options: &PruneOptions,
    now: u64,
    record: &UploadRecord,
) -> Result<Option<PruneReason>> {
    if let Some(expires_unix) = record.expires_unix.filter(|&e| e <= now) {
        return Ok(Some(PruneReason::Expired { expires_unix }));
    }
    // A completion record (a finished upload a batch skips) goes only when it expires: its
    // upload is finished, never terminated, and a server that moved it away changes nothing.
    if record.is_completed() {
        return Ok(None);
    }
    let age = record
        .created_unix
        .map(|created| Duration::from_secs(now.saturating_sub(created)));
    if let (Some(age), Some(limit)) = (age, options.terminate_older_than) {
        if age > limit {
            if !options.dry_run {
                for url in upload_urls(record) {
                    terminate(client, url).await?;
                }
            }
            return Ok(Some(PruneReason::Terminated { age }));
        }
    }
    if options.check_server {
        return gone(client, record).await;
    }
    Ok(None)
}

/// The uploads a record names: its URL, else its parallel upload's created parts.
fn upload_urls(record: &UploadRecord) -> Vec<&str> {
    if record.url.is_empty() {
        record
            .partial_urls
            .iter()
            .map(String::as_str)
            .filter(|u| !u.is_empty())
            .collect()
    } else {
        vec![record.url.as_str()]
    }
}

/// The 404 or 410 `error` carries, if it does.
fn gone_status(error: &Error) -> Option<u16> {
    error
        .status()
        .filter(|s| matches!(*s, StatusCode::NOT_FOUND | StatusCode::GONE))
        .map(|s| s.as_u16())
}

/// DELETE `url`; an upload already gone counts as terminated.
async fn terminate<T: Transport>(client: &Client<T>, url: &str) -> Result<()> {
    match client.terminate(url).await {
        Err(error) if gone_status(&error).is_none() => Err(error),
        _ => Ok(()),
    }
}

/// `Gone` when the server answers 404/410 for every upload the record names.
async fn gone<T: Transport>(
    client: &Client<T>,
    record: &UploadRecord,
) -> Result<Option<PruneReason>> {
    let urls = upload_urls(record);
    let mut last = None;
    for url in &urls {
        match client.upload_status(url).await {
            Ok(_) => return Ok(None),
            Err(error) => match gone_status(&error) {
                Some(status) => last = Some(status),
                None => return Err(error),
            },
        }
    }
    Ok(last.map(|status| PruneReason::Gone { status }))
}
