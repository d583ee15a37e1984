//! Core rules: Tus-Resumable, OPTIONS, routing.

use tusky_mock_server::{Extension, TusMockServer};

use crate::support::*;

#[tokio::test]
async fn options_advertises_every_extension_by_default() {
    let server = TusMockServer::start().await;
    let resp = options(&server).await;
    assert_eq!(resp.status(), 204);
    assert_header(&resp, "tus-resumable", "1.0.0");
    assert_header(&resp, "tus-version", "1.0.0");
    assert_header(&resp, "tus-extension", "creation,creation-with-upload,creation-defer-length,checksum,termination,expiration,concatenation");
    assert_header(
        &resp,
        "tus-checksum-algorithm",
        "sha1,sha256,sha512,md5,crc32",
    );
    assert_eq!(header(&resp, "tus-max-size"), None);
}

#[tokio::test]
async fn options_reflects_the_configuration() {
    let server = TusMockServer::builder()
        .extensions(&[Extension::Creation, Extension::Termination])
        .max_size(1000)
        .start()
        .await;
    let resp = options(&server).await;
    assert_eq!(resp.status(), 204);
    assert_header(&resp, "tus-extension", "creation,termination");
    assert_header(&resp, "tus-max-size", "1000");
    // Checksum is off: no algorithm list.
    assert_eq!(header(&resp, "tus-checksum-algorithm"), None);

    let server = TusMockServer::builder()
        .checksum_algorithms(&["md5", "sha1"])
        .start()
        .await;
    let resp = options(&server).await;
    assert_header(&resp, "tus-checksum-algorithm", "md5,sha1");
}

#[tokio::test]
async fn requests_without_tus_resumable_get_412_with_tus_version() {
    let (server, url) = server_with_upload(5).await;
    let c = http();
    let requests = [
        c.post(server.endpoint()).header("Upload-Length", "5"),
        c.head(&url),
        c.patch(&url)
            .header("Content-Type", OFFSET_STREAM)
            .header("Upload-Offset", "0")
            .body("hello"),
        c.delete(&url),
        // A wrong version is as bad as none.
        c.post(server.endpoint())
            .header("Tus-Resumable", "0.2.2")
            .header("Upload-Length", "5"),
    ];
    for rb in requests {
        let resp = rb.send().await.unwrap();
        assert_eq!(resp.status(), 412);
        assert_header(&resp, "tus-version", "1.0.0");
        assert_header(&resp, "tus-resumable", "1.0.0");
    }
    // Nothing was created, stored or deleted.
    assert_eq!(server.uploads().len(), 1);
    assert_holds(&server, &url, b"");
    assert!(!server.uploads()[0].terminated);
}

#[tokio::test]
async fn every_response_carries_tus_resumable() {
    let (server, url) = server_with_upload(1).await;
    let c = http();
    let responses = [
        tus(c.get(format!("{}/elsewhere", server.uri())))
            .send()
            .await
            .unwrap(),
        tus(c.get(&url)).send().await.unwrap(),
        head(&format!("{}nope", server.endpoint())).await,
        patch(&url, 7, b"x").await,
        post(&server, &[]).await,
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [404, 405, 404, 409, 400]);
    for resp in &responses {
        assert_eq!(header(resp, "tus-resumable").as_deref(), Some("1.0.0"));
    }
}

#[tokio::test]
async fn unsupported_methods_get_405_with_allow() {
    let (server, url) = server_with_upload(1).await;
    let resp = tus(http().get(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_header(&resp, "allow", "OPTIONS, HEAD, PATCH, DELETE");
    let resp = tus(http().patch(server.endpoint())).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_header(&resp, "allow", "OPTIONS, POST");
}

#[tokio::test]
async fn base_path_is_configurable_and_other_paths_are_404() {
    let server = TusMockServer::builder().base_path("uploads").start().await;
    assert_eq!(server.endpoint(), format!("{}/uploads/", server.uri()));
    let url = create(&server, 3).await;
    assert!(url.starts_with(&server.endpoint()));
    let resp = tus(http().post(format!("{}/files/", server.uri())))
        .header("Upload-Length", "3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // The endpoint also answers without its trailing slash.
    let resp = tus(http().post(format!("{}/uploads", server.uri())))
        .header("Upload-Length", "3")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(server.uploads().len(), 2);
}
