//! `--chunk-size`: `auto` by default (the sizes the server receives change as the tuner
//! measures), a fixed size when one is given, `auto:SIZE` as a ceiling.

use tusky::mock::TusMockServer;

use crate::support::Sandbox;

const MIB: usize = 1024 * 1024;

/// Uploads a `len`-byte file with `extra` arguments (and `--json`) to a fresh mock server;
/// checks that the server holds the file exactly; returns the JSON and the body lengths of the
/// requests that carried bytes (the creation POST with the first chunk, then the PATCHes).
async fn upload_with(len: usize, extra: &[&str]) -> (serde_json::Value, Vec<usize>) {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("big.bin", len, 7);
    let endpoint = server.endpoint();
    let mut args = vec!["upload", "big.bin", &endpoint, "--json"];
    args.extend_from_slice(extra);
    let json = sandbox.run_json(args).await;
    let url = json["url"].as_str().expect("url").to_owned();
    assert_eq!(
        server.upload_bytes(&url).as_deref(),
        Some(&std::fs::read(&file).unwrap()[..]),
        "the server holds the file"
    );
    let mut lengths: Vec<usize> = Vec::new();
    for method in ["POST", "PATCH"] {
        let requests = server.requests_by_method(method).await;
        lengths.extend(requests.iter().map(|r| r.body.len()).filter(|len| *len > 0));
    }
    (json, lengths)
}

#[tokio::test(flavor = "multi_thread")]
async fn without_chunk_size_the_size_is_automatic() {
    let (json, lengths) = upload_with(10 * MIB, &[]).await;
    // 4 MiB in the creation POST; what is left (6 MiB) is at most half a chunk more than the
    // 4 MiB of the first PATCH, so it goes in one.
    assert_eq!(lengths, vec![4 * MIB, 6 * MIB]);
    assert_eq!(json["chunk_size_auto"], true);
    let grown = json["chunk_size"].as_u64().unwrap();
    assert!(grown >= 16 * MIB as u64, "grew after 4 MiB: {json}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunk_size_alone_is_fixed() {
    let (json, lengths) = upload_with(10 * MIB, &["--chunk-size", "1MiB"]).await;
    assert_eq!(lengths, vec![MIB; 10]);
    assert_eq!(json["chunk_size_auto"], false);
    assert_eq!(json["chunk_size"], MIB);
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_with_a_size_adapts_under_that_ceiling() {
    let (json, lengths) = upload_with(10 * MIB, &["--chunk-size", "auto:2MiB"]).await;
    // A sixteenth of the ceiling (in the creation POST, timed like a PATCH), four times that,
    // then the ceiling, never above it.
    let first = [128 * 1024, 512 * 1024, 2 * MIB];
    assert_eq!(&lengths[..3], &first, "{lengths:?}");
    assert!(lengths.iter().all(|len| *len <= 2 * MIB), "{lengths:?}");
    assert_eq!(json["chunk_size_auto"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_chunk_size_is_a_usage_error() {
    let sandbox = Sandbox::new();
    sandbox.file("a.bin", 10, 1);
    let out = sandbox
        .run([
            "upload",
            "a.bin",
            "http://127.0.0.1:9/files/",
            "--chunk-size",
            "auto:",
        ])
        .await;
    out.expect_code(2).expect_stderr_contains("--chunk-size");
}
