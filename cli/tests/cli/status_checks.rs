//! `tusky status` does not pass on a server's answer that cannot be right.

use tusky::mock::wiremock::matchers::method;
use tusky::mock::wiremock::{Mock, ResponseTemplate};
use tusky::mock::TusMockServer;

use crate::support::Sandbox;

#[tokio::test(flavor = "multi_thread")]
async fn an_offset_beyond_the_length_is_reported_as_inconsistent() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Tus-Resumable", "1.0.0")
                .insert_header("Upload-Offset", "2000")
                .insert_header("Upload-Length", "1000")
                .insert_header("Cache-Control", "no-store"),
        )
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let url = format!("{}abc", server.endpoint());
    for args in [
        vec!["status", url.as_str()],
        vec!["status", url.as_str(), "--json"],
    ] {
        let out = sandbox.run(&args).await;
        out.expect_code(3);
        let line = out.one_error_line();
        assert!(
            line.contains("inconsistent: Upload-Offset 2000 is beyond Upload-Length 1000"),
            "{line}"
        );
        assert!(!out.stdout.contains("complete"), "{}", out.stdout);
    }

    // `list --check` shows it for what it is too.
    let store = sandbox.default_store();
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let record = serde_json::json!({
        "format": "tusky-url-store",
        "version": 1,
        "uploads": {"size:1000--md5:x": {"url": url, "size": 1000}},
    });
    std::fs::write(&store, record.to_string()).unwrap();
    let out = sandbox.run(["list", "--check"]).await;
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("inconsistent: Upload-Offset 2000 is beyond Upload-Length 1000"),
        "{}",
        out.stdout
    );
}
