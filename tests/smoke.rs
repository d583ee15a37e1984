//! End-to-end basics against the mock server: the shape every other test builds on.

use std::io::Cursor;
use std::sync::Arc;

use tusky::mock::{PatchAction, TusMockServer};
use tusky::storage::MemoryStorage;
use tusky::Client;

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn uploads_in_chunks_and_the_server_holds_the_bytes() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(100_000);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(30_000)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(summary.offset, 100_000);
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
}

#[tokio::test]
async fn partial_acceptance_continues_from_the_server_offset() {
    let server = TusMockServer::start().await;
    server.set_patch_hook(|ctx: &tusky::mock::PatchContext| {
        PatchAction::AcceptPartial(ctx.body_len / 3 + 1)
    });
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(10_000);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(4096)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
}

#[tokio::test]
async fn a_second_uploader_resumes_from_the_store() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(50_000);
    let mut first = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(10_000)
        .storage(store.clone())
        .build()
        .unwrap();
    first.upload_until(20_000).await.unwrap();
    let mut second = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(10_000)
        .storage(store.clone())
        .build()
        .unwrap();
    let summary = second.upload().await.unwrap();
    assert_eq!(summary.resumed_from, Some(20_000));
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    assert_eq!(server.uploads().len(), 1);
    use tusky::storage::Storage;
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn retries_a_failed_patch_after_a_head() {
    let server = TusMockServer::start().await;
    server.fail_patch(2, 500);
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(3000);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(1000)
        .retry_delay(3, std::time::Duration::from_millis(1))
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    assert_eq!(server.request_count("HEAD"), 1);
}

#[tokio::test]
async fn a_stream_of_unknown_length_uploads_with_deferred_length() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(25_000);
    let (mut writer, reader) = tokio::io::duplex(1024);
    let feed = bytes.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        writer.write_all(&feed).await.unwrap();
    });
    let mut uploader = client
        .uploader()
        .stream(reader)
        .chunk_size(8000)
        .creation_with_upload(false)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(summary.offset, 25_000);
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
}

#[tokio::test]
async fn parallel_upload_concatenates_partials() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(100_003);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, &bytes).unwrap();
    let mut uploader = client
        .uploader()
        .path(&path)
        .parallel(4)
        .chunk_size(10_000)
        .metadata("filename", "f.bin")
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    let finals: Vec<_> = server
        .uploads()
        .into_iter()
        .filter(|u| u.metadata_value("filename") == Some("f.bin"))
        .collect();
    assert_eq!(finals.len(), 1);
    assert_eq!(server.uploads().len(), 5);
}

#[test]
fn the_blocking_uploader_works_without_a_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TusMockServer::start());
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(20_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mut uploader = client
        .uploader()
        .reader(tusky::blocking::SyncReader::new(file))
        .chunk_size(7000)
        .build_blocking()
        .unwrap();
    let summary = uploader.upload().unwrap();
    assert_eq!(uploader.offset(), 20_000);
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    let inside = runtime.block_on(async { client.uploader().path(&path).build_blocking().err() });
    assert!(inside.is_some_and(|e| e.to_string().contains("inside an async runtime")));
}

#[tokio::test]
async fn the_creation_post_carries_a_checksum_of_its_body() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(5000);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(2000)
        .checksum(tusky::ChecksumAlgorithm::Sha256)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    let posts = server.requests_by_method("POST").await;
    let expected = tusky::ChecksumAlgorithm::Sha256.header_for(&bytes[..2000]);
    assert_eq!(posts[0].body.len(), 2000);
    assert_eq!(
        posts[0]
            .headers
            .get("upload-checksum")
            .unwrap()
            .to_str()
            .unwrap(),
        expected
    );
}

#[tokio::test]
async fn a_parallel_record_keeps_the_partials_expiry() {
    use tusky::storage::Storage;
    let server = TusMockServer::builder()
        .expires_after(std::time::Duration::from_secs(3600))
        .start()
        .await;
    let client = Client::new(server.endpoint()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, data(40_000)).unwrap();
    let store = Arc::new(MemoryStorage::new());
    let token = tusky::CancellationToken::new();
    let cancel = token.clone();
    let mut uploader = client
        .uploader()
        .path(&path)
        .parallel(2)
        .chunk_size(10_000)
        .storage(store.clone())
        .cancellation_token(token)
        .on_progress(move |e| {
            if matches!(e, tusky::ProgressEvent::Acknowledged { .. }) {
                cancel.cancel();
            }
        })
        .build()
        .unwrap();
    assert!(uploader.upload().await.is_err());
    let records = store.list().await.unwrap();
    let parallel: Vec<_> = records
        .iter()
        .filter(|(_, r)| !r.partial_urls.is_empty())
        .collect();
    assert_eq!(parallel.len(), 1, "{records:?}");
    let expires = parallel[0]
        .1
        .expires_unix
        .expect("the record has the partials' expiry");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        expires > now + 3000 && expires <= now + 3601,
        "{expires} vs {now}"
    );
}

#[tokio::test]
async fn a_stream_growing_past_tus_max_size_fails_with_too_large() {
    let server = TusMockServer::builder().max_size(10_000).start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let (mut writer, reader) = tokio::io::duplex(1024);
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let _ = writer.write_all(&data(50_000)).await;
    });
    let mut uploader = client
        .uploader()
        .stream(reader)
        .chunk_size(4000)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(
        matches!(
            error,
            tusky::Error::TooLarge {
                max_size: 10_000,
                ..
            }
        ),
        "{error:?}"
    );
    // Nothing past the limit was sent: the PATCHes stopped at the last chunk that fits.
    let patches = server.requests_by_method("PATCH").await;
    assert!(patches.iter().all(|p| p.body.len() <= 4000));
    assert!(server.uploads()[0].offset <= 10_000);
}

#[tokio::test]
async fn an_explicit_url_is_recorded_so_a_later_run_resumes_it_from_the_store() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(30_000);
    let mut creator = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .creation_with_upload(false)
        .build()
        .unwrap();
    let url = creator.create().await.unwrap();
    let store = Arc::new(MemoryStorage::new());
    let mut first = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .url(url.as_str())
        .chunk_size(10_000)
        .storage(store.clone())
        .build()
        .unwrap();
    first.upload_until(10_000).await.unwrap();
    let mut second = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(10_000)
        .storage(store.clone())
        .build()
        .unwrap();
    let summary = second.upload().await.unwrap();
    assert_eq!(summary.url, url);
    assert_eq!(summary.resumed_from, Some(10_000));
    assert_eq!(server.upload_bytes(url.as_str()).unwrap(), bytes);
    assert_eq!(server.uploads().len(), 1);
}

#[tokio::test]
async fn a_413_to_a_creation_post_with_data_creates_again_without_a_body() {
    use wiremock::matchers::{header_exists, method};
    let server = TusMockServer::start().await;
    // A proxy in front refusing large POST bodies (the tus server itself would accept them).
    wiremock::Mock::given(method("POST"))
        .and(header_exists("content-type"))
        .respond_with(wiremock::ResponseTemplate::new(413).set_body_string("body too large"))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(20_000);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(8000)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
    let posts = server.requests_by_method("POST").await;
    assert_eq!(posts.len(), 2);
    assert!(posts[1].body.is_empty());
}

#[test]
fn a_zero_stall_timeout_is_refused_at_build() {
    let client = Client::new("http://127.0.0.1:9/files/").unwrap();
    let error = client
        .uploader()
        .reader(Cursor::new(vec![1u8]))
        .stall_timeout(Some(std::time::Duration::ZERO))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("stall timeout"), "{error}");
}

#[tokio::test]
async fn a_partial_that_started_over_is_recorded_with_its_new_url() {
    use tusky::storage::Storage;
    let server = TusMockServer::start().await;
    // The first PATCH of the run finds its partial upload gone: that partial starts over.
    // Once the replacement (the third upload) receives bytes, the run is cancelled.
    let replaced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = replaced.clone();
    server.set_patch_hook(move |ctx: &tusky::mock::PatchContext| {
        if ctx.number == 1 {
            return PatchAction::Fail(404);
        }
        if ctx.upload_id.ends_with('3') {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        PatchAction::Accept
    });
    let client = Client::new(server.endpoint()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, data(60_000)).unwrap();
    let store = Arc::new(MemoryStorage::new());
    let token = tusky::CancellationToken::new();
    let cancel = token.clone();
    let mut uploader = client
        .uploader()
        .path(&path)
        .parallel(2)
        .chunk_size(5_000)
        .creation_with_upload(false)
        .retry_delay(3, std::time::Duration::from_millis(1))
        .storage(store.clone())
        .cancellation_token(token)
        .on_progress(move |e| {
            if matches!(e, tusky::ProgressEvent::Acknowledged { .. })
                && replaced.load(std::sync::atomic::Ordering::SeqCst)
            {
                cancel.cancel();
            }
        })
        .build()
        .unwrap();
    assert!(uploader.upload().await.is_err());
    // The server sees its own host name in request URLs; compare paths.
    let gone = server.requests_by_method("PATCH").await[0]
        .url
        .path()
        .to_owned();
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    let partials = &records[0].1.partial_urls;
    assert_eq!(partials.len(), 2);
    assert!(
        !partials.iter().any(|p| p.ends_with(&gone)),
        "{gone} still in {partials:?}"
    );
    assert_eq!(
        server.uploads().len(),
        3,
        "two partials and the one that replaced the gone one"
    );
}

#[tokio::test]
async fn a_resumed_parallel_upload_starts_at_the_bytes_the_server_holds() {
    let server = Arc::new(TusMockServer::start().await);
    let client = Client::new(server.endpoint()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let bytes = data(80_000);
    std::fs::write(&path, &bytes).unwrap();
    let store = Arc::new(MemoryStorage::new());
    let token = tusky::CancellationToken::new();
    let cancel = token.clone();
    let mut first = client
        .uploader()
        .path(&path)
        .parallel(2)
        .chunk_size(10_000)
        .creation_with_upload(false)
        .storage(store.clone())
        .cancellation_token(token)
        .on_progress(move |e| {
            if matches!(e, tusky::ProgressEvent::Acknowledged { offset, .. } if *offset >= 20_000) {
                cancel.cancel();
            }
        })
        .build()
        .unwrap();
    assert!(first.upload().await.is_err());
    // What the server holds is read when the second run reports Started (a request the first
    // run dropped in flight may still have landed after it returned).
    let started = Arc::new(std::sync::Mutex::new(None));
    let seen = started.clone();
    let watched = server.clone();
    let mut second = client
        .uploader()
        .path(&path)
        .parallel(2)
        .chunk_size(10_000)
        .storage(store.clone())
        .on_progress(move |e| {
            if let tusky::ProgressEvent::Started {
                offset, resumed, ..
            } = e
            {
                let held: u64 = watched.uploads().iter().map(|u| u.offset).sum();
                *seen.lock().unwrap() = Some((*offset, *resumed, held));
            }
        })
        .build()
        .unwrap();
    let summary = second.upload().await.unwrap();
    let (offset, resumed, held) = started.lock().unwrap().expect("Started was reported");
    assert!(resumed);
    assert!(held > 0 && held < 80_000, "{held}");
    assert_eq!(offset, held);
    assert_eq!(summary.resumed_from, Some(held));
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
}
