//! Interop: tusky against real, independent tus servers — @tus/server 2.4 with its FileStore
//! (NODE, and NODE_EXPIRING with a short expiry) and tuspyserver 4.4 (PY) — and finishing an
//! upload that tuspy (the Python client) started; in `clients`, tuspy and tus-js-client upload
//! to tusky's own streaming server. Every scenario compares the bytes in the
//! server's data directory (`<DATA_DIR>/<id>`) with the source.
//!
//!     scripts/interop-servers.sh start && source target/interop.env
//!     TUSKY_INTEROP_REQUIRED=1 cargo test --all-features --test it interop::
//!
//! Without `target/interop.env` sourced, each test prints
//! "skipping: interop servers not running (scripts/interop-servers.sh start)" and passes;
//! with `TUSKY_INTEROP_REQUIRED=1` (CI) it fails instead. The servers, their data layout and
//! their measured quirks are described in tests/interop/README.md.
//!
//! Three tests need no server: the FaultProxy cutting requests to the mock server, and the
//! byte comparison the scenarios rely on.

mod clients;
mod scenarios;
mod servers;

use servers::{server, Kind};

use crate::common::{noise, noise_file, stored, Events};

// The proxy is the mock-server crate's, re-exported by tusky (feature `mock-server`) as
// `tusky::mock::FaultProxy`; the tests use the crate directly so they build without it.
#[cfg(feature = "mock-server")]
#[allow(unused_imports)]
use tusky::mock::{Cut as _, FaultProxy as _};

/// A module `$name` of one test per server, `node`, `py` and `rustus`, each running
/// `$scenario(&server)` when that server is there (else [`server`] skips, or fails in CI).
macro_rules! on_every_server {
    ($(#[$doc:meta])* $name:ident: $scenario:path) => {
        $(#[$doc])*
        mod $name {
            use super::*;

            #[tokio::test]
            async fn node() {
                let Some(server) = server(Kind::Node) else { return };
                $scenario(&server).await;
            }

            #[tokio::test]
            async fn py() {
                let Some(server) = server(Kind::Py) else { return };
                $scenario(&server).await;
            }

            #[tokio::test]
            async fn rustus() {
                let Some(server) = server(Kind::Rustus) else { return };
                $scenario(&server).await;
            }
        }
    };
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

#[tokio::test]
async fn rustus_advertises() {
    let Some(server) = server(Kind::Rustus) else {
        return;
    };
    assert_eq!(
        scenarios::advertised(&server).await,
        [
            "checksum",
            "concatenation",
            "creation",
            "creation-defer-length",
            "creation-with-upload",
            "termination"
        ]
    );
}

on_every_server!(
    /// Sizes 0, 1, chunk−1, chunk and chunk+1.
    sizes_around_the_chunk: scenarios::sizes
);
on_every_server!(
    /// 50 MiB in the default chunks.
    fifty_mib: scenarios::large_file
);
on_every_server!(metadata_round_trip: scenarios::metadata_round_trip);
on_every_server!(
    /// A PATCH cut by the FaultProxy, resumed by a new uploader from a JSON store.
    cut_patch_resumes_from_store: scenarios::interrupted_patch_resumes_from_store
);
on_every_server!(lost_patch_answer_is_recovered: scenarios::lost_response_is_recovered);
on_every_server!(stalled_patch_is_retried: scenarios::stalled_patch_is_dropped_and_retried);
on_every_server!(
    /// creation-defer-length.
    unknown_length_stream: scenarios::unknown_length_stream
);
on_every_server!(stream_cut_mid_patch: scenarios::stream_cut_mid_patch);
on_every_server!(termination: scenarios::termination);
on_every_server!(
    /// Concatenation on tuspyserver; @tus/server has none, so one plain upload.
    parallel_concatenates_or_falls_back: scenarios::parallel
);
on_every_server!(creation_with_upload: scenarios::creation_with_upload);
on_every_server!(
    /// `Idempotency-Key` is not honoured: a repeated key makes a second upload.
    idempotency_key_is_ignored: scenarios::idempotency_key_is_ignored
);
on_every_server!(
    /// tuspy (the Python client) starts an upload; tusky finishes it from tuspy's own store.
    finishes_an_upload_tuspy_started: scenarios::finish_tuspy_upload
);

/// A corrupted chunk is refused by a server that verifies checksums (rustus), then resent.
#[tokio::test]
async fn rustus_refuses_a_corrupted_chunk_which_is_resent() {
    let Some(server) = server(Kind::Rustus) else {
        return;
    };
    scenarios::corrupted_chunk_is_refused_and_resent(&server).await;
}

/// Expiration, on @tus/server with `EXPIRE_MS`.
#[tokio::test]
async fn node_expired_upload_is_not_resumed() {
    let Some(server) = server(Kind::NodeExpiring) else {
        return;
    };
    scenarios::expiration(&server, servers::expire_ms()).await;
}

/// The FaultProxy cuts a PATCH to the mock server mid-body: the retry engine re-reads the
/// offset with HEAD and finishes with exact bytes. wiremock reads whole bodies before
/// answering, so the cut PATCH never reaches the mock and stores nothing (real servers keep
/// the partial bytes, see the `cut_patch_resumes_from_store` tests).
#[tokio::test]
async fn fault_proxy_cut_mid_patch_is_retried_against_the_mock() {
    use std::time::Duration;

    let (server, proxy, client) = mock_behind_proxy().await;
    let bytes = noise(1024 * 1024, 3);
    let chunk = 256 * 1024;
    // OPTIONS and a bodiless POST are far below 100 000 bytes: the cut is in the first PATCH.
    proxy.cut_after(100_000);
    let events = Events::default();
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
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_eq!(proxy.stats().cuts, 1);
    assert_eq!(server.request_count("HEAD"), 1, "one re-HEAD after the cut");
    assert_eq!(events.retries().len(), 1);
    // The cut PATCH never completed, so the mock saw exactly the four good ones.
    let offsets = patch_offsets(&server).await;
    assert_eq!(offsets, ["0", "262144", "524288", "786432"]);
    assert!(proxy.stats().bytes_upstream > bytes.len() as u64);
}

/// A byte changed on the way by the FaultProxy: the mock server verifies the PATCH's
/// checksum, answers 460 and keeps nothing; tusky resends the chunk and the mock holds the
/// exact bytes (the same check as `rustus_refuses_a_corrupted_chunk_which_is_resent`).
#[tokio::test]
async fn a_corrupted_chunk_is_refused_by_the_mock_and_resent() {
    use std::time::Duration;

    let (server, proxy, client) = mock_behind_proxy().await;
    let bytes = noise(1024 * 1024, 8);
    proxy.corrupt_byte(300_000);
    let events = Events::default();
    let mut uploader = client
        .uploader()
        .reader(std::io::Cursor::new(bytes.clone()))
        .chunk_size(512 * 1024)
        .creation_with_upload(false)
        .checksum(tusky::ChecksumAlgorithm::Sha1)
        .retry_delay(3, Duration::from_millis(10))
        .on_progress(events.callback())
        .build()
        .unwrap();
    let summary = uploader.upload().await.expect("finished after the resend");
    assert_eq!(proxy.stats().corruptions, 1);
    let retries = events.retries();
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(retries[0].0.contains("460"), "{retries:?}");
    assert_eq!(stored(&server, &summary.url), bytes);
    let offsets = patch_offsets(&server).await;
    assert_eq!(
        offsets,
        ["0", "0", "524288"],
        "the refused chunk was sent again"
    );
}

/// The byte comparison every scenario relies on does catch a changed byte and a length
/// difference (so a passing scenario means equal bytes).
#[test]
fn the_byte_comparison_catches_differences() {
    use std::io::Cursor;
    let bytes = noise(3 * 1024 * 1024 + 5, 9);
    servers::assert_same_bytes(&mut Cursor::new(&bytes), &mut Cursor::new(&bytes), "same");
    let mut changed = bytes.clone();
    changed[2 * 1024 * 1024 + 3] ^= 1;
    let caught = |a: Vec<u8>, b: Vec<u8>| {
        std::panic::catch_unwind(move || {
            servers::assert_same_bytes(&mut Cursor::new(a), &mut Cursor::new(b), "x")
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

    let (server, proxy, client) = mock_behind_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let size = 3 * 1024 * 1024;
    let path = noise_file(dir.path(), "parallel.bin", size, 5);
    // The first partial's creation POST carries 512 KiB (creation-with-upload): cut in it.
    proxy.cut_after(300 * 1024);
    let events = Events::default();
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
    assert!(!events.retries().is_empty());
    let stored = server
        .upload_bytes(summary.url.as_str())
        .expect("the final upload");
    servers::assert_same_bytes(
        &mut std::io::Cursor::new(stored),
        &mut std::fs::File::open(&path).unwrap(),
        "the final upload",
    );
    // Three partial uploads and the final one: the cut POST never reached the mock.
    assert_eq!(server.uploads().len(), 4);
}

/// The mock server (relative `Location`s, so upload URLs resolve against the proxy), a
/// [`FaultProxy`](tusky_mock_server::FaultProxy) in front of it, and a client of the proxy.
async fn mock_behind_proxy() -> (
    tusky_mock_server::TusMockServer,
    tusky_mock_server::FaultProxy,
    tusky::Client,
) {
    let server = tusky_mock_server::TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let proxy = tusky_mock_server::FaultProxy::start(*server.address())
        .await
        .unwrap();
    let client = tusky::Client::new(proxy.url_for(&server.endpoint())).unwrap();
    (server, proxy, client)
}

/// The `Upload-Offset` of every PATCH the mock received, in order.
async fn patch_offsets(server: &tusky_mock_server::TusMockServer) -> Vec<String> {
    server
        .requests_by_method("PATCH")
        .await
        .iter()
        .map(|r| r.headers["upload-offset"].to_str().unwrap().to_owned())
        .collect()
}
