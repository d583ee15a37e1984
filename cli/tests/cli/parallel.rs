//! `--parallel N`: partial uploads joined by concatenation, resumed after a kill, and the
//! fallback to one stream when the server lacks concatenation.

use tusky::mock::{Extension, TusMockServer, UploadConcat};

use crate::support::{kill_mid_upload, Sandbox};

#[tokio::test(flavor = "multi_thread")]
async fn parallel_parts_are_joined() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("p.bin", 1024 * 1024 + 3, 51);
    let json = sandbox
        .run_json([
            "upload",
            "p.bin",
            &server.endpoint(),
            "--parallel",
            "4",
            "-c",
            "128KiB",
            "--json",
        ])
        .await;
    let url = json["url"].as_str().unwrap();
    assert_eq!(
        server.upload_bytes(url),
        Some(std::fs::read(&file).unwrap())
    );
    let upload = server.upload(url).unwrap();
    assert!(
        matches!(&upload.concat, UploadConcat::Final(parts) if parts.len() == 4),
        "{:?}",
        upload.concat
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_resumes_after_a_kill() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("pk.bin", 2 * 1024 * 1024, 52);
    kill_mid_upload(
        sandbox.tusky([
            "upload",
            "pk.bin",
            &server.endpoint(),
            "--parallel",
            "2",
            "-c",
            "128KiB",
        ]),
        &server,
        4,
    )
    .await;
    server.clear_faults();
    let created = server.uploads().len();
    let listed = sandbox.run(["list"]).await;
    assert!(
        listed
            .stdout
            .contains("(2 partial uploads, not yet joined)"),
        "{}",
        listed.stdout
    );
    let json = sandbox
        .run_json([
            "upload",
            "pk.bin",
            &server.endpoint(),
            "--parallel",
            "2",
            "-c",
            "128KiB",
            "--json",
        ])
        .await;
    assert!(
        json["resumed_from"].as_u64().is_some_and(|o| o > 0),
        "{json}"
    );
    assert_eq!(
        server.uploads().len(),
        created + 1,
        "only the final upload is new"
    );
    assert_eq!(
        server.upload_bytes(json["url"].as_str().unwrap()),
        Some(std::fs::read(&file).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_concatenation_it_says_so_and_uploads_in_one_stream() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::builder()
        .extensions(&[Extension::Creation, Extension::Termination])
        .start()
        .await;
    let file = sandbox.file("one.bin", 300_000, 53);
    let out = sandbox
        .run(["upload", "one.bin", &server.endpoint(), "--parallel", "3"])
        .await;
    out.expect_code(0);
    assert!(
        out.stderr
            .contains("does not offer the concatenation extension"),
        "{}",
        out.stderr
    );
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(
        server.upload_bytes(out.stdout.trim()),
        Some(std::fs::read(&file).unwrap())
    );
}
