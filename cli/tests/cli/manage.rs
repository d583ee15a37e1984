//! `tusky status`, `list`, `forget`, `delete` on an interrupted upload.

use tusky::mock::TusMockServer;

use crate::support::{kill_mid_upload, Sandbox};

/// Starts an upload of `name` and kills it after two PATCHes; returns the upload URL.
async fn interrupted_upload(sandbox: &Sandbox, server: &TusMockServer, name: &str) -> String {
    sandbox.file(name, 512 * 1024, name.bytes().map(u64::from).sum());
    let base = server.request_count("PATCH");
    kill_mid_upload(
        sandbox.tusky(["upload", name, &server.endpoint(), "-c", "64KiB"]),
        server,
        base + 2,
    )
    .await;
    server.clear_faults();
    server.uploads().last().unwrap().url.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_list_forget() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let url = interrupted_upload(&sandbox, &server, "video.mp4").await;
    let offset = server.upload(&url).unwrap().offset;

    // status by file and by URL
    for target in ["video.mp4", url.as_str()] {
        let out = sandbox.run(["status", target]).await;
        out.expect_code(0);
        out.expect_stdout_contains(&format!("url       {url}"));
        out.expect_stdout_contains(&format!("({offset} bytes)"));
        out.expect_stdout_contains("length    512 KiB (524288 bytes)");
        assert!(out.stdout.contains("complete  no ("), "{}", out.stdout);
        assert!(out.stdout.contains("filename=video.mp4"), "{}", out.stdout);
    }
    let json = sandbox.run_json(["status", &url, "--json"]).await;
    assert_eq!(json["offset"], offset);
    assert_eq!(json["length"], 524_288);
    assert_eq!(json["complete"], false);

    // list, list --check
    let out = sandbox.run(["list"]).await;
    out.expect_code(0);
    assert!(out.stdout.starts_with("FILE"), "{}", out.stdout);
    assert!(out.stdout.contains("video.mp4"), "{}", out.stdout);
    assert!(out.stdout.contains(&url), "{}", out.stdout);
    assert!(out.stdout.contains("512 KiB"), "{}", out.stdout);
    let out = sandbox.run(["list", "--check"]).await;
    out.expect_code(0);
    assert!(out.stdout.contains("SERVER"), "{}", out.stdout);
    out.expect_stdout_contains("%)");
    let json = sandbox.run_json(["list", "--check", "--json"]).await;
    assert_eq!(json[0]["url"], url.as_str());
    assert_eq!(json[0]["server"]["offset"], offset);

    // forget by file: gone from the list; the server keeps the upload
    let out = sandbox.run(["forget", "video.mp4"]).await;
    out.expect_code(0);
    assert!(out.stderr.contains("forgot"), "{}", out.stderr);
    let out = sandbox.run(["list"]).await;
    out.expect_code(0);
    assert!(!out.stdout.contains(&url), "{}", out.stdout);
    assert!(out.stderr.contains("no stored uploads"), "{}", out.stderr);
    assert!(server.upload_bytes(&url).is_some());
    // forgetting again is fine
    sandbox.run(["forget", "video.mp4"]).await.expect_code(0);

    // forget by URL
    let url2 = interrupted_upload(&sandbox, &server, "other.bin").await;
    sandbox.run(["forget", &url2]).await.expect_code(0);
    assert!(!sandbox.run(["list"]).await.stdout.contains(&url2));
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_terminates_and_forgets() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let url = interrupted_upload(&sandbox, &server, "doomed.bin").await;
    let out = sandbox.run(["delete", &url]).await;
    out.expect_code(0);
    assert!(server.upload(&url).unwrap().terminated);
    assert!(
        !sandbox.run(["list"]).await.stdout.contains(&url),
        "record removed"
    );
    // the server no longer knows it: a refusal
    let out = sandbox.run(["delete", &url]).await;
    out.expect_code(3);
    assert!(out.one_error_line().contains("404"), "{}", out.stderr);
    let out = sandbox.run(["status", &url]).await;
    out.expect_code(3);
    assert!(out.one_error_line().contains("404"), "{}", out.stderr);

    // delete by file
    let url = interrupted_upload(&sandbox, &server, "doomed2.bin").await;
    sandbox.run(["delete", "doomed2.bin"]).await.expect_code(0);
    assert!(server.upload(&url).unwrap().terminated);
}
