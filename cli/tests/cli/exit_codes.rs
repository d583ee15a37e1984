//! Every exit code, and failures as one clear line.

use tusky::mock::wiremock::matchers::method;
use tusky::mock::wiremock::{Mock, ResponseTemplate};
use tusky::mock::TusMockServer;

use crate::support::{closed_port, Sandbox};

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let sandbox = Sandbox::new();
    sandbox.file("f.bin", 10, 1);
    for args in [
        vec!["upload"],
        vec![
            "upload",
            "f.bin",
            "http://127.0.0.1:9/files/",
            "--chunk-size",
            "8XB",
        ],
        vec![
            "upload",
            "f.bin",
            "http://127.0.0.1:9/files/",
            "--chunk-size",
            "0",
        ],
        vec![
            "upload",
            "f.bin",
            "http://127.0.0.1:9/files/",
            "--header",
            "no colon",
        ],
        vec![
            "upload",
            "f.bin",
            "http://127.0.0.1:9/files/",
            "--metadata",
            "novalue",
        ],
        vec![
            "upload",
            "f.bin",
            "http://127.0.0.1:9/files/",
            "--parallel",
            "0",
        ],
        vec!["frobnicate"],
    ] {
        let out = sandbox.run(&args).await;
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            "http://127.0.0.1:9/files/",
            "--checksum",
            "blake9",
        ])
        .await;
    out.expect_code(2);
    assert!(out.one_error_line().contains("blake9"));
    let out = sandbox
        .run(["upload", "f.bin", "ftp://example.invalid/files/"])
        .await;
    out.expect_code(2);
    assert!(out.one_error_line().contains("ftp"), "{}", out.stderr);
    let out = sandbox.run(["status", "f.bin"]).await;
    out.expect_code(2);
    out.expect_error_line_containing("nothing is stored for f.bin");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_refusal_exits_3_with_the_status_and_the_servers_message() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_string("quota exceeded\nfor user 42"))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    sandbox.file("f.bin", 1000, 2);
    let out = sandbox.run(["upload", "f.bin", &server.endpoint()]).await;
    out.expect_code(3);
    let line = out.one_error_line();
    assert!(
        line.starts_with("tusky: error: uploading f.bin to "),
        "{line}"
    );
    assert!(line.contains("403"), "{line}");
    assert!(line.contains("quota exceeded for user 42"), "{line}");
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_refusal_exits_3() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    server.fail_patch(1, 415);
    sandbox.file("f.bin", 300_000, 3);
    let out = sandbox
        .run(["upload", "f.bin", &server.endpoint(), "-c", "100000"])
        .await;
    out.expect_code(3);
    assert!(out.one_error_line().contains("415"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_network_failure_after_the_retries_exits_4() {
    let sandbox = Sandbox::new();
    sandbox.file("f.bin", 1000, 4);
    let endpoint = format!("http://127.0.0.1:{}/files/", closed_port());
    let out = sandbox
        .run(["upload", "f.bin", &endpoint, "--retries", "1"])
        .await;
    out.expect_code(4);
    let line = out.one_error_line();
    assert!(line.contains("could not connect"), "{line}");
    out.expect_stderr_contains("retrying in"); // the retry is reported
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_that_persists_exits_4() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    server.set_patch_hook(|_: &tusky::mock::PatchContext| tusky::mock::PatchAction::Fail(503));
    sandbox.file("f.bin", 300_000, 5);
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            &server.endpoint(),
            "-c",
            "100000",
            "--retries",
            "1",
        ])
        .await;
    out.expect_code(4);
    let line = out.one_error_line();
    assert!(line.contains("503"), "{line}");
    assert!(
        line.contains("run the same command again to resume"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn local_io_errors_exit_5() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let out = sandbox
        .run(["upload", "missing.bin", &server.endpoint()])
        .await;
    out.expect_code(5);
    out.expect_error_line_containing("missing.bin");

    sandbox.file("f.bin", 1000, 6);
    std::fs::write(sandbox.path().join("bad-store.json"), "this is not a store").unwrap();
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            &server.endpoint(),
            "--store",
            "bad-store.json",
        ])
        .await;
    out.expect_code(5);
    out.expect_error_line_containing("bad-store.json");
    assert_eq!(server.uploads().len(), 0, "nothing sent");

    // Not a regular file (a directory is uploaded file by file: see `many`).
    let fifo = sandbox.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = sandbox.run(["upload", "pipe", &server.endpoint()]).await;
    out.expect_code(5);
    out.expect_error_line_containing("not a regular file");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_json_a_failure_is_a_json_object_too() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .run([
            "upload",
            "missing.bin",
            "http://127.0.0.1:9/files/",
            "--json",
        ])
        .await;
    out.expect_code(5);
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("stdout is JSON");
    assert_eq!(json["exit_code"], 5);
    assert!(json["error"].as_str().unwrap().contains("missing.bin"));
    out.one_error_line();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_is_not_a_panic() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("f.bin", 1000, 7);
    let mut child = sandbox
        .tusky(["upload", "f.bin", &server.endpoint()])
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = crate::support::Output::from(child.wait_with_output().await.unwrap());
    out.expect_code(0);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// All bytes stored but the server's final answer an error: exit 6, the URL still printed, the
/// answer in `--json`.
#[tokio::test(flavor = "multi_thread")]
async fn stored_but_refused_exits_6_with_the_servers_answer() {
    use tusky::mock::PatchAction;
    let sandbox = crate::support::Sandbox::new();
    let server = tusky::mock::TusMockServer::start().await;
    sandbox.file("f.bin", 300 * 1024, 3);
    // 128 KiB chunks, the first in the creation POST: the second PATCH is the last.
    server.schedule_patch(2, PatchAction::StoreThenFail(500));
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            &server.endpoint(),
            "-c",
            "128KiB",
            "--json",
        ])
        .await;
    out.expect_code(6);
    // The result, then (as for every --json failure) the error object.
    let first = out.stdout.lines().next().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(json["final_answer"]["status"], 500, "{json}");
    let url = json["url"].as_str().unwrap();
    assert_eq!(
        server.upload_bytes(url),
        Some(crate::support::bytes(300 * 1024, 3))
    );
    let line = out.one_error_line();
    assert!(line.contains("the server's final answer was 500"), "{line}");
}
