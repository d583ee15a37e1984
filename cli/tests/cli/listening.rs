//! A CLI that listens to the server: `--header-command` re-run after a 401, `-v` request
//! lines, `filetype` guessed from the file name, `tusky gc` and the ages in `tusky list`.

use std::time::{SystemTime, UNIX_EPOCH};

use tusky::mock::wiremock::matchers::{header, method};
use tusky::mock::wiremock::{Mock, ResponseTemplate};
use tusky::mock::TusMockServer;
use tusky::storage::UploadRecord;

use crate::support::{created_upload, store_records, Sandbox};

/// A header command that prints `Authorization: Bearer N`, N counting its runs in `count`.
const COUNTING_TOKEN: &str = r#"n=$(( $(cat count 2>/dev/null || echo 0) + 1 )); echo $n > count; echo "Authorization: Bearer $n"; printf 'token \033[2J %s\n' $n >&2"#;

#[tokio::test(flavor = "multi_thread")]
async fn header_command_runs_again_after_a_401() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    Mock::given(method("PATCH"))
        .and(header("Authorization", "Bearer 1"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let file = sandbox.file("a.bin", 100_000, 3);
    let out = sandbox
        .run([
            "upload",
            "a.bin",
            &server.endpoint(),
            "--header-command",
            COUNTING_TOKEN,
            "-c",
            "40000",
        ])
        .await;
    out.expect_code(0);
    let url = out.stdout.trim();
    assert_eq!(
        server.upload_bytes(url).unwrap(),
        std::fs::read(&file).unwrap()
    );
    let count = std::fs::read_to_string(sandbox.path().join("count")).unwrap();
    assert_eq!(
        count.trim(),
        "2",
        "the command ran once, then once after the 401"
    );
    // Its stderr is shown, escaped.
    assert!(
        out.stderr
            .contains("tusky: header command: token \\u{1b}[2J 1"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains('\u{1b}'), "{}", out.stderr);
    let tokens: Vec<String> = server
        .received_requests()
        .await
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens.first().map(String::as_str), Some("Bearer 1"));
    assert!(tokens[1..].iter().all(|t| t == "Bearer 2"), "{tokens:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn header_command_output_that_is_not_headers_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("a.bin", 1000, 4);
    for (command, says) in [
        ("echo 'Bearer secret-token'", "line 1 is not 'Name: value'"),
        ("exit 3", "the command failed"),
        ("true", "printed no header"),
    ] {
        let out = sandbox
            .run([
                "upload",
                "a.bin",
                &server.endpoint(),
                "--header-command",
                command,
            ])
            .await;
        out.expect_code(2);
        let line = out.one_error_line();
        assert!(
            line.contains("--header-command") && line.contains(says),
            "{line}"
        );
        assert!(!out.stderr.contains("secret-token"), "{}", out.stderr);
    }
    assert!(server.received_requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_shows_one_line_per_request() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("a.bin", 100_000, 5);
    let endpoint = server.endpoint();
    let quiet = sandbox
        .run(["upload", "a.bin", &endpoint, "--no-resume"])
        .await;
    quiet.expect_code(0);
    assert!(!quiet.stderr.contains("tus request"), "{}", quiet.stderr);
    let before = server.received_requests().await.len();

    let out = sandbox
        .run([
            "-v",
            "upload",
            "a.bin",
            &endpoint,
            "-c",
            "40000",
            "--no-resume",
        ])
        .await;
    out.expect_code(0);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("tus request"))
        .collect();
    let sent = server.received_requests().await.len() - before;
    assert_eq!(lines.len(), sent, "one line per request:\n{}", out.stderr);
    for (verb, status) in [("POST", "201"), ("PATCH", "204")] {
        assert!(
            lines.iter().any(|l| l.contains(&format!("method={verb}"))
                && l.contains(&format!("status={status}"))
                && l.contains("duration_ms=")),
            "{verb} {status}:\n{}",
            out.stderr
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("bytes=40000")),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn filetype_follows_the_name_unless_given() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    for (name, extra, want) in [
        ("notes.txt", None, "text/plain"),
        ("data.unknownext", None, "application/octet-stream"),
        ("photo.png", Some("filetype=image/x-mine"), "image/x-mine"),
    ] {
        sandbox.file(name, 100, 6);
        let endpoint = server.endpoint();
        let mut args = vec!["upload", name, &endpoint];
        let metadata;
        if let Some(extra) = extra {
            metadata = extra.to_owned();
            args.extend(["-m", &metadata]);
        }
        let out = sandbox.run(args).await;
        out.expect_code(0);
        let upload = server.upload(out.stdout.trim()).unwrap();
        assert_eq!(upload.metadata_value("filetype"), Some(want), "{name}");
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_prunes_expired_gone_and_old_records() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let old = created_upload(&server, 10).await;
    let fresh = created_upload(&server, 10).await;
    let gone = format!("{}gone-upload", server.endpoint());
    let record = |url: &str, source: &str, age: u64| {
        UploadRecord::new(url)
            .with_source(source)
            .with_created_unix(now() - age)
    };
    store_records(
        &sandbox.default_store(),
        vec![
            (
                "k1".into(),
                record(&fresh, "expired.bin", 60).with_expires_unix(now() - 5),
            ),
            ("k2".into(), record(&gone, "gone.bin", 60)),
            ("k3".into(), record(&old, "old.bin", 10 * 86_400)),
            ("k4".into(), record(&fresh, "fresh.bin", 3600)),
        ],
    )
    .await;

    let out = sandbox.run(["list"]).await;
    out.expect_code(0);
    assert!(
        out.stdout.lines().next().unwrap().contains("AGE"),
        "{}",
        out.stdout
    );
    let old_line = out.stdout.lines().find(|l| l.contains("old.bin")).unwrap();
    assert!(old_line.contains("10d 0h"), "{}", out.stdout);
    let expired_line = out
        .stdout
        .lines()
        .find(|l| l.contains("expired.bin"))
        .unwrap();
    assert!(
        expired_line.contains("expired ") && expired_line.contains("s ago"),
        "{}",
        out.stdout
    );

    let args = ["gc", "--check", "--terminate-older-than", "7d"];
    let dry = sandbox
        .run(args.iter().copied().chain(["--dry-run", "--json"]))
        .await;
    dry.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(dry.stdout.trim()).unwrap();
    assert_eq!(json["dry_run"], true);
    let reasons: Vec<&str> = json["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["expired", "gone", "terminated"]);
    assert_eq!(server.request_count("DELETE"), 0);

    let out = sandbox.run(args).await;
    out.expect_code(0);
    assert!(
        out.stdout.contains("removed  old.bin  terminated"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("removed  gone.bin  gone on the server (404)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("removed 3 records, kept 1"),
        "{}",
        out.stderr
    );
    assert!(server.upload(&old).unwrap().terminated);
    assert!(!server.upload(&fresh).unwrap().terminated);
    let store = std::fs::read_to_string(sandbox.default_store()).unwrap();
    assert!(
        store.contains("fresh.bin") && !store.contains("old.bin"),
        "{store}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn help_lists_the_new_flags() {
    let sandbox = Sandbox::new();
    for (args, flags) in [
        (
            vec!["upload", "--help"],
            vec!["--header-command", "--verbose", "image/jpeg"],
        ),
        (vec!["status", "--help"], vec!["--header-command"]),
        (vec!["delete", "--help"], vec!["--header-command"]),
        (vec!["list", "--help"], vec!["--header-command"]),
        (
            vec!["gc", "--help"],
            vec![
                "--check",
                "--terminate-older-than",
                "--dry-run",
                "--json",
                "--endpoint",
            ],
        ),
        (vec!["--help"], vec!["gc", "-v"]),
    ] {
        let out = sandbox.run(&args).await;
        out.expect_code(0);
        for flag in flags {
            assert!(
                out.stdout.contains(flag),
                "{args:?} lacks {flag}:\n{}",
                out.stdout
            );
        }
    }
}
