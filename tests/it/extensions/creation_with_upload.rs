//! creation-with-upload: the first chunk travels in the POST when the server advertises it
//! (and not when a proxy refuses a POST that large).

use tusky::UploadSummary;
use tusky_mock_server::wiremock::matchers::{header as header_is, header_exists, method, path};
use tusky_mock_server::wiremock::Request;
use tusky_mock_server::wiremock::{Mock, ResponseTemplate};
use tusky_mock_server::{Extension, TusMockServer};

use crate::common::{
    client_for, create_directly, data, header, patches, posts, reader_of, server_and_client,
    server_and_client_with, tus_response, upload_exactly, upload_of, upload_offset,
};

const OFFSET_STREAM: &str = "application/offset+octet-stream";

/// Uploads `len` test bytes in chunks of 8000 to a server with every extension and checks
/// that they arrive; returns the server, the bytes, the summary and the one POST it received.
async fn upload_in_chunks_of_8000(len: usize) -> (TusMockServer, Vec<u8>, UploadSummary, Request) {
    let (server, client) = server_and_client().await;
    let bytes = data(len);
    let (_, summary) = upload_exactly(&server, upload_of(&client, &bytes, 8_000), &bytes).await;
    let mut posts = posts(&server).await;
    assert_eq!(posts.len(), 1);
    let post = posts.remove(0);
    (server, bytes, summary, post)
}

#[tokio::test]
async fn a_file_smaller_than_a_chunk_travels_in_the_post_alone() {
    let (server, bytes, summary, post) = upload_in_chunks_of_8000(5_000).await;
    assert_eq!(
        header(&post, "content-type").as_deref(),
        Some(OFFSET_STREAM)
    );
    assert_eq!(post.body, bytes, "the whole file is the POST body");
    assert!(
        patches(&server).await.is_empty(),
        "the 201's Upload-Offset says everything arrived: no PATCH"
    );
    assert_eq!(server.request_count("HEAD"), 0, "no HEAD either");
    assert_eq!(summary.offset, 5_000);
}

#[tokio::test]
async fn the_first_chunk_travels_in_the_post_and_patches_continue_from_its_offset() {
    let (server, bytes, _, post) = upload_in_chunks_of_8000(20_000).await;
    assert_eq!(post.body, bytes[..8_000]);
    let offsets: Vec<_> = patches(&server).await.iter().map(upload_offset).collect();
    assert_eq!(offsets, [Some(8_000), Some(16_000)]);
}

/// The server keeps only the first 3000 bytes of an 8000-byte POST body and says so in the
/// 201's `Upload-Offset`: tusky continues from 3000, not from 8000.
#[tokio::test]
async fn a_201_that_kept_only_part_of_the_body_is_honoured() {
    let server = TusMockServer::start().await;
    let bytes = data(20_000);
    // What such a server holds: an upload with the first 3000 bytes...
    let url = create_directly(&server, &[("Upload-Length", "20000")], &bytes[..3_000]).await;
    // ...and its answer to the client's POST.
    Mock::given(method("POST"))
        .and(path("/files/"))
        .and(header_is("content-type", OFFSET_STREAM))
        .respond_with(
            tus_response(201)
                .insert_header("Location", url.as_str())
                .insert_header("Upload-Offset", "3000"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server.wiremock())
        .await;

    let client = client_for(&server);
    let mut uploader = upload_of(&client, &bytes, 8_000).build().unwrap();
    let summary = uploader.upload().await.unwrap();

    let posts = posts(&server).await;
    assert_eq!(posts.len(), 2, "the set-up POST and the client's");
    assert_eq!(
        posts[1].body,
        bytes[..8_000],
        "the client sent a full chunk"
    );
    let offsets: Vec<_> = patches(&server).await.iter().map(upload_offset).collect();
    assert_eq!(
        offsets.first().copied().flatten(),
        Some(3_000),
        "the first PATCH starts where the server stopped: {offsets:?}"
    );
    assert_eq!(summary.url.as_str(), url);
    assert_eq!(summary.offset, 20_000);
    assert_eq!(server.upload_bytes(&url).unwrap(), bytes);
}

#[tokio::test]
async fn not_advertised_means_an_empty_post() {
    let (server, client) = server_and_client_with(
        TusMockServer::builder().extensions(&[Extension::Creation, Extension::Termination]),
    )
    .await;
    let bytes = data(5_000);
    let (_, _summary) = upload_exactly(&server, upload_of(&client, &bytes, 8_000), &bytes).await;

    let posts = posts(&server).await;
    assert_eq!(posts.len(), 1);
    assert!(posts[0].body.is_empty(), "no body on the POST");
    assert_ne!(
        header(&posts[0], "content-type").as_deref(),
        Some(OFFSET_STREAM)
    );
    let patches = patches(&server).await;
    assert_eq!(patches.len(), 1);
    assert_eq!(upload_offset(&patches[0]), Some(0));
}

#[tokio::test]
async fn turned_off_by_the_caller_means_an_empty_post() {
    let (server, client) = server_and_client().await;
    let bytes = data(5_000);
    let (_, _summary) = upload_exactly(
        &server,
        reader_of(&client, &bytes).creation_with_upload(false),
        &bytes,
    )
    .await;
    assert!(posts(&server).await[0].body.is_empty());
    assert_eq!(patches(&server).await.len(), 1);
}

/// A proxy in front of the server refuses large POST bodies (the tus server itself would
/// accept them) with 413: the upload is created again without a body, and PATCHes carry it all.
#[tokio::test]
async fn a_413_to_a_creation_post_with_data_creates_again_without_a_body() {
    let server = TusMockServer::start().await;
    Mock::given(method("POST"))
        .and(header_exists("content-type"))
        .respond_with(ResponseTemplate::new(413).set_body_string("body too large"))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let client = client_for(&server);
    let bytes = data(20_000);
    let (_, _summary) = upload_exactly(&server, upload_of(&client, &bytes, 8000), &bytes).await;
    let posts = posts(&server).await;
    assert_eq!(posts.len(), 2);
    assert!(posts[1].body.is_empty());
}
