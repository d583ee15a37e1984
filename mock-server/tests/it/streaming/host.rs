//! The `Host` guard of a loopback server (DNS rebinding), and a proxy in front of it.

use tusky_mock_server::{FaultProxy, StreamingTusServer};

use super::raw::RawRequest;
use super::start;

async fn head_with_host(address: std::net::SocketAddr, host: &str) -> u16 {
    RawRequest::start(address, "OPTIONS", "/files/", host, &[], Some(0))
        .await
        .status()
        .await
}

#[tokio::test]
async fn only_loopback_names_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let address = server.address();
    let port = address.port();
    for ok in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".into(),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(head_with_host(address, &ok).await, 204, "{ok}");
    }
    for refused in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        assert_eq!(head_with_host(address, &refused).await, 403, "{refused}");
    }
    // A refused creation creates nothing.
    let status = RawRequest::start(
        address,
        "POST",
        "/files/",
        "rebound.example",
        &[("Upload-Length", "1")],
        Some(0),
    )
    .await
    .status()
    .await;
    assert_eq!(status, 403);
    assert!(server.uploads().is_empty());
}

/// A creation POST of 5 bytes sent to `server` through `proxy`.
async fn create_through(
    http: &reqwest::Client,
    proxy: &FaultProxy,
    server: &StreamingTusServer,
) -> reqwest::Response {
    http.post(proxy.url_for(&server.endpoint()))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "5")
        .send()
        .await
        .unwrap()
}

/// Behind a FaultProxy, with the proxy's port given: requests addressed to the proxy are
/// answered, and the upload URL points at the proxy, so the PATCH goes through it too.
#[tokio::test]
async fn a_proxy_in_front_is_answered_with_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = FaultProxy::start(listener.local_addr().unwrap())
        .await
        .unwrap();
    let server = StreamingTusServer::builder(dir.path())
        .listener(listener)
        .proxy_port(proxy.addr().port())
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let created = create_through(&http, &proxy, &server).await;
    assert_eq!(created.status(), 201);
    let url = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(url.starts_with(&proxy.url()), "{url}");
    let patched = http
        .patch(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 204);
    assert_eq!(server.upload_bytes(&url).unwrap(), b"hello");
    assert!(proxy.stats().bytes_upstream > 5);
}

/// Without it, the proxy's address is another port: refused.
#[tokio::test]
async fn a_proxy_in_front_is_refused_without_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let proxy = FaultProxy::start(server.address()).await.unwrap();
    let created = create_through(&reqwest::Client::new(), &proxy, &server).await;
    assert_eq!(created.status(), 403);
    assert!(server.uploads().is_empty());
}
