//! Another process holding the URL store's lock: `tusky` says who holds it, gives up at the
//! deadline, gives way to Ctrl-C, and never claims the upload URL is kept when it is not.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use tusky::mock::TusMockServer;

use crate::support::{signal, Running, Sandbox};

/// Takes the lock of the store at `store` as another tusky process would: an exclusive lock
/// of `<store>.lock`, with the holder's pid written in it. Held until dropped.
fn hold_store_lock(store: &Path) -> File {
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let mut lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.with_file_name("uploads.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    lock.set_len(0).unwrap();
    write!(lock, "{}", std::process::id()).unwrap();
    lock
}

fn holder_line() -> String {
    format!(
        "waiting for the store lock held by pid {}",
        std::process::id()
    )
}

/// Runs `command` until it says it waits for the store lock (see [`holder_line`]), then sends
/// it Ctrl-C (SIGINT); checks that it exits 130 within 10 s and returns its stderr.
async fn ctrl_c_while_waiting(command: tokio::process::Command) -> String {
    let running = Running::spawn(command);
    running
        .wait_for_stderr(&holder_line(), Duration::from_secs(30))
        .await;
    signal(running.child.id().unwrap(), "INT");
    let (code, stderr) = running.exit(Duration::from_secs(10)).await;
    assert_eq!(code, Some(130), "{stderr}");
    stderr
}

/// A sandbox holding `f.bin` (100 000 bytes from `seed`), a mock server to upload it to, and
/// the default store's lock, held by this process until the returned guard drops.
async fn upload_blocked_by_the_lock(seed: u64) -> (Sandbox, TusMockServer, File) {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("f.bin", 100_000, seed);
    let held = hold_store_lock(&sandbox.default_store());
    (sandbox, server, held)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_gives_up_at_the_lock_deadline_naming_the_holder_and_not_claiming_the_url_is_kept(
) {
    let (sandbox, server, _held) = upload_blocked_by_the_lock(21).await;

    let started = Instant::now();
    let out = sandbox
        .run(["upload", "f.bin", &server.endpoint(), "--lock-timeout", "1"])
        .await;
    out.expect_code(5);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        out.stderr.matches(&holder_line()).count(),
        1,
        "told once: {}",
        out.stderr
    );
    let line = out.one_error_line();
    assert!(
        line.contains(&format!("held by pid {}", std::process::id())),
        "{line}"
    );
    // The POST created the upload before the record could be written: say so, honestly.
    let url = server.uploads().last().unwrap().url.clone();
    assert!(
        line.contains(&format!(
            "the upload {url} was created on the server, but its URL is not recorded"
        )),
        "{line}"
    );
    assert!(!out.stderr.contains("is kept"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_an_upload_waits_for_the_store_lock_exits_130_without_claiming_the_url_is_kept(
) {
    let (sandbox, server, held) = upload_blocked_by_the_lock(22).await;

    // Well before the 30 s deadline: the wait gives way to Ctrl-C.
    let stderr = ctrl_c_while_waiting(sandbox.tusky(["upload", "f.bin", &server.endpoint()])).await;
    assert!(stderr.contains("its URL is not recorded"), "{stderr}");
    assert!(!stderr.contains("is kept"), "{stderr}");

    // Nothing was written, not even after the lock is free again.
    drop(held);
    let store = std::fs::read_to_string(sandbox.default_store()).unwrap_or_default();
    assert!(!store.contains("http"), "{store}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forget_gives_way_to_the_first_ctrl_c_while_waiting_for_the_store_lock() {
    let sandbox = Sandbox::new();
    let store = sandbox.default_store();
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    let contents = r#"{"format": "tusky-url-store", "version": 1, "uploads": {"size:1--md5:x": {"url": "https://tus.example/files/1"}}}"#;
    std::fs::write(&store, contents).unwrap();
    let _held = hold_store_lock(&store);

    let stderr =
        ctrl_c_while_waiting(sandbox.tusky(["forget", "https://tus.example/files/1"])).await;
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&store).unwrap(), contents);
}
