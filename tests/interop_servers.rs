//! Interop: tusky against real, independent tus servers — @tus/server 2.4 with its FileStore
//! (NODE, and NODE_EXPIRING with a short expiry) and tuspyserver 4.4 (PY) — and finishing an
//! upload that tuspy (the Python client) started. Every scenario compares the bytes in the
//! server's data directory (`<DATA_DIR>/<id>`) with the source.
//!
//!     scripts/interop-servers.sh start && source target/interop.env
//!     TUSKY_INTEROP_REQUIRED=1 cargo test --all-features --test interop_servers
//!
//! Without `target/interop.env` sourced, each test prints
//! "skipping: interop servers not running (scripts/interop-servers.sh start)" and passes;
//! with `TUSKY_INTEROP_REQUIRED=1` (CI) it fails instead. The servers, their data layout and
//! their measured quirks are described in tests/interop/README.md.
//!
//! One test needs no server: the FaultProxy cutting a PATCH to the mock server.

#[path = "interop_servers/scenarios.rs"]
mod scenarios;
#[path = "interop_servers/support.rs"]
mod support;

use support::{server, Kind};

// The proxy is the mock-server crate's, re-exported by tusky (feature `mock-server`) as
// `tusky::mock::FaultProxy`; the tests use the crate directly so they build without it.
#[cfg(feature = "mock-server")]
#[allow(unused_imports)]
use tusky::mock::{Cut as _, FaultProxy as _};

/// Runs `$scenario(&server)` when the server `$kind` is there (else the helper skips/fails).
macro_rules! on {
    ($kind:expr, $scenario:path) => {{
        let Some(server) = server($kind) else { return };
        $scenario(&server).await;
    }};
}

// --- what each server advertises (the README's table; a version bump that changes it shows)

#[tokio::test]
async fn node_advertises() {
    let Some(server) = server(Kind::Node) else {
        return;
    };
    assert_eq!(
        scenarios::advertised(&server).await,
        [
            "creation",
            "creation-defer-length",
            "creation-with-upload",
            "expiration",
            "termination"
        ]
    );
}

#[tokio::test]
async fn py_advertises() {
    let Some(server) = server(Kind::Py) else {
        return;
    };
    assert_eq!(
        scenarios::advertised(&server).await,
        [
            "concatenation",
            "creation",
            "creation-defer-length",
            "creation-with-upload",
            "expiration",
            "termination"
        ]
    );
}

// --- sizes 0, 1, chunk−1, chunk, chunk+1 and 50 MiB

#[tokio::test]
async fn node_sizes_around_the_chunk() {
    on!(Kind::Node, scenarios::sizes);
}

#[tokio::test]
async fn py_sizes_around_the_chunk() {
    on!(Kind::Py, scenarios::sizes);
}

#[tokio::test]
async fn node_50_mib() {
    on!(Kind::Node, scenarios::large_file);
}

#[tokio::test]
async fn py_50_mib() {
    on!(Kind::Py, scenarios::large_file);
}

// --- metadata

#[tokio::test]
async fn node_metadata_round_trip() {
    on!(Kind::Node, scenarios::metadata_round_trip);
}

#[tokio::test]
async fn py_metadata_round_trip() {
    on!(Kind::Py, scenarios::metadata_round_trip);
}

// --- a PATCH cut by the FaultProxy, resumed by a new uploader from a JSON store

#[tokio::test]
async fn node_cut_patch_resumes_from_store() {
    on!(Kind::Node, scenarios::interrupted_patch_resumes_from_store);
}

#[tokio::test]
async fn py_cut_patch_resumes_from_store() {
    on!(Kind::Py, scenarios::interrupted_patch_resumes_from_store);
}

// --- a lost answer and a stalled PATCH (FaultProxy)

#[tokio::test]
async fn node_lost_patch_answer_is_recovered() {
    on!(Kind::Node, scenarios::lost_response_is_recovered);
}

#[tokio::test]
async fn py_lost_patch_answer_is_recovered() {
    on!(Kind::Py, scenarios::lost_response_is_recovered);
}

#[tokio::test]
async fn node_stalled_patch_is_retried() {
    on!(Kind::Node, scenarios::stalled_patch_is_dropped_and_retried);
}

#[tokio::test]
async fn py_stalled_patch_is_retried() {
    on!(Kind::Py, scenarios::stalled_patch_is_dropped_and_retried);
}

// --- unknown length (creation-defer-length)

#[tokio::test]
async fn node_unknown_length_stream() {
    on!(Kind::Node, scenarios::unknown_length_stream);
}

#[tokio::test]
async fn py_unknown_length_stream() {
    on!(Kind::Py, scenarios::unknown_length_stream);
}

#[tokio::test]
async fn node_stream_cut_mid_patch() {
    on!(Kind::Node, scenarios::stream_cut_mid_patch);
}

#[tokio::test]
async fn py_stream_cut_mid_patch() {
    on!(Kind::Py, scenarios::stream_cut_mid_patch);
}

// --- termination

#[tokio::test]
async fn node_termination() {
    on!(Kind::Node, scenarios::termination);
}

#[tokio::test]
async fn py_termination() {
    on!(Kind::Py, scenarios::termination);
}

// --- expiration (@tus/server with EXPIRE_MS)

#[tokio::test]
async fn node_expired_upload_is_not_resumed() {
    let Some(server) = server(Kind::NodeExpiring) else {
        return;
    };
    scenarios::expiration(&server, support::expire_ms()).await;
}

// --- concatenation (tuspyserver; @tus/server falls back to one upload)

#[tokio::test]
async fn py_parallel_upload_concatenates() {
    on!(Kind::Py, scenarios::parallel);
}

#[tokio::test]
async fn node_parallel_falls_back_to_one_upload() {
    on!(Kind::Node, scenarios::parallel);
}

// --- creation-with-upload

#[tokio::test]
async fn node_creation_with_upload() {
    on!(Kind::Node, scenarios::creation_with_upload);
}

#[tokio::test]
async fn py_creation_with_upload() {
    on!(Kind::Py, scenarios::creation_with_upload);
}

// --- finishing an upload tuspy started

#[tokio::test]
async fn node_finishes_an_upload_tuspy_started() {
    let Some(server) = server(Kind::Node) else {
        return;
    };
    let Some(python) = support::env_or_skip(&["TUSKY_INTEROP_TUSPY_PYTHON"]) else {
        return;
    };
    scenarios::finish_tuspy_upload(&server, &python[0]).await;
}

#[tokio::test]
async fn py_finishes_an_upload_tuspy_started() {
    let Some(server) = server(Kind::Py) else {
        return;
    };
    let Some(python) = support::env_or_skip(&["TUSKY_INTEROP_TUSPY_PYTHON"]) else {
        return;
    };
    scenarios::finish_tuspy_upload(&server, &python[0]).await;
}

// --- no real server needed

/// The FaultProxy cuts a PATCH to the mock server mid-body: the retry engine re-reads the
/// offset with HEAD and finishes with exact bytes. wiremock reads whole bodies before
/// answering, so the cut PATCH never reaches the mock and stores nothing (real servers keep
/// the partial bytes, see the `*_cut_patch_resumes_from_store` tests).
#[tokio::test]
async fn fault_proxy_cut_mid_patch_is_retried_against_the_mock() {
    use std::time::Duration;
    use tusky_mock_server::{FaultProxy, TusMockServer};

    let server = TusMockServer::builder()
        .relative_locations(true) // so upload URLs resolve against the proxy
        .start()
        .await;
    let proxy = FaultProxy::start(*server.address()).await.unwrap();
    let client = tusky::Client::new(proxy.url_for(&server.endpoint())).unwrap();
    let bytes = support::noise(1024 * 1024, 3);
    let chunk = 256 * 1024;
    // OPTIONS and a bodiless POST are far below 100 000 bytes: the cut is in the first PATCH.
    proxy.cut_after(100_000);
    let events = support::Events::default();
    let mut uploader = client
        .uploader()
        .reader(std::io::Cursor::new(bytes.clone()))
        .chunk_size(chunk)
        .creation_with_upload(false)
        .retry_delay(3, Duration::from_millis(10))
        .on_progress(events.callback())
        .build()
        .unwrap();
    let summary = uploader.upload().await.expect("finished after the cut");
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    assert_eq!(proxy.stats().cuts, 1);
    assert_eq!(server.request_count("HEAD"), 1, "one re-HEAD after the cut");
    let retries = events
        .all()
        .iter()
        .filter(|e| matches!(e, tusky::ProgressEvent::RetryScheduled { .. }))
        .count();
    assert_eq!(retries, 1);
    // The cut PATCH never completed, so the mock saw exactly the four good ones.
    let offsets: Vec<String> = server
        .requests_by_method("PATCH")
        .await
        .iter()
        .map(|r| r.headers["upload-offset"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(offsets, ["0", "262144", "524288", "786432"]);
    assert!(proxy.stats().bytes_upstream > bytes.len() as u64);
}

/// The byte comparison every scenario relies on does catch a changed byte and a length
/// difference (so a passing scenario means equal bytes).
#[test]
fn the_byte_comparison_catches_differences() {
    use std::io::Cursor;
    let bytes = support::noise(3 * 1024 * 1024 + 5, 9);
    support::assert_same_bytes(&mut Cursor::new(&bytes), &mut Cursor::new(&bytes), "same");
    let mut changed = bytes.clone();
    changed[2 * 1024 * 1024 + 3] ^= 1;
    let caught = |a: Vec<u8>, b: Vec<u8>| {
        std::panic::catch_unwind(move || {
            support::assert_same_bytes(&mut Cursor::new(a), &mut Cursor::new(b), "x")
        })
        .expect_err("a difference")
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default()
    };
    assert!(caught(changed, bytes.clone()).contains("differ at offset 2097155"));
    let longer = [bytes.clone(), vec![0]].concat();
    assert!(caught(longer, bytes.clone()).contains("the server's file has 1 more"));
    assert!(caught(bytes[..10].to_vec(), bytes).contains("the source has"));
}

/// Regression (found with the FaultProxy in front of tuspyserver): a parallel upload's partial
/// uploads are created before any is uploaded, and a network error during one of those
/// creation POSTs failed the whole upload at once, without a retry.
#[tokio::test]
async fn fault_proxy_cut_while_creating_a_partial_upload_is_retried() {
    use std::time::Duration;
    use tusky_mock_server::{FaultProxy, TusMockServer};

    let server = TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let proxy = FaultProxy::start(*server.address()).await.unwrap();
    let client = tusky::Client::new(proxy.url_for(&server.endpoint())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let size = 3 * 1024 * 1024;
    let path = support::noise_file(dir.path(), "parallel.bin", size, 5);
    // The first partial's creation POST carries 512 KiB (creation-with-upload): cut in it.
    proxy.cut_after(300 * 1024);
    let events = support::Events::default();
    let mut uploader = client
        .uploader()
        .path(&path)
        .chunk_size(512 * 1024)
        .parallel(3)
        .retry_delay(3, Duration::from_millis(10))
        .on_progress(events.callback())
        .build()
        .unwrap();
    let summary = uploader.upload().await.expect("finished after the cut");
    assert_eq!(proxy.stats().cuts, 1);
    assert!(events
        .all()
        .iter()
        .any(|e| matches!(e, tusky::ProgressEvent::RetryScheduled { .. })));
    let stored = server
        .upload_bytes(summary.url.as_str())
        .expect("the final upload");
    support::assert_same_bytes(
        &mut std::io::Cursor::new(stored),
        &mut std::fs::File::open(&path).unwrap(),
        "the final upload",
    );
    // Three partial uploads and the final one: the cut POST never reached the mock.
    assert_eq!(server.uploads().len(), 4);
}
