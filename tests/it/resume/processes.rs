//! Resuming across processes: the mock server runs in this (the parent) test process; a
//! child process — this same test binary, re-run with `--exact` on [`child_process`] and the
//! `TUSKY_CHILD_*` environment variables — uploads part of a file with a store on disk and
//! ends; then the parent, or a second child, resumes from the store and finishes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use tusky::mock::{PatchAction, PatchContext, TusMockServer};
use tusky::storage::{JsonFileStorage, RedbStorage, Storage};
use tusky::{Client, UploadSummary};

use crate::common::{data_file, wait_until};

const CHUNK: u64 = 1000;
const SIZE: usize = 10_000;
const HALF: u64 = 5000;

/// What a child process is asked to do.
struct Job<'a> {
    role: &'a str,
    endpoint: &'a str,
    file: &'a Path,
    store_kind: &'a str,
    store: &'a Path,
    stop_at: Option<u64>,
}

/// The name libtest knows [`child_process`] by: its path in the test binary, without the
/// crate's name (wherever this module moves).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    format!("{module}::child_process")
}

fn child_command(job: &Job<'_>) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args([
            "--exact",
            &child_test_name(),
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TUSKY_CHILD_ROLE", job.role)
        .env("TUSKY_CHILD_ENDPOINT", job.endpoint)
        .env("TUSKY_CHILD_FILE", job.file)
        .env("TUSKY_CHILD_STORE_KIND", job.store_kind)
        .env("TUSKY_CHILD_STORE", job.store)
        .env(
            "TUSKY_CHILD_STOP_AT",
            job.stop_at.map(|s| s.to_string()).unwrap_or_default(),
        )
        .env("TUSKY_CHILD_CHUNK", CHUNK.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs a child to its end and returns the `key=value` pairs of its `CHILD-RESULT` line.
fn run_child(job: &Job<'_>) -> Vec<(String, String)> {
    let output = child_command(job).output().expect("spawning the child");
    assert!(
        output.status.success(),
        "child {} failed: {}",
        job.role,
        describe(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("CHILD-RESULT ").map(|(_, result)| result))
        .unwrap_or_else(|| {
            panic!(
                "child {} printed no result: {}",
                job.role,
                describe(&output)
            )
        });
    line.split(' ')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("key=value");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn value<'a>(result: &'a [(String, String)], key: &str) -> &'a str {
    &result
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {result:?}"))
        .1
}

struct Fixture {
    server: TusMockServer,
    _dir: tempfile::TempDir,
    file: PathBuf,
    store: PathBuf,
    bytes: Vec<u8>,
}

impl Fixture {
    /// Resumes the file's upload in this process, with `store`, and checks that it continued
    /// the upload at `url`.
    async fn resume_here<S: Storage>(&self, endpoint: &str, store: S, url: &str) -> UploadSummary {
        let mut uploader = Client::new(endpoint)
            .unwrap()
            .uploader()
            .path(&self.file)
            .chunk_size(CHUNK)
            .creation_with_upload(false)
            .storage(store)
            .build()
            .unwrap();
        let summary = uploader.upload().await.unwrap();
        assert_eq!(summary.url.as_str(), url);
        summary
    }
}

async fn fixture(store_name: &str) -> Fixture {
    let server = TusMockServer::start().await;
    let (bytes, dir, file) = data_file(SIZE);
    let store = dir.path().join(store_name);
    Fixture {
        server,
        file,
        store,
        bytes,
        _dir: dir,
    }
}

/// The child process's side. Ignored in ordinary runs; the tests below run it in a child
/// process with `--include-ignored` and the `TUSKY_CHILD_*` variables set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process role of the cross-process resume tests, which run it themselves"]
async fn child_process() {
    let Ok(role) = std::env::var("TUSKY_CHILD_ROLE") else {
        eprintln!("child_process only does something when run by the cross-process tests");
        return;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let client = Client::new(var("TUSKY_CHILD_ENDPOINT")).unwrap();
    let store_path = PathBuf::from(var("TUSKY_CHILD_STORE"));
    let store: Box<dyn Storage> = match var("TUSKY_CHILD_STORE_KIND").as_str() {
        "json" => Box::new(JsonFileStorage::open(&store_path).unwrap()),
        "redb" => Box::new(RedbStorage::open(&store_path).unwrap()),
        other => panic!("unknown store kind {other}"),
    };
    let mut uploader = client
        .uploader()
        .path(var("TUSKY_CHILD_FILE"))
        .chunk_size(var("TUSKY_CHILD_CHUNK").parse().unwrap())
        .creation_with_upload(false)
        .storage(store)
        .build()
        .unwrap();
    let summary = match var("TUSKY_CHILD_STOP_AT").as_str() {
        "" => uploader.upload().await.unwrap(),
        stop_at => uploader
            .upload_until(stop_at.parse().unwrap())
            .await
            .unwrap(),
    };
    let resumed_from = summary
        .resumed_from
        .map(|o| o.to_string())
        .unwrap_or_else(|| "none".to_owned());
    println!(
        "CHILD-RESULT role={role} url={} offset={} resumed_from={resumed_from}",
        summary.url, summary.offset
    );
    if role == "stop" {
        // End like a killed process: no destructors, the store is never closed.
        use std::io::Write;
        std::io::stdout().flush().unwrap();
        std::process::exit(0);
    }
}

/// A child uploads half with a JSON store and exits; a new uploader in this process resumes.
#[tokio::test]
async fn json_store_resumes_in_another_process() {
    let f = fixture("uploads.json").await;
    let endpoint = f.server.endpoint();
    let first = run_child(&Job {
        role: "stop",
        endpoint: &endpoint,
        file: &f.file,
        store_kind: "json",
        store: &f.store,
        stop_at: Some(HALF),
    });
    assert_eq!(value(&first, "offset"), HALF.to_string());
    assert_eq!(value(&first, "resumed_from"), "none");
    let url = value(&first, "url").to_owned();
    assert_eq!(f.server.upload(&url).unwrap().offset, HALF);

    let store = JsonFileStorage::open(&f.store).unwrap();
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].1.url, url,
        "the child left its upload URL on disk"
    );

    let summary = f.resume_here(&endpoint, store, &url).await;
    assert_eq!(summary.resumed_from, Some(HALF));
    assert_eq!(summary.bytes_uploaded, SIZE as u64 - HALF);
    assert_eq!(f.server.upload_bytes(&url).unwrap(), f.bytes);
    assert_eq!(f.server.uploads().len(), 1);
    assert_eq!(f.server.request_count("POST"), 1);
    assert_eq!(
        f.server.request_count("PATCH"),
        SIZE as u64 / CHUNK,
        "no byte sent twice"
    );
    assert!(
        JsonFileStorage::open(&f.store)
            .unwrap()
            .list()
            .await
            .unwrap()
            .is_empty(),
        "the store is empty"
    );
}

/// A child uploads half with a redb store and exits without closing it; a second child
/// opens the same file, resumes and finishes.
#[tokio::test]
async fn redb_store_resumes_in_another_process() {
    let f = fixture("uploads.redb").await;
    let endpoint = f.server.endpoint();
    let job = |role, stop_at| Job {
        role,
        endpoint: &endpoint,
        file: &f.file,
        store_kind: "redb",
        store: &f.store,
        stop_at,
    };
    let first = run_child(&job("stop", Some(HALF)));
    let url = value(&first, "url").to_owned();
    assert_eq!(value(&first, "offset"), HALF.to_string());
    assert_eq!(f.server.upload(&url).unwrap().offset, HALF);

    let second = run_child(&job("finish", None));
    assert_eq!(value(&second, "url"), url);
    assert_eq!(value(&second, "resumed_from"), HALF.to_string());
    assert_eq!(value(&second, "offset"), SIZE.to_string());
    assert_eq!(f.server.upload_bytes(&url).unwrap(), f.bytes);
    assert_eq!(f.server.uploads().len(), 1);
    assert_eq!(
        f.server.request_count("PATCH"),
        SIZE as u64 / CHUNK,
        "no byte sent twice"
    );

    let store = RedbStorage::open(&f.store).unwrap();
    assert!(store.list().await.unwrap().is_empty(), "the store is empty");
}

/// A child is killed while its third PATCH waits for an answer (the server kept the bytes);
/// the parent resumes from what the server holds.
#[tokio::test]
async fn a_process_killed_mid_patch_resumes_from_what_the_server_kept() {
    let f = fixture("uploads.json").await;
    let endpoint = f.server.endpoint();
    let (arrived, patch_arrived) = mpsc::channel();
    let arrived = Mutex::new(arrived);
    f.server.set_patch_hook(move |ctx: &PatchContext| {
        if ctx.number == 3 {
            let _ = arrived.lock().unwrap().send(());
            // the bytes are stored, the answer is held back until the child is gone
            PatchAction::Delay(Duration::from_secs(60))
        } else {
            PatchAction::Accept
        }
    });
    let mut child = child_command(&Job {
        role: "finish",
        endpoint: &endpoint,
        file: &f.file,
        store_kind: "json",
        store: &f.store,
        stop_at: None,
    })
    .spawn()
    .expect("spawning the child");
    loop {
        match patch_arrived.recv_timeout(Duration::from_millis(100)) {
            Ok(()) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!(
                        "the child ended ({status}) before its third PATCH: {}",
                        describe(&child.wait_with_output().unwrap())
                    );
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                unreachable!("the hook lives as long as the server")
            }
        }
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success(), "killed: {}", describe(&output));
    f.server.clear_patch_hook();

    // The hook runs as the third PATCH arrives, before the server stores its bytes.
    wait_until(
        "the third PATCH's bytes are kept",
        Duration::from_secs(5),
        || async { f.server.uploads()[0].offset == 3 * CHUNK },
    )
    .await;
    let uploads = f.server.uploads();
    assert_eq!(uploads.len(), 1);
    let url = uploads[0].url.clone();

    let store = JsonFileStorage::open(&f.store).unwrap();
    let summary = f.resume_here(&endpoint, store, &url).await;
    assert_eq!(summary.resumed_from, Some(3 * CHUNK));
    assert_eq!(f.server.upload_bytes(&url).unwrap(), f.bytes);
    assert_eq!(f.server.uploads().len(), 1);
    assert!(JsonFileStorage::open(&f.store)
        .unwrap()
        .list()
        .await
        .unwrap()
        .is_empty());
}
