//! [`GroupCommit`]: the writes of a file store's handle (and its clones), made together.
//!
//! Every write of a file store re-reads the file under its lock, changes it, writes a
//! temporary file, fsyncs it, renames it over the store and fsyncs the directory: two fsyncs,
//! tens of milliseconds on many disks, whatever the change. Uploads running side by side (a
//! batch of files, the parts of a parallel upload) each write their record, so taking turns
//! made their writes cost one such write each, one after another. Here a write that arrives
//! while another is under way waits for it to finish and then goes out with every other write
//! that arrived meanwhile, in one rewrite of the file: edits are applied in the order they
//! came, each caller learns the outcome of the write that carried its edit, and a call that
//! returned `Ok` is on disk, as before.
//!
//! The writes run on a task of their own, so a caller that stops waiting does not stop the
//! others' writes. An edit whose caller stopped waiting before its write started is not
//! applied; a write whose callers all stopped waiting while it waited for the file lock gives
//! up the wait ([`run_blocking`]'s abandonment), as a single write did.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::atomic_file::{self, run_blocking, Change};
use crate::file_lock::LockOptions;
use crate::StorageError;

/// The contents of a store's file, as a [`GroupCommit`] reads and writes them.
pub(crate) trait StoreFile: Sized + Send + 'static {
    /// Parses the file's bytes (`None`: no file), refusing a foreign or corrupt file.
    fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<Self, StorageError>;
    /// The bytes to write.
    fn into_bytes(self) -> Result<Vec<u8>, StorageError>;
}

/// One change to the contents; returns whether it changed anything.
pub(crate) type Edit<F> = Box<dyn FnOnce(&mut F) -> bool + Send>;

/// The writes to one store file through one handle and its clones.
pub(crate) struct GroupCommit<F> {
    path: Arc<Path>,
    lock: LockOptions,
    queue: Arc<Mutex<Queue<F>>>,
}

impl<F> Clone for GroupCommit<F> {
    fn clone(&self) -> Self {
        Self {
            path: Arc::clone(&self.path),
            lock: self.lock.clone(),
            queue: Arc::clone(&self.queue),
        }
    }
}

impl<F> std::fmt::Debug for GroupCommit<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

struct Queue<F> {
    /// Edits waiting for the next write, in the order they came.
    waiting: Vec<Waiting<F>>,
    /// Whether a task is writing (it takes `waiting` when its current write is done).
    writing: bool,
}

struct Waiting<F> {
    edit: Edit<F>,
    done: oneshot::Sender<Result<(), StorageError>>,
}

impl<F: StoreFile> GroupCommit<F> {
    pub(crate) fn new(path: Arc<Path>, lock: LockOptions) -> Self {
        Self {
            path,
            lock,
            queue: Arc::new(Mutex::new(Queue {
                waiting: Vec::new(),
                writing: false,
            })),
        }
    }

    /// The lock settings its writes use.
    pub(crate) fn lock(&self) -> &LockOptions {
        &self.lock
    }

    /// Writes to the same file with other lock settings: a group of their own.
    pub(crate) fn with_lock(&self, lock: LockOptions) -> Self {
        Self::new(Arc::clone(&self.path), lock)
    }

    /// Applies `edit` in the next write of the file; returns when that write is done.
    pub(crate) async fn apply(&self, edit: Edit<F>) -> Result<(), StorageError> {
        let (done, outcome) = oneshot::channel();
        let start_writing = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.push(Waiting { edit, done });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writing {
            tokio::spawn(write_all(self.clone()));
        }
        // The writing task ended without an answer only if the runtime is shutting down.
        outcome.await.unwrap_or(Err(StorageError::Cancelled))
    }

    /// How many edits wait for the next write (for tests).
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiting
            .len()
    }

    /// Whether a write is under way with every edit made so far (for tests).
    #[cfg(test)]
    fn all_taken(&self) -> bool {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.writing && queue.waiting.is_empty()
    }
}

/// Writes the waiting edits, all of them in each write, until none waits.
async fn write_all<F: StoreFile>(store: GroupCommit<F>) {
    // If this task ends early (a panic in an edit, the runtime shutting down), the next write
    // starts a writer again, and the edits left waiting fail instead of waiting for ever.
    let mut stopped = OnStop {
        queue: &store.queue,
        early: true,
    };
    loop {
        let batch = {
            let mut queue = store.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.waiting.is_empty() {
                // Under the lock: an edit pushed after this starts a writer of its own.
                queue.writing = false;
                stopped.early = false;
                return;
            }
            std::mem::take(&mut queue.waiting)
        };
        let batch: Vec<Waiting<F>> = batch.into_iter().filter(|w| !w.done.is_closed()).collect();
        if !batch.is_empty() {
            write_batch(&store, batch).await;
        }
    }
}

/// Marks the queue as without a writer when the writing task ends `early` (a panic, the
/// runtime shutting down); edits still waiting then are dropped, which their callers see as
/// [`StorageError::Cancelled`].
struct OnStop<'a, F> {
    queue: &'a Mutex<Queue<F>>,
    early: bool,
}

impl<F> Drop for OnStop<'_, F> {
    fn drop(&mut self) {
        if self.early {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.writing = false;
            queue.waiting.clear();
        }
    }
}

/// One write carrying every edit of `batch`; tells each caller how it went.
async fn write_batch<F: StoreFile>(store: &GroupCommit<F>, batch: Vec<Waiting<F>>) {
    let (edits, mut callers): (Vec<Edit<F>>, Vec<_>) =
        batch.into_iter().map(|w| (w.edit, w.done)).unzip();
    let (path, lock) = (Arc::clone(&store.path), store.lock.clone());
    let write = run_blocking(move |abandoned| {
        atomic_file::update(&path, &lock, abandoned, |bytes| {
            let mut contents = F::parse(&path, bytes)?;
            let mut changed = false;
            for edit in edits {
                changed |= edit(&mut contents);
            }
            if !changed {
                return Ok((Change::Keep, ()));
            }
            Ok((Change::Write(contents.into_bytes()?), ()))
        })
    });
    let outcome = {
        let all_gone = async {
            for caller in callers.iter_mut() {
                caller.closed().await;
            }
        };
        tokio::select! {
            outcome = write => outcome,
            // Dropping `write` tells a wait for the lock to give up.
            _ = all_gone => Err(StorageError::Cancelled),
        }
    };
    for caller in callers {
        let _ = caller.send(
            outcome
                .as_ref()
                .map(|_| ())
                .map_err(StorageError::duplicate),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;
    use crate::file_lock::StoreLock;
    use crate::wait_until::wait_until;

    /// A file of lines under a first line `writes N`: how many times it was written.
    struct Lines {
        writes: u32,
        lines: Vec<String>,
    }

    impl StoreFile for Lines {
        fn parse(_: &Path, bytes: Option<&[u8]>) -> Result<Self, StorageError> {
            let text = String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
            let mut lines = text.lines().map(str::to_owned);
            let writes = lines
                .next()
                .and_then(|first| first.strip_prefix("writes ")?.parse().ok())
                .unwrap_or(0);
            Ok(Self {
                writes,
                lines: lines.collect(),
            })
        }

        fn into_bytes(self) -> Result<Vec<u8>, StorageError> {
            let mut text = format!("writes {}\n", self.writes + 1);
            for line in self.lines {
                text.push_str(&line);
                text.push('\n');
            }
            Ok(text.into_bytes())
        }
    }

    /// The file's write count and lines.
    fn read(path: &Path) -> (u32, Vec<String>) {
        let bytes = std::fs::read(path).unwrap();
        let lines = Lines::parse(path, Some(&bytes)).unwrap();
        (lines.writes, lines.lines)
    }

    /// Adds `line` through `store`, on a task of its own.
    fn spawn_push(
        store: &GroupCommit<Lines>,
        line: impl Into<String>,
    ) -> tokio::task::JoinHandle<Result<(), StorageError>> {
        let (store, line) = (store.clone(), line.into());
        tokio::spawn(async move {
            let edit: Edit<Lines> = Box::new(move |file: &mut Lines| {
                file.lines.push(line);
                true
            });
            store.apply(edit).await
        })
    }

    /// Waits until `condition` holds (at most 10 s).
    async fn until(what: &str, condition: impl Fn() -> bool) {
        wait_until(what, Duration::from_secs(10), || {
            std::future::ready(condition())
        })
        .await;
    }

    /// A store of [`Lines`] in a new directory (kept while the first value lives).
    fn store() -> (tempfile::TempDir, Arc<Path>, GroupCommit<Lines>) {
        let dir = tempfile::tempdir().unwrap();
        let path: Arc<Path> = Arc::from(dir.path().join("lines.txt"));
        let store = GroupCommit::new(Arc::clone(&path), LockOptions::default());
        (dir, path, store)
    }

    /// Holds the file's lock as another process's writer would.
    fn hold_lock(path: &Path) -> StoreLock {
        let options = LockOptions::default();
        StoreLock::acquire(
            path,
            &atomic_file::lock_path(path),
            &options,
            &AtomicBool::new(false),
        )
        .unwrap()
    }

    /// Edits that arrive while a write is under way go out together in the next write, in the
    /// order they came; every caller returns once its edit is on disk.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn edits_that_arrive_during_a_write_share_the_next_one() {
        let (_dir, path, store) = store();
        // Another process's writer holds the file: the first write waits for it.
        let held = hold_lock(&path);
        let first = spawn_push(&store, "0");
        until("the first write under way", || store.all_taken()).await;
        let rest: Vec<_> = (1..20).map(|i| spawn_push(&store, i.to_string())).collect();
        until("19 edits waiting", || store.waiting() == 19).await;
        drop(held);
        first.await.unwrap().unwrap();
        for write in rest {
            write.await.unwrap().unwrap();
        }
        let (writes, lines) = read(&path);
        assert_eq!(writes, 2, "one write, then one for 19 edits");
        let mut lines: Vec<u32> = lines.iter().map(|l| l.parse().unwrap()).collect();
        assert_eq!(lines[0], 0, "the first write's edit first");
        lines.sort_unstable();
        assert_eq!(lines, (0..20).collect::<Vec<_>>());
    }

    /// A caller that stops waiting before its write starts has its edit left out; the others'
    /// edits are written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_edit_whose_caller_stopped_waiting_is_not_written() {
        let (_dir, path, store) = store();
        let held = hold_lock(&path);
        let first = spawn_push(&store, "kept 1");
        until("the first write under way", || store.all_taken()).await;
        let given_up = spawn_push(&store, "given up");
        until("one edit waiting", || store.waiting() == 1).await;
        given_up.abort();
        let _ = given_up.await;
        let last = spawn_push(&store, "kept 2");
        until("two edits waiting", || store.waiting() == 2).await;
        drop(held);
        first.await.unwrap().unwrap();
        last.await.unwrap().unwrap();
        assert_eq!(
            read(&path),
            (2, vec!["kept 1".to_owned(), "kept 2".to_owned()])
        );
    }

    /// A write that fails fails for every caller whose edit it carried, with the same error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_is_every_callers_error() {
        let (_dir, path, store) = store();
        // A directory where the temporary file goes: writing the new version fails.
        std::fs::create_dir(atomic_file::temp_path(&path)).unwrap();
        let held = hold_lock(&path);
        let mut writes = vec![spawn_push(&store, "0")];
        until("the first write under way", || store.all_taken()).await;
        writes.extend((1..3).map(|i| spawn_push(&store, i.to_string())));
        until("the last two waiting", || store.waiting() == 2).await;
        drop(held);
        for write in writes {
            let error = write.await.unwrap().unwrap_err();
            assert!(matches!(error, StorageError::Io { .. }), "{error:?}");
        }
        assert!(!path.exists());
    }

    /// An edit that panics ends that write (its callers get `Cancelled`), not the store: the
    /// next write goes out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_died_does_not_stop_the_next_one() {
        let (_dir, path, store) = store();
        let panicking: Edit<Lines> = Box::new(|_: &mut Lines| panic!("an edit that panics"));
        let died = store.apply(panicking).await;
        assert!(matches!(died, Err(StorageError::Cancelled)), "{died:?}");
        let next = tokio::time::timeout(Duration::from_secs(10), spawn_push(&store, "after"));
        next.await
            .expect("the next write waited for ever")
            .unwrap()
            .unwrap();
        assert_eq!(read(&path), (1, vec!["after".to_owned()]));
    }
}
