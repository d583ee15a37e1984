//! `tusky serve`: the bundled server on a port, writing completed uploads to a directory.

use std::time::Duration;

use crate::support::{wait_until, Output, Sandbox};

#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_uploads_and_writes_them_to_the_directory() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("served.bin", 700 * 1024 + 1, 31);
    let server = sandbox.serve().await;
    let endpoint = server.endpoint.clone();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with("/files/"),
        "{endpoint}"
    );

    let out = sandbox
        .run(["upload", "served.bin", &endpoint, "-c", "256KiB"])
        .await;
    out.expect_code(0);
    let url = out.stdout.trim().to_owned();
    let id = url.rsplit('/').next().unwrap().to_owned();
    let stored = sandbox.path().join("uploads").join(&id);
    let want = std::fs::read(&file).unwrap();
    let info_path = sandbox.path().join("uploads").join(format!("{id}.json"));
    let read_info = || {
        std::fs::read(&info_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    };
    // the bytes and the info file are written one after the other: wait for both
    wait_until(
        "the upload and its info written to the directory",
        Duration::from_secs(10),
        || std::fs::read(&stored).is_ok_and(|b| b == want) && read_info().is_some(),
    )
    .await;
    let info = read_info().unwrap();
    assert_eq!(info["metadata"]["filename"], "served.bin");
    assert_eq!(info["size"], 700 * 1024 + 1);

    // status and delete against it; a terminated upload's files go away
    sandbox.run(["status", &url]).await.expect_code(0);
    sandbox.run(["delete", &url]).await.expect_code(0);
    wait_until(
        "the terminated upload's files removed",
        Duration::from_secs(10),
        || !stored.exists(),
    )
    .await;

    server.stop().await.expect_code(0);
}

/// `--parallel` to `tusky serve`: the server answers the final POST before it joins the parts,
/// and describes the final upload once its bytes are all there; the parts are not described.
#[tokio::test(flavor = "multi_thread")]
async fn serve_describes_a_parallel_upload_once_its_parts_are_joined() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("joined.bin", 3 * 1024 * 1024 + 7, 33);
    let server = sandbox.serve().await;
    let args = ["upload", "joined.bin", &server.endpoint, "--json"];
    let json = sandbox
        .run_json([&args[..], &["--parallel", "3", "-c", "256KiB"]].concat())
        .await;
    let url = json["url"].as_str().unwrap().to_owned();
    let id = url.rsplit('/').next().unwrap().to_owned();
    let dir = sandbox.path().join("uploads");
    let description = dir.join(format!("{id}.json"));
    wait_until(
        "the final upload described",
        Duration::from_secs(10),
        || description.exists(),
    )
    .await;
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&description).unwrap()).unwrap();
    assert_eq!(info["size"], 3 * 1024 * 1024 + 7);
    assert_eq!(
        std::fs::read(dir.join(&id)).unwrap(),
        std::fs::read(&file).unwrap()
    );
    let descriptions = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    assert_eq!(descriptions, 1, "the parts are not described");

    let status = sandbox.run_json(["status", &url, "--json"]).await;
    assert_eq!(status["complete"], true);
    assert_eq!(status["concatenation"]["role"], "final");
    assert_eq!(status["concatenation"]["finished"], true);
    server.stop().await.expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_on_a_taken_port_is_a_local_error() {
    let sandbox = Sandbox::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out: Output = sandbox.run(["serve", "--port", &port, "--dir", "d"]).await;
    out.expect_code(5);
    out.expect_error_line_containing(&format!("127.0.0.1:{port}"));
}

/// The data files (not `.info`, `.json`) in `dir`, with their sizes.
fn data_files(dir: &std::path::Path) -> Vec<(String, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_data = !name.contains('.');
            let len = e.metadata().ok()?.len();
            is_data.then_some((name, len))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_keeps_an_unfinished_upload_across_a_restart() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("big.bin", 4 * 1024 * 1024, 41);
    let server = sandbox.serve().await;
    let endpoint = server.endpoint.clone();
    let port: u16 = endpoint
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port in the endpoint");
    let uploads = sandbox.path().join("uploads");

    // A slow upload, killed once the server holds a part of it.
    let mut client = sandbox
        .tusky([
            "upload",
            "big.bin",
            &endpoint,
            "-c",
            "256KiB",
            "--limit-rate",
            "1MiB",
        ])
        .spawn()
        .unwrap();
    wait_until(
        "a part of the file on the server",
        Duration::from_secs(30),
        || {
            data_files(&uploads)
                .iter()
                .any(|(_, len)| *len >= 512 * 1024)
        },
    )
    .await;
    client.start_kill().unwrap();
    let _ = client.wait().await;
    let out = server.stop().await;
    out.expect_code(0);
    out.expect_stderr_contains("unfinished upload(s) kept");

    let server = sandbox.serve_on(port).await;
    assert_eq!(server.endpoint, endpoint);
    let json = sandbox
        .run_json(["upload", "big.bin", &endpoint, "--json"])
        .await;
    let resumed = json["resumed_from"]
        .as_u64()
        .expect("resumed, not started over");
    assert!(resumed >= 512 * 1024, "{json}");
    let url = json["url"].as_str().unwrap();
    let id = url.rsplit('/').next().unwrap();
    assert_eq!(
        std::fs::read(uploads.join(id)).unwrap(),
        std::fs::read(&file).unwrap()
    );
    wait_until("the description written", Duration::from_secs(10), || {
        uploads.join(format!("{id}.json")).exists()
    })
    .await;
    server.stop().await.expect_code(0);
}
