//! Helpers shared by the extension tests.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tusky::ProgressEvent;
use tusky_mock_server::wiremock::Request;
use tusky_mock_server::TusMockServer;

/// `n` bytes that differ from one offset to the next (a misplaced chunk shows).
pub fn data(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect()
}

/// A temporary file holding `bytes` (the directory goes away with the guard).
pub fn temp_file(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.bin");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// The value of header `name`, if present and text.
pub fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Upload-Offset` of a request, as a number.
pub fn upload_offset(request: &Request) -> Option<u64> {
    header(request, "upload-offset").and_then(|v| v.parse().ok())
}

/// Every request with effective method PATCH (overridden POSTs included).
pub async fn patches(server: &TusMockServer) -> Vec<Request> {
    server.requests_by_method("PATCH").await
}

/// Creation POSTs (not overridden ones).
pub async fn posts(server: &TusMockServer) -> Vec<Request> {
    server.requests_by_method("POST").await
}

/// A tiny fixed delay between retries, so tests do not sleep.
pub const QUICK: Duration = Duration::from_millis(1);

/// Collects progress events.
#[derive(Clone, Default)]
pub struct Events(Arc<Mutex<Vec<ProgressEvent>>>);

impl Events {
    /// A callback for `on_progress` that records into this collector.
    pub fn callback(&self) -> impl Fn(&ProgressEvent) + Send + Sync + 'static {
        let events = Arc::clone(&self.0);
        move |event: &ProgressEvent| events.lock().unwrap().push(event.clone())
    }

    pub fn all(&self) -> Vec<ProgressEvent> {
        self.0.lock().unwrap().clone()
    }

    /// The reasons of `StartedOver` events.
    pub fn started_over(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::StartedOver { reason } => Some(reason),
                _ => None,
            })
            .collect()
    }

    /// The errors of `RetryScheduled` events.
    pub fn retries(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::RetryScheduled { error, .. } => Some(error),
                _ => None,
            })
            .collect()
    }
}

/// Whether `request` went to the upload at `url`. wiremock records requests with its own
/// host (`http://localhost/...`), so paths are compared.
pub fn is_for(request: &Request, url: &str) -> bool {
    request.url.path() == url::Url::parse(url).unwrap().path()
}
