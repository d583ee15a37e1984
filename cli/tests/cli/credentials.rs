//! A user name and password in a URL (`http://alice:s3cret@host/files/`) are sent as Basic
//! auth and never printed or stored: not in the upload URL line, `--json`, progress, errors,
//! `tusky list` or the store file.

use tusky::mock::TusMockServer;

use crate::support::{closed_port, header_values, Output, Sandbox};

/// Base64 of `alice:s3cret`.
const BASIC: &str = "Basic YWxpY2U6czNjcmV0";

#[track_caller]
fn assert_no_password(what: &str, out: &Output) {
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains("s3cret") && !text.contains("alice"),
            "{what}: the password on {stream}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_the_endpoint_is_sent_as_basic_auth_and_never_shown_or_stored() {
    let sandbox = Sandbox::new();
    sandbox.file("done.bin", 3000, 91);
    sandbox.file("json.bin", 3000, 92);
    sandbox.file("refused.bin", 3000, 93);
    let server = TusMockServer::start().await;
    let endpoint = server.endpoint().replace("http://", "http://alice:s3cret@");

    let out = sandbox
        .run(["upload", "done.bin", &endpoint, "--chunk-size", "1000"])
        .await;
    out.expect_code(0);
    assert_no_password("upload", &out);
    out.expect_stderr_contains("upload URL: http://127.0.0.1");
    let done = out.stdout.trim().to_owned();

    let out = sandbox
        .run(["upload", "json.bin", &endpoint, "--json"])
        .await;
    out.expect_code(0);
    assert_no_password("upload --json", &out);

    // A refusal mid-upload: the error names the endpoint, and the record stays in the store.
    server.fail_patch(4, 403);
    let out = sandbox
        .run(["upload", "refused.bin", &endpoint, "--chunk-size", "1000"])
        .await;
    out.expect_code(3);
    assert_no_password("a refused upload", &out);
    out.expect_error_line_containing("to http://127.0.0.1");

    let out = sandbox.run(["list"]).await;
    out.expect_code(0);
    assert_no_password("list", &out);
    assert!(out.stdout.contains("refused.bin"), "{}", out.stdout);
    let store = std::fs::read_to_string(sandbox.default_store()).unwrap();
    assert!(
        !store.contains("s3cret") && !store.contains("alice"),
        "{store}"
    );

    // status and delete of a URL with a password: Basic auth, and the password not shown.
    let with_password = done.replace("http://", "http://alice:s3cret@");
    for command in ["status", "delete"] {
        let out = sandbox.run([command, with_password.as_str()]).await;
        out.expect_code(0);
        assert_no_password(command, &out);
    }

    let requests = server.received_requests().await;
    assert!(requests.len() > 6);
    assert_eq!(
        header_values(&requests, "authorization"),
        vec![Some(BASIC.to_owned()); requests.len()],
        "every request carried the password as Basic auth"
    );

    // Nor in the error of a network failure, or of an endpoint that does not parse.
    let unreachable = format!("http://alice:s3cret@127.0.0.1:{}/files/", closed_port());
    let out = sandbox
        .run(["upload", "done.bin", &unreachable, "--retries", "0"])
        .await;
    out.expect_code(4);
    assert_no_password("a network failure", &out);
    for bad in [
        "http://alice:s3cret@[::1/files/",
        "ftp://alice:s3cret@host/files/",
    ] {
        let out = sandbox.run(["upload", "done.bin", bad]).await;
        out.expect_code(2);
        assert_no_password(bad, &out);
    }
}
