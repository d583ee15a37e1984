//! creation-defer-length: streams of unknown length, and explicit URLs of uploads whose length
//! was deferred.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tusky_mock_server::wiremock::Request;
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    client_for, create_directly, data, data_file, header, patch_directly, patches, pipe, posts,
    server_and_client, temp_file, upload_exactly, upload_offset, QUICK,
};

/// Checks the deferred-length rules on what the server received: the POST defers the length,
/// exactly one request declares `Upload-Length`, it is the last PATCH and it reaches `total`.
fn check_declared_once(all: &[Request], total: u64) {
    let posts: Vec<_> = all.iter().filter(|r| r.method.as_str() == "POST").collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        header(posts[0], "upload-defer-length").as_deref(),
        Some("1")
    );
    assert_eq!(header(posts[0], "upload-length"), None);
    let declaring: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, r)| header(r, "upload-length").is_some())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        declaring.len(),
        1,
        "Upload-Length is sent exactly once, never again"
    );
    let last = &all[declaring[0]];
    assert_eq!(last.method.as_str(), "PATCH");
    assert_eq!(header(last, "upload-length"), Some(total.to_string()));
    assert_eq!(
        upload_offset(last).unwrap() + last.body.len() as u64,
        total,
        "the declaring PATCH is the one that reaches the end"
    );
    let last_patch = all
        .iter()
        .rposition(|r| r.method.as_str() == "PATCH")
        .unwrap();
    assert_eq!(declaring[0], last_patch, "no PATCH after the declaring one");
}

#[tokio::test]
async fn a_stream_defers_its_length_and_declares_it_on_the_last_patch() {
    for creation_with_upload in [true, false] {
        let (server, client) = server_and_client().await;
        let bytes = data(50_003);
        let (reader, _) = pipe(bytes.clone(), 4096, 1000);
        let (_, summary) = upload_exactly(
            &server,
            client
                .uploader()
                .stream(reader)
                .chunk_size(8_000)
                .creation_with_upload(creation_with_upload),
            &bytes,
        )
        .await;
        assert_eq!(summary.offset, 50_003);
        let upload = server.upload(summary.url.as_str()).unwrap();
        assert_eq!(upload.length, Some(50_003));
        check_declared_once(&server.received_requests().await, 50_003);
        let post = &posts(&server).await[0];
        if creation_with_upload {
            assert_eq!(post.body, bytes[..8_000], "the first chunk rides the POST");
        } else {
            assert!(post.body.is_empty());
        }
    }
}

/// When the stream ends exactly on a chunk boundary, the end is only seen by reading past it;
/// the length is still declared once, on the PATCH that reaches the end.
#[tokio::test]
async fn a_stream_ending_on_a_chunk_boundary_declares_its_length_once() {
    let (server, client) = server_and_client().await;
    let bytes = data(32_000);
    let (reader, _) = pipe(bytes.clone(), 4096, 1000);
    let builder = client.uploader().stream(reader).chunk_size(8_000);
    let (_, summary) = upload_exactly(&server, builder, &bytes).await;
    assert!(server.upload(summary.url.as_str()).unwrap().is_complete());
    check_declared_once(&server.received_requests().await, 32_000);
}

/// A stream much larger than the chunk size uploads correctly, and tusky never reads more
/// than the chunk in flight: whenever a PATCH reaches the server, the writer cannot have
/// handed over more than that chunk's end plus the pipe's own buffer (it blocks on a full
/// pipe) plus the few bytes tusky may peek to see the end, so tusky holds about one chunk.
#[tokio::test]
async fn a_large_stream_is_read_one_chunk_at_a_time() {
    const CHUNK: u64 = 64 * 1024;
    const PIPE: usize = 16 * 1024;
    const PEEK: u64 = 1024;
    let server = TusMockServer::start().await;
    let bytes = data(8 * 1024 * 1024 + 123);
    let (reader, written) = pipe(bytes.clone(), PIPE, 4096);
    let read_ahead = Arc::new(AtomicBool::new(false));
    let max_body = Arc::new(AtomicU64::new(0));
    {
        let (written, read_ahead, max_body) = (
            Arc::clone(&written),
            Arc::clone(&read_ahead),
            Arc::clone(&max_body),
        );
        server.set_patch_hook(move |ctx: &PatchContext| {
            let end = ctx.client_offset.unwrap_or(0) + ctx.body_len;
            if written.load(Ordering::SeqCst) > end + PIPE as u64 + PEEK {
                read_ahead.store(true, Ordering::SeqCst);
            }
            max_body.fetch_max(ctx.body_len, Ordering::SeqCst);
            PatchAction::Accept
        });
    }
    let client = client_for(&server);
    let (_, summary) = upload_exactly(
        &server,
        client.uploader().stream(reader).chunk_size(CHUNK),
        &bytes,
    )
    .await;
    assert_eq!(summary.offset, bytes.len() as u64);
    assert!(patches(&server).await.len() >= 128);
    assert!(max_body.load(Ordering::SeqCst) <= CHUNK);
    assert!(
        !read_ahead.load(Ordering::SeqCst),
        "tusky read the stream more than a chunk ahead of the server"
    );
}

/// A stream cannot seek: an unacknowledged chunk is kept, so a failed PATCH (500) and a
/// partially accepted one are resent from memory.
#[tokio::test]
async fn an_unacknowledged_stream_chunk_is_resent() {
    let (server, client) = server_and_client().await;
    server.fail_patch(2, 500);
    server.accept_partial_patch(4, 1_234);
    let bytes = data(40_000);
    let (reader, _) = pipe(bytes.clone(), 4096, 1000);
    let builder = client
        .uploader()
        .stream(reader)
        .chunk_size(8_000)
        .creation_with_upload(false)
        .retry_delay(3, QUICK);
    upload_exactly(&server, builder, &bytes).await;
    let patches = patches(&server).await;
    assert_eq!(
        upload_offset(&patches[1]),
        upload_offset(&patches[2]),
        "the failed chunk is sent again from the same offset"
    );
    assert_eq!(patches[1].body, patches[2].body);
    assert!(
        patches
            .iter()
            .any(|p| upload_offset(p).is_some_and(|o| o % 8_000 == 1_234)),
        "after a partial acceptance the next PATCH starts at the server's offset"
    );
}

/// The upload at `url` is complete, its length (`length`) declared.
fn assert_length_declared(server: &TusMockServer, url: &str, length: u64) {
    let upload = server.upload(url).unwrap();
    assert_eq!(upload.length, Some(length), "the length was declared");
    assert!(upload.is_complete());
}

/// An explicit URL of an upload created with a deferred length (`Upload-Defer-Length: 1`),
/// continued from a file: the uploader must declare the length, or the server's upload never
/// completes although tusky reports it finished.
#[tokio::test]
async fn an_explicit_deferred_length_upload_gets_its_length_declared() {
    let server = TusMockServer::start().await;
    let url = create_directly(&server, &[("Upload-Defer-Length", "1")], b"").await;
    let client = client_for(&server);
    let (bytes, _dir, path) = data_file(25_000);
    let builder = client
        .uploader()
        .path(&path)
        .url(url.clone())
        .chunk_size(10_000);
    let (_, summary) = upload_exactly(&server, builder, &bytes).await;

    assert_eq!(summary.offset, 25_000);
    assert_length_declared(&server, &url, 25_000);
}

/// The same, when every byte is already on the server but its length was never declared: the
/// uploader declares it (a PATCH without body) instead of reporting a finished upload.
#[tokio::test]
async fn an_explicit_deferred_upload_holding_every_byte_gets_its_length_declared() {
    let server = TusMockServer::start().await;
    let bytes = data(5_000);
    let url = create_directly(&server, &[("Upload-Defer-Length", "1")], b"").await;
    patch_directly(&url, 0, &bytes).await;

    let client = client_for(&server);
    let (_dir, path) = temp_file(&bytes);
    let builder = client.uploader().path(&path).url(url.clone());
    let (_, summary) = upload_exactly(&server, builder, &bytes).await;

    assert_eq!(summary.offset, 5_000);
    assert_length_declared(&server, &url, 5_000);
}
