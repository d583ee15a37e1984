//! Other tus clients against tusky's own streaming server (`StreamingTusServer`): tuspy (the
//! Python client) and tus-js-client (under Node) upload files to it, one stream and in
//! chunks, tus-js-client also in parallel parts; the bytes are compared in the server's files.
//!
//! Needs `TUSKY_INTEROP_TUSPY_PYTHON` and `TUSKY_INTEROP_NODE` (from
//! `scripts/interop-servers.sh start && source target/interop.env`, which also installs
//! tus-js-client into tests/interop/node_modules); without them each test skips, and fails
//! with `TUSKY_INTEROP_REQUIRED=1`.

use std::path::{Path, PathBuf};

use tusky_mock_server::StreamingTusServer;

use super::servers::env_or_skip;
use crate::common::noise_file;

/// Runs `program args…` on a blocking thread (the server answers on this test's runtime) and
/// returns the `url` of the JSON line it prints.
async fn run_client(program: &str, args: Vec<String>) -> String {
    let program = program.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("run {program} {args:?}: {e}"))
    })
    .await
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "the client failed: {stderr}");
    url_in(&stdout).unwrap_or_else(|| panic!("no url in {stdout:?}"))
}

/// The `"url"` string of a one-line JSON object (`"url": "…"` or `"url":"…"`).
fn url_in(line: &str) -> Option<String> {
    let rest = line
        .split("\"url\"")
        .nth(1)?
        .trim_start()
        .strip_prefix(':')?;
    let rest = rest.trim_start().strip_prefix('"')?;
    rest.split('"').next().map(str::to_owned)
}

fn script(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name);
    path.display().to_string()
}

/// The server's file for `url` holds exactly the bytes of `source`, and its upload is
/// complete with the client's `filename`.
#[track_caller]
fn assert_received(server: &StreamingTusServer, url: &str, source: &Path) {
    let upload = server
        .upload(url)
        .unwrap_or_else(|| panic!("no upload at {url}"));
    assert!(upload.is_complete(), "{upload:?}");
    let name = source.file_name().unwrap().to_string_lossy();
    assert_eq!(upload.metadata_value("filename"), Some(name.as_ref()));
    let stored = std::fs::read(server.upload_path(url).unwrap()).unwrap();
    assert!(
        stored == std::fs::read(source).unwrap(),
        "the bytes of {url}"
    );
}

async fn server_and_file(
    name: &str,
    size: u64,
    seed: u64,
) -> (StreamingTusServer, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let server = StreamingTusServer::builder(dir.path().join("server"))
        .start()
        .await
        .unwrap();
    let file = noise_file(dir.path(), name, size, seed);
    (server, dir, file)
}

#[tokio::test(flavor = "multi_thread")]
async fn tuspy_uploads_to_the_streaming_server() {
    let Some(python) = env_or_skip(&["TUSKY_INTEROP_TUSPY_PYTHON"]) else {
        return;
    };
    let size = 3 * 1024 * 1024 + 5;
    let (server, _dir, file) = server_and_file("from-tuspy.bin", size, 91).await;
    for chunk in [256 * 1024, size] {
        let args = vec![
            script("tuspy_start_upload.py"),
            server.endpoint(),
            file.display().to_string(),
            size.to_string(),
            chunk.to_string(),
        ];
        let url = run_client(&python[0], args).await;
        assert_received(&server, &url, &file);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tus_js_client_uploads_to_the_streaming_server() {
    let Some(node) = env_or_skip(&["TUSKY_INTEROP_NODE"]) else {
        return;
    };
    let size = 3 * 1024 * 1024 + 7;
    let (server, _dir, file) = server_and_file("from-tus-js-client.bin", size, 92).await;
    // One PATCH, 256 KiB chunks, and three parallel parts (concatenation).
    for (chunk, parallel) in [(0, 1), (256 * 1024, 1), (0, 3)] {
        let before = server.uploads().len();
        let args = vec![
            script("tusjs_upload.mjs"),
            server.endpoint(),
            file.display().to_string(),
            chunk.to_string(),
            parallel.to_string(),
        ];
        let url = run_client(&node[0], args).await;
        assert_received(&server, &url, &file);
        // Parallel parts are partial uploads, joined by a final one.
        let created = if parallel > 1 { parallel + 1 } else { 1 };
        assert_eq!(server.uploads().len() - before, created);
    }
}
