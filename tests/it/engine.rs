//! Regression tests for the engine's shape: explicit upload state, parallel uploads apart,
//! one retry path, records scoped to their server, one blocking runtime per client, transport
//! layers, and the generic builder's defaults.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tusky::fingerprint::{DefaultFingerprint, Fingerprint, Md5Fingerprint};
use tusky::mock::TusMockServer;
use tusky::storage::{scoped_key, MemoryStorage, NoStorage, Storage, UploadRecord};
use tusky::transport::layers::Recording;
use tusky::transport::ReqwestTransport;
use tusky::{Client, Error, ProgressEvent, Uploader};

use crate::common::{
    client_for, data, patch_upload_of, reader_of, server_and_client, stored_keys,
    temp_file as file, upload_error, upload_exactly, Events,
};

/// A parallel(2) upload of the file at `path` whose record `store` keeps after success.
fn kept_parallel(
    client: &Client,
    path: &std::path::Path,
    store: &Arc<MemoryStorage>,
) -> tusky::UploaderBuilder<ReqwestTransport, Arc<MemoryStorage>, DefaultFingerprint> {
    client
        .uploader()
        .path(path)
        .parallel(2)
        .storage(Arc::clone(store))
        .remove_record_on_success(false)
}

/// Finding 1: a finished parallel upload is a known remote upload with its length declared,
/// so a second `upload()` on the same uploader is a no-op that returns `Ok` (it used to PATCH
/// the final upload and fail with 403), like a single upload.
#[tokio::test]
async fn upload_again_after_a_parallel_upload_is_ok() {
    let server = TusMockServer::start().await;
    let bytes = data(30_000);
    let (_dir, path) = file(&bytes);
    let client = client_for(&server);
    let mut uploader = client.uploader().path(&path).parallel(3).build().unwrap();
    let first = uploader.upload().await.unwrap();
    let requests = server.received_requests().await.len();
    let again = uploader.upload().await.unwrap();
    assert_eq!(again.url, first.url);
    assert_eq!(again.offset, 30_000);
    assert_eq!(again.bytes_uploaded, 0);
    assert_eq!(
        server.received_requests().await.len(),
        requests,
        "nothing sent again"
    );
    assert_eq!(server.upload_bytes(first.url.as_str()).unwrap(), bytes);
}

/// Finding 2: a kept record of a finished parallel upload is checked with the single upload's
/// HEAD, and reports `Started` (resumed) and `Finished` like a finished single upload.
#[tokio::test]
async fn a_kept_finished_parallel_upload_reports_started_and_finished() {
    let server = TusMockServer::start().await;
    let bytes = data(20_000);
    let (_dir, path) = file(&bytes);
    let client = client_for(&server);
    let store = Arc::new(MemoryStorage::new());
    let build = |events: Option<Events>| {
        let builder = kept_parallel(&client, &path, &store);
        match events {
            Some(events) => builder.on_progress(events.callback()).build().unwrap(),
            None => builder.build().unwrap(),
        }
    };
    let first = build(None).upload().await.unwrap();
    let uploads = server.uploads().len();

    let events = Events::default();
    let second = build(Some(events.clone())).upload().await.unwrap();
    assert_eq!(second.url, first.url);
    assert_eq!(server.uploads().len(), uploads, "no new upload");
    let all = events.all();
    assert!(
        matches!(
            &all[..],
            [
                ProgressEvent::Started {
                    offset: 20_000,
                    resumed: true,
                    ..
                },
                ProgressEvent::Finished { total: 20_000, .. },
            ]
        ),
        "{all:?}"
    );
}

/// Finding 3: the final concatenation POST goes through the one retry path: after the policy
/// gives up, the error is `RetriesExhausted`, as for every other request.
#[tokio::test]
async fn the_final_post_gives_up_like_every_request() {
    let server = TusMockServer::start().await;
    let (_dir, path) = file(&data(10_000));
    // POSTs 1 and 2 create the partial uploads; the final POST fails every time.
    for n in 3..=10 {
        server.fail_request("POST", n, 503);
    }
    let client = client_for(&server);
    let error = upload_error(
        client
            .uploader()
            .path(&path)
            .parallel(2)
            .retry_delay(2, Duration::from_millis(1)),
    )
    .await;
    assert!(
        matches!(&error, Error::RetriesExhausted { attempts: 3, last } if last.status().map(|s| s.as_u16()) == Some(503)),
        "{error:?}"
    );
    assert_eq!(
        server.request_count("POST"),
        5,
        "2 partials and 3 final attempts"
    );
}

/// Finding 3: checking a kept final upload does not swallow errors: a server that keeps
/// failing the HEAD is an error, not a reason to upload the whole file again.
#[tokio::test]
async fn a_failing_check_of_a_kept_final_upload_is_an_error() {
    let server = TusMockServer::start().await;
    let (_dir, path) = file(&data(10_000));
    let client = client_for(&server);
    let store = Arc::new(MemoryStorage::new());
    let build = || {
        kept_parallel(&client, &path, &store)
            .retry_delay(1, Duration::from_millis(1))
            .build()
            .unwrap()
    };
    build().upload().await.unwrap();
    let uploads = server.uploads().len();
    for n in 1..=5 {
        server.fail_request("HEAD", n, 500);
    }
    let error = build().upload().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500), "{error:?}");
    assert_eq!(server.uploads().len(), uploads, "nothing uploaded again");
}

/// Finding 3: a kept final upload the server no longer has is forgotten and the file is
/// uploaded in parallel again (a gone upload is the one failure that check acts on; it used to
/// fall through to a single upload of the whole file).
#[tokio::test]
async fn a_gone_kept_final_upload_starts_a_new_parallel_upload() {
    let server = TusMockServer::start().await;
    let bytes = data(10_000);
    let (_dir, path) = file(&bytes);
    let client = client_for(&server);
    let store = Arc::new(MemoryStorage::new());
    let build = || kept_parallel(&client, &path, &store).build().unwrap();
    let first = build().upload().await.unwrap();
    client.terminate(first.url.as_str()).await.unwrap();
    let second = build().upload().await.unwrap();
    assert_ne!(second.url, first.url);
    assert_eq!(server.upload_bytes(second.url.as_str()).unwrap(), bytes);
    let partials = server
        .uploads()
        .into_iter()
        .filter(|u| u.concat == tusky::mock::UploadConcat::Partial)
        .count();
    assert_eq!(partials, 4, "two partial uploads per run");
}

/// Finding 4: one store, two servers. Each upload of the same file keeps its own record; the
/// second server gets every byte (it used to "finish" on the first server's upload).
#[tokio::test]
async fn records_are_scoped_to_their_server() {
    let (a, b) = (TusMockServer::start().await, TusMockServer::start().await);
    let bytes = data(40);
    let store = Arc::new(MemoryStorage::new());
    let uploader = |server: &TusMockServer| {
        client_for(server)
            .uploader()
            .reader(Cursor::new(bytes.clone()))
            .chunk_size(10)
            .creation_with_upload(false)
            .storage(Arc::clone(&store))
            .build()
            .unwrap()
    };
    let on_a = uploader(&a).upload_until(20).await.unwrap();
    let on_b = uploader(&b).upload().await.unwrap();
    assert_eq!(on_b.resumed_from, None);
    assert_eq!(b.upload_bytes(on_b.url.as_str()).unwrap(), bytes);
    assert_eq!(
        a.upload(on_a.url.as_str()).unwrap().offset,
        20,
        "A untouched"
    );

    let key = Md5Fingerprint.fingerprint(&bytes, 40);
    let keys: Vec<String> = stored_keys(store.as_ref()).await;
    assert_eq!(
        keys,
        vec![scoped_key(&key, &a.endpoint())],
        "B's record removed when done"
    );
    let resumed = uploader(&a).upload().await.unwrap();
    assert_eq!(resumed.url, on_a.url);
    assert_eq!(resumed.resumed_from, Some(20));
    assert_eq!(a.upload_bytes(on_a.url.as_str()).unwrap(), bytes);
}

/// Finding 4: stores written before keys were scoped stay readable: a record under the bare
/// fingerprint is resumed on its own server (and moved under the scoped key), and ignored, not
/// removed, by an upload to another server.
#[tokio::test]
async fn bare_fingerprint_records_are_read_and_migrated() {
    let (a, b) = (TusMockServer::start().await, TusMockServer::start().await);
    let bytes = data(30);
    let bare = Md5Fingerprint.fingerprint(&bytes, 30);
    let client_a = Client::new(a.endpoint()).unwrap();
    let mut first = reader_of(&client_a, &bytes).chunk_size(10).build().unwrap();
    let partial = first.upload_until(10).await.unwrap();
    let store = Arc::new(MemoryStorage::new());
    let mut legacy = UploadRecord::new(partial.url.as_str()).with_size(30);
    legacy.endpoint = Some(a.endpoint());
    store.set(&bare, legacy.clone()).await.unwrap();

    let mut to_b = Client::new(b.endpoint())
        .unwrap()
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .storage(Arc::clone(&store))
        .build()
        .unwrap();
    assert_eq!(to_b.upload().await.unwrap().resumed_from, None);
    assert_eq!(
        store.get(&bare).await.unwrap(),
        Some(legacy),
        "A's record left alone"
    );

    let mut to_a = reader_of(&client_a, &bytes)
        .storage(Arc::clone(&store))
        .remove_record_on_success(false)
        .build()
        .unwrap();
    let summary = to_a.upload().await.unwrap();
    assert_eq!((summary.url, summary.resumed_from), (partial.url, Some(10)));
    let keys: Vec<String> = stored_keys(store.as_ref()).await;
    assert_eq!(keys, vec![scoped_key(&bare, &a.endpoint())], "migrated");
}

/// Finding 5: the blocking uploaders of one client share one runtime, so a connection pooled
/// by the first is still served when the second uses it (the second's POST used to hang on it
/// until the stall timeout).
#[test]
fn blocking_uploaders_of_one_client_share_one_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TusMockServer::start());
    let endpoint = server.endpoint();
    let outcome = std::thread::spawn(move || {
        let client = Client::new(endpoint).unwrap();
        let upload = |bytes: Vec<u8>| {
            let mut uploader = client
                .uploader()
                .reader(tusky::blocking::SyncReader::new(Cursor::new(bytes)))
                .stall_timeout(Some(Duration::from_secs(2)))
                .retries(0)
                .build_blocking()
                .unwrap();
            let summary = uploader.upload();
            (uploader, summary)
        };
        let (_kept_alive, first) = upload(data(1000));
        let (_second, second) = upload(data(2000));
        (first.map(|s| s.url), second.map(|s| s.url))
    })
    .join()
    .unwrap();
    let (first, second) = (outcome.0.unwrap(), outcome.1.unwrap());
    assert_eq!(server.upload_bytes(first.as_str()).unwrap(), data(1000));
    assert_eq!(server.upload_bytes(second.as_str()).unwrap(), data(2000));
}

/// Finding 6: a custom transport does not silently lose the builder's TLS and timeout
/// settings: the combination is refused.
#[test]
fn a_custom_transport_refuses_transport_settings() {
    let transport = ReqwestTransport::new(Default::default()).unwrap();
    let error = Client::builder()
        .endpoint("https://tus.example/files/")
        .read_timeout(Duration::from_secs(5))
        .build_with_transport(transport.clone())
        .unwrap_err();
    assert!(
        matches!(error, Error::Config(ref m) if m.contains("custom transport")),
        "{error}"
    );
    let client = Client::builder()
        .endpoint("https://tus.example/files/")
        .build_with_transport(transport);
    assert!(client.is_ok(), "no settings given: fine");
}

/// Finding 6: a user's layer wraps the transport and sees requests as they go on the wire,
/// after tusky's own layers (tus headers, method override).
#[tokio::test]
async fn a_layer_sees_requests_as_sent() {
    let server = TusMockServer::start().await;
    let recording = Recording::new();
    let client = Client::builder()
        .endpoint(server.endpoint())
        .header("Authorization", "Bearer t")
        .method_override(true)
        .layer(recording.clone())
        .build()
        .unwrap();
    let bytes = data(25);
    upload_exactly(&server, patch_upload_of(&client, &bytes, 10), &bytes).await;
    let sent = recording.requests();
    let methods: Vec<String> = sent.iter().map(|r| r.method.to_string()).collect();
    assert_eq!(methods, ["OPTIONS", "POST", "POST", "POST", "POST"]);
    let patches: Vec<_> = sent
        .iter()
        .filter(|r| r.header("x-http-method-override") == Some("PATCH"))
        .collect();
    assert_eq!(patches.len(), 3);
    assert!(patches
        .iter()
        .all(|r| r.header("tus-resumable") == Some("1.0.0")));
    assert!(sent
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer t")));
    assert_eq!(sent[0].header("tus-resumable"), None, "not on OPTIONS");
    assert!(recording.with_method(&Method::PATCH).is_empty());
}

/// Finding 7: an uploader without a storage names no storage in its type.
#[tokio::test]
async fn the_default_storage_is_none() {
    let client = Client::new("http://127.0.0.1:9/files/").unwrap();
    let uploader: Uploader<ReqwestTransport, NoStorage, DefaultFingerprint> = client
        .uploader()
        .reader(Cursor::new(data(1)))
        .build()
        .unwrap();
    assert_eq!(uploader.fingerprint_key(), None);
}

/// A stored expiry too far in the future to represent is taken as none (it used to panic).
#[tokio::test]
async fn a_stored_expiry_beyond_time_does_not_panic() {
    let (server, client) = server_and_client().await;
    let bytes = data(20);
    let mut first = reader_of(&client, &bytes)
        .chunk_size(10)
        .creation_with_upload(false)
        .build()
        .unwrap();
    let partial = first.upload_until(10).await.unwrap();
    let store = Arc::new(MemoryStorage::new());
    let key = scoped_key(&Md5Fingerprint.fingerprint(&bytes, 20), &server.endpoint());
    store
        .set(
            &key,
            UploadRecord::new(partial.url.as_str())
                .with_size(20)
                .with_expires_unix(u64::MAX),
        )
        .await
        .unwrap();
    let mut uploader = reader_of(&client, &bytes).storage(store).build().unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(summary.resumed_from, Some(10));
    assert_eq!(server.upload_bytes(summary.url.as_str()).unwrap(), bytes);
}
