//! [`StreamingTusServer`]: a running streaming, disk-backed tus server.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::builder::StreamingTusServerBuilder;
use super::handler::App;
use crate::snapshot::UploadSnapshot;
use crate::tus::upload_id::id_from;

/// A tus 1.0 server that streams every body to disk and keeps its uploads across restarts.
///
/// Made for `tusky serve`, local uploads, benchmarks and tests with large files; the
/// [crate documentation](crate#a-streaming-disk-backed-server) says what it does and how.
/// Same protocol rules as [`TusMockServer`](crate::TusMockServer) (one implementation), no
/// fault injection and no request log.
pub struct StreamingTusServer {
    app: Arc<App>,
    address: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for StreamingTusServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamingTusServer")
            .field("endpoint", &self.app.endpoint)
            .field("dir", &self.app.layout.dir())
            .finish_non_exhaustive()
    }
}

impl StreamingTusServer {
    /// The default `Tus-Max-Size`: 1 TiB (a sanity bound, not a promise of disk space).
    pub const DEFAULT_MAX_SIZE: u64 = 1 << 40;

    /// How long [`shutdown`](Self::shutdown) waits, after the connections are closed, for the
    /// file work of their requests (the rest of a buffer to write, an info to save).
    pub const FILE_WORK_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

    /// A builder for a server keeping its uploads in `dir` (created if missing; uploads
    /// already there are served again).
    pub fn builder(dir: impl AsRef<Path>) -> StreamingTusServerBuilder {
        StreamingTusServerBuilder::new(dir.as_ref().to_path_buf())
    }

    pub(crate) fn new(
        app: Arc<App>,
        address: SocketAddr,
        stop: watch::Sender<bool>,
        task: JoinHandle<()>,
    ) -> Self {
        StreamingTusServer {
            app,
            address,
            stop,
            task: Some(task),
        }
    }

    /// The creation endpoint, e.g. `http://127.0.0.1:41234/files/`.
    pub fn endpoint(&self) -> String {
        self.app.endpoint.clone()
    }

    /// The server's base URI, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The socket address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The directory holding the uploads.
    pub fn dir(&self) -> &Path {
        self.app.layout.dir()
    }

    /// Every upload the server holds (terminated ones are gone), in no particular order.
    pub fn uploads(&self) -> Vec<UploadSnapshot> {
        let now = SystemTime::now();
        self.app
            .registry
            .all()
            .iter()
            .map(|info| UploadSnapshot::new(info, &self.app.endpoint, now))
            .collect()
    }

    /// One upload, by absolute URL, path or id.
    pub fn upload(&self, url_or_id: &str) -> Option<UploadSnapshot> {
        self.app
            .registry
            .info(id_from(url_or_id))
            .map(|info| UploadSnapshot::new(&info, &self.app.endpoint, SystemTime::now()))
    }

    /// The file holding an upload's bytes (by absolute URL, path or id); `None` for an
    /// unknown or terminated upload. It holds exactly [`UploadSnapshot::offset`] bytes
    /// between requests, more while a body is arriving. For a final upload whose partials'
    /// bytes are still being copied in (the answer to its POST does not wait for that), it
    /// waits for the copy, blocking the thread, at most
    /// [`FILE_WORK_DEADLINE`](Self::FILE_WORK_DEADLINE); [`concatenated`](Self::concatenated)
    /// waits without blocking.
    pub fn upload_path(&self, url_or_id: &str) -> Option<PathBuf> {
        self.app
            .registry
            .wait_concatenated(id_from(url_or_id), Self::FILE_WORK_DEADLINE)
            .map(|info| self.app.layout.data_path(&info.id))
    }

    /// An upload's bytes, read whole from its file into memory (for tests: mind the size);
    /// `None` for an unknown or terminated upload or an unreadable file. Waits for a final
    /// upload's concatenation as [`upload_path`](Self::upload_path) does.
    pub fn upload_bytes(&self, url_or_id: &str) -> Option<Vec<u8>> {
        let info = self
            .app
            .registry
            .wait_concatenated(id_from(url_or_id), Self::FILE_WORK_DEADLINE)?;
        let mut bytes = std::fs::read(self.app.layout.data_path(&info.id)).ok()?;
        bytes.truncate(usize::try_from(info.offset).unwrap_or(usize::MAX));
        Some(bytes)
    }

    /// The upload (by absolute URL, path or id) once it holds all the bytes it has been
    /// given: a final upload is answered before its partials' bytes are copied into it, and
    /// this waits for the copy, at most [`FILE_WORK_DEADLINE`](Self::FILE_WORK_DEADLINE)
    /// (then returns the upload as it stands); any other upload is returned at once. `None`
    /// for an unknown or terminated upload, or a final upload whose copy failed (it is
    /// removed).
    pub async fn concatenated(&self, url_or_id: &str) -> Option<UploadSnapshot> {
        let id = id_from(url_or_id);
        let mut changes = self.app.changes.subscribe();
        let settled = |_: &u64| {
            !self
                .app
                .registry
                .info(id)
                .is_some_and(|i| i.is_concatenating())
        };
        let _ = tokio::time::timeout(Self::FILE_WORK_DEADLINE, changes.wait_for(settled)).await;
        self.upload(id)
    }

    /// A counter bumped after every change to an upload (created, bytes received,
    /// terminated): `changes.changed().await` waits for the next one. For a program that
    /// reacts to uploads (`tusky serve` describes each finished one) without polling.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> std::io::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// let server = tusky_mock_server::StreamingTusServer::builder(dir.path()).start().await?;
    /// let mut changes = server.changes();
    /// # let endpoint = server.endpoint();
    /// # tokio::spawn(async move {
    /// #     reqwest::Client::new().post(endpoint).header("Tus-Resumable", "1.0.0")
    /// #         .header("Upload-Length", "1").send().await
    /// # });
    /// // … a client creates an upload …
    /// changes.changed().await.unwrap();
    /// assert_eq!(server.uploads().len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.app.changes.subscribe()
    }

    /// Stops accepting connections, lets the requests in progress finish within the grace
    /// period ([`StreamingTusServerBuilder::shutdown_grace`]), then closes every connection.
    /// Bytes of a body still arriving then are dropped (the upload keeps its offset). Returns
    /// once the files of the requests it stopped are written (within
    /// [`FILE_WORK_DEADLINE`](Self::FILE_WORK_DEADLINE)): a server started on the directory
    /// then reads what this one left. A final upload's copy still running stops (within 16 MiB)
    /// and is done again by the next server started on the directory.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.app.stopping.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let finished = self.app.jobs.finished();
        if tokio::time::timeout(Self::FILE_WORK_DEADLINE, finished)
            .await
            .is_err()
        {
            tracing::warn!("file work still running after the shutdown's deadline");
        }
    }
}

impl Drop for StreamingTusServer {
    /// Closes every connection at once (as a killed server would); use
    /// [`shutdown`](Self::shutdown) to let requests finish.
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.app.stopping.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[allow(dead_code)]
fn _assert_impls() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<StreamingTusServer>();
    send::<StreamingTusServerBuilder>();
}
