//! Read-modify-write of a small file, safe against other processes and crashes.
//!
//! Writers serialise on an exclusive lock of a sidecar file `<path>.lock` (never deleted:
//! deleting a lock file lets two writers lock two different files), waited for with a deadline
//! (see [`StoreLock`]). Under the lock the current contents are read, the change is computed,
//! and the new contents are written to `<path>.tusky-tmp` in the same directory (created
//! private: 0600 on Unix, before any byte goes in), fsynced, renamed over `<path>`, and the
//! directory is fsynced. Readers take no lock: a rename is atomic, so they see either the old
//! or the new file, never a torn one.
//!
//! A store that is a symbolic link is written through: the link is resolved, and the lock file,
//! the temp file and the rename are beside the link's target, so the link stays a link.
//!
//! Everything here blocks; callers run it in `spawn_blocking` (see [`run_blocking`]).

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::file_lock::{LockOptions, StoreLock};
use crate::permissions;
use crate::StorageError;

/// How many symbolic links are followed to find a store's file, at most (Linux's limit).
const MAX_LINKS: usize = 40;

/// What an update decided to do with the file.
pub(crate) enum Change {
    /// Leave the file exactly as it is (the change was a no-op).
    Keep,
    /// Replace the file's contents with these bytes.
    Write(Vec<u8>),
}

fn io_error<'a>(
    path: &'a Path,
    operation: &'static str,
) -> impl FnOnce(io::Error) -> StorageError + 'a {
    move |source| StorageError::Io {
        path: path.to_owned(),
        operation,
        source,
    }
}

/// `path` with `suffix` appended to its file name (`store.json` → `store.json.lock`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.file_name().unwrap_or(path.as_os_str()));
    name.push(suffix);
    path.with_file_name(name)
}

/// The sidecar lock file of `path`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    sibling(path, ".lock")
}

/// The temporary file a new version of `path` is written to before the rename.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    sibling(path, ".tusky-tmp")
}

/// The file's bytes, or `None` when it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error(path, "read")(err)),
    }
}

/// Under the writers' lock, reads `path` (`None` when missing), lets `change` decide the new
/// contents, and writes them atomically. When `change` fails, nothing is written. Waits for the
/// lock as `lock` says, and gives up without writing once `abandoned` is set.
pub(crate) fn update<T>(
    path: &Path,
    lock: &LockOptions,
    abandoned: &AtomicBool,
    change: impl FnOnce(Option<&[u8]>) -> Result<(Change, T), StorageError>,
) -> Result<T, StorageError> {
    let target = resolve_links(path).map_err(io_error(path, "resolve the symbolic link"))?;
    if let Some(parent) = parent_dir(&target) {
        permissions::create_private_dirs(parent)
            .map_err(io_error(path, "create the parent directory"))?;
    }
    let held = StoreLock::acquire(path, &lock_path(&target), lock, abandoned)?;

    let current = read_if_exists(path)?;
    let (change, outcome) = change(current.as_deref())?;
    if let Change::Write(bytes) = change {
        if abandoned.load(Ordering::Acquire) {
            return Err(StorageError::Cancelled);
        }
        replace(&target, &bytes)?;
    }
    // The lock is released when `held` is dropped, after the rename and the fsyncs.
    drop(held);
    Ok(outcome)
}

/// The file a write to `path` must replace: `path` itself, or, when it is a symbolic link, the
/// file it points to (which need not exist yet).
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = match parent_dir(&current) {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
            _ => return Ok(current),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_LINKS} symbolic links to follow"
    )))
}

/// The directory holding `path`, when it names one (`store.json` alone has none to create).
fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent()
        .filter(|parent| !parent.as_os_str().is_empty())
}

/// Writes `bytes` to the temp file, fsyncs it, renames it over `path`, fsyncs the directory.
/// On failure the temp file is removed and `path` is untouched.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let temp = temp_path(path);
    let written = write_synced(&temp, bytes, path).and_then(|()| {
        fs::rename(&temp, path).map_err(io_error(path, "rename the new version into place"))
    });
    if let Err(err) = written {
        let _ = fs::remove_file(&temp);
        return Err(err);
    }
    sync_dir(path)
}

fn write_synced(temp: &Path, bytes: &[u8], path: &Path) -> Result<(), StorageError> {
    // Private from the start; a store the user made narrower (read-only, say) stays so.
    let mut file = permissions::create_private(temp, permissions::mode_of(path))
        .map_err(io_error(path, "create the temporary file"))?;
    file.write_all(bytes)
        .map_err(io_error(path, "write the temporary file"))?;
    file.sync_all()
        .map_err(io_error(path, "fsync the temporary file"))
}

/// Makes the rename durable: fsync the directory entry (Unix; elsewhere the rename is all).
fn sync_dir(path: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        let dir = parent_dir(path).unwrap_or(Path::new("."));
        fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io_error(path, "fsync the directory"))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Runs blocking file work on tokio's blocking pool. `work` gets a flag that is set when the
/// returned future is dropped (the caller gave up), so that a write still waiting for the lock
/// stops waiting and writes nothing.
pub(crate) async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce(&AtomicBool) -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    let abandoned = Arc::new(AtomicBool::new(false));
    let _guard = SetOnDrop(Arc::clone(&abandoned));
    match tokio::task::spawn_blocking(move || work(&abandoned)).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(StorageError::Backend(Box::new(join))),
    }
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::file_lock::{LockWait, DEFAULT_LOCK_TIMEOUT};
    use crate::{JsonFileStorage, Storage, TuspyFileStorage, UploadRecord};

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn new_stores_their_locks_and_the_directories_they_create_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("a/b/uploads.json");
        JsonFileStorage::open(&json)
            .unwrap()
            .set("k", UploadRecord::new("https://secret/1"))
            .await
            .unwrap();
        let tuspy = dir.path().join("t/tuspy.json");
        TuspyFileStorage::open(&tuspy)
            .unwrap()
            .set("k", UploadRecord::new("https://secret/1"))
            .await
            .unwrap();
        for created in ["a", "a/b", "t"] {
            assert_eq!(mode(&dir.path().join(created)), 0o700, "{created}");
        }
        for file in [&json, &lock_path(&json), &tuspy, &lock_path(&tuspy)] {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_rewrite_makes_an_open_store_private_and_never_uses_a_stale_temp_file_as_is() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("uploads.json");
        let store = JsonFileStorage::open(&path).unwrap();
        store
            .set("a", UploadRecord::new("https://a"))
            .await
            .unwrap();
        // As an older tusky left it, with a temp file from a crash, both world-readable.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(temp_path(&path), "stale").unwrap();
        fs::set_permissions(temp_path(&path), fs::Permissions::from_mode(0o666)).unwrap();
        store
            .set("b", UploadRecord::new("https://b"))
            .await
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(store.list().await.unwrap().len(), 2);
        assert!(!temp_path(&path).exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_store_that_is_a_symlink_is_written_through_to_its_target() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/uploads.json");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real/uploads.json", &link).unwrap();

        // The target does not exist yet: the first write creates it, through the link.
        let store = JsonFileStorage::open(&link).unwrap();
        store
            .set("a", UploadRecord::new("https://a"))
            .await
            .unwrap();
        store
            .set("b", UploadRecord::new("https://b"))
            .await
            .unwrap();
        store.remove("a").await.unwrap();

        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let direct = JsonFileStorage::open(&target).unwrap();
        assert_eq!(direct.list().await.unwrap().len(), 1);
        assert_eq!(
            direct.get("b").await.unwrap(),
            Some(UploadRecord::new("https://b"))
        );
        // One lock for the link and the target: beside the target.
        assert!(lock_path(&target).exists());
        assert!(!lock_path(&link).exists());
        assert!(!temp_path(&link).exists() && !temp_path(&target).exists());
    }

    fn hold_lock(path: &Path) -> StoreLock {
        let options = LockOptions::default();
        StoreLock::acquire(path, &lock_path(path), &options, &AtomicBool::new(false)).unwrap()
    }

    #[tokio::test]
    async fn a_write_waits_for_a_held_lock_until_its_deadline_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("uploads.json");
        let waits = Arc::new(std::sync::Mutex::new(Vec::<LockWait>::new()));
        let seen = Arc::clone(&waits);
        let store = JsonFileStorage::open(&path)
            .unwrap()
            .lock_timeout(Duration::from_millis(300))
            .on_lock_wait(move |wait| seen.lock().unwrap().push(wait.clone()));
        store
            .set("a", UploadRecord::new("https://a"))
            .await
            .unwrap();
        let before = fs::read(&path).unwrap();

        // Another handle (as another process would) holds the lock.
        let held = hold_lock(&path);
        let started = std::time::Instant::now();
        let write = store.set("b", UploadRecord::new("https://b"));
        match tokio::time::timeout(Duration::from_secs(20), write)
            .await
            .expect("the wait has a deadline")
        {
            Err(StorageError::LockTimeout {
                path: p,
                holder,
                waited,
            }) => {
                assert_eq!(p, path);
                assert_eq!(holder, Some(std::process::id()));
                assert!(waited >= Duration::from_millis(300));
            }
            other => panic!("expected a lock timeout, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        let error = tokio::time::timeout(Duration::from_secs(20), store.remove("a"))
            .await
            .expect("the wait has a deadline")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("held by pid {}", std::process::id())),
            "{error}"
        );
        assert_eq!(fs::read(&path).unwrap(), before, "nothing written");
        assert_eq!(
            waits.lock().unwrap().len(),
            2,
            "told once per waiting write"
        );
        assert_eq!(waits.lock().unwrap()[0].holder, Some(std::process::id()));

        drop(held);
        store
            .set("b", UploadRecord::new("https://b"))
            .await
            .unwrap();
        assert_eq!(store.list().await.unwrap().len(), 2);
    }

    #[test]
    fn an_abandoned_write_stops_waiting_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("uploads.json");
        let held = hold_lock(&path);
        let abandoned = Arc::new(AtomicBool::new(false));
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let options = LockOptions {
            timeout: DEFAULT_LOCK_TIMEOUT,
            on_wait: Some(Arc::new(move |_: &LockWait| {
                let _ = waiting_tx.send(());
            })),
        };
        let writer = {
            let (path, abandoned) = (path.clone(), Arc::clone(&abandoned));
            std::thread::spawn(move || {
                update(&path, &options, &abandoned, |_| {
                    Ok((Change::Write(b"written".to_vec()), ()))
                })
            })
        };
        waiting_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        abandoned.store(true, Ordering::Release);
        drop(held);
        let started = std::time::Instant::now();
        while !writer.is_finished() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let result = writer.join().unwrap();
        assert!(matches!(result, Err(StorageError::Cancelled)), "{result:?}");
        assert!(!path.exists(), "nothing written");
    }

    #[tokio::test]
    async fn dropping_the_future_of_blocking_work_tells_the_work() {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (seen_tx, seen_rx) = mpsc::channel();
        let work = run_blocking(move |abandoned| {
            let _ = started_tx.send(());
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !abandoned.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = seen_tx.send(abandoned.load(Ordering::Acquire));
            Ok(())
        });
        tokio::select! {
            _ = work => panic!("the work ends only when abandoned"),
            _ = started_rx => {}
        }
        // `work` is dropped here, at the end of the select.
        let seen =
            tokio::task::spawn_blocking(move || seen_rx.recv_timeout(Duration::from_secs(20)))
                .await
                .unwrap();
        assert_eq!(seen, Ok(true));
    }
}
