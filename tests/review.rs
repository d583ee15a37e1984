//! Reproducers of bugs found in review, each fixed in `src/`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tusky::storage::{MemoryStorage, Storage};
use tusky::{CancellationToken, Client, Error, ExponentialBackoff, ProgressEvent};
use tusky_mock_server::wiremock::matchers::{header_regex, method};
use tusky_mock_server::wiremock::{Mock, ResponseTemplate};
use tusky_mock_server::TusMockServer;

/// `n` bytes that differ from one offset to the next (a misplaced chunk shows).
fn data(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect()
}

fn temp_file(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.bin");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// A parallel upload whose record is kept on success (`remove_record_on_success(false)`) is
/// found complete by a later run of the same file: nothing is created or sent again.
#[tokio::test]
async fn a_kept_parallel_record_is_found_complete_and_not_uploaded_again() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(60_000);
    let (_dir, path) = temp_file(&bytes);
    let build = || {
        client
            .uploader()
            .path(&path)
            .parallel(3)
            .chunk_size(10_000)
            .storage(Arc::clone(&store))
            .remove_record_on_success(false)
            .build()
            .unwrap()
    };
    let first = build().upload().await.unwrap();
    assert_eq!(server.upload_bytes(first.url.as_str()).unwrap(), bytes);
    assert_eq!(store.list().await.unwrap().len(), 1, "the record is kept");
    let uploads_before = server.uploads().len();
    let patches_before = server.request_count("PATCH");

    let second = build().upload().await.unwrap();

    assert_eq!(second.url, first.url, "the finished final upload is found");
    assert_eq!(second.bytes_uploaded, 0);
    assert_eq!(
        server.uploads().len(),
        uploads_before,
        "nothing created again"
    );
    assert_eq!(
        server.request_count("PATCH"),
        patches_before,
        "nothing sent again"
    );
}

/// Cancelling while the final (concatenation) POST is waiting to be retried stops the upload
/// promptly, like a cancel anywhere else.
#[tokio::test]
async fn cancelling_during_the_final_post_retry_wait_stops_promptly() {
    let server = TusMockServer::start().await;
    Mock::given(method("POST"))
        .and(header_regex("upload-concat", "^final;"))
        .respond_with(ResponseTemplate::new(503).insert_header("Tus-Resumable", "1.0.0"))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(30_000);
    let (_dir, path) = temp_file(&bytes);
    let token = CancellationToken::new();
    let cancel = token.clone();
    let mut uploader = client
        .uploader()
        .path(&path)
        .parallel(2)
        .retry_policy(ExponentialBackoff::fixed(100, Duration::from_secs(5)))
        .cancellation_token(token)
        .on_progress(move |event| {
            if let ProgressEvent::RetryScheduled { .. } = event {
                cancel.cancel();
            }
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(20), uploader.upload())
        .await
        .expect("upload() returns");
    let error = result.unwrap_err();
    assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cancelled after {:?}",
        started.elapsed()
    );
}

/// An explicit URL of an upload created with a deferred length (`Upload-Defer-Length: 1`),
/// continued from a file: the uploader must declare the length, or the server's upload never
/// completes although tusky reports it finished.
#[tokio::test]
async fn an_explicit_deferred_length_upload_gets_its_length_declared() {
    let server = TusMockServer::start().await;
    let http = reqwest::Client::new();
    let created = http
        .post(server.endpoint())
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Defer-Length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let url = created.headers()["location"].to_str().unwrap().to_owned();

    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(25_000);
    let (_dir, path) = temp_file(&bytes);
    let mut uploader = client
        .uploader()
        .path(&path)
        .url(url.clone())
        .chunk_size(10_000)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();

    assert_eq!(summary.offset, 25_000);
    assert_eq!(server.upload_bytes(&url).unwrap(), bytes);
    let upload = server.upload(&url).unwrap();
    assert_eq!(upload.length, Some(25_000), "the length was declared");
    assert!(upload.is_complete());
}

/// The same, when every byte is already on the server but its length was never declared: the
/// uploader declares it (a PATCH without body) instead of reporting a finished upload.
#[tokio::test]
async fn an_explicit_deferred_upload_holding_every_byte_gets_its_length_declared() {
    let server = TusMockServer::start().await;
    let http = reqwest::Client::new();
    let bytes = data(5_000);
    let created = http
        .post(server.endpoint())
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Defer-Length", "1")
        .send()
        .await
        .unwrap();
    let url = created.headers()["location"].to_str().unwrap().to_owned();
    let patched = http
        .patch(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 204);

    let client = Client::new(server.endpoint()).unwrap();
    let (_dir, path) = temp_file(&bytes);
    let mut uploader = client
        .uploader()
        .path(&path)
        .url(url.clone())
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();

    assert_eq!(summary.offset, 5_000);
    let upload = server.upload(&url).unwrap();
    assert_eq!(upload.length, Some(5_000), "the length was declared");
    assert!(upload.is_complete());
}

/// A link that takes request bodies at `bytes_per_second` (piece by piece for a streamed
/// body, all at once for a body in memory), then passes the request on.
#[derive(Clone)]
struct SlowLink {
    inner: tusky::transport::ReqwestTransport,
    bytes_per_second: u64,
}

#[async_trait::async_trait]
impl tusky::transport::Transport for SlowLink {
    async fn send(
        &self,
        mut request: tusky::transport::Request,
    ) -> Result<tusky::transport::Response, tusky::transport::TransportError> {
        use futures_util::StreamExt;
        use tusky::transport::Body;
        let pace = |n: usize| Duration::from_secs_f64(n as f64 / self.bytes_per_second as f64);
        let mut body = Vec::new();
        match std::mem::replace(&mut request.body, Body::Empty) {
            Body::Empty => {}
            Body::Bytes(bytes) => {
                tokio::time::sleep(pace(bytes.len())).await;
                body.extend_from_slice(&bytes);
            }
            Body::Stream { mut stream, .. } => {
                while let Some(piece) = stream.next().await {
                    let piece = piece.unwrap();
                    tokio::time::sleep(pace(piece.len())).await;
                    body.extend_from_slice(&piece);
                }
            }
        }
        if !body.is_empty() {
            request.body = Body::Bytes(body.into());
        }
        self.inner.send(request).await
    }
}

/// On a link slower than one chunk per stall timeout, but steadily moving, a stream source
/// (unknown length) uploads like a file does: the stall watchdog must see its bytes move.
#[tokio::test]
async fn a_stream_on_a_slow_but_moving_link_is_not_taken_for_stalled() {
    let server = TusMockServer::start().await;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .build_with_transport(SlowLink {
            inner: tusky::transport::ReqwestTransport::new(Default::default()).unwrap(),
            bytes_per_second: 512 * 1024,
        })
        .unwrap();
    let bytes = data(1_200_000);
    let (_dir, path) = temp_file(&bytes);
    let build = |builder: tusky::UploaderBuilder<_, _, _>| {
        builder
            .chunk_size(1024 * 1024)
            .stall_timeout(Some(Duration::from_millis(800)))
            .retry_delay(2, Duration::from_millis(10))
            .build()
            .unwrap()
    };

    // A file: 128 KiB pieces move every quarter second, well within the stall timeout.
    let file = build(client.uploader().path(&path)).upload().await.unwrap();
    assert_eq!(server.upload_bytes(file.url.as_str()).unwrap(), bytes);

    // The same bytes from a stream.
    let stream = build(
        client
            .uploader()
            .stream(std::io::Cursor::new(bytes.clone())),
    )
    .upload()
    .await
    .unwrap();
    assert_eq!(server.upload_bytes(stream.url.as_str()).unwrap(), bytes);
}

/// A stored record whose URL names a complete upload of another size (a stale record, a
/// server that reused the id) is not taken for this file's finished parallel upload.
#[tokio::test]
async fn a_stored_final_of_another_size_is_not_taken_for_this_file() {
    use tusky::fingerprint::{DefaultFingerprint, Fingerprint};
    use tusky::storage::UploadRecord;
    let server = TusMockServer::start().await;
    let http = reqwest::Client::new();
    let created = http
        .post(server.endpoint())
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    let other = created.headers()["location"].to_str().unwrap().to_owned();
    let patched = http
        .patch(&other)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(vec![7u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 204);

    let bytes = data(40_000);
    let (_dir, path) = temp_file(&bytes);
    let store = Arc::new(MemoryStorage::new());
    let key = DefaultFingerprint::default()
        .fingerprint_file(&path)
        .unwrap();
    store
        .set(&key, UploadRecord::new(other.clone()).with_size(40_000))
        .await
        .unwrap();
    let client = Client::new(server.endpoint()).unwrap();
    let summary = client
        .uploader()
        .path(&path)
        .parallel(2)
        .storage(Arc::clone(&store))
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();

    assert_ne!(
        summary.url.as_str(),
        other,
        "another upload is not this file"
    );
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
}

/// A single upload interrupted half-way is continued by a later `parallel(n)` run of the same
/// file (its record is not overwritten and the bytes the server holds are not sent again).
#[tokio::test]
async fn a_parallel_run_continues_an_interrupted_single_upload() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(60_000);
    let (_dir, path) = temp_file(&bytes);
    let first = client
        .uploader()
        .path(&path)
        .chunk_size(10_000)
        .storage(Arc::clone(&store))
        .build()
        .unwrap()
        .upload_until(30_000)
        .await
        .unwrap();
    assert_eq!(first.offset, 30_000);

    let summary = client
        .uploader()
        .path(&path)
        .parallel(3)
        .chunk_size(10_000)
        .storage(Arc::clone(&store))
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();

    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    assert_eq!(summary.resumed_from, Some(30_000));
    assert_eq!(
        summary.bytes_uploaded, 30_000,
        "only the missing half is sent"
    );
}
