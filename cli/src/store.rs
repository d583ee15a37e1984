//! The URL store: where it is, which kind it is, and looking files up in it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tusky::fingerprint::{DefaultFingerprint, Fingerprint};
use tusky::storage::{
    detect_tuspy_store, key_fingerprint, JsonFileStorage, LockWait, RedisStorage, Storage,
    StorageError, TuspyFileStorage, UploadRecord,
};

use crate::failure::Failure;

/// tusky's data directory: `$XDG_DATA_HOME/tusky`, else `~/.local/share/tusky`.
pub fn data_dir() -> Result<PathBuf, Failure> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        let xdg = PathBuf::from(xdg);
        if xdg.is_absolute() {
            return Ok(xdg.join("tusky"));
        }
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/tusky")),
        None => Err(Failure::usage(
            "cannot find a data directory: neither XDG_DATA_HOME nor HOME is set (pass --store PATH)",
        )),
    }
}

/// Creates `dir` and its missing parents; those it creates are private to the user (0700 on
/// Unix), as tusky's data directory must be: it holds upload URLs and uploaded bytes.
/// Existing directories are left as they are.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The store to use: the given path (or `redis://` URL), else `$TUSKY_STORE`, else
/// `uploads.json` in the data directory.
pub fn store_path(given: Option<&Path>) -> Result<PathBuf, Failure> {
    match given {
        Some(path) => Ok(path.to_owned()),
        None => match std::env::var_os("TUSKY_STORE").filter(|v| !v.is_empty()) {
            Some(store) => Ok(PathBuf::from(store)),
            None => Ok(data_dir()?.join("uploads.json")),
        },
    }
}

/// An opened store and what kind it is.
pub struct OpenStore {
    /// The store.
    pub storage: Arc<dyn Storage>,
    /// Its file; for Redis, the server as `redis://host:port/db` (for messages).
    pub path: PathBuf,
    /// Whether it is a tuspy (TinyDB) file, which keeps URLs only.
    pub tuspy: bool,
}

/// Opens the store at `path`: a tuspy TinyDB file when its content says so, else tusky's JSON.
/// A write waits at most `lock_timeout` for another process's lock; when one starts waiting,
/// `tell` gets a line naming the holder (once per opened store).
pub fn open(
    path: PathBuf,
    lock_timeout: Duration,
    tell: impl Fn(&str) + Send + Sync + 'static,
) -> Result<OpenStore, Failure> {
    if let Some(url) = path.to_str().filter(|p| is_redis_url(p)) {
        return open_redis(url);
    }
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(Failure::local(format!(
                "reading the URL store {}: {e}",
                path.display()
            )))
        }
    };
    let failed =
        |e: StorageError| Failure::local(format!("opening the URL store {}: {e}", path.display()));
    let told = AtomicBool::new(false);
    let on_wait = move |wait: &LockWait| {
        if !told.swap(true, Ordering::Relaxed) {
            tell(&lock_wait_line(wait));
        }
    };
    let tuspy = detect_tuspy_store(&bytes);
    let storage: Arc<dyn Storage> = if tuspy {
        let store = TuspyFileStorage::open(&path).map_err(failed)?;
        Arc::new(store.lock_timeout(lock_timeout).on_lock_wait(on_wait))
    } else {
        let store = JsonFileStorage::open(&path).map_err(failed)?;
        Arc::new(store.lock_timeout(lock_timeout).on_lock_wait(on_wait))
    };
    Ok(OpenStore {
        storage,
        path,
        tuspy,
    })
}

/// `waiting for the store lock held by pid 4242 (PATH; giving up after 30 s, Ctrl-C stops)…`
fn lock_wait_line(wait: &LockWait) -> String {
    let holder = match wait.holder {
        Some(pid) => format!("held by pid {pid}"),
        None => "held by another process".to_owned(),
    };
    format!(
        "waiting for the store lock {holder} ({}; giving up after {} s, Ctrl-C stops)…",
        wait.path.display(),
        wait.timeout.as_secs_f64()
    )
}

/// Whether `--store` (or `TUSKY_STORE`) names a Redis server rather than a file.
fn is_redis_url(store: &str) -> bool {
    let lower = store.to_ascii_lowercase();
    ["redis://", "rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// Opens the Redis store at `url` (resume state shared by every machine that reaches it);
/// `path` is then the server without credentials, for messages.
fn open_redis(url: &str) -> Result<OpenStore, Failure> {
    let opening = RedisStorage::open(url);
    // Callers run on the CLI's multi-thread runtime: block this worker while connecting (at
    // most RedisStorage::DEFAULT_TIMEOUT) rather than make every caller async.
    let store = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(opening))
        .map_err(|e| Failure::local(format!("opening the URL store: {e}")))?;
    Ok(OpenStore {
        path: PathBuf::from(store.server()),
        storage: Arc::new(store),
        tuspy: false,
    })
}

impl OpenStore {
    /// A store error as a failure (exit 5).
    pub fn failure(&self, what: &str, error: StorageError) -> Failure {
        Failure::local(format!(
            "{what} the URL store {}: {error}",
            self.path.display()
        ))
    }

    /// Every record.
    pub async fn list(&self) -> Result<Vec<(String, UploadRecord)>, Failure> {
        self.storage
            .list()
            .await
            .map_err(|e| self.failure("reading", e))
    }

    /// The records stored for `file` (by fingerprint, on every server it was uploaded to) or
    /// `url`: `(key, record)` pairs.
    pub async fn find(&self, target: &Target) -> Result<Vec<(String, UploadRecord)>, Failure> {
        match target {
            Target::File(path) => {
                let fingerprint = fingerprint_file(path).await?;
                Ok(self
                    .list()
                    .await?
                    .into_iter()
                    .filter(|(key, _)| key_fingerprint(key) == fingerprint)
                    .collect())
            }
            Target::Url(url) => Ok(self
                .list()
                .await?
                .into_iter()
                .filter(|(_, r)| {
                    same_url(&r.url, url) || r.partial_urls.iter().any(|p| same_url(p, url))
                })
                .collect()),
        }
    }
}

/// What a `FILE|URL` argument names.
#[derive(Debug, Clone)]
pub enum Target {
    /// A local file.
    File(PathBuf),
    /// An upload URL.
    Url(String),
}

impl Target {
    /// An `http(s)://` argument is a URL, anything else a file.
    pub fn parse(text: &str) -> Target {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            Target::Url(text.to_owned())
        } else {
            Target::File(PathBuf::from(text))
        }
    }
}

/// Whether two URLs name the same upload (a user name and password in either do not count).
fn same_url(a: &str, b: &str) -> bool {
    crate::connection::shown_url(a) == crate::connection::shown_url(b)
}

/// The storage key of a file, as the uploader computes it (the default fingerprint: size and
/// MD5 of the first 64 KiB, tuspy's key).
pub async fn fingerprint_file(path: &Path) -> Result<String, Failure> {
    let owned = path.to_owned();
    let key =
        tokio::task::spawn_blocking(move || DefaultFingerprint::default().fingerprint_file(&owned))
            .await
            .map_err(|e| Failure::local(format!("reading {}: {e}", path.display())))?;
    key.map_err(|e| Failure::local(format!("reading {}: {e}", path.display())))
}
