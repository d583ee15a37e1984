//! concatenation: `parallel(n)` partial uploads joined by a final POST.

use std::sync::Arc;
use std::time::Duration;

use tusky::error::Operation;
use tusky::storage::{MemoryStorage, Storage};
use tusky::{Client, Error};
use tusky_mock_server::wiremock::matchers::{header_regex, method};
use tusky_mock_server::wiremock::Mock;
use tusky_mock_server::{Extension, TusMockServer, UploadConcat, UploadSnapshot};

use crate::common::{
    client_for, data_file, finals, header, parallel_upload_of, partials, posts, server_and_client,
    server_and_client_with, shut_out, tus_response, upload_cancelled_at, upload_error,
    upload_exactly, wait_until, Events, QUICK, RUN,
};

/// Body bytes the server received from the uploader tagged `run` (see [`RUN`]).
async fn body_bytes_received(server: &TusMockServer, run: &str) -> u64 {
    server
        .received_requests()
        .await
        .iter()
        .filter(|r| header(r, RUN).as_deref() == Some(run))
        .map(|r| r.body.len() as u64)
        .sum()
}

async fn final_posts(server: &TusMockServer) -> usize {
    posts(server)
        .await
        .iter()
        .filter(|r| header(r, "upload-concat").is_some_and(|v| v.starts_with("final;")))
        .count()
}

#[tokio::test]
async fn four_partials_and_a_final_with_the_metadata() {
    let (server, client) = server_and_client().await;
    let (bytes, _dir, path) = data_file(100_003);
    let (_, summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 4, 10_000).metadata("filename", "f.bin"),
        &bytes,
    )
    .await;

    assert_eq!(summary.offset, 100_003);
    let finals = finals(&server);
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0].url, summary.url.as_str());
    assert_eq!(finals[0].metadata_value("filename"), Some("f.bin"));
    // The parts are created concurrently, so the server's order of creation is any; the final
    // names them in file order.
    let UploadConcat::Final(joined) = &finals[0].concat else {
        panic!("not a final upload: {:?}", finals[0]);
    };
    let mut created: Vec<String> = partials(&server).into_iter().map(|p| p.url).collect();
    created.sort();
    let mut named = joined.clone();
    named.sort();
    assert_eq!(named, created, "the final names every partial, once");
    let mut start = 0;
    for url in joined {
        let partial = server.upload(url).unwrap();
        assert!(partial.is_complete());
        assert_eq!(partial.metadata_header, None, "metadata goes on the final");
        let len = partial.length.unwrap() as usize;
        assert!((25_000..=25_001).contains(&len));
        assert_eq!(
            server.upload_bytes(url).unwrap(),
            bytes[start..start + len],
            "in file order"
        );
        start += len;
    }
    assert_eq!(server.uploads().len(), 5);
}

/// A parallel upload is cancelled mid-way from the progress callback; a new uploader with the
/// same storage resumes the four partial uploads and sends only what the server lacks.
#[tokio::test]
async fn a_cancelled_parallel_upload_resumes_its_partials() {
    let (server, client) = server_and_client().await;
    let store = Arc::new(MemoryStorage::new());
    let (bytes, _dir, path) = data_file(400_000);
    let first = parallel_upload_of(&client, &path, 4, 10_000)
        .storage(Arc::clone(&store))
        .header(RUN, "first");
    upload_cancelled_at(first, 150_000).await;
    assert!(
        body_bytes_received(&server, "first").await > 0,
        "the run is tagged"
    );
    // A PATCH in flight when the token fired may still be on its way to the server: end the
    // first run there, so that what the server holds now is all it will ever hold of it.
    shut_out(&server, "first").await;

    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0].1;
    // Created concurrently: the server's order of creation is any, the record's is the file's.
    let mut held_urls: Vec<String> = partials(&server).into_iter().map(|p| p.url).collect();
    held_urls.sort();
    let mut recorded = record.partial_urls.clone();
    recorded.sort();
    assert_eq!(recorded, held_urls, "the record has the partials");
    assert!(finals(&server).is_empty());
    let held: u64 = partials(&server).iter().map(|p| p.offset).sum();
    assert!(
        (150_000..400_000).contains(&held),
        "cancelled mid-way: {held}"
    );

    let (_second, summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 4, 10_000)
            .storage(Arc::clone(&store))
            .header(RUN, "second"),
        &bytes,
    )
    .await;
    let resent = body_bytes_received(&server, "second").await;

    assert_eq!(
        resent,
        400_000 - held,
        "only the missing bytes are sent again"
    );
    assert_eq!(summary.resumed_from, Some(held));
    assert_eq!(partials(&server).len(), 4, "no new partial uploads");
    assert_eq!(finals(&server).len(), 1);
    assert!(store.list().await.unwrap().is_empty());
}

/// The final POST answers 500 once: the server said it created nothing, so it is retried,
/// and exactly one final upload exists.
#[tokio::test]
async fn a_failing_final_post_is_retried_once_and_one_final_exists() {
    let server = TusMockServer::start().await;
    Mock::given(method("POST"))
        .and(header_regex("upload-concat", "^final;"))
        .respond_with(tus_response(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let client = client_for(&server);
    let (bytes, _dir, path) = data_file(50_000);
    let events = Events::default();
    let (_, _summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 4, 5_000)
            .retry_delay(3, QUICK)
            .on_progress(events.callback()),
        &bytes,
    )
    .await;

    assert_eq!(final_posts(&server).await, 2);
    assert_eq!(finals(&server).len(), 1);
    let retries = events.retries();
    assert_eq!(retries.len(), 1);
    assert!(retries[0].0.contains("500"), "{retries:?}");
}

/// The final POST gets no answer (the server is slower than the client's read timeout). The
/// server may have created the upload, so a retry could make a second one: tusky sends it
/// once and fails with a clear error.
#[tokio::test]
async fn a_final_post_without_an_answer_is_not_retried() {
    let server = TusMockServer::start().await;
    Mock::given(method("POST"))
        .and(header_regex("upload-concat", "^final;"))
        .respond_with(tus_response(201).set_delay(Duration::from_secs(5)))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let (_, _dir, path) = data_file(50_000);
    let error =
        upload_error(parallel_upload_of(&client, &path, 4, 5_000).retry_delay(3, QUICK)).await;

    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(
        error.context().map(|c| c.operation),
        Some(Operation::Concatenate)
    );
    let message = error.to_string();
    assert!(message.contains("POST (concatenate)"), "{message}");
    // The server took the final POST before the client gave up on its answer; any second one
    // would have been sent before upload() returned.
    wait_until(
        "the final POST reaches the server",
        Duration::from_secs(5),
        || async { final_posts(&server).await > 0 },
    )
    .await;
    assert_eq!(final_posts(&server).await, 1, "sent exactly once");
    assert!(
        posts(&server)
            .await
            .iter()
            .all(|post| header(post, "idempotency-key").is_none()),
        "no Idempotency-Key without idempotent_creation(true)"
    );
    assert_eq!(partials(&server).len(), 4);
    assert!(partials(&server).iter().all(UploadSnapshot::is_complete));
}

#[tokio::test]
async fn without_concatenation_a_single_upload_is_made() {
    let (server, client) = server_and_client_with(TusMockServer::builder().extensions(&[
        Extension::Creation,
        Extension::CreationWithUpload,
        Extension::Termination,
    ]))
    .await;
    let (bytes, _dir, path) = data_file(100_003);
    let (_, _summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 4, 10_000).metadata("filename", "f.bin"),
        &bytes,
    )
    .await;
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(
        server.uploads()[0].metadata_value("filename"),
        Some("f.bin")
    );
    for request in server.received_requests().await {
        assert_eq!(header(&request, "upload-concat"), None);
    }
}

/// A final upload whose server is still joining its partials answers HEAD without
/// `Upload-Offset`, as tus allows (`StreamingTusServer` does while it copies them): its status
/// says so instead of failing on the missing header; once joined, it is a finished final.
#[tokio::test]
async fn the_status_of_a_final_upload_being_joined_has_no_offset_yet() {
    use tusky::Concatenation;
    use tusky_mock_server::wiremock::matchers::path;

    let (server, client) = server_and_client().await;
    let joining = |offset: Option<&str>| {
        let mut answer = tus_response(200)
            .insert_header("Upload-Length", "10")
            .insert_header("Upload-Concat", "final;/files/a /files/b");
        if let Some(offset) = offset {
            answer = answer.insert_header("Upload-Offset", offset);
        }
        answer
    };
    Mock::given(method("HEAD"))
        .and(path("/files/joining"))
        .respond_with(joining(None))
        .mount(server.wiremock())
        .await;
    Mock::given(method("HEAD"))
        .and(path("/files/joined"))
        .respond_with(joining(Some("10")))
        .mount(server.wiremock())
        .await;
    Mock::given(method("HEAD"))
        .and(path("/files/plain"))
        .respond_with(tus_response(200).insert_header("Upload-Length", "10"))
        .mount(server.wiremock())
        .await;
    let url = |id: &str| format!("{}{id}", server.endpoint());

    let status = client.upload_status(&url("joining")).await.unwrap();
    assert_eq!(
        status.concatenation,
        Some(Concatenation::Final { finished: false })
    );
    assert_eq!((status.offset, status.length), (0, Some(10)));
    assert!(!status.is_complete());

    let status = client.upload_status(&url("joined")).await.unwrap();
    assert_eq!(
        status.concatenation,
        Some(Concatenation::Final { finished: true })
    );
    assert!(status.is_complete());

    // Any other upload without Upload-Offset is still a broken answer.
    let error = client.upload_status(&url("plain")).await.unwrap_err();
    assert!(error.to_string().contains("Upload-Offset"), "{error}");
}
