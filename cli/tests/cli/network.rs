//! `--limit-rate`, `--proxy` and `--no-proxy`, and the proxy environment variables, through a
//! forward proxy on 127.0.0.1 that records what passes through it. Timing is checked with lower
//! bounds only; the bytes the server holds always.

use std::time::{Duration, Instant};

use tokio::process::Command;
use tusky::mock::{ForwardProxy, TusMockServer};
use tusky::transport::layers::RateLimit;

use crate::support::{finish, Sandbox};

const PROXY_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// `tusky ARGS` with no proxy variable from the test's own environment.
fn tusky_without_proxy_env(sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut command = sandbox.tusky(args);
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command
}

/// Runs an upload `command` of the sandbox file `name` with `--json`; checks the server holds its bytes.
async fn upload(sandbox: &Sandbox, server: &TusMockServer, command: Command, name: &str) {
    let out = finish(command).await;
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let url = json["url"].as_str().unwrap();
    let file = std::fs::read(sandbox.path().join(name)).unwrap();
    assert_eq!(server.upload_bytes(url), Some(file));
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_carries_every_request() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let proxy = ForwardProxy::start().await.unwrap();
    sandbox.file("p.bin", 100_000, 61);
    let endpoint = server.endpoint();
    let args = [
        "upload",
        "p.bin",
        &endpoint,
        "-c",
        "32KiB",
        "--json",
        "--proxy",
        &proxy.url(),
    ];
    upload(
        &sandbox,
        &server,
        tusky_without_proxy_env(&sandbox, &args),
        "p.bin",
    )
    .await;
    let proxied = proxy.requests();
    assert_eq!(proxied.len(), server.received_requests().await.len());
    assert!(proxied.iter().any(|r| r.method == "PATCH"), "{proxied:?}");
    assert_eq!(proxied.iter().map(|r| r.body_bytes).sum::<u64>(), 100_000);
}

/// `--proxy socks5h://…`: the upload goes through a SOCKS5 tunnel to the server.
#[tokio::test(flavor = "multi_thread")]
async fn a_socks5_proxy_carries_the_upload() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let proxy = ForwardProxy::start().await.unwrap();
    sandbox.file("s.bin", 70_000, 62);
    let endpoint = server.endpoint();
    let socks = proxy.socks5_url().replace("socks5://", "socks5h://");
    let args = ["upload", "s.bin", &endpoint, "--json", "--proxy", &socks];
    upload(
        &sandbox,
        &server,
        tusky_without_proxy_env(&sandbox, &args),
        "s.bin",
    )
    .await;
    let tunnels = proxy.requests();
    assert!(!tunnels.is_empty(), "nothing went through the proxy");
    let address = server.address().to_string();
    assert!(
        tunnels
            .iter()
            .all(|t| t.method == "SOCKS5" && t.url == address),
        "{tunnels:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_proxy_is_honoured_and_no_proxy_ignores_it() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let proxy = ForwardProxy::start().await.unwrap();
    sandbox.file("e.bin", 20_000, 62);
    let endpoint = server.endpoint();
    let mut command = tusky_without_proxy_env(
        &sandbox,
        &[
            "upload",
            "e.bin",
            &endpoint,
            "--json",
            "--no-resume",
            "--no-proxy",
        ],
    );
    command.env("HTTP_PROXY", proxy.url());
    upload(&sandbox, &server, command, "e.bin").await;
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());

    let mut command = tusky_without_proxy_env(
        &sandbox,
        &["upload", "e.bin", &endpoint, "--json", "--no-resume"],
    );
    command.env("HTTP_PROXY", proxy.url());
    upload(&sandbox, &server, command, "e.bin").await;
    let through = proxy.requests();
    assert!(through.iter().any(|r| r.method == "POST"), "{through:?}");
    assert_eq!(through.iter().map(|r| r.body_bytes).sum::<u64>(), 20_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_proxy_is_a_usage_error_that_hides_the_password() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .run([
            "status",
            "http://127.0.0.1:1/files/x",
            "--proxy",
            "ftp://u:s3cret@p:21",
        ])
        .await;
    out.expect_code(2);
    assert!(!out.stderr.contains("s3cret"), "{}", out.stderr);
}

/// Two parallel parts share the limit: each alone (100 KiB at 100 KiB/s) would take about a
/// second, together at least 1.5 s.
#[tokio::test(flavor = "multi_thread")]
async fn limit_rate_paces_everything_the_command_sends() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("r.bin", 200 * 1024, 63);
    let endpoint = server.endpoint();
    let args = [
        "upload",
        "r.bin",
        &endpoint,
        "--json",
        "--parallel",
        "2",
        "--limit-rate",
        "100KiB",
    ];
    let started = Instant::now();
    upload(
        &sandbox,
        &server,
        tusky_without_proxy_env(&sandbox, &args),
        "r.bin",
    )
    .await;
    let elapsed = started.elapsed();
    let burst = RateLimit::new(100 * 1024).burst();
    let least = Duration::from_secs_f64((200 * 1024 - burst) as f64 / (100.0 * 1024.0) * 0.8);
    assert!(elapsed >= least, "{elapsed:?} < {least:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn help_lists_the_network_flags() {
    let sandbox = Sandbox::new();
    for command in ["upload", "status", "list", "delete"] {
        let out = sandbox.run([command, "--help"]).await;
        for flag in ["--proxy <URL>", "--no-proxy"] {
            assert!(
                out.stdout.contains(flag),
                "{command} {flag}:\n{}",
                out.stdout
            );
        }
    }
    let out = sandbox.run(["upload", "--help"]).await;
    assert!(out.stdout.contains("--limit-rate <SIZE>"), "{}", out.stdout);
    assert!(out.stdout.contains("HTTPS_PROXY"), "{}", out.stdout);
}
