//! The streaming server beyond the shared rules (those run in `rules`): restarts, bodies that
//! stream in pieces, are cut short or go quiet, two requests on one upload, the `Host` guard,
//! shutdown.

mod bodies;
mod concatenation;
mod host;
mod locking;
mod raw;
mod restart;

use std::path::Path;

use tusky_mock_server::StreamingTusServer;

/// A server on a fresh directory.
pub async fn start(dir: &Path) -> StreamingTusServer {
    StreamingTusServer::builder(dir)
        .start()
        .await
        .expect("start the streaming server")
}

/// A server on `dir` (a restart: the uploads there are read back) listening on `port`.
pub async fn start_on(dir: &Path, port: u16) -> StreamingTusServer {
    StreamingTusServer::builder(dir)
        .port(port)
        .start()
        .await
        .expect("start the streaming server")
}
