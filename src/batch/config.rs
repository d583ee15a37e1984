//! [`Batch`]: the files of a batch and how they are uploaded; [`Batch::run`] starts it.

use std::sync::Arc;
use std::time::Duration;

use super::progress::{BatchCallback, Tracker};
use super::run::{BatchRun, Shared};
use super::{BatchEvent, BatchItem};
use crate::fingerprint::DefaultFingerprint;
use crate::storage::{NoStorage, Storage};
use crate::transport::{ReqwestTransport, Transport};
use crate::{CancellationToken, Client, Error, Result, UploaderBuilder};

/// Files uploaded at once unless told otherwise.
pub const DEFAULT_JOBS: usize = 4;

/// How long a completion record counts unless told otherwise: 30 days.
pub const DEFAULT_COMPLETION_KEEP: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// What a batch's per-file uploaders start from: the client's builder, before the batch sets
/// the file, its metadata, the store, cancellation and progress.
pub type Template<T> = UploaderBuilder<T, NoStorage, DefaultFingerprint>;

/// The shared settings of every file's uploader (chunk size, retries, checksums, headers...).
pub(crate) type Configure<T> = dyn Fn(Template<T>) -> Template<T> + Send + Sync;

/// Whether a batch records finished files, so that running it again skips them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completions {
    /// Keep a completion record of each finished file for this long (in the batch's store,
    /// under the file's own key, with the upload URL, the file's identity and the time). A
    /// later run skips the file while the record counts and the file is unchanged (same size,
    /// modification time and inode); once it expires, or when the file changed, the file is
    /// uploaded again.
    Keep(Duration),
    /// Record nothing: a finished file's record is removed, as a lone uploader does, and a
    /// later run uploads the file again.
    Off,
}

/// How a batch treats what its store holds for its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Skip completed files, resume unfinished ones.
    Resume,
    /// Forget every file's record first: each file is uploaded again from its first byte.
    Fresh,
}

/// Many uploads through one [`Client`], at most [`jobs`](Batch::jobs) at once: one uploader
/// per file, built from the client and the shared settings of [`uploader`](Batch::uploader).
/// One file failing does not stop the others; one [`CancellationToken`] stops them all and
/// every started upload keeps its record. With a [`storage`](Batch::storage), unfinished files
/// resume and finished ones are recorded ([`Completions`]) so that running the same batch
/// again uploads only what is left.
///
/// A limit set on the client ([`ClientBuilder::limit_rate`](crate::ClientBuilder::limit_rate))
/// covers every file together.
///
/// ```
/// # #[cfg(feature = "mock-server")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tusky::batch::{BatchItem, OutcomeKind};
/// use tusky::storage::MemoryStorage;
///
/// let server = tusky::mock::TusMockServer::start().await;
/// let dir = tempfile::tempdir()?;
/// for name in ["a.txt", "b.txt", "c.txt"] {
///     std::fs::write(dir.path().join(name), name)?;
/// }
/// let client = tusky::Client::new(server.endpoint())?;
/// let store = std::sync::Arc::new(MemoryStorage::new());
/// let files = tusky::batch::walk(dir.path())?.items;
/// let batch = || {
///     client
///         .batch()
///         .items(files.clone())
///         .jobs(2)
///         .uploader(|uploader| uploader.chunk_size(1024 * 1024).retries(3))
///         .storage(std::sync::Arc::clone(&store))
///         .run()
/// };
/// let mut run = batch()?;
/// while let Some(result) = run.next().await {
///     println!("{}: {:?}", result.item.path().display(), result.outcome.kind());
/// }
/// assert_eq!(run.summary().count(OutcomeKind::Uploaded), 3);
///
/// // The same batch again: every file is recorded as complete, nothing is sent.
/// let again = batch()?.finish().await;
/// assert_eq!(again.count(OutcomeKind::AlreadyUploaded), 3);
/// assert_eq!(server.uploads().len(), 3);
/// # Ok(()) }
/// # #[cfg(not(feature = "mock-server"))]
/// # fn main() {}
/// ```
#[must_use]
pub struct Batch<T: Transport = ReqwestTransport> {
    client: Client<T>,
    items: Vec<BatchItem>,
    jobs: usize,
    configure: Arc<Configure<T>>,
    storage: Option<Arc<dyn Storage>>,
    completions: Completions,
    start: Start,
    cancel: CancellationToken,
    progress: Option<BatchCallback>,
}

impl<T: Transport> std::fmt::Debug for Batch<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("items", &self.items.len())
            .field("jobs", &self.jobs)
            .field("completions", &self.completions)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Client<T> {
    /// A batch of uploads through this client (see [`Batch`]).
    pub fn batch(&self) -> Batch<T> {
        Batch {
            client: self.clone(),
            items: Vec::new(),
            jobs: DEFAULT_JOBS,
            configure: Arc::new(|uploader| uploader),
            storage: None,
            completions: Completions::Keep(DEFAULT_COMPLETION_KEEP),
            start: Start::Resume,
            cancel: CancellationToken::new(),
            progress: None,
        }
    }
}

impl<T: Transport> Batch<T> {
    /// Adds a file.
    pub fn item(mut self, item: BatchItem) -> Self {
        self.items.push(item);
        self
    }

    /// Adds files (the [`items`](super::Walk::items) of a [`walk`](super::walk), say).
    pub fn items(mut self, items: impl IntoIterator<Item = BatchItem>) -> Self {
        self.items.extend(items);
        self
    }

    /// Adds the file at `path`, with no metadata of its own.
    pub fn file(self, path: impl Into<std::path::PathBuf>) -> Self {
        self.item(BatchItem::new(path))
    }

    /// How many files are uploaded at once (default [`DEFAULT_JOBS`]).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// The settings every file's uploader shares: `configure` gets the client's
    /// [`uploader()`](Client::uploader) builder and returns it with chunk size, retries,
    /// checksums, headers, parallel parts... set. The batch then sets the file, its
    /// [metadata](BatchItem::upload_metadata), the store, the cancellation token and the
    /// progress callback (so set those on the batch, not here).
    pub fn uploader(
        mut self,
        configure: impl Fn(Template<T>) -> Template<T> + Send + Sync + 'static,
    ) -> Self {
        self.configure = Arc::new(configure);
        self
    }

    /// Where the files' records are kept: unfinished uploads resume from it, and finished ones
    /// are recorded in it (see [`completions`](Batch::completions)). Without one, every file
    /// is uploaded from its first byte and nothing is recorded.
    pub fn storage(mut self, storage: impl Storage + 'static) -> Self {
        self.storage = Some(Arc::new(storage));
        self
    }

    /// Whether finished files are recorded (default: kept for
    /// [`DEFAULT_COMPLETION_KEEP`]). Needs a [`storage`](Batch::storage).
    pub fn completions(mut self, completions: Completions) -> Self {
        self.completions = completions;
        self
    }

    /// Uploads every file again from its first byte: each file's record (unfinished or
    /// complete) is forgotten before its upload, which then records anew. The server's
    /// earlier uploads are left as they are.
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.start = if fresh { Start::Fresh } else { Start::Resume };
        self
    }

    /// Stops every upload promptly when `token` is cancelled; started uploads keep their
    /// records, and files not started yet end [`Cancelled`](super::Outcome::Cancelled).
    pub fn cancellation_token(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// Calls `callback` for every event of every file, tagged with the file, with the totals
    /// over all files. Called on the uploading tasks: keep it quick.
    pub fn on_progress(mut self, callback: impl Fn(&BatchEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the batch has no file.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Checks the settings, reads each file's size (for the totals) and returns the run; the
    /// uploads start when [`BatchRun::next`] is first awaited.
    pub fn run(self) -> Result<BatchRun<T>> {
        if self.jobs == 0 {
            return Err(Error::Config("jobs(n) needs n of at least 1".to_owned()));
        }
        if self.client.endpoint().is_none() {
            return Err(Error::Config(
                "a batch needs an endpoint on the client to create its uploads at".to_owned(),
            ));
        }
        let sizes: Vec<Option<u64>> = self
            .items
            .iter()
            .map(|item| std::fs::metadata(item.path()).ok().map(|m| m.len()))
            .collect();
        let tracker = Tracker::new(&sizes, self.progress);
        let completions = match self.storage {
            Some(_) => self.completions,
            None => Completions::Off,
        };
        let shared = Shared {
            client: self.client,
            configure: self.configure,
            storage: self.storage,
            completions,
            start: self.start,
            cancel: self.cancel,
            tracker,
        };
        Ok(BatchRun::new(shared, self.items, sizes, self.jobs))
    }
}

/// The store a file's uploader gets: the batch's, or none (then it does not resume).
pub(crate) fn store_or_none(storage: Option<&Arc<dyn Storage>>) -> (Arc<dyn Storage>, bool) {
    match storage {
        Some(storage) => (Arc::clone(storage), true),
        None => (Arc::new(NoStorage), false),
    }
}
