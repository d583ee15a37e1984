//! `-H` headers go where the user meant them: the endpoint's origin for an upload (and, with
//! `--cross-origin-headers`, where its upload URL leads); the URL's own origin, or the stored
//! upload's endpoint, for `status` and `delete`; only the server named with `--endpoint` for
//! `list --check`.

use tusky::mock::wiremock::ResponseTemplate;
use tusky::mock::TusMockServer;

use crate::support::{
    bytes, created_upload, endpoint_answering, file_record, header_values, store_records, Sandbox,
};

const SECRET_HEADERS: [(&str, &str); 3] = [
    ("Authorization", "Bearer t0ken"),
    ("Cookie", "session=c00kie"),
    ("X-Api-Key", "k3y"),
];

/// `-H` arguments for [`SECRET_HEADERS`].
fn secret_args() -> Vec<String> {
    SECRET_HEADERS
        .iter()
        .flat_map(|(name, value)| ["-H".to_owned(), format!("{name}: {value}")])
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_follow_a_location_on_another_origin_only_with_cross_origin_headers() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("f.bin", 3000, 51);
    for cross_origin in [false, true] {
        // The endpoint creates the upload on another server (another port: another origin).
        let storage_host = TusMockServer::start().await;
        let location = created_upload(&storage_host, 3000).await;
        let endpoint = endpoint_answering(
            ResponseTemplate::new(201).insert_header("Location", location.as_str()),
        )
        .await;
        let mut args = vec![
            "upload".to_owned(),
            file.display().to_string(),
            format!("{}/files/", endpoint.uri()),
            "--chunk-size".to_owned(),
            "1000".to_owned(),
            "--no-resume".to_owned(),
        ];
        args.extend(secret_args());
        if cross_origin {
            args.push("--cross-origin-headers".to_owned());
        }
        let out = sandbox.run(&args).await;
        out.expect_code(0);
        assert_eq!(out.stdout.trim(), location);
        assert_eq!(
            storage_host.upload_bytes(&location).unwrap(),
            bytes(3000, 51),
            "the bytes arrive either way"
        );
        let posts = endpoint.received_requests().await.unwrap();
        assert_eq!(
            header_values(&posts, "authorization"),
            vec![Some("Bearer t0ken".to_owned()); posts.len()],
            "the endpoint's own origin gets the headers"
        );
        let patches = storage_host.requests_by_method("PATCH").await;
        assert_eq!(patches.len(), 3);
        for (name, value) in SECRET_HEADERS {
            let expected = cross_origin.then(|| value.to_owned());
            assert_eq!(
                header_values(&patches, name),
                vec![expected; 3],
                "{name} on PATCHes to another origin (--cross-origin-headers: {cross_origin})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn list_check_sends_headers_only_to_the_server_named_with_endpoint() {
    let sandbox = Sandbox::new();
    let (a, b) = (TusMockServer::start().await, TusMockServer::start().await);
    let (url_a, url_b) = (created_upload(&a, 100).await, created_upload(&b, 200).await);
    let record = |url: &str, endpoint: String, size| {
        let mut record = tusky::storage::UploadRecord::new(url).with_size(size);
        record.endpoint = Some(endpoint);
        record
    };
    store_records(
        &sandbox.default_store(),
        vec![
            (
                "size:100--md5:a".to_owned(),
                record(&url_a, a.endpoint(), 100),
            ),
            (
                "size:200--md5:b".to_owned(),
                record(&url_b, b.endpoint(), 200),
            ),
        ],
    )
    .await;

    // No --endpoint: the token goes to neither, and stderr says so once, with the way to send it.
    let out = sandbox
        .run(["list", "--check", "-H", "Authorization: Bearer t0ken"])
        .await;
    out.expect_code(0);
    for server in [&a, &b] {
        let heads = server.requests_by_method("HEAD").await;
        assert_eq!(header_values(&heads, "authorization"), vec![None]);
    }
    let notes: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("were not sent"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", out.stderr);
    assert!(
        notes[0].contains("not sent to 2 servers") && notes[0].contains("--endpoint"),
        "{}",
        notes[0]
    );
    assert!(out.stdout.contains("0 B (0%)"), "{}", out.stdout);

    // --endpoint A: the token goes to A's upload only.
    let out = sandbox
        .run([
            "list",
            "--check",
            "--endpoint",
            &a.endpoint(),
            "-H",
            "Authorization: Bearer t0ken",
        ])
        .await;
    out.expect_code(0);
    let heads_a = a.requests_by_method("HEAD").await;
    let heads_b = b.requests_by_method("HEAD").await;
    assert_eq!(
        header_values(&heads_a, "authorization"),
        vec![None, Some("Bearer t0ken".to_owned())]
    );
    assert_eq!(header_values(&heads_b, "authorization"), vec![None, None]);
    out.expect_stderr_contains("not sent to 1 server (");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_delete_send_headers_to_the_url_or_the_stored_endpoint_only() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("f.bin", 100, 52);
    // The upload was created through an endpoint on another origin than its URL.
    let endpoint = TusMockServer::start().await;
    let storage_host = TusMockServer::start().await;
    let url = created_upload(&storage_host, 100).await;
    store_records(
        &sandbox.default_store(),
        vec![file_record(&file, &endpoint.endpoint(), &url)],
    )
    .await;
    let auth = |requests: &[tusky::mock::wiremock::Request]| {
        header_values(requests, "authorization")
            .last()
            .cloned()
            .flatten()
    };
    let token = Some("Bearer t0ken".to_owned());

    // FILE: the headers are for the endpoint the upload was created at, not its URL's host.
    let out = sandbox
        .run(["status", "f.bin", "-H", "Authorization: Bearer t0ken"])
        .await;
    out.expect_code(0);
    assert_eq!(auth(&storage_host.requests_by_method("HEAD").await), None);
    let out = sandbox
        .run([
            "status",
            "f.bin",
            "-H",
            "Authorization: Bearer t0ken",
            "--cross-origin-headers",
        ])
        .await;
    out.expect_code(0);
    assert_eq!(auth(&storage_host.requests_by_method("HEAD").await), token);
    // URL: the URL's own origin is the server the user named.
    let out = sandbox
        .run(["status", &url, "-H", "Authorization: Bearer t0ken"])
        .await;
    out.expect_code(0);
    assert_eq!(auth(&storage_host.requests_by_method("HEAD").await), token);
    assert!(endpoint.received_requests().await.is_empty());

    let out = sandbox
        .run(["delete", "f.bin", "-H", "Authorization: Bearer t0ken"])
        .await;
    out.expect_code(0);
    let deletes = storage_host.requests_by_method("DELETE").await;
    assert_eq!(header_values(&deletes, "authorization"), vec![None]);
}
