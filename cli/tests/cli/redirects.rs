//! Redirects are refused, and an https upload never continues over plain http: each is one
//! clear line, exit 3, with nothing of the server's text printed raw.

use tusky::mock::wiremock::matchers::method;
use tusky::mock::wiremock::{Mock, MockServer, ResponseTemplate};
use tusky::mock::TusMockServer;

use crate::support::{created_upload, endpoint_answering, file_record, store_records, Sandbox};
use crate::tls_front::{tls_front, write_test_cert};

/// Asserts `text` holds no raw control character but the line ends.
#[track_caller]
fn assert_no_raw_controls(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}

/// A redirect to `target` with a body that tries to clear the screen.
fn redirect_to(target: &str) -> ResponseTemplate {
    ResponseTemplate::new(307)
        .insert_header("Location", target)
        .set_body_string("\x1b[2J<html>Moved elsewhere</html>")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_is_refused_in_one_clear_line() {
    let sandbox = Sandbox::new();
    sandbox.file("f.bin", 100, 81);
    let elsewhere = TusMockServer::start().await;

    let endpoint = endpoint_answering(redirect_to(&elsewhere.endpoint())).await;
    let redirecting_head = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(redirect_to(&format!("{}abc", elsewhere.endpoint())))
        .mount(&redirecting_head)
        .await;
    for args in [
        vec![
            "upload".to_owned(),
            "f.bin".to_owned(),
            format!("{}/files/", endpoint.uri()),
        ],
        vec![
            "status".to_owned(),
            format!("{}/files/abc", redirecting_head.uri()),
        ],
    ] {
        let out = sandbox.run(&args).await;
        out.expect_code(3);
        assert_no_raw_controls(&out.stderr);
        let line = out.one_error_line();
        assert!(
            line.contains("the server answered 307 Temporary Redirect, a redirect, which tusky does not follow"),
            "{args:?}: {line}"
        );
        assert!(
            !line.contains("Moved"),
            "the redirect's body is not shown: {line}"
        );
    }
    assert!(elsewhere.received_requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_upload_never_continues_over_http() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("f.bin", 100, 82);
    let plain = TusMockServer::start().await;
    let url = created_upload(&plain, 100).await;
    let creation = plain.received_requests().await.len();

    // A stored upload of an https endpoint whose URL is plain http: refused before sending.
    store_records(
        &sandbox.default_store(),
        vec![file_record(&file, "https://127.0.0.1:9/files/", &url)],
    )
    .await;
    for command in ["status", "delete"] {
        let out = sandbox.run([command, "f.bin"]).await;
        out.expect_code(3);
        let line = out.one_error_line();
        assert!(
            line.contains("refusing to send to http://127.0.0.1")
                && line.contains("started over https"),
            "{command}: {line}"
        );
    }
    assert_eq!(
        plain.received_requests().await.len(),
        creation,
        "nothing sent over http"
    );

    // An https endpoint whose creation answer points at plain http.
    let endpoint =
        endpoint_answering(ResponseTemplate::new(201).insert_header("Location", url.as_str()))
            .await;
    let front = tls_front(*endpoint.address()).await;
    let ca = write_test_cert(&sandbox);
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            &format!("https://{front}/files/"),
            "--ca-cert",
            &ca.display().to_string(),
            "--no-resume",
        ])
        .await;
    out.expect_code(3);
    let line = out.one_error_line();
    assert!(
        line.contains("refusing the upload URL http://127.0.0.1")
            && line.contains("https upload over http"),
        "{line}"
    );
    assert_eq!(
        plain.received_requests().await.len(),
        creation,
        "nothing sent over http"
    );
}
