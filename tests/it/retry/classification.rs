//! What each kind of failure means, end to end, as tables of (operation, failure, expected
//! outcome): network errors, timeouts, 5xx, 423 and 409 re-read the offset with HEAD and
//! continue from the server's offset; 460 (and 400 to a checksummed PATCH) resend; 413 shrinks
//! the chunks; 404/410/403 on a known upload start over (unless told not to); other 4xx fail at
//! once with the status and the body. Each row runs a real upload against the mock server and
//! checks the bytes it ends with; [`check`] says what each expected outcome means.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use tusky::storage::{MemoryStorage, Storage};
use tusky::transport::TransportErrorKind::{self, Connect, Connection, Other, Timeout};
use tusky::{ChecksumAlgorithm, Client, Error};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    assert_resynced, data, nth, patch_upload_of, refusing_port, stored, upload_error, upload_of,
    Break, BreakingProxy, Events, Fault, Outcome, Tap, QUICK,
};

const SIZE: usize = 10_000;
const CHUNK: u64 = 3000;
/// The chunk size of [`Failure::Wire`] rows: large enough that a reset lands while the body is
/// being sent (on 3 chunks, as the other rows).
const WIRE_CHUNK: u64 = 100_000;
/// How many bytes another client appends in [`Failure::Interference`] rows.
const INTERFERING: u64 = 1234;

/// The request that fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The creation POST (without data).
    Create,
    /// The second PATCH of the upload.
    Patch,
    /// The second PATCH, every PATCH carrying `Upload-Checksum` (sha256).
    ChecksummedPatch,
    /// The HEAD with which a second uploader resumes the upload a first one stored (after
    /// one chunk).
    ResumeHead,
}

/// How it fails.
#[derive(Debug, Clone)]
enum Failure {
    /// The server answers this status and changes nothing.
    Status(u16),
    /// The client's transport fails this way.
    Transport(Fault),
    /// A real TCP connection breaks this way (chunks of [`WIRE_CHUNK`]).
    Wire(Break),
    /// The server stores the bytes but holds the answer back past the transport's read timeout.
    ReadTimeout,
    /// Another client appended [`INTERFERING`] bytes first: a real 409.
    Interference,
    /// The upload was terminated (DELETE) before: a real 404.
    Terminated,
}

use Failure::{Interference, ReadTimeout, Status, Terminated, Transport, Wire};

/// What the uploader must do about it.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Re-read the offset with HEAD and continue from it: the HEAD finds `at` bytes.
    Resync { at: u64 },
    /// Send the creation POST again.
    Repeat,
    /// Fail at once with the status and the server's body; nothing is sent after it.
    Fail,
    /// Forget the upload, create a new one and record that one.
    StartOver,
    /// Halve the chunk size and go on.
    Shrink,
}

use Expect::{Fail, Repeat, Resync, Shrink, StartOver};

#[tokio::test]
async fn answers_to_a_patch() {
    let resync = Resync { at: CHUNK };
    check_all(vec![
        (Op::Patch, Status(500), resync),
        (Op::Patch, Status(502), resync),
        (Op::Patch, Status(503), resync),
        (Op::Patch, Status(504), resync),
        (Op::Patch, Status(423), resync),
        (Op::Patch, Status(409), resync),
        (Op::ChecksummedPatch, Status(460), resync),
        // With `Upload-Checksum`, a 400 is the checksum extension's "unknown algorithm".
        (Op::ChecksummedPatch, Status(400), resync),
        // Otherwise the request was understood and refused; repeating it cannot help. (A 403
        // on a PATCH is a refusal too; only on HEAD does it mean the upload is gone.)
        (Op::Patch, Status(400), Fail),
        (Op::Patch, Status(401), Fail),
        (Op::Patch, Status(403), Fail),
        (Op::Patch, Status(405), Fail),
        (Op::Patch, Status(415), Fail),
        (Op::Patch, Status(422), Fail),
        (Op::Patch, Status(404), StartOver),
        (Op::Patch, Status(413), Shrink),
    ])
    .await;
}

#[tokio::test]
async fn network_failures_of_a_patch() {
    let first_chunk = Resync { at: CHUNK };
    // The server stored the chunk; only its answer was lost.
    let both_chunks = Resync { at: 2 * CHUNK };
    check_all(vec![
        (Op::Patch, Transport(Fault::Refuse(Connect)), first_chunk),
        (Op::Patch, Transport(Fault::Refuse(Connection)), first_chunk),
        (Op::Patch, Transport(Fault::Refuse(Timeout)), first_chunk),
        (Op::Patch, Transport(Fault::Refuse(Other)), first_chunk),
        (
            Op::Patch,
            Transport(Fault::LoseAnswer(Connection)),
            both_chunks,
        ),
        (
            Op::Patch,
            Transport(Fault::LoseAnswer(Timeout)),
            both_chunks,
        ),
        (Op::Patch, ReadTimeout, both_chunks),
        (
            Op::Patch,
            Interference,
            Resync {
                at: CHUNK + INTERFERING,
            },
        ),
        (Op::Patch, Wire(Break::Reset), Resync { at: WIRE_CHUNK }),
        (
            Op::Patch,
            Wire(Break::LoseAnswer),
            Resync { at: 2 * WIRE_CHUNK },
        ),
    ])
    .await;
}

#[tokio::test]
async fn answers_to_the_creation_post() {
    check_all(vec![
        (Op::Create, Status(503), Repeat),
        (Op::Create, Status(403), Fail),
    ])
    .await;
}

#[tokio::test]
async fn a_stored_upload_that_is_gone() {
    check_all(vec![
        (Op::ResumeHead, Terminated, StartOver),
        (Op::ResumeHead, Status(410), StartOver),
        (Op::ResumeHead, Status(403), StartOver),
        (Op::ResumeHead, Status(404), StartOver),
    ])
    .await;
}

async fn check_all(rows: Vec<(Op, Failure, Expect)>) {
    for (op, failure, expect) in rows {
        check(op, &failure, expect).await;
    }
}

/// Runs one row: an upload of [`SIZE`] bytes in chunks of [`CHUNK`] (no data in the POST,
/// retries 2 ms apart, a store) whose `op` meets `failure`, and checks that the uploader did
/// what `expect` says, ending with exactly the source's bytes on the server whenever it goes on.
async fn check(op: Op, failure: &Failure, expect: Expect) {
    let row = format!("{op:?} meeting {failure:?}");
    let (size, chunk) = match failure {
        Wire(_) => (3 * WIRE_CHUNK as usize, WIRE_CHUNK),
        _ => (SIZE, CHUNK),
    };
    let server = TusMockServer::builder()
        // so that the client keeps talking through the proxy
        .relative_locations(matches!(failure, Wire(_)))
        .start()
        .await;
    let proxy = match failure {
        Wire(how) => {
            let proxy = BreakingProxy::start(*server.address()).await;
            proxy.break_patch(2, *how);
            Some(proxy)
        }
        _ => None,
    };
    let endpoint = proxy
        .as_ref()
        .map_or_else(|| server.endpoint(), BreakingProxy::endpoint);
    let tap = match failure {
        ReadTimeout => Tap::with_read_timeout(Duration::from_millis(300)),
        _ => Tap::reqwest(),
    };
    let client = tap.client(&endpoint);
    let bytes = Arc::new(data(size));
    let store = Arc::new(MemoryStorage::new());
    let old = match op {
        Op::ResumeHead => Some(stored_upload_then(&server, &client, &store, &bytes, failure).await),
        _ => None,
    };
    match (op, failure) {
        (Op::ResumeHead, _) | (_, Wire(_) | Terminated) => {}
        (Op::Create, Status(status)) => server.fail_next_post(*status),
        (_, Status(status)) => server.fail_patch(2, *status),
        (_, Transport(fault)) => tap.on(Method::PATCH, 2, fault.clone()),
        (_, ReadTimeout) => server.delay_patch(2, Duration::from_secs(10)),
        (_, Interference) => tap.on(
            Method::PATCH,
            2,
            Fault::Interfere {
                source: Arc::clone(&bytes),
                bytes: INTERFERING,
            },
        ),
    }
    let events = Events::default();
    let mut builder = patch_upload_of(&client, &bytes, chunk)
        .storage(Arc::clone(&store))
        .remove_record_on_success(false)
        .retry_delay(2, QUICK)
        .on_progress(events.callback());
    if op == Op::ChecksummedPatch {
        builder = builder.checksum(ChecksumAlgorithm::Sha256);
    }
    if matches!(failure, ReadTimeout) {
        // the read timeout, not the stall timeout, is what gives up on the answer
        builder = builder.stall_timeout(None);
    }
    let mut uploader = builder.build().unwrap();
    let started = Instant::now();
    let result = uploader.upload().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{row}: {:?}",
        started.elapsed()
    );

    let log = tap.log();
    let transcript = tap.transcript();
    let failed = match op {
        Op::Create => nth(&log, &Method::POST, 1),
        Op::Patch | Op::ChecksummedPatch => nth(&log, &Method::PATCH, 2),
        Op::ResumeHead => {
            let old = old.as_ref().unwrap().0.path().to_owned();
            log.iter()
                .rposition(|e| e.method == Method::HEAD && e.path == old)
                .unwrap_or_else(|| panic!("{row}: no HEAD of the stored upload:\n{transcript}"))
        }
    };
    let outcome = log[failed].outcome;
    let failed_as = |expected: Outcome| assert_eq!(outcome, expected, "{row}:\n{transcript}");
    match failure {
        Status(status) => assert_eq!(log[failed].status(), Some(*status), "{row}"),
        Transport(Fault::Refuse(kind) | Fault::LoseAnswer(kind)) => {
            failed_as(Outcome::Failed(*kind))
        }
        ReadTimeout => failed_as(Outcome::Failed(TransportErrorKind::Timeout)),
        Interference => failed_as(Outcome::Answered {
            status: 409,
            offset: Some(CHUNK + INTERFERING),
        }),
        Transport(_) | Wire(_) | Terminated => assert!(
            !matches!(outcome, Outcome::Answered { status, .. } if status < 300),
            "{row}: {outcome:?}"
        ),
    }
    if let Some(proxy) = &proxy {
        assert_eq!(proxy.broken(), 1, "{row}");
    }

    match expect {
        Resync { at } => {
            let summary = result.unwrap_or_else(|e| panic!("{row}: {e}\n{transcript}"));
            assert_eq!(stored(&server, &summary.url), *bytes, "{row}");
            assert_eq!(assert_resynced(&log, failed), at, "{row}");
            assert_eq!(
                server.uploads().len(),
                1,
                "{row}: a second upload was created"
            );
            // Nothing the server held was sent again: two PATCHes up to the failure, then
            // whole chunks from `at`.
            let patches = tap.of(&Method::PATCH);
            let after = (size as u64 - at).div_ceil(chunk) as usize;
            assert_eq!(patches.len(), 2 + after, "{row}:\n{transcript}");
            if op == Op::ChecksummedPatch {
                assert!(patches.iter().all(|p| p.checksum), "{row}:\n{transcript}");
            }
            let retries = events.retries();
            assert_eq!(retries.len(), 1, "{row}: {retries:?}");
            if let Status(status) = failure {
                assert!(
                    retries[0].0.contains(&status.to_string()),
                    "{row}: {retries:?}"
                );
            }
        }
        Repeat => {
            let summary = result.unwrap_or_else(|e| panic!("{row}: {e}\n{transcript}"));
            assert_eq!(stored(&server, &summary.url), *bytes, "{row}");
            assert_eq!(tap.of(&Method::POST).len(), 2, "{row}:\n{transcript}");
            assert_eq!(server.uploads().len(), 1, "{row}");
            assert_eq!(events.retries().len(), 1, "{row}");
        }
        Fail => {
            let error = result.expect_err(&row);
            let Status(status) = failure else {
                unreachable!("{row}: only a status fails at once")
            };
            assert!(matches!(error, Error::Status { .. }), "{row}: {error:?}");
            assert_eq!(error.status().map(|s| s.as_u16()), Some(*status), "{row}");
            assert!(
                error.body().unwrap().contains("injected fault"),
                "{row}: {:?}",
                error.body()
            );
            assert!(
                error.to_string().contains(&status.to_string()),
                "{row}: {error}"
            );
            assert_eq!(
                failed,
                log.len() - 1,
                "{row}: sent after the failure:\n{transcript}"
            );
            assert!(events.retries().is_empty(), "{row}");
            if op == Op::Create {
                assert!(server.uploads().is_empty(), "{row}");
            }
        }
        StartOver => {
            let summary = result.unwrap_or_else(|e| panic!("{row}: {e}\n{transcript}"));
            let (old, key) = old.unwrap_or_else(|| {
                let first = server.uploads()[0].url.clone();
                (
                    url::Url::parse(&first).unwrap(),
                    uploader.fingerprint_key().unwrap().to_owned(),
                )
            });
            assert_ne!(summary.url, old, "{row}");
            assert_eq!(summary.resumed_from, None, "{row}");
            assert_eq!(stored(&server, &summary.url), *bytes, "{row}");
            assert_eq!(server.request_count("POST"), 2, "{row}");
            let record = store.get(&key).await.unwrap().unwrap();
            assert_eq!(
                record.url,
                summary.url.as_str(),
                "{row}: the record names the new upload"
            );
            assert_eq!(events.started_over().len(), 1, "{row}");
            assert!(
                log[failed + 1..].iter().all(|e| e.path != old.path()),
                "{row}: sent to the gone upload after it failed:\n{transcript}"
            );
            if !matches!(failure, Terminated) {
                // Refused once, not gone: it still holds the first chunk.
                assert_eq!(stored(&server, &old), bytes[..CHUNK as usize], "{row}");
            }
        }
        Shrink => {
            let summary = result.unwrap_or_else(|e| panic!("{row}: {e}\n{transcript}"));
            assert_eq!(stored(&server, &summary.url), *bytes, "{row}");
            assert_eq!(uploader.chunk_size(), chunk / 2, "{row}");
            let patches = tap.of(&Method::PATCH);
            assert_eq!(patches[1].body_len, chunk, "{row}");
            assert!(
                patches[2..].iter().all(|p| p.body_len <= chunk / 2),
                "{row}:\n{transcript}"
            );
        }
    }
}

/// A first uploader sends one chunk and keeps its URL in the store; then the upload goes
/// (`Terminated`) or its next HEAD answers the status. Returns the URL and the store's key.
async fn stored_upload_then(
    server: &TusMockServer,
    client: &Client<Tap>,
    store: &Arc<MemoryStorage>,
    bytes: &[u8],
    gone: &Failure,
) -> (url::Url, String) {
    let mut first = patch_upload_of(client, bytes, CHUNK)
        .storage(Arc::clone(store))
        .build()
        .unwrap();
    first.upload_until(CHUNK).await.unwrap();
    let url = first.url().unwrap().clone();
    let key = first.fingerprint_key().unwrap().to_owned();
    assert_eq!(store.get(&key).await.unwrap().unwrap().url, url.as_str());
    match gone {
        Terminated => client.terminate(url.as_str()).await.unwrap(),
        Status(status) => {
            server.fail_request("HEAD", server.request_count("HEAD") + 1, *status);
        }
        other => panic!("a stored upload is not gone by {other:?}"),
    }
    (url, key)
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let port = refusing_port().await;
    let tap = Tap::reqwest();
    let error = upload_error(
        tap.client(&format!("http://127.0.0.1:{port}/files/"))
            .uploader()
            .reader(Cursor::new(data(100)))
            .retry_delay(2, QUICK),
    )
    .await;
    let Error::RetriesExhausted { attempts, last } = &error else {
        panic!("expected RetriesExhausted, got {error:?}");
    };
    assert_eq!(*attempts, 3);
    assert!(
        matches!(&**last, Error::Transport { source, .. } if source.kind() == TransportErrorKind::Connect),
        "{last:?}"
    );
    let log = tap.log();
    assert_eq!(log.len(), 3, "{}", tap.transcript());
    assert!(log
        .iter()
        .all(|e| e.outcome == Outcome::Failed(TransportErrorKind::Connect)));
}

#[tokio::test]
async fn recreate_if_gone_false_reports_the_gone_upload_and_keeps_the_record() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(SIZE);
    let client = tap.client(&server.endpoint());
    let (old, key) = stored_upload_then(&server, &client, &store, &bytes, &Terminated).await;
    let error = upload_error(
        upload_of(&client, &bytes, CHUNK)
            .storage(Arc::clone(&store))
            .recreate_if_gone(false)
            .retry_delay(2, QUICK),
    )
    .await;
    assert!(matches!(error, Error::Status { .. }), "{error:?}");
    assert_eq!(error.status(), Some(http::StatusCode::NOT_FOUND));
    assert_eq!(server.request_count("POST"), 1);
    let heads = tap.of(&Method::HEAD);
    assert_eq!(heads.len(), 1, "{}", tap.transcript());
    assert_eq!(store.get(&key).await.unwrap().unwrap().url, old.as_str());
}

#[tokio::test]
async fn an_explicit_url_that_is_gone_is_not_recreated_by_default() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    let client = tap.client(&server.endpoint());
    let bytes = data(SIZE);
    let mut first = patch_upload_of(&client, &bytes, CHUNK).build().unwrap();
    first.upload_until(CHUNK).await.unwrap();
    let url = first.url().unwrap().clone();
    client.terminate(url.as_str()).await.unwrap();
    let error = upload_error(
        client
            .uploader()
            .url(url.as_str())
            .reader(Cursor::new(bytes.clone()))
            .retry_delay(2, QUICK),
    )
    .await;
    assert_eq!(
        error.status(),
        Some(http::StatusCode::NOT_FOUND),
        "{error:?}"
    );
    assert_eq!(server.request_count("POST"), 1);
}

#[tokio::test]
async fn starting_over_is_bounded() {
    let server = TusMockServer::start().await;
    server.set_patch_hook(|_: &PatchContext| PatchAction::Fail(404));
    let tap = Tap::reqwest();
    let error = upload_error(
        patch_upload_of(&tap.client(&server.endpoint()), &data(SIZE), CHUNK).retry_delay(5, QUICK),
    )
    .await;
    assert_eq!(
        error.status(),
        Some(http::StatusCode::NOT_FOUND),
        "{error:?}"
    );
    // The first upload, then two fresh starts; the third 404 is reported.
    assert_eq!(server.request_count("POST"), 3, "{}", tap.transcript());
    assert_eq!(server.request_count("PATCH"), 3);
}
