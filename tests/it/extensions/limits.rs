//! `Tus-Max-Size`, 413 on PATCH, 412.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tusky::error::Operation;
use tusky::Error;
use tusky_mock_server::wiremock::matchers::{any, method};
use tusky_mock_server::wiremock::{Mock, ResponseTemplate};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    client_for, data, parallel_upload_of, patch_upload_of, patches, pipe, posts,
    server_and_client_with, temp_file, upload_error, upload_exactly, QUICK,
};

#[tokio::test]
async fn over_tus_max_size_fails_before_any_post() {
    let (server, client) = server_and_client_with(TusMockServer::builder().max_size(10_000)).await;
    let (_dir, path) = temp_file(&data(10_001));
    for creation_with_upload in [true, false] {
        let mut uploader = client
            .uploader()
            .path(&path)
            .creation_with_upload(creation_with_upload)
            .build()
            .unwrap();
        let error = uploader.upload().await.unwrap_err();
        match &error {
            Error::TooLarge {
                size,
                max_size,
                context,
            } => {
                assert_eq!((*size, *max_size), (10_001, 10_000));
                assert_eq!(context.operation, Operation::Create);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(error.to_string().contains("Tus-Max-Size"), "{error}");
    }
    assert!(posts(&server).await.is_empty(), "no POST was sent");
    assert!(server.uploads().is_empty());

    // At the limit it goes through.
    let bytes = data(10_000);
    let builder = client.uploader().reader(Cursor::new(bytes.clone()));
    upload_exactly(&server, builder, &bytes).await;
}

/// Regression: `parallel(n)` creates partial uploads that are each under the limit, and used
/// to upload the whole file before the final POST met the 413.
#[tokio::test]
async fn over_tus_max_size_fails_before_any_post_in_parallel_too() {
    let (server, client) = server_and_client_with(TusMockServer::builder().max_size(10_000)).await;
    let (_dir, path) = temp_file(&data(20_000));
    let error = upload_error(parallel_upload_of(&client, &path, 4, 1_000)).await;
    assert!(
        matches!(
            error,
            Error::TooLarge {
                size: 20_000,
                max_size: 10_000,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(posts(&server).await.is_empty(), "no POST was sent");
    assert!(patches(&server).await.is_empty());
    assert!(server.uploads().is_empty());
}

/// The server refuses PATCH bodies over 3000 bytes with 413: tusky halves its chunks until
/// they pass, and the upload completes.
#[tokio::test]
async fn a_413_on_patch_shrinks_the_chunks() {
    const LIMIT: u64 = 3_000;
    let server = TusMockServer::start().await;
    let refused = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&refused);
    server.set_patch_hook(move |ctx: &PatchContext| {
        if ctx.body_len > LIMIT {
            count.fetch_add(1, Ordering::SeqCst);
            PatchAction::Fail(413)
        } else {
            PatchAction::Accept
        }
    });
    let client = client_for(&server);
    let bytes = data(40_000);
    let builder = patch_upload_of(&client, &bytes, 10_000).retry_delay(3, QUICK);
    let (uploader, _) = upload_exactly(&server, builder, &bytes).await;
    assert_eq!(uploader.chunk_size(), 2_500, "10000 → 5000 → 2500");
    assert_eq!(
        refused.load(Ordering::SeqCst),
        2,
        "refused at 10000 and 5000"
    );
    let accepted: Vec<_> = patches(&server)
        .await
        .into_iter()
        .filter(|p| p.body.len() as u64 <= LIMIT)
        .collect();
    assert_eq!(accepted.len(), 16);
}

#[tokio::test]
async fn a_412_names_the_servers_tus_version() {
    let server = TusMockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(412).insert_header("Tus-Version", "0.2.2,0.2.1"))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let client = client_for(&server);
    let error = upload_error(client.uploader().reader(Cursor::new(data(1_000)))).await;
    match &error {
        Error::UnsupportedVersion {
            server_versions, ..
        } => assert_eq!(server_versions, "0.2.2,0.2.1"),
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    assert_eq!(error.status().map(|s| s.as_u16()), Some(412));
    assert!(error.to_string().contains("0.2.2,0.2.1"), "{error}");
    assert_eq!(
        server.received_requests().await.len(),
        1,
        "not retried: one request"
    );
}

/// Only the PATCH meets the 412 (a proxy speaking another version, say): not retried either.
#[tokio::test]
async fn a_412_on_patch_fails_at_once() {
    let server = TusMockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(412).insert_header("Tus-Version", "2.0.0"))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let client = client_for(&server);
    let error = upload_error(
        client
            .uploader()
            .reader(Cursor::new(data(1_000)))
            .creation_with_upload(false)
            .retry_delay(3, QUICK),
    )
    .await;
    assert!(
        matches!(&error, Error::UnsupportedVersion { server_versions, .. } if server_versions == "2.0.0"),
        "{error:?}"
    );
    assert_eq!(error.context().map(|c| c.operation), Some(Operation::Patch));
    assert_eq!(patches(&server).await.len(), 1);
}

/// A stream of unknown length that grows past `Tus-Max-Size` fails with `TooLarge`, and nothing
/// past the limit is sent: the PATCHes stop at the last chunk that fits.
#[tokio::test]
async fn a_stream_growing_past_tus_max_size_fails_with_too_large() {
    let (server, client) = server_and_client_with(TusMockServer::builder().max_size(10_000)).await;
    let (reader, _) = pipe(data(50_000), 1024, 50_000);
    let error = upload_error(client.uploader().stream(reader).chunk_size(4000)).await;
    assert!(
        matches!(
            error,
            Error::TooLarge {
                max_size: 10_000,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(patches(&server).await.iter().all(|p| p.body.len() <= 4000));
    assert!(server.uploads()[0].offset <= 10_000);
}
