//! `--request-timeout`: a server that never finishes answering a request without a body
//! (OPTIONS, HEAD, DELETE) meets the deadline: the command ends with a timeout, exit 4.

use std::time::{Duration, Instant};

use tusky::mock::wiremock::matchers::method;
use tusky::mock::wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Output, Sandbox};

/// A server whose answers to `verb` come `delay` late.
async fn answering_late(verb: &str, delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(verb))
        .respond_with(ResponseTemplate::new(204).set_delay(delay))
        .mount(&server)
        .await;
    server
}

#[track_caller]
fn assert_timed_out(out: &Output, verb: &str, started: Instant) {
    out.expect_code(4);
    let line = out.one_error_line();
    assert!(line.contains("timed out") && line.contains(verb), "{line}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it ended at the deadline, not the server's answer: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_answers_far_too_late_meets_the_request_timeout() {
    let sandbox = Sandbox::new();
    sandbox.file("f.bin", 100, 61);
    let late = Duration::from_secs(600);

    let server = answering_late("OPTIONS", late).await;
    let endpoint = format!("{}/files/", server.uri());
    let started = Instant::now();
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            &endpoint,
            "--request-timeout",
            "0.3",
            "--retries",
            "0",
        ])
        .await;
    assert_timed_out(&out, "OPTIONS", started);

    let server = answering_late("HEAD", late).await;
    let url = format!("{}/files/abc", server.uri());
    let started = Instant::now();
    let out = sandbox
        .run(["status", &url, "--request-timeout", "0.3"])
        .await;
    assert_timed_out(&out, "HEAD", started);

    let server = answering_late("DELETE", late).await;
    let url = format!("{}/files/abc", server.uri());
    let started = Instant::now();
    let out = sandbox
        .run(["delete", &url, "--request-timeout", "0.3"])
        .await;
    assert_timed_out(&out, "DELETE", started);

    let out = sandbox
        .run(["status", &url, "--request-timeout", "0"])
        .await;
    out.expect_code(2);
}
