//! `tusky upload`: to a server, resuming after a kill and after Ctrl-C, `--json`, stdin, the
//! LOCAL default, a tuspy store.

use std::time::Duration;

use tusky::mock::TusMockServer;

use crate::support::{bytes, hold_patches_from, kill_mid_upload, signal, wait_until, Sandbox};

#[tokio::test(flavor = "multi_thread")]
async fn uploads_a_file_and_prints_the_url() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("photo.jpg", 300 * 1024 + 7, 1);
    let out = sandbox
        .run([
            "upload",
            "photo.jpg",
            &server.endpoint(),
            "--chunk-size",
            "64KiB",
        ])
        .await;
    out.expect_code(0);
    let url = out.stdout.trim();
    assert!(
        url.starts_with(&server.endpoint()),
        "stdout is the URL: {url:?}"
    );
    assert_eq!(
        server.upload_bytes(url).as_deref(),
        Some(&std::fs::read(&file).unwrap()[..])
    );
    let upload = server.upload(url).unwrap();
    assert_eq!(upload.metadata_value("filename"), Some("photo.jpg"));
    assert_eq!(upload.metadata_value("filetype"), Some("image/jpeg"));
    assert!(
        server.request_count("PATCH") >= 4,
        "chunks of 64 KiB: several PATCHes"
    );
    assert!(out.stderr.contains("done: "), "{}", out.stderr);
    // A finished upload leaves no record behind.
    let store = std::fs::read_to_string(sandbox.default_store()).unwrap_or_default();
    assert!(
        !store.contains(url),
        "record removed after success: {store}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_headers_and_checksum_reach_the_server() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("a.bin", 100_000, 2);
    let out = sandbox
        .run([
            "upload",
            "a.bin",
            &server.endpoint(),
            "-m",
            "filename=renamed.bin",
            "--metadata",
            "owner=me",
            "-H",
            "X-Api-Key: secret",
            "--checksum",
            "sha256",
            "--chunk-size",
            "40000",
        ])
        .await;
    out.expect_code(0);
    let url = out.stdout.trim();
    let upload = server.upload(url).unwrap();
    assert_eq!(upload.metadata_value("filename"), Some("renamed.bin"));
    assert_eq!(upload.metadata_value("owner"), Some("me"));
    let requests = server.received_requests().await;
    assert!(requests
        .iter()
        .all(|r| r.headers.get("x-api-key").is_some_and(|v| v == "secret")));
    let patches = server.requests_by_method("PATCH").await;
    assert!(!patches.is_empty());
    assert!(patches.iter().all(|r| r
        .headers
        .get("upload-checksum")
        .is_some_and(|v| v.to_str().unwrap().starts_with("sha256 "))));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_is_one_object_on_stdout() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("data.bin", 200_000, 3);
    let out = sandbox
        .run(["upload", "data.bin", &server.endpoint(), "--json"])
        .await;
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("stdout is JSON");
    assert_eq!(json["bytes"], 200_000);
    assert_eq!(json["bytes_uploaded"], 200_000);
    assert!(json["seconds"].as_f64().is_some_and(|s| s >= 0.0));
    assert!(json["resumed_from"].is_null());
    assert_eq!(json["local"], false);
    let url = json["url"].as_str().unwrap();
    assert_eq!(server.upload_bytes(url).map(|b| b.len()), Some(200_000));
    assert!(
        out.stderr.is_empty(),
        "--json prints nothing else: {}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_mid_upload_resumes_where_the_server_is() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("big.bin", 2 * 1024 * 1024 + 123, 4);
    kill_mid_upload(
        sandbox.tusky([
            "upload",
            "big.bin",
            &server.endpoint(),
            "--chunk-size",
            "128KiB",
        ]),
        &server,
        3,
    )
    .await;
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    let offset_at_kill = uploads[0].offset;
    assert!(
        offset_at_kill > 0 && offset_at_kill < 2 * 1024 * 1024,
        "killed mid-upload at {offset_at_kill}"
    );
    let store = std::fs::read_to_string(sandbox.default_store())
        .expect("the store was written before the kill");
    assert!(store.contains(&uploads[0].url), "record kept: {store}");

    server.clear_faults();
    let json = sandbox
        .run_json([
            "upload",
            "big.bin",
            &server.endpoint(),
            "--chunk-size",
            "128KiB",
            "--json",
        ])
        .await;
    assert_eq!(
        json["url"],
        uploads[0].url.as_str(),
        "same upload continued"
    );
    assert_eq!(json["resumed_from"], offset_at_kill);
    assert_eq!(
        json["bytes_uploaded"],
        2 * 1024 * 1024 + 123 - offset_at_kill
    );
    assert_eq!(server.uploads().len(), 1, "no second upload created");
    assert_eq!(
        server.upload_bytes(&uploads[0].url),
        Some(std::fs::read(&file).unwrap())
    );

    // Not in --json mode it says so in words.
    let base = server.request_count("PATCH");
    kill_mid_upload(
        sandbox.tusky([
            "upload",
            "big.bin",
            &server.endpoint(),
            "--chunk-size",
            "128KiB",
        ]),
        &server,
        base + 2,
    )
    .await;
    server.clear_faults();
    let out = sandbox
        .run([
            "upload",
            "big.bin",
            &server.endpoint(),
            "--chunk-size",
            "128KiB",
        ])
        .await;
    out.expect_code(0);
    assert!(out.stderr.contains("resuming at "), "{}", out.stderr);
    assert!(out.stderr.contains(" of 2.0 MiB"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_keeps_the_record_exits_130_and_the_next_run_resumes() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("movie.bin", 1024 * 1024, 5);
    hold_patches_from(&server, 2);
    let child = sandbox
        .tusky(["upload", "movie.bin", &server.endpoint(), "-c", "256KiB"])
        .spawn()
        .unwrap();
    wait_until("the second PATCH", Duration::from_secs(30), || {
        server.request_count("PATCH") >= 2
    })
    .await;
    let out = crate::support::interrupt(child).await;
    out.expect_code(130);
    out.expect_stderr_contains("tusky: interrupted at ");
    out.expect_stderr_contains("run the same command again to resume");
    assert!(
        out.error_lines().is_empty(),
        "an interruption is not an error line: {}",
        out.stderr
    );

    server.clear_faults();
    let json = sandbox
        .run_json([
            "upload",
            "movie.bin",
            &server.endpoint(),
            "-c",
            "256KiB",
            "--json",
        ])
        .await;
    assert!(
        json["resumed_from"].as_u64().is_some_and(|o| o > 0),
        "{json}"
    );
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(
        server.upload_bytes(json["url"].as_str().unwrap()),
        Some(std::fs::read(&file).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_is_an_interruption_too() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("f.bin", 512 * 1024, 6);
    hold_patches_from(&server, 1);
    let child = sandbox
        .tusky(["upload", "f.bin", &server.endpoint(), "-c", "128KiB"])
        .spawn()
        .unwrap();
    wait_until("a PATCH", Duration::from_secs(30), || {
        server.request_count("PATCH") >= 1
    })
    .await;
    signal(child.id().unwrap(), "TERM");
    let out = crate::support::Output::from(child.wait_with_output().await.unwrap());
    out.expect_code(130);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_endpoints_record_is_not_resumed() {
    let sandbox = Sandbox::new();
    let first = TusMockServer::start().await;
    let second = TusMockServer::start().await;
    sandbox.file("x.bin", 512 * 1024, 7);
    kill_mid_upload(
        sandbox.tusky(["upload", "x.bin", &first.endpoint(), "-c", "128KiB"]),
        &first,
        1,
    )
    .await;
    let json = sandbox
        .run_json([
            "upload",
            "x.bin",
            &second.endpoint(),
            "-c",
            "128KiB",
            "--json",
        ])
        .await;
    assert!(json["resumed_from"].is_null(), "{json}");
    assert!(json["url"]
        .as_str()
        .unwrap()
        .starts_with(&second.endpoint()));
    assert_eq!(
        second
            .upload_bytes(json["url"].as_str().unwrap())
            .map(|b| b.len()),
        Some(512 * 1024)
    );
}

/// One file, two endpoints: each keeps its own record, so finishing the upload to the second
/// server leaves the first one resumable (it used to overwrite and then remove the first
/// endpoint's record, orphaning its upload).
#[tokio::test(flavor = "multi_thread")]
async fn each_endpoint_keeps_its_own_record() {
    let sandbox = Sandbox::new();
    let first = TusMockServer::start().await;
    let second = TusMockServer::start().await;
    sandbox.file("x.bin", 512 * 1024, 9);
    kill_mid_upload(
        sandbox.tusky(["upload", "x.bin", &first.endpoint(), "-c", "128KiB"]),
        &first,
        2,
    )
    .await;
    let held = first.uploads()[0].offset;
    assert!(held > 0, "the first server holds part of the file");

    let out = sandbox
        .run([
            "upload",
            "x.bin",
            &second.endpoint(),
            "-c",
            "128KiB",
            "--json",
        ])
        .await;
    out.expect_code(0);

    first.clear_patch_hook();
    let json = sandbox
        .run_json([
            "upload",
            "x.bin",
            &first.endpoint(),
            "-c",
            "128KiB",
            "--json",
        ])
        .await;
    assert_eq!(json["resumed_from"], held, "{json}");
    assert_eq!(
        first.uploads().len(),
        1,
        "no second upload on the first server"
    );
    assert_eq!(
        first.upload_bytes(json["url"].as_str().unwrap()),
        Some(crate::support::bytes(512 * 1024, 9))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_stdin_of_unknown_length() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let data = bytes(300_001, 8);
    let mut child = sandbox
        .tusky([
            "upload",
            "-",
            &server.endpoint(),
            "--chunk-size",
            "64KiB",
            "-m",
            "filename=piped.bin",
            "--json",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = {
        let data = data.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in data.chunks(50_000) {
                stdin.write_all(piece).await.unwrap();
                // A slow pipe (simulated), not synchronisation: the upload must cope with
                // bytes that arrive in bursts.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // dropping stdin closes the pipe: the end of the stream
        })
    };
    let out = crate::support::Output::from(child.wait_with_output().await.unwrap());
    writer.await.unwrap();
    let json = out.expect_code(0).json();
    assert_eq!(json["bytes"], 300_001);
    let url = json["url"].as_str().unwrap();
    assert_eq!(server.upload_bytes(url), Some(data));
    let upload = server.upload(url).unwrap();
    assert_eq!(
        upload.length,
        Some(300_001),
        "the length was declared at the end"
    );
    assert_eq!(upload.metadata_value("filename"), Some("piped.bin"));
    let creation = &server.requests_by_method("POST").await[0];
    assert_eq!(
        creation
            .headers
            .get("upload-defer-length")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_endpoint_it_is_a_local_upload_that_says_where_the_data_is() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("notes.txt", 3 * 1024 * 1024 + 5, 9);
    let out = sandbox.run(["upload", "notes.txt"]).await;
    out.expect_code(0);
    let stored = std::path::PathBuf::from(out.stdout.trim());
    assert!(
        stored.starts_with(sandbox.data_dir().join("local")),
        "{stored:?}"
    );
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        std::fs::read(&file).unwrap()
    );
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{}.json", stored.display())).unwrap())
            .unwrap();
    assert_eq!(info["metadata"]["filename"], "notes.txt");
    assert!(out.stderr.contains("LOCAL upload"), "{}", out.stderr);
    out.expect_stderr_contains("matches byte for byte");
    out.expect_stderr_contains(&stored.display().to_string());

    let json = sandbox
        .run_json(["upload", "notes.txt", "--json", "--local-dir", "elsewhere"])
        .await;
    assert_eq!(json["local"], true);
    assert_eq!(json["verified"], true);
    let path = json["local_path"].as_str().unwrap();
    assert!(path.starts_with("elsewhere"), "{path}");
    assert_eq!(
        std::fs::read(sandbox.path().join(path)).unwrap(),
        std::fs::read(&file).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tuspy_store_is_used_in_its_own_format() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("t.bin", 600 * 1024, 10);
    let store = sandbox.path().join("tuspy.json");
    std::fs::write(&store, r#"{"_default": {}}"#).unwrap();
    kill_mid_upload(
        sandbox.tusky([
            "upload",
            "t.bin",
            &server.endpoint(),
            "-c",
            "128KiB",
            "--store",
            "tuspy.json",
        ]),
        &server,
        2,
    )
    .await;
    let text = std::fs::read_to_string(&store).unwrap();
    assert!(
        text.starts_with(r#"{"_default": {"1": {"key": "size:614400--md5:"#),
        "tuspy's TinyDB format: {text}"
    );
    assert!(text.contains(&server.uploads()[0].url), "{text}");

    server.clear_faults();
    let json = sandbox
        .run_json([
            "upload",
            "t.bin",
            &server.endpoint(),
            "-c",
            "128KiB",
            "--store",
            "tuspy.json",
            "--json",
        ])
        .await;
    assert!(
        json["resumed_from"].as_u64().is_some_and(|o| o > 0),
        "{json}"
    );
    assert_eq!(
        server.upload_bytes(json["url"].as_str().unwrap()),
        Some(std::fs::read(&file).unwrap())
    );
    let text = std::fs::read_to_string(&store).unwrap();
    assert!(
        !text.contains("size:614400--md5:"),
        "record removed after success: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_resume_starts_over() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("n.bin", 300 * 1024, 11);
    kill_mid_upload(
        sandbox.tusky(["upload", "n.bin", &server.endpoint(), "-c", "100KiB"]),
        &server,
        1,
    )
    .await;
    server.clear_faults();
    let json = sandbox
        .run_json([
            "upload",
            "n.bin",
            &server.endpoint(),
            "-c",
            "100KiB",
            "--no-resume",
            "--json",
        ])
        .await;
    assert!(json["resumed_from"].is_null());
    assert_eq!(server.uploads().len(), 2, "a new upload");
}

#[tokio::test(flavor = "multi_thread")]
async fn stdin_without_an_endpoint_is_a_verified_local_upload() {
    let sandbox = Sandbox::new();
    let data = bytes(200_000, 12);
    let mut child = sandbox
        .tusky(["upload", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = {
        let data = data.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            stdin.write_all(&data).await.unwrap();
        })
    };
    let out = crate::support::Output::from(child.wait_with_output().await.unwrap());
    writer.await.unwrap();
    let json = out.expect_code(0).json();
    assert_eq!(json["local"], true);
    assert_eq!(json["verified"], true);
    assert_eq!(
        std::fs::read(json["local_path"].as_str().unwrap()).unwrap(),
        data
    );
}
