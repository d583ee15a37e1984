//! Helpers for the CLI tests: the real `tusky` binary in a sandboxed data directory, files of
//! known bytes, and waiting for a mock server to reach a state.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::process::Command;

/// The binary under test.
pub const TUSKY: &str = env!("CARGO_BIN_EXE_tusky");

/// A temporary home for one test: `XDG_DATA_HOME` and `HOME` point inside it, so the default
/// store and data directories never touch the real ones.
pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `$XDG_DATA_HOME/tusky`.
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data").join("tusky")
    }

    /// The default store file.
    pub fn default_store(&self) -> PathBuf {
        self.data_dir().join("uploads.json")
    }

    /// A file of `len` pseudo-random bytes (seeded by `seed`).
    pub fn file(&self, name: &str, len: usize, seed: u64) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, bytes(len, seed)).expect("write test file");
        path
    }

    /// `tusky ARGS` with the sandbox's environment, stdin closed, stdout/stderr piped.
    pub fn tusky<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command(TUSKY, args)
    }

    /// `tusky ARGS` run with the file creation mask 022 (the usual default, which makes new
    /// files readable by everyone unless tusky says otherwise), whatever the test's own mask.
    pub fn tusky_with_umask_022<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.command("sh", ["-c", "umask 022 && exec \"$0\" \"$@\"", TUSKY]);
        command.args(args);
        command
    }

    /// `PROGRAM ARGS` with the sandbox's environment, stdin closed, stdout/stderr piped.
    pub fn command<I, S>(&self, program: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env("HOME", self.path())
            .env_remove("RUST_LOG")
            .current_dir(self.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs `tusky ARGS` (with `--json` among them) to the end, checks that it succeeded and
    /// returns the JSON it printed.
    pub async fn run_json<I, S>(&self, args: I) -> serde_json::Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.run(args).await.expect_code(0).json()
    }

    /// Runs `tusky ARGS` to the end (at most 60 s).
    pub async fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        finish(self.tusky(args)).await
    }
}

/// A `tusky serve --port 0 --dir uploads` running in a sandbox, and the endpoint it printed.
pub struct Served {
    child: tokio::process::Child,
    /// The rest of its stdout, kept open while it runs.
    _stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    pub endpoint: String,
}

impl Sandbox {
    /// Starts `tusky serve` on a free port, writing to `uploads` in the sandbox; returns once it
    /// has printed its endpoint (within 30 s).
    pub async fn serve(&self) -> Served {
        use tokio::io::AsyncBufReadExt;
        let mut child = self
            .tusky(["serve", "--port", "0", "--dir", "uploads"])
            .spawn()
            .expect("spawn tusky serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let endpoint = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the endpoint within 30 s")
            .unwrap()
            .expect("a first line");
        Served {
            child,
            _stdout: lines,
            endpoint,
        }
    }
}

impl Served {
    /// Stops the server with Ctrl-C (SIGINT); returns its exit code and stderr once it has
    /// exited (within 10 s).
    pub async fn stop(self) -> Output {
        signal(self.child.id().unwrap(), "INT");
        let output = tokio::time::timeout(Duration::from_secs(10), self.child.wait_with_output())
            .await
            .expect("stops")
            .unwrap();
        Output::from(output)
    }
}

/// Runs `command` to the end (at most 60 s).
pub async fn finish(mut command: Command) -> Output {
    let child = command.spawn().expect("spawn tusky");
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("tusky did not finish within 60 s")
        .expect("wait for tusky");
    Output::from(output)
}

/// Holds every PATCH `server` receives from the `k`-th on, after storing its bytes (its answer
/// would come after a minute, long after the test has killed the client), so a kill lands
/// mid-upload.
pub fn hold_patches_from(server: &tusky::mock::TusMockServer, k: u64) {
    use tusky::mock::{PatchAction, PatchContext};
    server.set_patch_hook(move |ctx: &PatchContext| {
        if ctx.number >= k {
            PatchAction::Delay(Duration::from_secs(60))
        } else {
            PatchAction::Accept
        }
    });
}

/// Spawns `command` (an upload to `server`), holds `server`'s PATCHes from the `k`-th on
/// ([`hold_patches_from`]), waits until the `k`-th has arrived, and kills it (SIGKILL: no
/// chance to clean up): an upload killed mid-way.
pub async fn kill_mid_upload(mut command: Command, server: &tusky::mock::TusMockServer, k: u64) {
    hold_patches_from(server, k);
    let patches = k;
    let mut child = command.spawn().expect("spawn tusky");
    wait_until(
        &format!("PATCH number {patches}"),
        Duration::from_secs(30),
        || server.request_count("PATCH") >= patches,
    )
    .await;
    child.start_kill().unwrap();
    let _ = child.wait().await;
}

/// A running `tusky` whose stderr is collected as it comes, so a test can wait for a line.
pub struct Running {
    pub child: tokio::process::Child,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Running {
    /// Spawns `command` and starts collecting its stderr.
    pub fn spawn(mut command: Command) -> Self {
        use tokio::io::AsyncReadExt;
        let mut child = command.spawn().expect("spawn tusky");
        let mut pipe = child.stderr.take().expect("stderr piped");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let collected = std::sync::Arc::clone(&stderr);
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf).await {
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, stderr }
    }

    /// The stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `text` (at most `timeout`).
    pub async fn wait_for_stderr(&self, text: &str, timeout: Duration) {
        let what = format!("{text:?} on stderr");
        wait_until(&what, timeout, || self.stderr().contains(text)).await;
    }

    /// Waits for the exit (at most `timeout`) and returns the code with the whole stderr.
    pub async fn exit(mut self, timeout: Duration) -> (Option<i32>, String) {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "tusky did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr()
                )
            })
            .expect("wait for tusky");
        // The pipe's last bytes: the collector ends when the pipe closes.
        wait_until("the end of stderr", Duration::from_secs(10), || {
            std::sync::Arc::strong_count(&self.stderr) == 1
        })
        .await;
        (status.code(), self.stderr())
    }
}

/// What a finished `tusky` printed, and its exit code.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Output {
    /// Panics with everything printed unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout parsed as JSON (what `--json` prints).
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// stdout parsed as JSON lines (what `--json` prints for several files): one value per
    /// line.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("a line is not JSON ({e}): {line}\n{}", self.stdout))
            })
            .collect()
    }

    /// Panics with stderr unless it contains `text`.
    #[track_caller]
    pub fn expect_stderr_contains(&self, text: &str) -> &Self {
        assert_contains("stderr", &self.stderr, text);
        self
    }

    /// Panics with stdout unless it contains `text`.
    #[track_caller]
    pub fn expect_stdout_contains(&self, text: &str) -> &Self {
        assert_contains("stdout", &self.stdout, text);
        self
    }

    /// Panics unless the failure is reported as exactly one `tusky: error: ` line
    /// ([`Output::one_error_line`]) that contains `text`.
    #[track_caller]
    pub fn expect_error_line_containing(&self, text: &str) -> &Self {
        assert_contains("the error line", self.one_error_line(), text);
        self
    }

    /// The `tusky: error: ` lines of stderr.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("tusky: error: "))
            .collect()
    }

    /// Asserts the failure is reported as exactly one `tusky: error: ` line, with no panic or
    /// Debug dump, and returns it.
    #[track_caller]
    pub fn one_error_line(&self) -> &str {
        let lines = self.error_lines();
        assert_eq!(
            lines.len(),
            1,
            "want one error line, stderr:\n{}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "panic in stderr:\n{}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("Error {") && !self.stderr.contains("context: Context"),
            "Debug dump in stderr:\n{}",
            self.stderr
        );
        lines[0]
    }
}

/// Panics with `printed` (what the stream called `name` carried) unless it contains `text`.
#[track_caller]
fn assert_contains(name: &str, printed: &str, text: &str) {
    assert!(printed.contains(text), "{name} lacks {text:?}:\n{printed}");
}

/// `len` pseudo-random bytes from `seed`, the same every run.
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    tusky::mock::sample_bytes(len, seed)
}

/// Polls `condition` every 20 ms until it holds; panics after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Stops `child` with Ctrl-C (SIGINT) and returns what it printed once it has exited (within
/// 10 s).
pub async fn interrupt(child: tokio::process::Child) -> Output {
    signal(child.id().expect("a running child"), "INT");
    let output = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("exits promptly after Ctrl-C")
        .expect("wait for tusky");
    Output::from(output)
}

/// Sends `signal` (e.g. "INT", "TERM") to a process with kill(1).
pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

#[path = "../../../tests/shared/endpoint_answering.rs"]
mod endpoint_answering;
pub use endpoint_answering::endpoint_answering;

/// The URL of a new, empty upload of `len` bytes on `server` (created with the library).
pub async fn created_upload(server: &tusky::mock::TusMockServer, len: usize) -> String {
    let client = tusky::Client::new(server.endpoint()).unwrap();
    let mut uploader = client
        .uploader()
        .reader(std::io::Cursor::new(vec![0u8; len]))
        .creation_with_upload(false)
        .build()
        .unwrap();
    uploader.create().await.unwrap().to_string()
}

/// Writes `records` (key, record) into the JSON URL store at `path`, through the library.
pub async fn store_records(path: &Path, records: Vec<(String, tusky::storage::UploadRecord)>) {
    use tusky::storage::{JsonFileStorage, Storage};
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let store = JsonFileStorage::open(path).unwrap();
    for (key, record) in records {
        store.set(&key, record).await.unwrap();
    }
}

/// The record of an upload of `file` at `url`, created at `endpoint`, under the key the
/// uploader uses for it (so `tusky status FILE` finds it).
pub fn file_record(
    file: &Path,
    endpoint: &str,
    url: &str,
) -> (String, tusky::storage::UploadRecord) {
    use tusky::fingerprint::{DefaultFingerprint, Fingerprint};
    let fingerprint = DefaultFingerprint::default()
        .fingerprint_file(file)
        .unwrap();
    let mut record =
        tusky::storage::UploadRecord::new(url).with_size(std::fs::metadata(file).unwrap().len());
    record.endpoint = Some(endpoint.to_owned());
    (tusky::storage::scoped_key(&fingerprint, endpoint), record)
}

/// The value of `name` in each of `requests`, in order (`None` where absent).
pub fn header_values(
    requests: &[tusky::mock::wiremock::Request],
    name: &str,
) -> Vec<Option<String>> {
    requests
        .iter()
        .map(|r| {
            r.headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        })
        .collect()
}
