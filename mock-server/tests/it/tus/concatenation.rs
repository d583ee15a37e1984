//! The concatenation extension.

use tusky_mock_server::{Extension, TusMockServer, UploadConcat};

use crate::support::*;

async fn partial(server: &TusMockServer, body: &[u8]) -> String {
    let resp = post(
        server,
        &[
            ("Upload-Concat", "partial"),
            ("Upload-Length", &body.len().to_string()),
        ],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let url = header(&resp, "location").unwrap();
    if !body.is_empty() {
        assert_eq!(patch(&url, 0, body).await.status(), 204);
    }
    url
}

#[tokio::test]
async fn partial_uploads_concatenate_into_a_final_upload() {
    let server = TusMockServer::start().await;
    let a = partial(&server, b"hello").await;
    let b = partial(&server, b" world").await;
    assert_eq!(server.upload(&a).unwrap().concat, UploadConcat::Partial);
    let resp = head(&a).await;
    assert_header(&resp, "upload-concat", "partial");

    // One absolute URL, one path: both are accepted.
    let b_path = b.strip_prefix(&server.uri()).unwrap().to_owned();
    let concat = format!("final;{a} {b_path}");
    let resp = post(
        &server,
        &[
            ("Upload-Concat", &concat),
            ("Upload-Metadata", "filename aGVsbG8udHh0"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let fin = header(&resp, "location").unwrap();

    assert_holds(&server, &fin, b"hello world");
    let snap = server.upload(&fin).unwrap();
    assert_eq!(snap.concat, UploadConcat::Final(vec![a.clone(), b.clone()]));
    assert_eq!(snap.length, Some(11));
    assert_eq!(snap.metadata_value("filename"), Some("hello.txt"));
    assert!(snap.is_complete());

    let resp = head(&fin).await;
    assert_eq!(resp.status(), 200);
    assert_header(&resp, "upload-length", "11");
    assert_header(&resp, "upload-offset", "11");
    assert_header(&resp, "upload-concat", concat.as_str());
    assert_header(&resp, "upload-metadata", "filename aGVsbG8udHh0");
    // Partials are untouched and may be used again.
    assert_holds(&server, &a, b"hello");
    let resp = post(&server, &[("Upload-Concat", &format!("final;{b} {a}"))]).await;
    assert_created_holding(&server, &resp, b" worldhello");
}

#[tokio::test]
async fn patch_on_a_final_upload_is_403() {
    let server = TusMockServer::start().await;
    let a = partial(&server, b"abc").await;
    let resp = post(&server, &[("Upload-Concat", &format!("final;{a}"))]).await;
    let fin = header(&resp, "location").unwrap();
    let resp = patch(&fin, 3, b"x").await;
    assert_eq!(resp.status(), 403);
    assert_holds(&server, &fin, b"abc");
    assert_holds(&server, &a, b"abc");
}

#[tokio::test]
async fn final_upload_needs_complete_partial_uploads() {
    let server = TusMockServer::start().await;
    let done = partial(&server, b"abc").await;
    // Incomplete partial.
    let resp = post(
        &server,
        &[("Upload-Concat", "partial"), ("Upload-Length", "5")],
    )
    .await;
    let unfinished = header(&resp, "location").unwrap();
    assert_eq!(patch(&unfinished, 0, b"ab").await.status(), 204);
    // Not a partial upload.
    let ordinary = create(&server, 0).await;
    let before = server.uploads().len();
    for list in [
        format!("final;{done} {unfinished}"),
        format!("final;{done} {ordinary}"),
        format!("final;{done} {}nonexistent", server.endpoint()),
        format!("final;{done} /elsewhere/x"),
        "final;".to_owned(),
        "final".to_owned(),
        "complete".to_owned(),
    ] {
        let resp = post(&server, &[("Upload-Concat", &list)]).await;
        assert_eq!(resp.status(), 400, "Upload-Concat: {list}");
    }
    // Upload-Length is not allowed on a final upload.
    let resp = post(
        &server,
        &[
            ("Upload-Concat", &format!("final;{done}")),
            ("Upload-Length", "3"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    // Nor a terminated partial.
    assert_eq!(delete(&done).await.status(), 204);
    let resp = post(&server, &[("Upload-Concat", &format!("final;{done}"))]).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(server.uploads().len(), before);
}

#[tokio::test]
async fn final_upload_respects_max_size() {
    let server = TusMockServer::builder().max_size(5).start().await;
    let a = partial(&server, b"abc").await;
    let b = partial(&server, b"def").await;
    let resp = post(&server, &[("Upload-Concat", &format!("final;{a} {b}"))]).await;
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn without_concatenation_upload_concat_is_ignored() {
    let server = with_extensions(&[Extension::Creation]).await;
    let resp = post(
        &server,
        &[("Upload-Concat", "partial"), ("Upload-Length", "3")],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let url = header(&resp, "location").unwrap();
    assert_eq!(server.upload(&url).unwrap().concat, UploadConcat::None);
    assert_eq!(header(&head(&url).await, "upload-concat"), None);
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    // A final upload without Upload-Length is then just a bad creation.
    let resp = post(&server, &[("Upload-Concat", &format!("final;{url}"))]).await;
    assert_eq!(resp.status(), 400);
}
