//! Whatever a client sends, the server answers (never a 5xx, never a panic).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::header::HeaderValue;
use tusky_mock_server::TusMockServer;

use crate::support::*;

/// The headers the server reads.
const HEADERS: [&str; 10] = [
    "Tus-Resumable",
    "Upload-Length",
    "Upload-Offset",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "Upload-Checksum",
    "Upload-Concat",
    "Content-Type",
    "X-HTTP-Method-Override",
    "Content-Length-Ignored",
];

/// Any bytes HTTP allows in a header value (including obs-text), biased towards
/// the shapes tus headers have.
fn header_value() -> impl Strategy<Value = HeaderValue> {
    let raw = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        "[0-9]{0,25}".prop_map(String::into_bytes),
        "(sha1|md5|crc32|final;|partial|1\\.0\\.0|PATCH|HEAD) ?[ -~]{0,30}"
            .prop_map(String::into_bytes),
    ];
    raw.prop_filter_map("not a header value", |b| HeaderValue::from_bytes(&b).ok())
}

async fn assert_answered(resp: reqwest::Result<reqwest::Response>) {
    let resp = resp.expect("the server answered");
    assert!(
        resp.status().as_u16() < 500,
        "a client's input got {}",
        resp.status()
    );
    assert_header(&resp, "tus-resumable", "1.0.0");
}

#[test]
fn arbitrary_header_values_never_get_a_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(TusMockServer::start());
    let url = rt.block_on(create(&server, 1 << 20));
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec((0..HEADERS.len(), header_value()), 1..4),
        proptest::collection::vec(any::<u8>(), 0..16),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(headers, body, valid_tus)| {
            rt.block_on(async {
                let c = http();
                for rb in [
                    c.post(server.endpoint()),
                    c.patch(&url),
                    c.head(&url),
                    c.post(&url),
                ] {
                    let mut rb = rb.body(body.clone());
                    if valid_tus {
                        rb = tus(rb);
                    }
                    for (i, v) in &headers {
                        rb = rb.header(HEADERS[*i], v.clone());
                    }
                    assert_answered(rb.send().await).await;
                }
            });
            Ok(())
        })
        .unwrap();
    // Still a working tus server.
    rt.block_on(async {
        let url = create(&server, 2).await;
        assert_eq!(patch(&url, 0, b"ok").await.status(), 204);
    });
}

#[tokio::test]
async fn nasty_values_get_4xx() {
    let (server, url) = server_with_upload(4).await;
    let obs_text = HeaderValue::from_bytes(b"name \xff\xfe").unwrap();
    let resp = tus(http().post(server.endpoint()))
        .header("Upload-Length", "1")
        .header("Upload-Metadata", obs_text)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let huge = "9".repeat(400);
    assert_eq!(
        post(&server, &[("Upload-Length", &huge)]).await.status(),
        400
    );
    assert_eq!(patch(&url, u64::MAX, b"abc").await.status(), 409);
    let resp = patch_with(&url, 0, b"", &[("Upload-Length", &huge)]).await;
    assert_eq!(resp.status(), 400);
    // A long but valid metadata header is fine.
    let long = format!("k {}", "QUFB".repeat(5000));
    assert_eq!(
        post(
            &server,
            &[("Upload-Length", "1"), ("Upload-Metadata", &long)]
        )
        .await
        .status(),
        201
    );
    assert_eq!(patch(&format!("{url}/extra"), 0, b"x").await.status(), 404);
    assert_holds(&server, &url, b"");
}

#[tokio::test]
async fn the_largest_deferred_length_is_accepted() {
    let server = TusMockServer::start().await;
    let resp = post(&server, &[("Upload-Defer-Length", "1")]).await;
    let url = header(&resp, "location").unwrap();
    let resp = patch_with(&url, 0, b"ab", &[("Upload-Length", &u64::MAX.to_string())]).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(server.upload(&url).unwrap().length, Some(u64::MAX));
}
