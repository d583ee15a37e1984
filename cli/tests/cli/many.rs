//! `tusky upload A B DIR/ ENDPOINT`: many files and directories at once — relativePath,
//! JSON lines and the summary, the most serious exit code, a second run that skips finished
//! files, Ctrl-C mid-batch and a run that completes it.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use tusky::mock::TusMockServer;

use crate::support::{hold_patches_from, interrupt, wait_until, Output, Sandbox};

/// The file lines of `--json` output by path, and the summary (the last line).
fn by_path(out: &Output) -> (HashMap<String, Value>, Value) {
    let mut lines = out.json_lines();
    let summary = lines.pop().expect("a summary line");
    assert_eq!(summary["type"], "summary", "the last line: {summary}");
    let files = lines
        .into_iter()
        .map(|line| {
            assert_eq!(line["type"], "file", "{line}");
            (line["path"].as_str().unwrap().to_owned(), line)
        })
        .collect();
    (files, summary)
}

/// A tree: `c.bin`, `photos/b.txt`, `photos/2024/a.jpg`, `photos/.hidden`, and a link
/// `photos/link` to `c.bin`.
fn tree(sandbox: &Sandbox) {
    std::fs::create_dir_all(sandbox.path().join("photos/2024")).unwrap();
    sandbox.file("c.bin", 70_000, 1);
    sandbox.file("photos/b.txt", 1000, 2);
    sandbox.file("photos/2024/a.jpg", 200_000, 3);
    sandbox.file("photos/.hidden", 10, 4);
    std::os::unix::fs::symlink("../c.bin", sandbox.path().join("photos/link")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tree_uploads_with_relative_paths_json_lines_and_a_summary() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    tree(&sandbox);
    let endpoint = server.endpoint();
    let args = [
        "upload", "c.bin", "photos/", &endpoint, "--json", "-j", "2", "-c", "64KiB",
    ];
    let out = sandbox.run(args).await;
    out.expect_code(0);
    let (files, summary) = by_path(&out);
    assert_eq!(files.len(), 5, "{}", out.stdout);
    let expected = [
        ("c.bin", None, "application/octet-stream"),
        ("photos/b.txt", Some("photos/b.txt"), "text/plain"),
        ("photos/2024/a.jpg", Some("photos/2024/a.jpg"), "image/jpeg"),
        (
            "photos/.hidden",
            Some("photos/.hidden"),
            "application/octet-stream",
        ),
    ];
    for (path, relative, filetype) in expected {
        let line = &files[path];
        assert_eq!(line["outcome"], "uploaded", "{line}");
        assert_eq!(line["exit_code"], 0);
        assert_eq!(line["relative_path"].as_str(), relative, "{line}");
        let url = line["url"].as_str().unwrap();
        let bytes = std::fs::read(sandbox.path().join(path)).unwrap();
        assert_eq!(line["bytes"], bytes.len());
        assert_eq!(server.upload_bytes(url), Some(bytes), "{path}");
        let upload = server.upload(url).unwrap();
        assert_eq!(upload.metadata_value("relativePath"), relative, "{path}");
        let name = path.rsplit('/').next().unwrap();
        assert_eq!(upload.metadata_value("filename"), Some(name));
        assert_eq!(upload.metadata_value("filetype"), Some(filetype), "{path}");
    }
    let link = &files["photos/link"];
    assert_eq!(link["outcome"], "skipped");
    assert!(link["reason"].as_str().unwrap().contains("symbolic link"));
    assert_eq!(server.uploads().len(), 4, "the link is not followed");
    assert_eq!(summary["files"], 5);
    assert_eq!(summary["outcomes"]["uploaded"], 4);
    assert_eq!(summary["outcomes"]["skipped"], 1);
    assert_eq!(summary["outcomes"]["failed"], 0);
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(summary["bytes_uploaded"], 70_000 + 1000 + 200_000 + 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn running_the_same_command_again_skips_finished_files() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    tree(&sandbox);
    let endpoint = server.endpoint();
    let args = ["upload", "c.bin", "photos", &endpoint, "-c", "64KiB"];
    let first = sandbox.run(args).await;
    first.expect_code(0);
    // stdout: URL<TAB>PATH for each file done.
    let done: HashMap<&str, &str> = first
        .stdout
        .lines()
        .map(|line| {
            line.split_once('\t')
                .map(|(url, path)| (path, url))
                .unwrap()
        })
        .collect();
    assert_eq!(done.len(), 4, "{}", first.stdout);
    assert!(done["photos/2024/a.jpg"].starts_with(&endpoint));
    first.expect_stderr_contains("skipped photos/link: a symbolic link");
    first.expect_stderr_contains("5 files: 4 uploaded, 1 skipped");

    // The store holds a completion record per file done, which `list` shows as such.
    let listed = sandbox.run_json(["list", "--json"]).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(listed.iter().all(|entry| entry["completed_unix"].is_u64()));

    let requests = server.received_requests().await.len();
    let again = sandbox.run(args).await;
    again.expect_code(0);
    again.expect_stderr_contains("4 already uploaded, 1 skipped; 0 B sent");
    let sorted = |out: &Output| {
        let mut lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&first), sorted(&again), "the same URLs");
    assert_eq!(
        server.received_requests().await.len(),
        requests,
        "nothing is sent for finished files"
    );

    // --fresh uploads every file again.
    let fresh = sandbox
        .run(["upload", "c.bin", "photos", &endpoint, "--fresh", "--json"])
        .await;
    fresh.expect_code(0);
    let (_, summary) = by_path(&fresh);
    assert_eq!(summary["outcomes"]["uploaded"], 4);
    assert_eq!(server.uploads().len(), 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_file_does_not_stop_the_others_and_the_exit_code_is_the_most_serious() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    for (i, name) in ["a.bin", "b.bin", "c.bin"].into_iter().enumerate() {
        sandbox.file(name, 5000, i as u64);
    }
    // The first creation is refused (exit 3); missing.bin cannot be read (exit 5).
    server.fail_request("POST", 1, 403);
    let endpoint = server.endpoint();
    let args = [
        "upload",
        "a.bin",
        "missing.bin",
        "b.bin",
        "c.bin",
        &endpoint,
        "-j",
        "1",
    ];
    let out = sandbox.run(args.iter().chain(&["--json"])).await;
    out.expect_code(3);
    let (files, summary) = by_path(&out);
    assert_eq!(files["a.bin"]["outcome"], "failed");
    assert_eq!(files["a.bin"]["exit_code"], 3);
    assert!(files["a.bin"]["error"].as_str().unwrap().contains("403"));
    assert_eq!(files["missing.bin"]["outcome"], "failed");
    assert_eq!(files["missing.bin"]["exit_code"], 5);
    for name in ["b.bin", "c.bin"] {
        let url = files[name]["url"].as_str().unwrap();
        let bytes = std::fs::read(sandbox.path().join(name)).unwrap();
        assert_eq!(server.upload_bytes(url), Some(bytes));
    }
    assert_eq!(summary["outcomes"]["failed"], 2);
    assert_eq!(summary["outcomes"]["uploaded"], 2);
    assert_eq!(summary["exit_code"], 3);

    // Without --json: an error line per failed file, and a last one; the run again uploads the
    // refused file (the others are done), and what is left is the missing file: exit 5.
    let out = sandbox.run(args).await;
    out.expect_code(5);
    assert_eq!(out.error_lines().len(), 2, "{}", out.stderr);
    out.expect_stderr_contains("reading missing.bin: cannot be read");
    out.expect_stderr_contains("1 of 4 files not done");
    out.expect_stderr_contains("1 uploaded, 2 already uploaded, 1 failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_mid_batch_keeps_every_record_and_the_next_run_completes() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    // Two jobs: small.bin goes whole in its creation POST, then big1 and big2 start and their
    // first PATCHes are held; big3 waits for a job.
    sandbox.file("small.bin", 100, 1);
    for (i, name) in ["big1.bin", "big2.bin", "big3.bin"].into_iter().enumerate() {
        sandbox.file(name, 1024 * 1024, 10 + i as u64);
    }
    let endpoint = server.endpoint();
    let files = ["small.bin", "big1.bin", "big2.bin", "big3.bin"];
    let args: Vec<&str> = ["upload"]
        .into_iter()
        .chain(files)
        .chain([endpoint.as_str(), "-j", "2", "-c", "256KiB"])
        .collect();
    hold_patches_from(&server, 1);
    let child = sandbox.tusky(&args).spawn().unwrap();
    wait_until(
        "a held PATCH for each big file",
        Duration::from_secs(30),
        || server.request_count("PATCH") >= 2,
    )
    .await;
    let out = interrupt(child).await;
    out.expect_code(130);
    out.expect_stderr_contains("tusky: interrupted: 1 of 4 files done");
    out.expect_stderr_contains("run the same command again to finish");
    // Every upload made so far is in the store: small.bin's completion, big1's and big2's URLs.
    let store = std::fs::read_to_string(sandbox.default_store()).unwrap();
    assert_eq!(server.uploads().len(), 3);
    for upload in server.uploads() {
        assert!(store.contains(&upload.url), "{} kept: {store}", upload.url);
    }

    server.clear_faults();
    let posts = server.request_count("POST");
    let out = sandbox.run(args.iter().chain(&["--json"])).await;
    out.expect_code(0);
    let (lines, summary) = by_path(&out);
    assert_eq!(lines["small.bin"]["outcome"], "already_uploaded");
    for name in ["big1.bin", "big2.bin"] {
        assert_eq!(lines[name]["outcome"], "uploaded");
        assert!(
            lines[name]["resumed_from"].as_u64().is_some_and(|o| o > 0),
            "{}",
            lines[name]
        );
    }
    assert!(lines["big3.bin"]["resumed_from"].is_null());
    assert_eq!(
        server.request_count("POST") - posts,
        1,
        "only big3 is created"
    );
    assert_eq!(server.uploads().len(), 4, "no file uploaded twice");
    for name in files {
        let url = lines[name]["url"].as_str().unwrap();
        let bytes = std::fs::read(sandbox.path().join(name)).unwrap();
        assert_eq!(server.upload_bytes(url), Some(bytes), "{name}");
    }
    assert_eq!(summary["outcomes"]["uploaded"], 3);
    assert_eq!(summary["outcomes"]["already_uploaded"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn several_files_need_an_endpoint_and_the_help_says_how() {
    let sandbox = Sandbox::new();
    sandbox.file("a.bin", 10, 1);
    sandbox.file("b.bin", 10, 2);
    let out = sandbox.run(["upload", "a.bin", "b.bin"]).await;
    out.expect_code(2);
    out.expect_error_line_containing("need an ENDPOINT");
    let out = sandbox
        .run(["upload", "a.bin", "-", "http://127.0.0.1:9/files/"])
        .await;
    out.expect_code(2);
    let help = sandbox.run(["upload", "--help"]).await;
    for text in [
        "--jobs <N>",
        "--fresh",
        "relativePath",
        "tusky upload a.mp4 b.mp4 photos/",
        "\"type\":\"summary\"",
    ] {
        help.expect_stdout_contains(text);
    }
}
