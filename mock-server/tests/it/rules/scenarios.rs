//! The scenarios: raw HTTP against a server, checking the status, the headers and the bytes
//! the server holds.

use std::time::Duration;

use super::{both, Backend, Kind, Settings};
use crate::support::*;

both!(
    creation_then_patches_store_the_exact_bytes,
    creation_with_upload_then_patch,
    protocol_refusals,
    a_body_past_the_length_is_413_and_keeps_nothing,
    a_checksum_mismatch_is_460_and_keeps_nothing,
    a_deferred_length_is_declared_later,
    termination_makes_the_upload_gone,
    expired_uploads_are_gone,
    partials_concatenate_into_a_final_upload,
    the_maximum_size_is_advertised_and_enforced,
    a_repeated_idempotency_key_answers_the_same_upload,
    a_method_override_stands_for_the_method,
);

/// Creates an upload of `length` bytes on `server` and returns its URL.
async fn create_on(server: &Backend, headers: &[(&str, &str)]) -> String {
    let resp = post_to(&server.endpoint(), headers, None).await;
    assert_eq!(resp.status(), 201, "POST {headers:?}");
    header(&resp, "location").expect("Location")
}

#[track_caller]
fn assert_bytes(server: &Backend, url: &str, bytes: &[u8]) {
    assert_eq!(server.bytes(url).as_deref(), Some(bytes), "bytes of {url}");
}

async fn creation_then_patches_store_the_exact_bytes(kind: Kind) {
    let server = kind.start().await;
    let data = noise(1000, 1);
    let url = create_on(
        &server,
        &[
            ("Upload-Length", "1000"),
            ("Upload-Metadata", "filename YS50eHQ="),
        ],
    )
    .await;
    assert!(url.starts_with(&server.endpoint()), "{url}");
    let mut offset = 0;
    for piece in data.chunks(300) {
        let resp = patch(&url, offset, piece).await;
        assert_eq!(resp.status(), 204);
        offset += piece.len() as u64;
        assert_header(&resp, "upload-offset", &offset.to_string());
        assert_header(&resp, "tus-resumable", "1.0.0");
    }
    let resp = head(&url).await;
    assert_eq!(resp.status(), 200);
    assert_header(&resp, "upload-offset", "1000");
    assert_header(&resp, "upload-length", "1000");
    assert_header(&resp, "upload-metadata", "filename YS50eHQ=");
    assert_header(&resp, "cache-control", "no-store");
    assert_bytes(&server, &url, &data);
    let other = create_on(&server, &[("Upload-Length", "1")]).await;
    assert_ne!(other, url);
}

async fn creation_with_upload_then_patch(kind: Kind) {
    let server = kind.start().await;
    let resp = post_to(
        &server.endpoint(),
        &[("Upload-Length", "11")],
        Some(b"hello"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_header(&resp, "upload-offset", "5");
    let url = header(&resp, "location").unwrap();
    assert_eq!(patch(&url, 5, b" world").await.status(), 204);
    assert_bytes(&server, &url, b"hello world");
}

async fn protocol_refusals(kind: Kind) {
    let server = kind.start().await;
    let url = create_on(&server, &[("Upload-Length", "5")]).await;
    let resp = http().head(&url).send().await.unwrap();
    assert_eq!(resp.status(), 412, "no Tus-Resumable");
    assert_header(&resp, "tus-version", "1.0.0");
    let resp = tus(http().patch(&url))
        .header("Upload-Offset", "0")
        .body("abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp = patch(&url, 1, b"abc").await;
    assert_eq!(resp.status(), 409);
    assert_header(&resp, "upload-offset", "0");
    let resp = tus(http().get(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert!(header(&resp, "allow").is_some());
    assert_eq!(post_to(&server.endpoint(), &[], None).await.status(), 400);
    let resp = post_to(
        &server.endpoint(),
        &[("Upload-Length", "1"), ("Upload-Metadata", "a !!")],
        None,
    )
    .await;
    assert_eq!(resp.status(), 400);
    let unknown = format!(
        "{}{}",
        server.endpoint(),
        "0123456789abcdef0123456789abcdef"
    );
    assert_eq!(head(&unknown).await.status(), 404);
    assert_eq!(patch(&unknown, 0, b"x").await.status(), 404);
    let outside = server.endpoint().replace("/files/", "/elsewhere");
    assert_eq!(head(&outside).await.status(), 404);
    let resp = options_at(&server.endpoint()).await;
    assert_eq!(resp.status(), 204);
    assert_header(&resp, "tus-version", "1.0.0");
    assert_header(
        &resp,
        "tus-extension",
        "creation,creation-with-upload,creation-defer-length,checksum,termination,expiration,concatenation",
    );
    assert_header(
        &resp,
        "tus-checksum-algorithm",
        "sha1,sha256,sha512,md5,crc32",
    );
    assert_bytes(&server, &url, b"");
    assert_eq!(server.live_uploads(), 1);
}

async fn a_body_past_the_length_is_413_and_keeps_nothing(kind: Kind) {
    let server = kind.start().await;
    let url = create_on(&server, &[("Upload-Length", "4")]).await;
    assert_eq!(patch(&url, 0, b"ab").await.status(), 204);
    assert_eq!(patch(&url, 2, b"cde").await.status(), 413);
    assert_bytes(&server, &url, b"ab");
    let resp = post_to(&server.endpoint(), &[("Upload-Length", "3")], Some(b"abcd")).await;
    assert_eq!(resp.status(), 413);
    assert_eq!(server.live_uploads(), 1, "nothing created");
}

async fn a_checksum_mismatch_is_460_and_keeps_nothing(kind: Kind) {
    let server = kind.start().await;
    let url = create_on(&server, &[("Upload-Length", "22")]).await;
    // sha1("hello world"), from the tus checksum extension's example.
    let right = ("Upload-Checksum", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=");
    let wrong = ("Upload-Checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(
        patch_with(&url, 0, b"hello world", &[wrong]).await.status(),
        460
    );
    assert_bytes(&server, &url, b"");
    let resp = patch_with(
        &url,
        0,
        b"hello world",
        &[("Upload-Checksum", "blake3 AAAA")],
    )
    .await;
    assert_eq!(resp.status(), 400);
    let resp = patch_with(&url, 0, b"hello world", &[right]).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        patch_with(&url, 11, b"hello world", &[wrong])
            .await
            .status(),
        460
    );
    assert_bytes(&server, &url, b"hello world");
    assert_header(&head(&url).await, "upload-offset", "11");

    let resp = post_to(
        &server.endpoint(),
        &[("Upload-Length", "11"), wrong],
        Some(b"hello world"),
    )
    .await;
    assert_eq!(resp.status(), 460);
    assert_eq!(server.live_uploads(), 1, "nothing created");
    let resp = post_to(
        &server.endpoint(),
        &[("Upload-Length", "11"), right],
        Some(b"hello world"),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_bytes(&server, &header(&resp, "location").unwrap(), b"hello world");
}

async fn a_deferred_length_is_declared_later(kind: Kind) {
    let server = kind.start().await;
    let url = create_on(&server, &[("Upload-Defer-Length", "1")]).await;
    assert_header(&head(&url).await, "upload-defer-length", "1");
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    let resp = patch_with(&url, 3, b"def", &[("Upload-Length", "5")]).await;
    assert_eq!(resp.status(), 400, "a length below offset + body");
    let resp = patch_with(&url, 3, b"def", &[("Upload-Length", "6")]).await;
    assert_eq!(resp.status(), 204);
    let resp = head(&url).await;
    assert_header(&resp, "upload-length", "6");
    assert_header(&resp, "upload-offset", "6");
    assert_eq!(header(&resp, "upload-defer-length"), None);
    assert_bytes(&server, &url, b"abcdef");
}

async fn termination_makes_the_upload_gone(kind: Kind) {
    let server = kind.start().await;
    let url = create_on(&server, &[("Upload-Length", "6")]).await;
    assert_eq!(patch(&url, 0, b"abc").await.status(), 204);
    assert_eq!(delete(&url).await.status(), 204);
    assert_gone(&url, 404).await;
    assert_eq!(server.bytes(&url), None);
    assert_eq!(server.live_uploads(), 0);
}

async fn expired_uploads_are_gone(kind: Kind) {
    let server = kind
        .start_with(Settings {
            expires_after: Some(Duration::ZERO),
            ..Settings::default()
        })
        .await;
    let resp = post_to(&server.endpoint(), &[("Upload-Length", "6")], None).await;
    assert_eq!(resp.status(), 201);
    assert!(header(&resp, "upload-expires").is_some());
    assert_gone(&header(&resp, "location").unwrap(), 410).await;
    // A finished upload never expires.
    let resp = post_to(&server.endpoint(), &[("Upload-Length", "3")], Some(b"abc")).await;
    assert_eq!(header(&resp, "upload-expires"), None);
    assert_eq!(
        head(&header(&resp, "location").unwrap()).await.status(),
        200
    );
}

async fn partials_concatenate_into_a_final_upload(kind: Kind) {
    let server = kind.start().await;
    let (a, b) = (noise(700, 2), noise(300, 3));
    let mut urls = Vec::new();
    for part in [&a, &b] {
        let length = part.len().to_string();
        let url = create_on(
            &server,
            &[("Upload-Concat", "partial"), ("Upload-Length", &length)],
        )
        .await;
        assert_eq!(patch(&url, 0, part).await.status(), 204);
        urls.push(url);
    }
    let half = create_on(
        &server,
        &[("Upload-Concat", "partial"), ("Upload-Length", "2")],
    )
    .await;
    let refused = format!("final;{} {half}", urls[0]);
    let resp = post_to(&server.endpoint(), &[("Upload-Concat", &refused)], None).await;
    assert_eq!(resp.status(), 400, "an unfinished partial");

    // An absolute URL and a path.
    let path = urls[1]
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap();
    let concat = format!("final;{} {path}", urls[0]);
    let resp = post_to(&server.endpoint(), &[("Upload-Concat", &concat)], None).await;
    assert_eq!(resp.status(), 201);
    let url = header(&resp, "location").unwrap();
    // While the partials' bytes are copied in, HEAD tells no offset; never a short one.
    let early = head(&url).await;
    assert_eq!(early.status(), 200);
    let offset = early.headers().get("upload-offset").map(|v| v.as_bytes());
    assert!(matches!(offset, None | Some(b"1000")), "{offset:?}");
    server.concatenated(&url).await;
    let resp = head(&url).await;
    assert_header(&resp, "upload-length", "1000");
    assert_header(&resp, "upload-offset", "1000");
    assert_header(&resp, "upload-concat", &concat);
    assert_bytes(&server, &url, &[a, b].concat());
    assert_eq!(patch(&url, 1000, b"x").await.status(), 403);
}

async fn the_maximum_size_is_advertised_and_enforced(kind: Kind) {
    let server = kind
        .start_with(Settings {
            max_size: Some(10),
            ..Settings::default()
        })
        .await;
    assert_header(&options_at(&server.endpoint()).await, "tus-max-size", "10");
    let resp = post_to(&server.endpoint(), &[("Upload-Length", "11")], None).await;
    assert_eq!(resp.status(), 413);
    let url = create_on(&server, &[("Upload-Defer-Length", "1")]).await;
    assert_eq!(patch(&url, 0, b"0123456789a").await.status(), 413);
    assert_eq!(patch(&url, 0, b"0123456789").await.status(), 204);
    assert_bytes(&server, &url, b"0123456789");
}

async fn a_repeated_idempotency_key_answers_the_same_upload(kind: Kind) {
    let server = kind.start().await;
    let endpoint = server.endpoint();
    let key = (
        "Idempotency-Key",
        "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"",
    );
    let resp = post_to(&endpoint, &[("Upload-Length", "11"), key], Some(b"hello")).await;
    assert_eq!(resp.status(), 201);
    let url = header(&resp, "location").unwrap();

    // The answer was lost; the client sends the same request again.
    let again = post_to(&endpoint, &[("Upload-Length", "11"), key], Some(b"hello")).await;
    assert_eq!(again.status(), 201);
    assert_header(&again, "location", &url);
    assert_header(&again, "upload-offset", "5");
    assert_bytes(&server, &url, b"hello");
    assert_eq!(server.live_uploads(), 1);
    let again = post_to(&endpoint, &[("Upload-Length", "11"), key], None).await;
    assert_header(&again, "location", &url);
    assert_eq!(header(&again, "upload-offset"), None);

    let changed = post_to(&endpoint, &[("Upload-Length", "12"), key], None).await;
    assert_eq!(changed.status(), 422);
    let changed = post_to(&endpoint, &[("Upload-Defer-Length", "1"), key], None).await;
    assert_eq!(changed.status(), 422);
    let other = create_on(
        &server,
        &[("Upload-Length", "11"), ("Idempotency-Key", "other")],
    )
    .await;
    assert_ne!(other, url);

    // Remembered as long as the upload lives.
    assert_eq!(delete(&url).await.status(), 204);
    let fresh = create_on(&server, &[("Upload-Length", "12"), key]).await;
    assert_ne!(fresh, url);
    assert_eq!(server.live_uploads(), 2);
}

async fn a_method_override_stands_for_the_method(kind: Kind) {
    let server = kind.start().await;
    let url = create_on(&server, &[("Upload-Length", "5")]).await;
    let overridden = |method: &'static str| {
        tus(http().post(&url))
            .header("X-HTTP-Method-Override", method)
            .header("Content-Type", OFFSET_STREAM)
            .header("Upload-Offset", "0")
    };
    let resp = overridden("PATCH").body("hello").send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_bytes(&server, &url, b"hello");
    let resp = overridden("HEAD").send().await.unwrap();
    assert_header(&resp, "upload-offset", "5");
    assert_eq!(overridden("GET").send().await.unwrap().status(), 400);
    assert_eq!(overridden("DELETE").send().await.unwrap().status(), 204);
    assert_eq!(head(&url).await.status(), 404);
}
