//! Bandwidth and proxies: a rate limit shared by everything a client uploads, and requests
//! sent through a proxy on 127.0.0.1 (the mock crate's `ForwardProxy`: plain HTTP, a
//! `CONNECT` tunnel to an https server, SOCKS5).
//!
//! Timing is checked with lower bounds only (a slow machine only makes uploads slower), and
//! always with the bytes the server ends up holding.

use std::io::Cursor;
use std::time::{Duration, Instant};

use tusky::mock::{ForwardProxy, TusMockServer};
use tusky::transport::layers::RateLimit;
use tusky::{Client, Error};

use crate::common::{
    data, noise, reader_of, tls_fronted_server, upload_exactly, upload_of, Tap, TEST_CERT_PEM,
};

const KIB: u64 = 1024;

/// The least time `bytes` may take under `limit`, with a 20 % margin for timer slack.
fn lower_bound(bytes: u64, limit: u64) -> Duration {
    let burst = RateLimit::new(limit).burst();
    Duration::from_secs_f64(bytes.saturating_sub(burst) as f64 / limit as f64 * 0.8)
}

#[tokio::test]
async fn a_rate_limited_upload_is_paced_and_complete() {
    let server = TusMockServer::start().await;
    let limit = 100 * KIB;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .limit_rate(limit)
        .build()
        .unwrap();
    let bytes = noise(200 * KIB, 3);
    let started = Instant::now();
    let summary = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(64 * KIB)
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    let least = lower_bound(200 * KIB, limit);
    assert!(elapsed >= least, "{elapsed:?} < {least:?}");
}

/// Two files at once, each in two parallel parts: four bodies draw on one bucket. Each part
/// alone (50 KiB at 100 KiB/s) would take half a second; together they take two.
#[tokio::test]
async fn one_limit_is_shared_by_files_and_parallel_parts() {
    let server = TusMockServer::start().await;
    let limit = 100 * KIB;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .limit_rate(limit)
        .build()
        .unwrap();
    let (a, b) = (noise(100 * KIB, 1), noise(100 * KIB, 2));
    let upload = |bytes: Vec<u8>| {
        let client = client.clone();
        async move {
            client
                .uploader()
                .reader(Cursor::new(bytes))
                .parallel(2)
                .build()
                .unwrap()
                .upload()
                .await
                .unwrap()
        }
    };
    let started = Instant::now();
    let (first, second) = tokio::join!(upload(a.clone()), upload(b.clone()));
    let elapsed = started.elapsed();
    assert_eq!(server.upload_bytes(first.url.as_str()).unwrap(), a);
    assert_eq!(server.upload_bytes(second.url.as_str()).unwrap(), b);
    let least = lower_bound(200 * KIB, limit);
    assert!(elapsed >= least, "{elapsed:?} < {least:?}");
}

#[test]
fn a_zero_rate_is_refused() {
    let error = Client::builder()
        .endpoint("http://127.0.0.1:1/files/")
        .limit_rate(0)
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error}");
}

#[tokio::test]
async fn every_request_goes_through_the_proxy() {
    let server = TusMockServer::start().await;
    let proxy = ForwardProxy::start().await.unwrap();
    let client = Client::builder()
        .endpoint(server.endpoint())
        .proxy(proxy.url())
        .build()
        .unwrap();
    let bytes = data(50_000);
    let builder = upload_of(&client, &bytes, 16_000).creation_with_upload(false);
    upload_exactly(&server, builder, &bytes).await;
    let proxied = proxy.requests();
    let received = server.received_requests().await;
    assert_eq!(proxied.len(), received.len(), "{proxied:?}");
    let methods: Vec<&str> = proxied.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        ["OPTIONS", "POST", "PATCH", "PATCH", "PATCH", "PATCH"]
    );
    let body_bytes: u64 = proxied.iter().map(|r| r.body_bytes).sum();
    assert_eq!(body_bytes, 50_000);
    assert!(proxied
        .iter()
        .all(|r| r.url.starts_with(&server.uri()) && r.url.contains("/files/")));
}

/// `socks5://` (the client resolves names) and `socks5h://` (the proxy does): every request
/// goes through one SOCKS5 tunnel to the server, and the server holds the exact bytes.
#[tokio::test]
async fn uploads_go_through_a_socks5_proxy() {
    for scheme in ["socks5", "socks5h"] {
        let server = TusMockServer::start().await;
        let proxy = ForwardProxy::start().await.unwrap();
        let proxy_url = proxy.socks5_url().replace("socks5", scheme);
        let client = Client::builder()
            .endpoint(server.endpoint())
            .proxy(proxy_url)
            .build()
            .unwrap();
        let bytes = data(40_000);
        let builder = upload_of(&client, &bytes, 16_000).creation_with_upload(false);
        upload_exactly(&server, builder, &bytes).await;
        let tunnels = proxy.requests();
        assert!(
            !tunnels.is_empty(),
            "{scheme}: nothing went through the proxy"
        );
        let server_address = server.address().to_string();
        for tunnel in &tunnels {
            assert_eq!(tunnel.method, "SOCKS5", "{scheme}: {tunnels:?}");
            assert_eq!(tunnel.url, server_address, "{scheme}: {tunnels:?}");
        }
    }
}

/// An `https://` server through an `http://` proxy: the client opens a `CONNECT` tunnel and
/// speaks TLS inside it (the proxy sees only the host and port), and the upload completes.
#[tokio::test]
async fn an_https_server_is_reached_through_a_connect_tunnel() {
    let (server, endpoint) = tls_fronted_server().await;
    let proxy = ForwardProxy::start().await.unwrap();
    let client = Client::builder()
        .endpoint(&endpoint)
        .root_certificate_pem(TEST_CERT_PEM)
        .proxy(proxy.url())
        .build()
        .unwrap();
    let bytes = data(30_000);
    let summary = upload_of(&client, &bytes, 10_000)
        .build()
        .unwrap()
        .upload()
        .await
        .expect("the upload through the tunnel");
    assert_eq!(server.upload_bytes(summary.url.path()).unwrap(), bytes);
    let tunnels = proxy.requests();
    assert!(!tunnels.is_empty(), "nothing went through the proxy");
    let authority = url::Url::parse(&endpoint).unwrap();
    let authority = format!(
        "{}:{}",
        authority.host_str().unwrap(),
        authority.port().unwrap()
    );
    for tunnel in &tunnels {
        assert_eq!(
            (tunnel.method.as_str(), tunnel.url.as_str()),
            ("CONNECT", authority.as_str())
        );
    }
}

#[tokio::test]
async fn no_proxy_overrides_an_earlier_proxy() {
    let server = TusMockServer::start().await;
    let proxy = ForwardProxy::start().await.unwrap();
    let client = Client::builder()
        .endpoint(server.endpoint())
        .proxy(proxy.url())
        .no_proxy()
        .build()
        .unwrap();
    let bytes = data(5_000);
    upload_exactly(&server, reader_of(&client, &bytes), &bytes).await;
    assert!(proxy.requests().is_empty());
}

#[test]
fn proxy_settings_are_checked_and_belong_to_the_built_in_transport() {
    for bad in [
        "ftp://user:s3cret@proxy:21",
        "not a url",
        "socks4://user:s3cret@h:1",
    ] {
        let error = Client::builder().proxy(bad).build().unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
    for good in [
        "http://p:3128",
        "https://u:pw@p",
        "socks5://p:1080",
        "socks5h://p:1080",
    ] {
        Client::builder().proxy(good).build().unwrap();
    }
    let custom = Client::builder()
        .proxy("http://p:3128")
        .build_with_transport(Tap::reqwest());
    assert!(matches!(custom, Err(Error::Config(_))));
    let custom = Client::builder()
        .no_proxy()
        .build_with_transport(Tap::reqwest());
    assert!(matches!(custom, Err(Error::Config(_))));
}
