//! A file edited between runs, or while it is uploaded, never ends as a server copy that
//! mixes two versions: the next run starts over and says why; a change mid-upload stops it.

use std::time::Duration;

use tusky::mock::{PatchAction, PatchContext, TusMockServer};

use crate::support::{bytes, kill_mid_upload, wait_until, Sandbox};

/// Sets the file's modification time (seconds after 2020-09-13), so an edit is seen whatever
/// the file system's timestamp granularity.
fn touch(path: &std::path::Path, seconds: u64) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let time = std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000 + seconds);
    file.set_modified(time).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_edited_between_runs_starts_over_and_says_why() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let path = sandbox.file("video.bin", 1024 * 1024, 11);
    touch(&path, 1);
    kill_mid_upload(
        sandbox.tusky(["upload", "video.bin", &server.endpoint(), "-c", "128KiB"]),
        &server,
        3,
    )
    .await;
    let first = server.uploads()[0].url.clone();

    // Same size, bytes changed at 512 KiB (far past the 64 KiB the fingerprint reads).
    let mut edited = bytes(1024 * 1024, 11);
    edited[512 * 1024..512 * 1024 + 10].copy_from_slice(b"0123456789");
    std::fs::write(&path, &edited).unwrap();
    touch(&path, 2);
    server.clear_patch_hook();
    let out = sandbox
        .run([
            "upload",
            "video.bin",
            &server.endpoint(),
            "-c",
            "128KiB",
            "--json",
        ])
        .await;
    out.expect_code(0);
    assert!(
        out.stderr
            .contains("the file changed since the upload started"),
        "{}",
        out.stderr
    );
    let json = out.json();
    assert_ne!(json["url"], first.as_str(), "a new upload");
    assert!(json["resumed_from"].is_null(), "{json}");
    assert_eq!(
        server.upload_bytes(json["url"].as_str().unwrap()),
        Some(edited)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_grows_during_the_upload_stops_it() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let path = sandbox.file("log.bin", 512 * 1024, 12);
    // The second PATCH waits until the file has grown.
    let grown = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::clone(&grown);
    server.set_patch_hook(move |ctx: &PatchContext| {
        if ctx.number == 2 && !seen.load(std::sync::atomic::Ordering::SeqCst) {
            PatchAction::Delay(Duration::from_secs(2))
        } else {
            PatchAction::Accept
        }
    });
    let child = sandbox
        .tusky(["upload", "log.bin", &server.endpoint(), "-c", "128KiB"])
        .spawn()
        .unwrap();
    wait_until("the second PATCH", Duration::from_secs(30), || {
        server.request_count("PATCH") >= 2
    })
    .await;
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"one more line\n").unwrap();
    }
    grown.store(true, std::sync::atomic::Ordering::SeqCst);
    let out = crate::support::Output::from(child.wait_with_output().await.unwrap());
    out.expect_code(5);
    let line = out.one_error_line();
    assert!(
        line.contains("the file changed during the upload"),
        "{line}"
    );
    assert!(
        line.contains("size changed from 524288 to 524302"),
        "{line}"
    );
}
