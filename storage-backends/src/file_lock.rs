//! The writers' lock of a file store: an exclusive lock of the sidecar `<store>.lock`, waited
//! for with a deadline, that can be given up, and that says who holds it.
//!
//! The holder writes its process id into the lock file while it holds the lock (and empties the
//! file before releasing it), so that a writer kept waiting can name the process in its way.

use std::fmt;
use std::fs::{File, TryLockError};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::permissions;
use crate::StorageError;

/// How long a write waits for another writer's lock by default, before giving up with
/// [`StorageError::LockTimeout`].
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// The first pause between two attempts to take a held lock; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
/// The longest pause between two attempts to take a held lock.
const MAX_PAUSE: Duration = Duration::from_millis(25);

/// A write found the store locked by another writer and is waiting for it (given to the
/// callback of `on_lock_wait`, once per waiting write).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockWait {
    /// The store's file.
    pub path: PathBuf,
    /// The process id the holder wrote into the lock file, when it did (tusky writes it).
    pub holder: Option<u32>,
    /// How long the write waits at most.
    pub timeout: Duration,
}

/// A callback told when a write starts waiting for the lock.
pub(crate) type LockWaitCallback = Arc<dyn Fn(&LockWait) + Send + Sync>;

/// How a file store waits for its lock.
#[derive(Clone)]
pub(crate) struct LockOptions {
    pub(crate) timeout: Duration,
    pub(crate) on_wait: Option<LockWaitCallback>,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_LOCK_TIMEOUT,
            on_wait: None,
        }
    }
}

impl fmt::Debug for LockOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockOptions")
            .field("timeout", &self.timeout)
            .field("on_wait", &self.on_wait.as_ref().map(|_| "callback"))
            .finish()
    }
}

/// The held lock; released (and the lock file emptied) when dropped.
pub(crate) struct StoreLock {
    file: File,
}

impl StoreLock {
    /// Takes the lock of the store at `store` through the lock file `lock_path`: waits for
    /// another holder up to `options.timeout`, and gives up with [`StorageError::Cancelled`]
    /// as soon as `abandoned` is set.
    pub(crate) fn acquire(
        store: &Path,
        lock_path: &Path,
        options: &LockOptions,
        abandoned: &AtomicBool,
    ) -> Result<Self, StorageError> {
        let io_error = |operation: &'static str| {
            move |source| StorageError::Io {
                path: store.to_owned(),
                operation,
                source,
            }
        };
        let file = permissions::open_private(lock_path).map_err(io_error("open the lock file"))?;
        let started = Instant::now();
        let mut pause = FIRST_PAUSE;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::Error(source)) => return Err(io_error("lock")(source)),
                Err(TryLockError::WouldBlock) => {}
            }
            if abandoned.load(Ordering::Acquire) {
                return Err(StorageError::Cancelled);
            }
            let waited = started.elapsed();
            if waited >= options.timeout {
                return Err(StorageError::LockTimeout {
                    path: store.to_owned(),
                    waited,
                    holder: holder(lock_path),
                });
            }
            if !told {
                told = true;
                if let Some(on_wait) = &options.on_wait {
                    on_wait(&LockWait {
                        path: store.to_owned(),
                        holder: holder(lock_path),
                        timeout: options.timeout,
                    });
                }
            }
            std::thread::sleep(pause.min(options.timeout - waited));
            pause = (pause * 2).min(MAX_PAUSE);
        }
        let mut lock = Self { file };
        // Who holds the lock is a courtesy to waiting writers: failing to say it is no error.
        let _ = lock.write_holder(&std::process::id().to_string());
        Ok(lock)
    }

    fn write_holder(&mut self, text: &str) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(text.as_bytes())
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Empty the file first, so that a stale pid is never mistaken for the next holder's.
        // The lock itself goes with the file handle.
        let _ = self.file.set_len(0);
    }
}

/// The process id written in the lock file, if there is one.
fn holder(lock_path: &Path) -> Option<u32> {
    std::fs::read_to_string(lock_path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(timeout: Duration) -> LockOptions {
        LockOptions {
            timeout,
            on_wait: None,
        }
    }

    #[test]
    fn a_held_lock_names_its_holder_and_is_given_up_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.json");
        let lock_path = dir.path().join("s.json.lock");
        let not_abandoned = AtomicBool::new(false);
        let held = StoreLock::acquire(
            &store,
            &lock_path,
            &options(DEFAULT_LOCK_TIMEOUT),
            &not_abandoned,
        )
        .unwrap();
        assert_eq!(holder(&lock_path), Some(std::process::id()));

        let started = Instant::now();
        let waits = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&waits);
        let mut second = options(Duration::from_millis(200));
        second.on_wait = Some(Arc::new(move |wait: &LockWait| {
            seen.lock().unwrap().push(wait.clone())
        }));
        let attempt = {
            let (store, lock_path) = (store.clone(), lock_path.clone());
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let result =
                    StoreLock::acquire(&store, &lock_path, &second, &AtomicBool::new(false));
                let _ = tx.send(result.map(|_| ()));
            });
            rx.recv_timeout(Duration::from_secs(20))
                .expect("the wait has a deadline")
        };
        match attempt {
            Err(StorageError::LockTimeout {
                path,
                waited,
                holder,
            }) => {
                assert_eq!(path, store);
                assert!(waited >= Duration::from_millis(200), "{waited:?}");
                assert_eq!(holder, Some(std::process::id()));
            }
            other => panic!("expected a lock timeout, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        let waits = waits.lock().unwrap().clone();
        assert_eq!(
            waits,
            [LockWait {
                path: store.clone(),
                holder: Some(std::process::id()),
                timeout: Duration::from_millis(200),
            }],
            "told once"
        );

        drop(held);
        assert_eq!(holder(&lock_path), None, "emptied on release");
        StoreLock::acquire(&store, &lock_path, &options(Duration::ZERO), &not_abandoned).unwrap();
    }

    #[test]
    fn a_waiting_writer_gives_up_when_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.json");
        let lock_path = dir.path().join("s.json.lock");
        let not_abandoned = AtomicBool::new(false);
        let _held = StoreLock::acquire(
            &store,
            &lock_path,
            &options(DEFAULT_LOCK_TIMEOUT),
            &not_abandoned,
        )
        .unwrap();
        let abandoned = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&abandoned);
        let waiter = std::thread::spawn(move || {
            StoreLock::acquire(&store, &lock_path, &options(DEFAULT_LOCK_TIMEOUT), &flag)
                .map(|_| ())
        });
        abandoned.store(true, Ordering::Release);
        let started = Instant::now();
        while !waiter.is_finished() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(waiter.is_finished(), "the waiter gave up");
        let result = waiter.join().unwrap();
        assert!(matches!(result, Err(StorageError::Cancelled)), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
