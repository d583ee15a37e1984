//! Sources: a reader is used as given and handed back open, a path is opened when the upload
//! runs and measured on disk, a stream of unknown length defers its length (parity 12, 13, 28).

use std::io::{Cursor, SeekFrom};

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tusky::Error;
use wiremock::Request;

use crate::common::{
    data, data_file, header, header_u64, server_and_client, stored, temp_file, upload_error,
    upload_exactly, upload_ok, with_method, Trickle,
};

/// parity 12: a reader (here an open file) is used as given and handed back open.
#[tokio::test]
async fn a_reader_source_is_not_closed_and_comes_back_with_into_reader() {
    let (server, client) = server_and_client().await;
    let (bytes, _dir, file) = data_file(3000);
    let reader = tokio::fs::File::open(&file).await.unwrap();
    let builder = client.uploader().reader(reader).chunk_size(1000);
    let (uploader, _) = upload_exactly(&server, builder, &bytes).await;

    let mut reader = uploader
        .into_reader()
        .expect("the caller's reader comes back");
    reader.seek(SeekFrom::Start(0)).await.unwrap();
    let mut again = Vec::new();
    reader.read_to_end(&mut again).await.unwrap();
    assert_eq!(again, bytes, "still open and readable");

    // before any request too
    let unused = client
        .uploader()
        .reader(Cursor::new(b"xyz".to_vec()))
        .build()
        .unwrap();
    let mut back = unused.into_reader().unwrap();
    let mut text = String::new();
    back.read_to_string(&mut text).await.unwrap();
    assert_eq!(text, "xyz");
}

/// parity 12: a path is opened by tusky when the upload starts (what is on disk then is
/// uploaded), and tusky keeps that file to itself.
#[tokio::test]
async fn a_path_source_is_opened_when_the_upload_runs() {
    let (server, client) = server_and_client().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("video.bin");
    std::fs::write(&file, b"old contents").unwrap();
    let mut uploader = client.uploader().path(&file).chunk_size(7).build().unwrap();
    let new_contents = data(1500);
    std::fs::write(&file, &new_contents).unwrap(); // changed (and resized) after build
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), new_contents);
    assert_eq!(
        server.upload(summary.url.as_str()).unwrap().length,
        Some(1500)
    );
    // what comes back is the file tusky opened at upload time
    let mut opened = uploader.into_reader().expect("the opened file");
    opened.seek(SeekFrom::Start(0)).await.unwrap();
    let mut read_back = Vec::new();
    opened.read_to_end(&mut read_back).await.unwrap();
    assert_eq!(read_back, new_contents);

    // and a path that is missing when the upload runs is a clear source error
    let missing = dir.path().join("missing.bin");
    let error = upload_error(client.uploader().path(&missing)).await;
    assert!(matches!(error, Error::Source { .. }), "{error:?}");
    assert!(error.to_string().contains("missing.bin"), "{error}");
}

/// parity 13
#[tokio::test]
async fn the_size_of_a_path_source_is_its_size_on_disk() {
    let (server, client) = server_and_client().await;
    let (_dir, file) = temp_file(&data(3001));
    let on_disk = std::fs::metadata(&file).unwrap().len();
    let mut uploader = client
        .uploader()
        .path(&file)
        .creation_with_upload(false)
        .build()
        .unwrap();
    uploader.create().await.unwrap();
    assert_eq!(uploader.size(), Some(on_disk));
    let posts = server.requests_by_method("POST").await;
    assert_eq!(header_u64(&posts[0], "upload-length"), Some(3001));
}

/// Uploads the 5-byte stream `hello` of unknown length (handed out two bytes per read, like a
/// pipe) in chunks of `chunk`; checks that the server ends with a complete upload of exactly
/// those bytes, and returns the requests it received.
async fn upload_hello_stream(chunk: u64, creation_with_upload: bool) -> Vec<Request> {
    let (server, client) = server_and_client().await;
    let summary = upload_ok(
        client
            .uploader()
            .stream(Trickle::new(*b"hello", 2))
            .chunk_size(chunk)
            .creation_with_upload(creation_with_upload),
        &format!("chunk {chunk}"),
    )
    .await;
    assert_eq!(summary.offset, 5, "chunk {chunk}");
    assert_eq!(stored(&server, &summary.url), b"hello", "chunk {chunk}");
    assert!(
        server.upload(summary.url.as_str()).unwrap().is_complete(),
        "chunk {chunk}"
    );
    server.received_requests().await
}

/// parity 28: every chunk size 1..=6 on a 5-byte stream of unknown length.
#[tokio::test]
async fn deferred_length_for_every_chunk_size() {
    for chunk in 1..=6u64 {
        let requests = upload_hello_stream(chunk, false).await;
        let post = with_method(&requests, "POST")[0];
        // The uploader reads one chunk (plus one byte) ahead before the POST: when the stream
        // ended inside that (chunk >= 5 on 5 bytes) the length is known then.
        let deferred = chunk < 5;
        if deferred {
            assert_eq!(
                header(post, "upload-defer-length").as_deref(),
                Some("1"),
                "chunk {chunk}"
            );
            assert_eq!(header(post, "upload-length"), None, "chunk {chunk}");
        } else {
            assert_eq!(
                header(post, "upload-length").as_deref(),
                Some("5"),
                "chunk {chunk}"
            );
            assert_eq!(header(post, "upload-defer-length"), None, "chunk {chunk}");
        }

        let patches = with_method(&requests, "PATCH");
        let mut expected_offset = 0;
        for p in &patches {
            assert_eq!(
                header_u64(p, "upload-offset"),
                Some(expected_offset),
                "chunk {chunk}: offsets in sequence"
            );
            assert!(p.body.len() as u64 <= chunk, "chunk {chunk}");
            expected_offset += p.body.len() as u64;
        }
        assert_eq!(expected_offset, 5);
        let declaring: Vec<u64> = patches
            .iter()
            .filter(|p| p.headers.contains_key("upload-length"))
            .map(|p| header_u64(p, "upload-offset").unwrap())
            .collect();
        if deferred {
            assert_eq!(
                declaring.len(),
                1,
                "chunk {chunk}: Upload-Length declared exactly once"
            );
            let last = patches.last().unwrap();
            assert_eq!(
                header(last, "upload-length").as_deref(),
                Some("5"),
                "chunk {chunk}: the last PATCH declares it"
            );
            // Strict reading: the PATCH whose bytes reach the end declares it, so no empty
            // PATCH follows just to say the length.
            assert!(
                !last.body.is_empty(),
                "chunk {chunk}: the length travels with the last bytes"
            );
        } else {
            assert!(
                declaring.is_empty(),
                "chunk {chunk}: already declared on POST"
            );
        }
    }
}

/// parity 28: the same with creation-with-upload on (the default): the POST carries the
/// first chunk.
#[tokio::test]
async fn deferred_length_with_creation_with_upload() {
    for chunk in 1..=6u64 {
        let requests = upload_hello_stream(chunk, true).await;
        let post = with_method(&requests, "POST")[0];
        assert_eq!(
            post.body,
            &b"hello"[..(chunk as usize).min(5)],
            "chunk {chunk}: the first chunk rides on the POST"
        );
    }
}
