//! The `Host` guard of a loopback server (DNS rebinding).

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
