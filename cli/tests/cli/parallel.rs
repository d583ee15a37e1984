//! `--parallel N`: partial uploads joined by concatenation, resumed after a kill, and the
//! fallback to one stream when the server lacks concatenation; `--idempotent-creation`.

use tusky::mock::{Extension, PatchAction, TusMockServer, UploadConcat};

use crate::support::{kill_mid_upload, Sandbox};

/// Uploads a new file of `len` bytes with `--json` and `options`; checks the bytes the server
/// holds and returns how many parts the final upload joins.
async fn joined_parts(len: usize, seed: u64, options: &[&str]) -> usize {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("p.bin", len, seed);
    let endpoint = server.endpoint();
    let mut args = vec!["upload", "p.bin", endpoint.as_str(), "--json"];
    args.extend_from_slice(options);
    let json = sandbox.run_json(args).await;
    let url = json["url"].as_str().unwrap();
    assert_eq!(
        server.upload_bytes(url),
        Some(std::fs::read(&file).unwrap())
    );
    match server.upload(url).unwrap().concat {
        UploadConcat::Final(parts) => parts.len(),
        other => panic!("not a final upload: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_parts_are_joined() {
    let parts = joined_parts(1024 * 1024 + 3, 51, &["--parallel", "4", "-c", "128KiB"]).await;
    assert_eq!(parts, 4);
}

/// `--parts 5` with `--parallel 2`: five parts on two workers.
#[tokio::test(flavor = "multi_thread")]
async fn more_parts_than_workers() {
    let options = ["--parallel", "2", "--parts", "5", "-c", "64KiB"];
    assert_eq!(joined_parts(500_003, 54, &options).await, 5);
}

/// `--idempotent-creation`: each creation POST and the final POST carry a key of their own.
#[tokio::test(flavor = "multi_thread")]
async fn idempotent_creation_keys_every_post() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    sandbox.file("k.bin", 100_000, 55);
    sandbox
        .run_json([
            "upload",
            "k.bin",
            &server.endpoint(),
            "--parallel",
            "2",
            "--idempotent-creation",
            "--json",
        ])
        .await;
    let mut keys: Vec<String> = server
        .requests_by_method("POST")
        .await
        .iter()
        .map(|post| {
            let key = post.headers.get("idempotency-key").expect("a key");
            key.to_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(keys.len(), 3, "two parts and the final");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "{keys:?}");
}

/// `--idempotent-creation`: the server makes the upload but its answer says it did not (503);
/// the creation POST is repeated with its key, and the server (the mock honours keys) answers
/// with the upload it made: one upload, holding the file.
#[tokio::test(flavor = "multi_thread")]
async fn idempotent_creation_repeats_a_creation_whose_answer_was_lost() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("lost.bin", 300_000, 56);
    server.schedule_request("POST", 1, PatchAction::StoreThenFail(503));
    let args = [
        "upload",
        "lost.bin",
        &server.endpoint(),
        "--idempotent-creation",
    ];
    let json = sandbox
        .run_json([&args[..], &["-c", "100KiB", "--json"]].concat())
        .await;

    assert_eq!(server.uploads().len(), 1, "the repeat got the first upload");
    let url = json["url"].as_str().unwrap();
    assert_eq!(
        server.upload_bytes(url),
        Some(std::fs::read(&file).unwrap())
    );
    let keys: Vec<_> = server
        .requests_by_method("POST")
        .await
        .iter()
        .map(|post| post.headers.get("idempotency-key").cloned())
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].is_some() && keys[0] == keys[1], "{keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_resumes_after_a_kill() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::start().await;
    let file = sandbox.file("pk.bin", 2 * 1024 * 1024, 52);
    kill_mid_upload(
        sandbox.tusky([
            "upload",
            "pk.bin",
            &server.endpoint(),
            "--parallel",
            "2",
            "-c",
            "128KiB",
        ]),
        &server,
        4,
    )
    .await;
    server.clear_faults();
    let created = server.uploads().len();
    let listed = sandbox.run(["list"]).await;
    assert!(
        listed
            .stdout
            .contains("(2 partial uploads, not yet joined)"),
        "{}",
        listed.stdout
    );
    let json = sandbox
        .run_json([
            "upload",
            "pk.bin",
            &server.endpoint(),
            "--parallel",
            "2",
            "-c",
            "128KiB",
            "--json",
        ])
        .await;
    assert!(
        json["resumed_from"].as_u64().is_some_and(|o| o > 0),
        "{json}"
    );
    assert_eq!(
        server.uploads().len(),
        created + 1,
        "only the final upload is new"
    );
    assert_eq!(
        server.upload_bytes(json["url"].as_str().unwrap()),
        Some(std::fs::read(&file).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_concatenation_it_says_so_and_uploads_in_one_stream() {
    let sandbox = Sandbox::new();
    let server = TusMockServer::builder()
        .extensions(&[Extension::Creation, Extension::Termination])
        .start()
        .await;
    let file = sandbox.file("one.bin", 300_000, 53);
    let out = sandbox
        .run(["upload", "one.bin", &server.endpoint(), "--parallel", "3"])
        .await;
    out.expect_code(0);
    assert!(
        out.stderr
            .contains("does not offer the concatenation extension"),
        "{}",
        out.stderr
    );
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(
        server.upload_bytes(out.stdout.trim()),
        Some(std::fs::read(&file).unwrap())
    );
}
