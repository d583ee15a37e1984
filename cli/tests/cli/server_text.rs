//! What a server (or a file name) controls reaches the terminal with its control characters
//! escaped: no raw ESC, BEL or CR from an error body, metadata or a received file's name.

use std::time::Duration;

use tusky::mock::wiremock::matchers::method;
use tusky::mock::wiremock::{Mock, ResponseTemplate};
use tusky::mock::TusMockServer;

use crate::support::{wait_until, Sandbox};

/// Asserts `text` holds no raw control character but the line ends.
#[track_caller]
fn assert_no_raw_controls(what: &str, text: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(raw.is_empty(), "{what} carries raw {raw:?}: {text:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_body_that_clears_the_screen_is_printed_escaped() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403).set_body_string("\x1b[2J\x1b]0;pwned\x07denied\rforged"),
        )
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    sandbox.file("f.bin", 1000, 41);
    let out = sandbox.run(["upload", "f.bin", &server.endpoint()]).await;
    out.expect_code(3);
    assert_no_raw_controls("stderr", &out.stderr);
    let line = out.one_error_line();
    assert!(
        line.contains("\\u{1b}[2J\\u{1b}]0;pwned\\u{7}denied"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_metadata_escaped() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("f.bin", 1000, 42);
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            &server.endpoint(),
            "-m",
            "note=\x1b[2Jhi\x07",
        ])
        .await;
    out.expect_code(0);
    let out = sandbox.run(["status", out.stdout.trim()]).await;
    out.expect_code(0);
    assert_no_raw_controls("stdout", &out.stdout);
    out.expect_stdout_contains("note=\\u{1b}[2Jhi\\u{7}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_a_received_file_name_escaped() {
    let sandbox = Sandbox::new();
    sandbox.file("f.bin", 1000, 43);
    let server = sandbox.serve().await;
    let endpoint = server.endpoint.clone();
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            &endpoint,
            "-m",
            "filename=\x1b]0;pwned\x07evil.bin",
        ])
        .await;
    out.expect_code(0);
    let id = out.stdout.trim().rsplit('/').next().unwrap().to_owned();
    let written = sandbox.path().join("uploads").join(format!("{id}.json"));
    wait_until("the upload written", Duration::from_secs(10), || {
        written.exists()
    })
    .await;

    let out = server.stop().await;
    out.expect_code(0);
    assert_no_raw_controls("serve's stderr", &out.stderr);
    out.expect_stderr_contains("(\\u{1b}]0;pwned\\u{7}evil.bin)");
}
