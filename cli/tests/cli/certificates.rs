//! A server whose TLS certificate is refused fails at once (no retries) with exit 3 and says how
//! to trust it; `--ca-cert` trusts it.

use crate::support::{bytes, Sandbox};
use crate::tls_front::{tls_fronted_server, write_test_cert};

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_certificate_exits_3_at_once_with_a_hint_and_ca_cert_trusts_it() {
    let sandbox = Sandbox::new();
    sandbox.file("f.bin", 3000, 71);
    let (server, endpoint) = tls_fronted_server().await;

    for args in [
        vec!["upload", "f.bin", endpoint.as_str()],
        vec!["status", &format!("{endpoint}abc")],
        vec!["delete", &format!("{endpoint}abc")],
    ] {
        let out = sandbox.run(&args).await;
        out.expect_code(3);
        let line = out.one_error_line();
        assert!(
            line.contains("the server's TLS certificate was refused")
                && line.ends_with("; trust its CA with --ca-cert FILE (or fix the certificate)"),
            "{args:?}: {line}"
        );
        assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
    }
    assert!(
        server.received_requests().await.is_empty(),
        "nothing got past the handshake"
    );

    let ca = write_test_cert(&sandbox);
    let out = sandbox
        .run([
            "upload",
            "f.bin",
            &endpoint,
            "--ca-cert",
            &ca.display().to_string(),
            "--chunk-size",
            "1000",
        ])
        .await;
    out.expect_code(0);
    let url = out.stdout.trim();
    assert!(url.starts_with(&endpoint), "{url}");
    assert_eq!(
        server.upload_bytes(url.trim_start_matches(endpoint.trim_end_matches("/files/"))),
        Some(bytes(3000, 71))
    );

    let out = sandbox
        .run(["status", url, "--ca-cert", "no-such-ca.pem"])
        .await;
    out.expect_code(2);
    assert!(out.one_error_line().contains("--ca-cert no-such-ca.pem"));
}
