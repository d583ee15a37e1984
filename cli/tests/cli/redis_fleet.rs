//! Two machines, one Redis: `tusky upload … --store redis://…` killed with SIGKILL mid-upload
//! in one process (its own HOME, data and temp directories), resumed by another process with a
//! different HOME and its own copy of the file — only the Redis URL in common — and the server
//! ends up with the exact bytes. Also: an unreachable Redis store stops the upload before
//! anything is created, with an error naming the server.
//!
//! Redis comes from `TUSKY_REDIS_URL` (`.ci/run` starts one); without it the Redis test prints
//! a note and passes, unless `TUSKY_REDIS_REQUIRED=1` (CI), which makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;
use tokio::process::Command;
use tusky::mock::TusMockServer;
use tusky::storage::{RedisStorage, Storage};

use crate::support::{hold_patches_from, wait_until};

const TUSKY: &str = env!("CARGO_BIN_EXE_tusky");
const SIZE: usize = 2 * 1024 * 1024 + 123;

#[path = "../../../tests/shared/redis_url.rs"]
mod redis_url;
use redis_url::redis_url;

/// One "machine": a home, data and temp directory of its own.
struct Machine {
    dir: TempDir,
}

impl Machine {
    fn new() -> Self {
        let machine = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(machine.dir.path().join("tmp")).unwrap();
        machine
    }

    /// Writes `bytes` to `name` in this machine's home.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `tusky ARGS` run in this machine's home, with `env` added.
    fn tusky(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let home = self.dir.path();
        let mut command = Command::new(TUSKY);
        command
            .args(args)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("TMPDIR", home.join("tmp"))
            // Both "machines" run on this one: give each its own machine identity.
            .env("TUSKY_MACHINE_ID", home.display().to_string())
            .env_remove("TUSKY_STORE")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .current_dir(home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs `tusky ARGS` to its end (at most 60 s): exit code, stdout, stderr.
    async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
        let child = self.tusky(args, env).spawn().unwrap();
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("tusky finished within 60 s")
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// `len` bytes that differ from run to run, so that the file's fingerprint (its store key)
/// is new on a Redis that earlier runs used.
fn fresh_bytes(len: usize) -> Vec<u8> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    tusky::mock::sample_bytes(len, nanos ^ u64::from(std::process::id()))
}

/// The records in the CLI's Redis store (default prefix) that point at `upload_url`.
async fn records_for(redis: &str, upload_url: &str) -> Vec<tusky::storage::UploadRecord> {
    let store = RedisStorage::open(redis).await.unwrap();
    store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, record)| record)
        .filter(|record| record.url == upload_url)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_on_one_machine_resumed_on_another_through_redis() {
    let Some(redis) = redis_url("killed_on_one_machine_resumed_on_another_through_redis") else {
        return;
    };
    let server = TusMockServer::builder()
        .expires_after(Duration::from_secs(86_400))
        .start()
        .await;
    let endpoint = server.endpoint();
    let bytes = fresh_bytes(SIZE);
    let (first, second) = (Machine::new(), Machine::new());
    first.file("big.bin", &bytes);
    second.file("elsewhere/copy-of-big.bin", &bytes);

    // Machine one: the third PATCH is held, and the process is SIGKILLed while it waits.
    hold_patches_from(&server, 3);
    let args = ["upload", "big.bin", &endpoint, "--chunk-size", "128KiB"];
    let mut child = first
        .tusky(&[&args[..], &["--store", &redis]].concat(), &[])
        .spawn()
        .unwrap();
    wait_until("the third PATCH", Duration::from_secs(30), || {
        server.request_count("PATCH") >= 3
    })
    .await;
    child.start_kill().unwrap(); // SIGKILL: no chance to clean up
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    let uploads = server.uploads();
    assert_eq!(uploads.len(), 1);
    let (upload_url, offset_at_kill) = (uploads[0].url.clone(), uploads[0].offset);
    assert!(
        offset_at_kill > 0 && offset_at_kill < SIZE as u64,
        "killed mid-upload at {offset_at_kill}"
    );
    let stored = records_for(&redis, &upload_url).await;
    assert_eq!(stored.len(), 1, "the record is in Redis: {stored:?}");
    assert_eq!(stored[0].size, Some(SIZE as u64));
    assert!(stored[0].expires_unix.is_some(), "with the upload's expiry");
    assert!(
        !first
            .dir
            .path()
            .join("data")
            .join("tusky")
            .join("uploads.json")
            .exists(),
        "machine one kept nothing on disk"
    );

    // Machine two: a different home and path; only the Redis URL (from TUSKY_STORE) in common.
    server.clear_faults();
    let (code, stdout, stderr) = second
        .run(
            &[
                "upload",
                "elsewhere/copy-of-big.bin",
                &endpoint,
                "--chunk-size",
                "128KiB",
                "--json",
            ],
            &[("TUSKY_STORE", &redis)],
        )
        .await;
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        json["url"],
        upload_url.as_str(),
        "the same upload continued"
    );
    assert_eq!(json["resumed_from"], offset_at_kill);
    assert_eq!(json["bytes_uploaded"], SIZE as u64 - offset_at_kill);
    assert_eq!(server.uploads().len(), 1, "no second upload created");
    assert_eq!(server.upload_bytes(&upload_url), Some(bytes));
    assert!(
        records_for(&redis, &upload_url).await.is_empty(),
        "the finished upload's record is removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_store_stops_the_upload_naming_the_server() {
    // No Redis needed: nothing listens on this port.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = TusMockServer::start().await;
    let endpoint = server.endpoint();
    let machine = Machine::new();
    machine.file("small.bin", b"hello, fleet");
    let store = format!("redis://:hunter2@127.0.0.1:{port}/3");
    for env in [&[][..], &[("TUSKY_STORE", store.as_str())][..]] {
        let args: Vec<&str> = if env.is_empty() {
            vec!["upload", "small.bin", &endpoint, "--store", &store]
        } else {
            vec!["upload", "small.bin", &endpoint]
        };
        let started = Instant::now();
        let (code, stdout, stderr) = machine.run(&args, env).await;
        assert!(started.elapsed() < Duration::from_secs(20), "prompt");
        assert_eq!(code, Some(5), "stdout:\n{stdout}\nstderr:\n{stderr}");
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("tusky: error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(
            errors[0].contains(&format!("redis://127.0.0.1:{port}/3")),
            "{}",
            errors[0]
        );
        assert!(!stderr.contains("hunter2"), "no password: {stderr}");
    }
    assert_eq!(server.request_count("POST"), 0, "nothing was created");
    assert!(
        !Path::new(&machine.dir.path().join("data")).exists(),
        "no local store was made instead"
    );
}
