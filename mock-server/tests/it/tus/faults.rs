//! Fault injection: scheduled faults, the PATCH hook, locks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::support::*;

#[tokio::test]
async fn the_nth_patch_fails_and_stores_nothing() {
    let (server, url) = server_with_upload(9).await;
    server.fail_patch(2, 503);
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    let resp = patch(&url, 3, b"def").await;
    assert_eq!(resp.status(), 503);
    assert_header(&resp, "tus-resumable", "1.0.0");
    assert_holds(&server, &url, b"abc");
    // Faults fire once: the retry goes through.
    assert_eq!(patch(&url, 3, b"def").await.status(), 204);
    assert_eq!(patch(&url, 6, b"ghi").await.status(), 204);
    assert_holds(&server, &url, b"abcdefghi");
}

#[tokio::test]
async fn partial_acceptance_stores_exactly_the_prefix() {
    let (server, url) = server_with_upload(10).await;
    server.accept_partial_patch(1, 4);
    let resp = patch(&url, 0, b"0123456789").await;
    assert_eq!(resp.status(), 204);
    assert_header(&resp, "upload-offset", "4");
    assert_holds(&server, &url, b"0123");
    // The client continues from the returned offset.
    let resp = patch(&url, 4, b"456789").await;
    assert_header(&resp, "upload-offset", "10");
    assert_holds(&server, &url, b"0123456789");
}

#[tokio::test]
async fn a_delayed_patch_is_stored_and_answered_late() {
    let (server, url) = server_with_upload(6).await;
    server.delay_patch(1, Duration::from_millis(300));
    let started = Instant::now();
    let resp = patch(&url, 0, b"abc").await;
    assert_eq!(resp.status(), 204);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A client that gives up first has lost only the answer: the bytes are there.
    server.delay_patch(2, Duration::from_millis(1500));
    let err = patch_giving_up(&url, 3, b"def", Duration::from_millis(100)).await;
    assert!(err.is_timeout());
    assert_holds(&server, &url, b"abcdef");
}

#[tokio::test]
async fn a_stalled_patch_stores_nothing() {
    let (server, url) = server_with_upload(3).await;
    server.stall_patch(1, Duration::from_millis(1500));
    let err = patch_giving_up(&url, 0, b"abc", Duration::from_millis(100)).await;
    assert!(err.is_timeout());
    assert_holds(&server, &url, b"");

    server.stall_patch(2, Duration::from_millis(50));
    assert_eq!(patch(&url, 0, b"abc").await.status(), 408);
    assert_holds(&server, &url, b"");
}

#[tokio::test]
async fn the_hook_sees_each_patch_and_decides() {
    let (server, url) = server_with_upload(6).await;
    let seen: Arc<Mutex<Vec<PatchContext>>> = Arc::default();
    let log = Arc::clone(&seen);
    server.set_patch_hook(move |ctx: &PatchContext| {
        log.lock().unwrap().push(ctx.clone());
        match ctx.number {
            1 => PatchAction::AcceptPartial(2),
            2 => PatchAction::Locked,
            _ => PatchAction::Accept,
        }
    });
    let resp = patch(&url, 0, b"abc").await;
    assert_header(&resp, "upload-offset", "2");
    let resp = patch(&url, 2, b"cdef").await;
    assert_eq!(resp.status(), 423);
    assert_holds(&server, &url, b"ab");
    let resp = patch(&url, 2, b"cdef").await;
    assert_eq!(resp.status(), 204);
    assert_holds(&server, &url, b"abcdef");

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    let id = server.upload(&url).unwrap().id;
    assert_eq!(seen[0].number, 1);
    assert_eq!(seen[0].upload_id, id);
    assert_eq!(seen[0].offset, Some(0));
    assert_eq!(seen[0].upload_length, Some(6));
    assert_eq!(seen[0].client_offset, Some(0));
    assert_eq!(seen[0].body_len, 3);
    assert_eq!(
        (seen[1].number, seen[1].offset, seen[1].body_len),
        (2, Some(2), 4)
    );
    assert_eq!(seen[2].number, 3);
}

#[tokio::test]
async fn scheduled_faults_win_over_the_hook_and_clear_faults_removes_both() {
    let (server, url) = server_with_upload(6).await;
    server.set_patch_hook(|_: &PatchContext| PatchAction::Fail(500));
    server.schedule_patch(1, PatchAction::Accept);
    assert_eq!(patch(&url, 0, b"ab").await.status(), 204);
    assert_eq!(patch(&url, 2, b"cd").await.status(), 500);
    server.fail_patch(3, 502);
    server.clear_faults();
    assert_eq!(patch(&url, 2, b"cd").await.status(), 204);
    assert_holds(&server, &url, b"abcd");
}

#[tokio::test]
async fn an_invalid_fault_status_becomes_500() {
    let (server, url) = server_with_upload(1).await;
    server.fail_patch(1, 7);
    assert_eq!(patch(&url, 0, b"x").await.status(), 500);
}

#[tokio::test]
async fn fail_next_post_creates_nothing() {
    let server = TusMockServer::start().await;
    create(&server, 1).await;
    server.fail_next_post(500);
    let resp = post(&server, &[("Upload-Length", "1")]).await;
    assert_eq!(resp.status(), 500);
    assert_eq!(header(&resp, "location"), None);
    assert_eq!(server.uploads().len(), 1);
    create(&server, 1).await;
    assert_eq!(server.uploads().len(), 2);
    assert_eq!(server.request_count("POST"), 3);
}

#[tokio::test]
async fn any_method_can_fail_or_be_delayed() {
    let (server, url) = server_with_upload(1).await;
    server.fail_request("head", 2, 503);
    assert_eq!(head(&url).await.status(), 200);
    assert_eq!(head(&url).await.status(), 503);
    assert_eq!(head(&url).await.status(), 200);

    server.fail_request("DELETE", 1, 500);
    assert_eq!(delete(&url).await.status(), 500);
    assert!(!server.upload(&url).unwrap().terminated);

    server.delay_request("POST", 2, Duration::from_millis(200));
    let started = Instant::now();
    create(&server, 1).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(server.uploads().len(), 2);
}

#[tokio::test]
async fn locked_uploads_answer_423_until_unlocked() {
    let (server, url) = server_with_upload(3).await;
    server.lock_uploads(true);
    assert_eq!(head(&url).await.status(), 423);
    assert_eq!(patch(&url, 0, b"abc").await.status(), 423);
    assert_eq!(delete(&url).await.status(), 423);
    // Creation is not affected.
    create(&server, 1).await;
    assert_holds(&server, &url, b"");
    server.lock_uploads(false);
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    assert_holds(&server, &url, b"abc");
}

#[tokio::test]
async fn a_post_stored_then_failed_creates_the_upload_and_a_retry_with_its_key_finds_it() {
    // "Created, but the answer was lost": the client sees 503 and sends the POST again.
    let server = TusMockServer::start().await;
    server.schedule_request("post", 1, PatchAction::StoreThenFail(503));
    let key = ("Idempotency-Key", "retry-me");
    let resp = post_to(
        &server.endpoint(),
        &[("Upload-Length", "11"), key],
        Some(b"hello"),
    )
    .await;
    assert_eq!(resp.status(), 503);
    assert_eq!(header(&resp, "location"), None);
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1, "created all the same");
    assert_holds(&server, &uploads[0].url, b"hello");

    let resp = post_to(
        &server.endpoint(),
        &[("Upload-Length", "11"), key],
        Some(b"hello"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_header(&resp, "location", &uploads[0].url);
    assert_header(&resp, "upload-offset", "5");
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(server.request_count("POST"), 2);
}
