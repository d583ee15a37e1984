//! The 32 tuspy-parity behaviours of `shared/docs/tuspy-parity.md`, one or more tests each
//! (the doc comment names the number). Where the exact request sequence or headers matter the
//! server is plain wiremock; where state matters it is the stateful tus mock server, and the
//! bytes it holds are checked.

use std::io::{Cursor, SeekFrom};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    data, header, header_u64, patch_shape, stored, tus_sequence, with_method, Trickle,
};
use tusky::error::Operation;
use tusky::fingerprint::{Fingerprint, Md5Fingerprint};
use tusky::mock::TusMockServer;
use tusky::storage::{MemoryStorage, Storage, UploadRecord};
use tusky::transport::TransportErrorKind;
use tusky::{ChecksumAlgorithm, Client, Error, NoRetry, DEFAULT_CHUNK_SIZE};

const MS: Duration = Duration::from_millis(1);

/// A `ResponseTemplate` carrying `Tus-Resumable: 1.0.0`.
fn tus(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("Tus-Resumable", "1.0.0")
}

/// Mounts on plain wiremock: POST /files/ → 201 Location /files/{id}.
async fn mount_create(server: &MockServer, id: &str) {
    Mock::given(method("POST"))
        .and(path("/files/"))
        .respond_with(tus(201).insert_header("Location", format!("/files/{id}").as_str()))
        .mount(server)
        .await;
}

fn endpoint_of(server: &MockServer) -> String {
    format!("{}/files/", server.uri())
}

fn temp_file(contents: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, contents).unwrap();
    file
}

fn md5_key(bytes: &[u8]) -> String {
    Md5Fingerprint.fingerprint(bytes, bytes.len() as u64)
}

/// parity 1
#[test]
fn client_keeps_endpoint_and_headers_and_set_header_overwrites_or_adds() {
    let client = Client::builder()
        .endpoint("https://tus.example/files/")
        .header("Authorization", "Bearer one")
        .header("X-Tenant", "acme")
        .build()
        .unwrap();
    assert_eq!(
        client.endpoint().map(|u| u.as_str()),
        Some("https://tus.example/files/")
    );
    assert_eq!(client.headers()["authorization"], "Bearer one");

    client.set_header("Authorization", "Bearer two").unwrap();
    client.set_header("X-New", "yes").unwrap();
    let headers = client.headers();
    assert_eq!(
        headers.get_all("authorization").iter().collect::<Vec<_>>(),
        ["Bearer two"],
        "overwritten, not appended"
    );
    assert_eq!(headers["x-tenant"], "acme", "other headers kept");
    assert_eq!(headers["x-new"], "yes", "new header added");
    assert_eq!(headers.len(), 3);
    assert_eq!(
        client.endpoint().map(|u| u.as_str()),
        Some("https://tus.example/files/")
    );
}

/// parity 2
#[tokio::test]
async fn an_uploader_uses_its_clients_endpoint_and_headers() {
    let server = TusMockServer::start().await;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .header("Authorization", "Bearer parity2")
        .build()
        .unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .build()
        .unwrap();
    let url = uploader.create().await.unwrap();

    let posts = server.requests_by_method("POST").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].url.path(),
        "/files/",
        "created at the client's endpoint"
    );
    assert_eq!(
        header(&posts[0], "authorization").as_deref(),
        Some("Bearer parity2")
    );
    assert!(url.as_str().starts_with(&server.endpoint()));
    assert_eq!(server.uploads().len(), 1);
}

/// parity 3
#[tokio::test]
async fn defaults_offset_zero_no_url_and_a_bounded_chunk_size() {
    let client = Client::new("http://127.0.0.1:9/files/").unwrap();
    let uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .build()
        .unwrap();
    assert_eq!(uploader.offset(), 0);
    assert!(uploader.url().is_none());
    assert_eq!(uploader.chunk_size(), DEFAULT_CHUNK_SIZE);
    assert_eq!(
        DEFAULT_CHUNK_SIZE,
        8 * 1024 * 1024,
        "the documented default"
    );
}

/// parity 3: the default chunk size really bounds a PATCH (tuspy sends the whole file).
#[tokio::test]
async fn default_chunk_size_splits_a_larger_file() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let size = DEFAULT_CHUNK_SIZE as usize + 1;
    let bytes = data(size);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .creation_with_upload(false)
        .build()
        .unwrap();
    assert!(uploader.url().is_none());
    let summary = uploader.upload().await.unwrap();
    let requests = server.received_requests().await;
    assert_eq!(
        patch_shape(&requests),
        [(0, DEFAULT_CHUNK_SIZE as usize), (DEFAULT_CHUNK_SIZE, 1)]
    );
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// parity 4
#[tokio::test]
async fn every_request_carries_tus_resumable_and_the_current_client_headers() {
    let server = TusMockServer::start().await;
    let client = Client::builder()
        .endpoint(server.endpoint())
        .header("Authorization", "one")
        .build()
        .unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(30)))
        .chunk_size(10)
        .header("X-Uploader", "u")
        .creation_with_upload(false)
        .build()
        .unwrap();
    assert_eq!(uploader.upload_chunk().await.unwrap(), 10); // POST + PATCH
    client.clone().set_header("Authorization", "two").unwrap(); // through a clone: shared
    assert_eq!(uploader.upload_chunk().await.unwrap(), 20); // PATCH
    client.set_header("Authorization", "three").unwrap();
    assert_eq!(uploader.get_offset().await.unwrap(), 20); // HEAD

    let requests = server.received_requests().await;
    let tus: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() != "OPTIONS")
        .collect();
    let seen: Vec<(String, String)> = tus
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                header(r, "authorization").unwrap_or_default(),
            )
        })
        .collect();
    let expected = [
        ("POST", "one"),
        ("PATCH", "one"),
        ("PATCH", "two"),
        ("HEAD", "three"),
    ];
    assert_eq!(seen, expected.map(|(m, a)| (m.to_owned(), a.to_owned())));
    for r in &tus {
        assert_eq!(
            header(r, "tus-resumable").as_deref(),
            Some("1.0.0"),
            "{} {}",
            r.method,
            r.url
        );
        assert_eq!(
            header(r, "x-uploader").as_deref(),
            Some("u"),
            "{} {}",
            r.method,
            r.url
        );
    }
}

/// parity 5
#[tokio::test]
async fn head_upload_offset_300_gives_offset_300() {
    for status in [200, 204] {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .and(path("/files/u5"))
            .respond_with(
                tus(status)
                    .insert_header("Upload-Offset", "300")
                    .insert_header("Upload-Length", "1000"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client = Client::new(endpoint_of(&server)).unwrap();
        let mut uploader = client
            .uploader()
            .reader(Cursor::new(data(1000)))
            .url(format!("{}/files/u5", server.uri()))
            .build()
            .unwrap();
        assert_eq!(
            uploader.get_offset().await.unwrap(),
            300,
            "HEAD answered {status}"
        );
        assert_eq!(uploader.offset(), 300);
        server.verify().await;
    }
}

/// parity 6
#[tokio::test]
async fn metadata_is_sent_as_key_space_base64_pairs() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(4)))
        .metadata("foo", "bar")
        .metadata("red", "blue")
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    let posts = server.requests_by_method("POST").await;
    let sent = header(&posts[0], "upload-metadata").unwrap();
    assert_eq!(
        sent.split(',').collect::<Vec<_>>(),
        ["foo YmFy", "red Ymx1ZQ=="]
    );
    let upload = server.upload(summary.url.as_str()).unwrap();
    assert_eq!(upload.metadata_value("foo"), Some("bar"));
    assert_eq!(upload.metadata_value("red"), Some("blue"));
}

/// parity 6
#[tokio::test]
async fn bad_metadata_keys_are_rejected_before_any_request() {
    let server = MockServer::start().await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    for key in ["foo, ", "foo,", "fo o", "a,b", ""] {
        let result = client
            .uploader()
            .reader(Cursor::new(data(4)))
            .metadata(key, "x")
            .build();
        let error = result.expect_err(key);
        assert!(matches!(error, Error::Metadata(_)), "{key:?}: {error:?}");
        assert!(
            error.to_string().contains("metadata key"),
            "{key:?}: {error}"
        );
    }
    let duplicate = client
        .uploader()
        .reader(Cursor::new(data(4)))
        .metadata("k", "1")
        .metadata("k", "2")
        .build();
    assert!(matches!(duplicate, Err(Error::Metadata(_))));
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}

/// parity 7
#[tokio::test]
async fn utf8_metadata_values_are_base64_of_their_utf8_bytes() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let value = "päivää ☃ 日本";
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(4)))
        .metadata("name", value)
        .build()
        .unwrap();
    let url = uploader.create().await.unwrap();
    let posts = server.requests_by_method("POST").await;
    // base64 of the UTF-8 bytes, computed outside tusky
    assert_eq!(
        header(&posts[0], "upload-metadata").as_deref(),
        Some("name cMOkaXbDpMOkIOKYgyDml6XmnKw=")
    );
    assert_eq!(
        server.upload(url.as_str()).unwrap().metadata_value("name"),
        Some(value)
    );
}

/// parity 8: an absolute `Location` is used as is, even on another host.
#[tokio::test]
async fn an_absolute_location_is_used_as_is() {
    let creator = MockServer::start().await;
    let storage = MockServer::start().await;
    let elsewhere = format!("{}/elsewhere/u8", storage.uri());
    Mock::given(method("POST"))
        .and(path("/files/"))
        .respond_with(tus(201).insert_header("Location", elsewhere.as_str()))
        .mount(&creator)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/elsewhere/u8"))
        .respond_with(tus(204).insert_header("Upload-Offset", "5"))
        .expect(1)
        .mount(&storage)
        .await;
    let client = Client::new(endpoint_of(&creator)).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(b"hello".to_vec()))
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(summary.url.as_str(), elsewhere);
    let patches = storage.received_requests().await.unwrap();
    assert_eq!(patches[0].body, b"hello");
    assert!(with_method(&creator.received_requests().await.unwrap(), "PATCH").is_empty());
}

/// parity 8: a relative `Location` is resolved against the endpoint.
#[tokio::test]
async fn a_relative_location_is_resolved_against_the_endpoint() {
    // `/files/{id}` from the tus mock
    let server = TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(100);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(40)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    let id = &server.uploads()[0].id;
    assert_eq!(summary.url.as_str(), format!("{}{id}", server.endpoint()));
    assert_eq!(stored(&server, &summary.url), bytes);

    // a bare relative reference, `sub/u8`, resolves under the endpoint's path
    let plain = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(tus(201).insert_header("Location", "sub/u8"))
        .mount(&plain)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/files/sub/u8"))
        .respond_with(tus(204).insert_header("Upload-Offset", "3"))
        .expect(1)
        .mount(&plain)
        .await;
    let client = Client::new(endpoint_of(&plain)).unwrap();
    let summary = client
        .uploader()
        .reader(Cursor::new(b"abc".to_vec()))
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();
    assert_eq!(
        summary.url.as_str(),
        format!("{}/files/sub/u8", plain.uri())
    );
    plain.verify().await;
}

/// parity 9
#[tokio::test]
async fn a_second_uploader_finds_the_stored_url_and_resumes_from_the_servers_offset() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let store = Arc::new(MemoryStorage::new());
    let bytes = data(30);
    let mut first = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(10)
        .storage(store.clone())
        .build()
        .unwrap();
    let partial = first.upload_until(10).await.unwrap();
    drop(first);
    assert_eq!(server.upload(partial.url.as_str()).unwrap().offset, 10);
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].0,
        md5_key(&bytes),
        "keyed by the tuspy-compatible fingerprint"
    );
    assert_eq!(records[0].1.url, partial.url.as_str());

    let mut second = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(10)
        .storage(store.clone())
        .build()
        .unwrap();
    let summary = second.upload().await.unwrap();
    assert_eq!(summary.url, partial.url);
    assert_eq!(summary.resumed_from, Some(10));
    assert_eq!(summary.bytes_uploaded, 20);
    assert_eq!(
        server.request_count("POST"),
        1,
        "no second upload was created"
    );
    assert_eq!(stored(&server, &summary.url), bytes);
    let patch_offsets: Vec<u64> = patch_shape(&server.received_requests().await)
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(patch_offsets.last(), Some(&20));
    assert!(
        !patch_offsets[1..].contains(&0),
        "nothing resent from 0: {patch_offsets:?}"
    );
}

/// parity 9 (and the brief's item 2): resume through a `JsonFileStorage`, each uploader with
/// its own handle on the same file.
#[tokio::test]
async fn resume_through_a_json_file_store_with_a_new_handle() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("uploads.json");
    let bytes = data(4000);
    let file = temp_file(&bytes);

    let mut first = client
        .uploader()
        .path(file.path())
        .chunk_size(1000)
        .storage(tusky::storage::JsonFileStorage::open(&store_path).unwrap())
        .build()
        .unwrap();
    let partial = first.upload_until(2000).await.unwrap();
    assert_eq!(partial.offset, 2000);

    let second_store = tusky::storage::JsonFileStorage::open(&store_path).unwrap();
    assert_eq!(
        second_store.list().await.unwrap().len(),
        1,
        "the record is on disk"
    );
    let mut second = client
        .uploader()
        .path(file.path())
        .chunk_size(1000)
        .storage(second_store)
        .build()
        .unwrap();
    let summary = second.upload().await.unwrap();
    assert_eq!(summary.url, partial.url);
    assert_eq!(summary.resumed_from, Some(2000));
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(stored(&server, &summary.url), bytes);
    let reopened = tusky::storage::JsonFileStorage::open(&store_path).unwrap();
    assert!(
        reopened.list().await.unwrap().is_empty(),
        "the finished upload's record is gone"
    );
}

/// parity 9 (and the brief's item 2): resume through a `RedbStorage`; the first handle is
/// dropped (redb locks the file) before the second uploader opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_through_a_redb_store_after_reopening_it() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("uploads.redb");
    let bytes = data(4000);
    let file = temp_file(&bytes);

    let mut first = client
        .uploader()
        .path(file.path())
        .chunk_size(1000)
        .storage(tusky::storage::RedbStorage::open(&store_path).unwrap())
        .build()
        .unwrap();
    let partial = first.upload_until(3000).await.unwrap();
    assert!(
        tusky::storage::RedbStorage::open(&store_path).is_err(),
        "still locked by the first uploader"
    );
    drop(first);

    let store = tusky::storage::RedbStorage::open(&store_path).unwrap();
    let mut second = client
        .uploader()
        .path(file.path())
        .chunk_size(1000)
        .storage(store.clone())
        .build()
        .unwrap();
    let summary = second.upload().await.unwrap();
    assert_eq!(summary.url, partial.url);
    assert_eq!(summary.resumed_from, Some(3000));
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(stored(&server, &summary.url), bytes);
    assert!(store.list().await.unwrap().is_empty());
}

/// parity 10
#[tokio::test]
async fn a_stored_url_that_is_gone_is_forgotten_and_a_new_upload_created() {
    for status in [404u16, 410, 403] {
        let server = TusMockServer::start().await;
        if status != 404 {
            // (the tus mock answers 404 for an unknown upload by itself)
            Mock::given(method("HEAD"))
                .and(path("/files/stale"))
                .respond_with(tus(status))
                .mount(server.wiremock())
                .await;
        }
        let stale = format!("{}stale", server.endpoint());
        let bytes = data(50);
        let key = md5_key(&bytes);
        let store = Arc::new(MemoryStorage::new());
        store
            .set(&key, UploadRecord::new(&stale).with_size(50))
            .await
            .unwrap();

        let client = Client::new(server.endpoint()).unwrap();
        let mut uploader = client
            .uploader()
            .reader(Cursor::new(bytes.clone()))
            .chunk_size(20)
            .storage(store.clone())
            .remove_record_on_success(false)
            .build()
            .unwrap();
        let summary = uploader
            .upload()
            .await
            .unwrap_or_else(|e| panic!("HEAD {status}: {e}"));
        assert_ne!(summary.url.as_str(), stale);
        assert_eq!(summary.resumed_from, None);
        assert_eq!(server.uploads().len(), 1, "HEAD {status}: one new upload");
        assert_eq!(stored(&server, &summary.url), bytes);
        let record = store
            .get(&key)
            .await
            .unwrap()
            .expect("the new upload is recorded");
        assert_eq!(
            record.url,
            summary.url.as_str(),
            "HEAD {status}: the stale URL was replaced"
        );
        let heads = server.requests_by_method("HEAD").await;
        assert_eq!(heads.len(), 1);
        assert_eq!(heads[0].url.path(), "/files/stale");
    }
}

/// parity 10: the gone URL is removed from the store even when creating the new upload fails.
#[tokio::test]
async fn a_gone_stored_url_is_removed_even_if_the_new_upload_cannot_be_created() {
    let server = TusMockServer::start().await;
    server.fail_next_post(500);
    let bytes = data(50);
    let key = md5_key(&bytes);
    let store = Arc::new(MemoryStorage::new());
    store
        .set(
            &key,
            UploadRecord::new(format!("{}stale", server.endpoint())).with_size(50),
        )
        .await
        .unwrap();
    let client = Client::new(server.endpoint()).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes))
        .storage(store.clone())
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500), "{error}");
    assert_eq!(
        store.get(&key).await.unwrap(),
        None,
        "the gone URL is no longer stored"
    );
}

/// parity 11
#[tokio::test]
async fn request_length_is_the_least_of_chunk_size_remaining_and_stop_at() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(9);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(4)
        .creation_with_upload(false)
        .build()
        .unwrap();
    assert_eq!(uploader.upload_until(6).await.unwrap().offset, 6); // 4, then stop_at - offset = 2
    let summary = uploader.upload().await.unwrap(); // remaining = 3 < chunk size
    assert_eq!(
        patch_shape(&server.received_requests().await),
        [(0, 4), (4, 2), (6, 3)]
    );
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// parity 12: a reader (here an open file) is used as given and handed back open.
#[tokio::test]
async fn a_reader_source_is_not_closed_and_comes_back_with_into_reader() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(3000);
    let file = temp_file(&bytes);
    let reader = tokio::fs::File::open(file.path()).await.unwrap();
    let mut uploader = client
        .uploader()
        .reader(reader)
        .chunk_size(1000)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);

    let mut reader = uploader
        .into_reader()
        .expect("the caller's reader comes back");
    reader.seek(SeekFrom::Start(0)).await.unwrap();
    let mut again = Vec::new();
    reader.read_to_end(&mut again).await.unwrap();
    assert_eq!(again, bytes, "still open and readable");

    // before any request too
    let unused = client
        .uploader()
        .reader(Cursor::new(b"xyz".to_vec()))
        .build()
        .unwrap();
    let mut back = unused.into_reader().unwrap();
    let mut text = String::new();
    back.read_to_string(&mut text).await.unwrap();
    assert_eq!(text, "xyz");
}

/// parity 12: a path is opened by tusky when the upload starts (what is on disk then is
/// uploaded), and tusky keeps that file to itself.
#[tokio::test]
async fn a_path_source_is_opened_when_the_upload_runs() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("video.bin");
    std::fs::write(&file, b"old contents").unwrap();
    let mut uploader = client.uploader().path(&file).chunk_size(7).build().unwrap();
    let new_contents = data(1500);
    std::fs::write(&file, &new_contents).unwrap(); // changed (and resized) after build
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), new_contents);
    assert_eq!(
        server.upload(summary.url.as_str()).unwrap().length,
        Some(1500)
    );
    // what comes back is the file tusky opened at upload time
    let mut opened = uploader.into_reader().expect("the opened file");
    opened.seek(SeekFrom::Start(0)).await.unwrap();
    let mut read_back = Vec::new();
    opened.read_to_end(&mut read_back).await.unwrap();
    assert_eq!(read_back, new_contents);

    // and a path that is missing when the upload runs is a clear source error
    let missing = dir.path().join("missing.bin");
    let mut uploader = client.uploader().path(&missing).build().unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(matches!(error, Error::Source { .. }), "{error:?}");
    assert!(error.to_string().contains("missing.bin"), "{error}");
}

/// parity 13
#[tokio::test]
async fn the_size_of_a_path_source_is_its_size_on_disk() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let file = temp_file(&data(3001));
    let on_disk = std::fs::metadata(file.path()).unwrap().len();
    let mut uploader = client
        .uploader()
        .path(file.path())
        .creation_with_upload(false)
        .build()
        .unwrap();
    uploader.create().await.unwrap();
    assert_eq!(uploader.size(), Some(on_disk));
    let posts = server.requests_by_method("POST").await;
    assert_eq!(header_u64(&posts[0], "upload-length"), Some(3001));
}

/// parity 14
#[tokio::test]
async fn upload_chunk_moves_the_offset_by_what_the_server_acknowledged() {
    let server = TusMockServer::start().await;
    server.accept_partial_patch(1, 3);
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(25);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(10)
        .creation_with_upload(false)
        .build()
        .unwrap();
    assert_eq!(
        uploader.upload_chunk().await.unwrap(),
        3,
        "10 sent, 3 taken"
    );
    assert_eq!(uploader.offset(), 3);
    let url = uploader.url().unwrap().to_string();
    assert_eq!(server.upload(&url).unwrap().offset, 3);
    assert_eq!(uploader.upload_chunk().await.unwrap(), 13);
    assert_eq!(server.upload_bytes(&url).unwrap(), &bytes[..13]);
    assert_eq!(
        patch_shape(&server.received_requests().await),
        [(0, 10), (3, 10)]
    );
}

/// parity 15
#[tokio::test]
async fn upload_chunk_without_a_url_creates_the_upload_first() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(25);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(10)
        .creation_with_upload(false)
        .build()
        .unwrap();
    assert!(uploader.url().is_none());
    assert_eq!(uploader.upload_chunk().await.unwrap(), 10);
    let url = uploader.url().expect("created").clone();
    let id = url.path().to_owned();
    assert_eq!(
        tus_sequence(&server.received_requests().await),
        ["POST /files/".to_owned(), format!("PATCH {id}")]
    );
    assert_eq!(server.upload_bytes(url.as_str()).unwrap(), &bytes[..10]);
}

/// parity 16
#[tokio::test]
async fn upload_ends_at_the_file_size_with_exactly_the_files_bytes_on_the_server() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(5000);
    let file = temp_file(&bytes);
    let mut uploader = client
        .uploader()
        .path(file.path())
        .chunk_size(1024)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(summary.offset, 5000);
    assert_eq!(uploader.offset(), 5000);
    assert_eq!(summary.bytes_uploaded, 5000);
    let upload = server.upload(summary.url.as_str()).unwrap();
    assert!(upload.is_complete());
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// parity 17
#[tokio::test]
async fn exhausted_retries_say_how_many_attempts_and_the_last_status() {
    let server = TusMockServer::start().await;
    server.set_patch_hook(|_: &tusky::mock::PatchContext| tusky::mock::PatchAction::Fail(503));
    let client = Client::new(server.endpoint()).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .creation_with_upload(false)
        .retry_delay(2, MS)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    let Error::RetriesExhausted { attempts, last } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*attempts, 3);
    assert_eq!(last.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    let text = error.to_string();
    assert!(text.contains("3 attempts"), "{text}");
    assert!(text.contains("503"), "{text}");
    assert_eq!(server.request_count("PATCH"), 3);
}

/// parity 18
#[tokio::test]
async fn an_empty_file_is_one_post_with_length_zero_and_no_patch() {
    let file = temp_file(b"");
    for from_path in [true, false] {
        let server = TusMockServer::start().await;
        let client = Client::new(server.endpoint()).unwrap();
        let builder = client.uploader();
        let builder = if from_path {
            builder.path(file.path())
        } else {
            builder.reader(Cursor::new(Vec::new()))
        };
        let summary = builder.build().unwrap().upload().await.unwrap();
        assert_eq!(summary.offset, 0);
        let requests = server.received_requests().await;
        let posts = with_method(&requests, "POST");
        assert_eq!(posts.len(), 1);
        assert_eq!(header(posts[0], "upload-length").as_deref(), Some("0"));
        assert!(posts[0].body.is_empty());
        assert!(
            with_method(&requests, "PATCH").is_empty(),
            "path: {from_path}"
        );
        let upload = server.upload(summary.url.as_str()).unwrap();
        assert_eq!(upload.length, Some(0));
        assert!(upload.is_complete());
    }
}

/// parity 19
#[tokio::test]
async fn every_patch_carries_the_checksum_of_its_own_body() {
    let server = TusMockServer::start().await; // verifies checksums (460 on a mismatch)
    let client = Client::new(server.endpoint()).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(b"abcdefghij".to_vec()))
        .chunk_size(4)
        .checksum(ChecksumAlgorithm::Sha1)
        .creation_with_upload(false)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    let requests = server.received_requests().await;
    let sent: Vec<(Vec<u8>, String)> = with_method(&requests, "PATCH")
        .into_iter()
        .map(|r| {
            (
                r.body.clone(),
                header(r, "upload-checksum").expect("Upload-Checksum"),
            )
        })
        .collect();
    // digests computed outside tusky (openssl dgst -sha1 -binary | base64)
    assert_eq!(
        sent,
        [
            (
                b"abcd".to_vec(),
                "sha1 gf6L/odXbD7LIkJvjleEc4KRes8=".to_owned()
            ),
            (
                b"efgh".to_vec(),
                "sha1 Ku2Kqfgmwh7wfV7hW0juoG6cimI=".to_owned()
            ),
            (
                b"ij".to_vec(),
                "sha1 TPo4CnoFriYnD16oiACVIKtUtnc=".to_owned()
            ),
        ]
    );
    assert_eq!(stored(&server, &summary.url), b"abcdefghij");
}

/// parity 19: after a partial acceptance the next body starts elsewhere, and its checksum
/// is of that body, not of the planned chunk.
#[tokio::test]
async fn checksums_follow_the_body_after_a_partial_acceptance() {
    use base64::Engine;
    use sha1::Digest;
    let server = TusMockServer::start().await;
    server.accept_partial_patch(1, 300);
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(2500);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(1000)
        .checksum(ChecksumAlgorithm::Sha1)
        .creation_with_upload(false)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    let requests = server.received_requests().await;
    assert_eq!(
        patch_shape(&requests),
        [(0, 1000), (300, 1000), (1300, 1000), (2300, 200)]
    );
    for r in with_method(&requests, "PATCH") {
        let digest = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(&r.body));
        assert_eq!(header(r, "upload-checksum"), Some(format!("sha1 {digest}")));
    }
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// parity 20: the flag reaches the transport, and is off unless asked for.
#[test]
fn tls_verification_is_on_by_default_and_off_only_when_asked() {
    let default = Client::new("https://tus.example/files/").unwrap();
    assert!(
        !default
            .transport()
            .options()
            .tls
            .danger_accept_invalid_certs
    );
    let built = Client::builder()
        .endpoint("https://tus.example/files/")
        .build()
        .unwrap();
    assert!(!built.transport().options().tls.danger_accept_invalid_certs);
    let explicit_on = Client::builder()
        .endpoint("https://tus.example/files/")
        .danger_accept_invalid_certs(false)
        .build()
        .unwrap();
    assert!(
        !explicit_on
            .transport()
            .options()
            .tls
            .danger_accept_invalid_certs
    );
    let off = Client::builder()
        .endpoint("https://tus.example/files/")
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert!(off.transport().options().tls.danger_accept_invalid_certs);
}

/// A self-signed certificate for 127.0.0.1 and localhost (P-256, valid 2026-2126), made with
/// `openssl req -x509` for these tests only; the key protects nothing.
const TEST_CERT_PEM: &str = "\
-----BEGIN CERTIFICATE-----
MIIBvzCCAWWgAwIBAgIUWCmworuY7C1Z8VY7Elzqv3BcCxEwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNTIyMTMxNVoYDzIxMjYxMTAx
MjIxMzE1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARM0milmHroOfq6U5racx4pZ36/ASnqe9O/n/SzUmXO1LTksCxqgyLm
tog1DaxyLxz0leqDS8w4FZhF1kOPwgc0o4GSMIGPMB0GA1UdDgQWBBSx1f/TV9Zm
ezuETlf0yDO/a4xSITAfBgNVHSMEGDAWgBSx1f/TV9ZmezuETlf0yDO/a4xSITAa
BgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwDAYDVR0TAQH/BAIwADAOBgNVHQ8B
Af8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwCgYIKoZIzj0EAwIDSAAwRQIh
AN0s8Bj8CD7xq6h5W/w5MhK21VmXs+/i+Peui7DZOv3aAiA76sr288smethz+vd/
klANaVuZO/rlhG8tfEobqvu/3g==
-----END CERTIFICATE-----
";
const TEST_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJ+8y5KRyYQEX+Vxm
0xAJC8foQXxW9bCUaFEAT9BXD6uhRANCAARM0milmHroOfq6U5racx4pZ36/ASnq
e9O/n/SzUmXO1LTksCxqgyLmtog1DaxyLxz0leqDS8w4FZhF1kOPwgc0
-----END PRIVATE KEY-----
";

/// A TLS front (rustls, the certificate above) for `backend`: every connection is
/// decrypted and relayed to it. Returns the front's address.
async fn tls_front(backend: std::net::SocketAddr) -> std::net::SocketAddr {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificate = CertificateDer::from_pem_slice(TEST_CERT_PEM.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(TEST_KEY_PEM.as_bytes()).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // a client that refuses the certificate ends the handshake: nothing to relay
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut plain = tokio::net::TcpStream::connect(backend).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    address
}

/// parity 20: over real TLS with a self-signed certificate, the default client refuses the
/// server, trusting the certificate explicitly works, and turning verification off works.
#[tokio::test]
async fn tls_verification_refuses_a_self_signed_server_unless_turned_off() {
    // relative Locations, so that the PATCHes go through the TLS front too
    let server = TusMockServer::builder()
        .relative_locations(true)
        .start()
        .await;
    let front = tls_front(*server.address()).await;
    let endpoint = format!("https://{front}/files/");
    let bytes = data(3000);
    let upload = |client: Client| {
        let bytes = bytes.clone();
        async move {
            let mut uploader = client
                .uploader()
                .reader(Cursor::new(bytes))
                .chunk_size(1000)
                .retry_policy(NoRetry)
                .build()
                .unwrap();
            uploader.upload().await
        }
    };

    let verifying = Client::new(&endpoint).unwrap();
    let error = upload(verifying).await.unwrap_err();
    let Error::Transport { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(source.kind(), TransportErrorKind::Connect, "{error}");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
    assert!(
        server.received_requests().await.is_empty(),
        "nothing got past the handshake"
    );

    let trusting = Client::builder()
        .endpoint(&endpoint)
        .root_certificate_pem(TEST_CERT_PEM)
        .build()
        .unwrap();
    let summary = upload(trusting).await.unwrap();
    assert!(
        summary.url.as_str().starts_with(&endpoint),
        "{}",
        summary.url
    );
    assert_eq!(server.upload_bytes(summary.url.path()).unwrap(), bytes);

    let unverified = Client::builder()
        .endpoint(&endpoint)
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let summary = upload(unverified).await.unwrap();
    assert!(
        summary.url.as_str().starts_with(&endpoint),
        "{}",
        summary.url
    );
    assert_eq!(server.upload_bytes(summary.url.path()).unwrap(), bytes);
    assert_eq!(server.uploads().len(), 2);
}

/// parity 21
#[tokio::test]
async fn ten_bytes_in_chunks_of_three_are_patches_at_0_3_6_9() {
    let server = MockServer::start().await;
    mount_create(&server, "u21").await;
    for (offset, next) in [(0, 3), (3, 6), (6, 9), (9, 10)] {
        Mock::given(method("PATCH"))
            .and(path("/files/u21"))
            .and(header_is("upload-offset", offset.to_string().as_str()))
            .respond_with(tus(204).insert_header("Upload-Offset", next.to_string().as_str()))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = Client::new(endpoint_of(&server)).unwrap();
    let bytes = b"0123456789".to_vec();
    let summary = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(3)
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();
    assert_eq!(summary.offset, 10);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(patch_shape(&requests), [(0, 3), (3, 3), (6, 3), (9, 1)]);
    let bodies: Vec<&[u8]> = with_method(&requests, "PATCH")
        .iter()
        .map(|r| r.body.as_slice())
        .collect();
    assert_eq!(bodies, [&b"012"[..], b"345", b"678", b"9"]);
    for r in with_method(&requests, "PATCH") {
        assert_eq!(
            header(r, "content-type").as_deref(),
            Some("application/offset+octet-stream")
        );
    }
    server.verify().await;
}

/// parity 22
#[tokio::test]
async fn upload_until_6_with_chunks_of_4_sends_4_then_2_and_stops() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(10);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(4)
        .creation_with_upload(false)
        .build()
        .unwrap();
    let summary = uploader.upload_until(6).await.unwrap();
    assert_eq!(summary.offset, 6);
    assert_eq!(uploader.offset(), 6);
    assert_eq!(
        patch_shape(&server.received_requests().await),
        [(0, 4), (4, 2)]
    );
    let upload = server.upload(summary.url.as_str()).unwrap();
    assert_eq!(upload.offset, 6);
    assert!(!upload.is_complete());
    assert_eq!(stored(&server, &summary.url), &bytes[..6]);
}

/// parity 23
#[tokio::test]
async fn no_metadata_means_no_upload_metadata_header_at_all() {
    let server = MockServer::start().await;
    mount_create(&server, "u23").await;
    Mock::given(method("PATCH"))
        .and(path("/files/u23"))
        .respond_with(tus(204).insert_header("Upload-Offset", "5"))
        .mount(&server)
        .await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    client
        .uploader()
        .reader(Cursor::new(b"hello".to_vec()))
        .build()
        .unwrap()
        .upload()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let posts = with_method(&requests, "POST");
    assert_eq!(posts.len(), 1);
    assert_eq!(
        header(posts[0], "upload-length").as_deref(),
        Some("5"),
        "the POST is the real one"
    );
    for r in &requests {
        assert!(
            !r.headers.contains_key("upload-metadata"),
            "{} {} carries Upload-Metadata",
            r.method,
            r.url
        );
    }
}

/// parity 24, for an upload given by URL: a 403 on PATCH fails at once (no HEAD, no second
/// PATCH, no new upload) with the status and the body in the error. (For an upload the
/// uploader created itself tusky starts over instead: see the report of this suite.)
#[tokio::test]
async fn a_403_on_patch_of_a_given_url_fails_at_once_with_status_and_body() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(10);
    let mut creator = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .creation_with_upload(false)
        .build()
        .unwrap();
    let url = creator.create().await.unwrap();
    Mock::given(method("PATCH"))
        .respond_with(tus(403).set_body_string("quota exceeded for this account"))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let before = server.received_requests().await.len();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes))
        .url(url.as_str())
        .retry_delay(5, MS)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(matches!(error, Error::Status { .. }), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(error.body(), Some("quota exceeded for this account"));
    assert!(error.to_string().contains("quota exceeded"), "{error}");
    assert_eq!(error.context().unwrap().operation, Operation::Patch);
    assert!(!error.is_retryable());
    let requests = server.received_requests().await;
    let id = url.path();
    assert_eq!(
        tus_sequence(&requests[before..]),
        [format!("HEAD {id}"), format!("PATCH {id}")]
    );
    assert_eq!(server.uploads().len(), 1, "no new upload");
}

/// parity 25
#[tokio::test]
async fn a_500_on_patch_is_retried_after_a_head() {
    let server = MockServer::start().await;
    mount_create(&server, "u25").await;
    Mock::given(method("PATCH"))
        .respond_with(tus(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/files/u25"))
        .and(header_is("upload-offset", "0"))
        .respond_with(tus(204).insert_header("Upload-Offset", "10"))
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path("/files/u25"))
        .respond_with(
            tus(200)
                .insert_header("Upload-Offset", "0")
                .insert_header("Upload-Length", "10"),
        )
        .mount(&server)
        .await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    let bytes = data(10);
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .retry_delay(2, MS)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_eq!(summary.offset, 10);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        tus_sequence(&requests),
        [
            "POST /files/",
            "PATCH /files/u25",
            "HEAD /files/u25",
            "PATCH /files/u25",
            "HEAD /files/u25",
            "PATCH /files/u25"
        ]
    );
    for patch in with_method(&requests, "PATCH") {
        assert_eq!(patch.body, bytes, "the whole chunk is resent");
    }
}

/// parity 25: with only 2 attempts allowed the same exchange fails.
#[tokio::test]
async fn a_500_on_patch_fails_when_the_attempts_run_out() {
    let server = MockServer::start().await;
    mount_create(&server, "u25").await;
    Mock::given(method("PATCH"))
        .respond_with(tus(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(tus(204).insert_header("Upload-Offset", "10"))
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .respond_with(
            tus(200)
                .insert_header("Upload-Offset", "0")
                .insert_header("Upload-Length", "10"),
        )
        .mount(&server)
        .await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .retry_delay(1, MS)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 2, .. }),
        "{error:?}"
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        tus_sequence(&requests),
        [
            "POST /files/",
            "PATCH /files/u25",
            "HEAD /files/u25",
            "PATCH /files/u25"
        ]
    );
}

/// parity 26
#[tokio::test]
async fn an_explicit_url_that_is_gone_is_a_clear_error_or_recreated_when_allowed() {
    let server = TusMockServer::start().await;
    let stale = format!("{}gone", server.endpoint());
    let bytes = data(20);
    let client = Client::new(server.endpoint()).unwrap();

    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .url(&stale)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404), "{error:?}");
    let context = error.context().unwrap();
    assert_eq!(context.operation, Operation::Head);
    assert_eq!(context.url.as_deref(), Some(stale.as_str()));
    let text = error.to_string();
    assert!(text.contains(&stale) && text.contains("404"), "{text}");
    assert_eq!(
        server.request_count("POST"),
        0,
        "nothing created without permission"
    );

    // URL-only client: nowhere to recreate, so the same error even when recreating is allowed
    let url_only = Client::builder().build().unwrap();
    let mut uploader = url_only
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .url(&stale)
        .recreate_if_gone(true)
        .build()
        .unwrap();
    assert_eq!(
        uploader
            .upload()
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(404)
    );

    // with an endpoint and permission: a new upload
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .url(&stale)
        .recreate_if_gone(true)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_ne!(summary.url.as_str(), stale);
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(stored(&server, &summary.url), bytes);
}

/// parity 26 with a store: the recreated upload (not the gone URL) is what gets recorded, and
/// without permission to recreate nothing is recorded.
#[tokio::test]
async fn a_recreated_explicit_upload_is_recorded_in_the_store() {
    let server = TusMockServer::start().await;
    let stale = format!("{}gone", server.endpoint());
    let bytes = data(20);
    let key = md5_key(&bytes);
    let client = Client::new(server.endpoint()).unwrap();

    let store = Arc::new(MemoryStorage::new());
    let mut refusing = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .url(&stale)
        .storage(store.clone())
        .build()
        .unwrap();
    assert_eq!(
        refusing
            .upload()
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(404)
    );
    assert!(store.list().await.unwrap().is_empty());

    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(8)
        .url(&stale)
        .recreate_if_gone(true)
        .storage(store.clone())
        .build()
        .unwrap();
    let partial = uploader.upload_until(8).await.unwrap();
    assert_ne!(partial.url.as_str(), stale);
    assert_eq!(
        store.get(&key).await.unwrap().map(|r| r.url),
        Some(partial.url.to_string())
    );
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    assert!(
        store.list().await.unwrap().is_empty(),
        "removed once finished"
    );
}

/// A one-shot tus server on a raw socket: answers the first request (an OPTIONS) with 204,
/// closes the connection and stops listening. Returns the endpoint and the task's handle.
async fn options_then_gone() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/files/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        drop(listener);
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "the client hung up");
            request.extend_from_slice(&buf[..n]);
        }
        assert!(
            request.starts_with(b"OPTIONS "),
            "{}",
            String::from_utf8_lossy(&request)
        );
        socket
            .write_all(b"HTTP/1.1 204 No Content\r\nTus-Resumable: 1.0.0\r\nTus-Version: 1.0.0\r\nTus-Extension: creation\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        socket.shutdown().await.unwrap();
    });
    (endpoint, task)
}

/// parity 27
#[tokio::test]
async fn connection_refused_on_post_is_a_transport_error_naming_the_url() {
    let (endpoint, server) = options_then_gone().await;
    let client = Client::new(&endpoint).unwrap();
    assert!(client
        .capabilities()
        .await
        .unwrap()
        .supports(tusky::protocol::Extension::Creation));
    server.await.unwrap(); // the listener is closed: the POST's connection is refused

    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    let Error::Transport { context, source } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(context.operation, Operation::Create);
    assert_eq!(context.url.as_deref(), Some(endpoint.as_str()));
    assert_eq!(source.kind(), TransportErrorKind::Connect, "{source}");
    assert_eq!(error.status(), None);
    assert_eq!(error.body(), None);
    assert!(error.is_retryable());
    assert!(error.to_string().contains(&endpoint), "{error}");
}

/// parity 27: with nothing listening at all the first request (OPTIONS) fails the same way.
#[tokio::test]
async fn nothing_listening_is_a_transport_error_naming_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/files/", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(&endpoint).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(error.status(), None);
    assert!(error.to_string().contains(&endpoint), "{error}");
}

/// parity 28: every chunk size 1..=6 on a 5-byte stream of unknown length (handed out two
/// bytes per read, like a pipe).
#[tokio::test]
async fn deferred_length_for_every_chunk_size() {
    for chunk in 1..=6u64 {
        let server = TusMockServer::start().await;
        let client = Client::new(server.endpoint()).unwrap();
        let mut uploader = client
            .uploader()
            .stream(Trickle::new(*b"hello", 2))
            .chunk_size(chunk)
            .creation_with_upload(false)
            .build()
            .unwrap();
        let summary = uploader
            .upload()
            .await
            .unwrap_or_else(|e| panic!("chunk {chunk}: {e}"));
        assert_eq!(summary.offset, 5, "chunk {chunk}");
        assert_eq!(stored(&server, &summary.url), b"hello", "chunk {chunk}");
        assert!(
            server.upload(summary.url.as_str()).unwrap().is_complete(),
            "chunk {chunk}"
        );

        let requests = server.received_requests().await;
        let post = with_method(&requests, "POST")[0];
        // The uploader reads one chunk (plus one byte) ahead before the POST: when the stream
        // ended inside that (chunk >= 5 on 5 bytes) the length is known then.
        let deferred = chunk < 5;
        if deferred {
            assert_eq!(
                header(post, "upload-defer-length").as_deref(),
                Some("1"),
                "chunk {chunk}"
            );
            assert_eq!(header(post, "upload-length"), None, "chunk {chunk}");
        } else {
            assert_eq!(
                header(post, "upload-length").as_deref(),
                Some("5"),
                "chunk {chunk}"
            );
            assert_eq!(header(post, "upload-defer-length"), None, "chunk {chunk}");
        }

        let patches = with_method(&requests, "PATCH");
        let mut expected_offset = 0;
        for p in &patches {
            assert_eq!(
                header_u64(p, "upload-offset"),
                Some(expected_offset),
                "chunk {chunk}: offsets in sequence"
            );
            assert!(p.body.len() as u64 <= chunk, "chunk {chunk}");
            expected_offset += p.body.len() as u64;
        }
        assert_eq!(expected_offset, 5);
        let declaring: Vec<u64> = patches
            .iter()
            .filter(|p| p.headers.contains_key("upload-length"))
            .map(|p| header_u64(p, "upload-offset").unwrap())
            .collect();
        if deferred {
            assert_eq!(
                declaring.len(),
                1,
                "chunk {chunk}: Upload-Length declared exactly once"
            );
            let last = patches.last().unwrap();
            assert_eq!(
                header(last, "upload-length").as_deref(),
                Some("5"),
                "chunk {chunk}: the last PATCH declares it"
            );
            // Strict reading: the PATCH whose bytes reach the end declares it, so no empty
            // PATCH follows just to say the length.
            assert!(
                !last.body.is_empty(),
                "chunk {chunk}: the length travels with the last bytes"
            );
        } else {
            assert!(
                declaring.is_empty(),
                "chunk {chunk}: already declared on POST"
            );
        }
    }
}

/// parity 28: the same with creation-with-upload on (the default): the POST carries the
/// first chunk.
#[tokio::test]
async fn deferred_length_with_creation_with_upload() {
    for chunk in 1..=6u64 {
        let server = TusMockServer::start().await;
        let client = Client::new(server.endpoint()).unwrap();
        let mut uploader = client
            .uploader()
            .stream(Trickle::new(*b"hello", 2))
            .chunk_size(chunk)
            .build()
            .unwrap();
        let summary = uploader
            .upload()
            .await
            .unwrap_or_else(|e| panic!("chunk {chunk}: {e}"));
        assert_eq!(summary.offset, 5, "chunk {chunk}");
        assert_eq!(stored(&server, &summary.url), b"hello", "chunk {chunk}");
        assert!(
            server.upload(summary.url.as_str()).unwrap().is_complete(),
            "chunk {chunk}"
        );
        let requests = server.received_requests().await;
        let post = with_method(&requests, "POST")[0];
        assert_eq!(
            post.body,
            &b"hello"[..(chunk as usize).min(5)],
            "chunk {chunk}: the first chunk rides on the POST"
        );
    }
}

/// parity 29
#[tokio::test]
async fn a_non_201_answer_to_post_is_an_error_even_with_a_location() {
    for status in [200u16, 202, 204, 500] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                tus(status)
                    .insert_header("Location", "/files/should-not-be-used")
                    .insert_header("Upload-Offset", "0"),
            )
            .mount(&server)
            .await;
        let client = Client::new(endpoint_of(&server)).unwrap();
        let mut uploader = client
            .uploader()
            .reader(Cursor::new(data(10)))
            .retry_policy(NoRetry)
            .build()
            .unwrap();
        let error = uploader.upload().await.unwrap_err();
        assert!(matches!(error, Error::Status { .. }), "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(error.context().unwrap().operation, Operation::Create);
        assert!(
            uploader.url().is_none(),
            "{status}: the Location was not taken"
        );
        let requests = server.received_requests().await.unwrap();
        assert_eq!(tus_sequence(&requests), ["POST /files/"], "{status}");
    }
}

/// Runs an upload of 10 bytes (chunk 3) against `/files/u30`, whose HEAD answers
/// `head_offset`, with `patch` answering every PATCH; returns the error.
async fn upload_against(head: ResponseTemplate, patch: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .and(path("/files/u30"))
        .respond_with(head)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/files/u30"))
        .respond_with(patch)
        .mount(&server)
        .await;
    let client = Client::new(endpoint_of(&server)).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .chunk_size(3)
        .url(format!("{}/files/u30", server.uri()))
        .retry_delay(2, MS)
        .build()
        .unwrap();
    uploader.upload().await.unwrap_err()
}

fn head_at(offset: u64) -> ResponseTemplate {
    tus(200)
        .insert_header("Upload-Offset", offset.to_string().as_str())
        .insert_header("Upload-Length", "10")
}

fn assert_protocol_error(error: &Error, operation: Operation, words: &str) {
    let Error::Protocol { context, reason } = error else {
        panic!("expected a protocol error, got {error:?}")
    };
    assert_eq!(context.operation, operation, "{error}");
    assert!(
        reason.contains(words),
        "{reason:?} should mention {words:?}"
    );
    assert!(!error.is_retryable());
}

/// parity 30
#[tokio::test]
async fn a_patch_answer_without_a_sane_offset_is_a_protocol_error() {
    let missing = upload_against(head_at(0), tus(204)).await;
    assert_protocol_error(&missing, Operation::Patch, "Upload-Offset");

    let garbage =
        upload_against(head_at(0), tus(204).insert_header("Upload-Offset", "three")).await;
    assert_protocol_error(&garbage, Operation::Patch, "Upload-Offset");

    let negative = upload_against(head_at(0), tus(204).insert_header("Upload-Offset", "-1")).await;
    assert_protocol_error(&negative, Operation::Patch, "Upload-Offset");

    let backwards = upload_against(head_at(6), tus(204).insert_header("Upload-Offset", "2")).await;
    assert_protocol_error(&backwards, Operation::Patch, "backwards");

    // 3 bytes sent from 0, so 4 is beyond them (though within the upload's length)
    let too_far = upload_against(head_at(0), tus(204).insert_header("Upload-Offset", "4")).await;
    assert_protocol_error(&too_far, Operation::Patch, "beyond");

    let overflow = upload_against(
        head_at(0),
        tus(204).insert_header("Upload-Offset", "18446744073709551616"),
    )
    .await;
    assert_protocol_error(&overflow, Operation::Patch, "Upload-Offset");
}

/// parity 30: the same care for a HEAD answer.
#[tokio::test]
async fn a_head_answer_without_a_sane_offset_is_a_protocol_error() {
    let ok_patch = tus(204).insert_header("Upload-Offset", "3");
    let missing = upload_against(
        tus(200).insert_header("Upload-Length", "10"),
        ok_patch.clone(),
    )
    .await;
    assert_protocol_error(&missing, Operation::Head, "Upload-Offset");
    let beyond_length = upload_against(
        tus(200)
            .insert_header("Upload-Offset", "11")
            .insert_header("Upload-Length", "10"),
        ok_patch,
    )
    .await;
    assert_protocol_error(&beyond_length, Operation::Head, "beyond");
}

/// parity 31
#[tokio::test]
async fn a_finished_uploads_record_is_removed_unless_kept() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let bytes = data(100);
    let key = md5_key(&bytes);

    let store = Arc::new(MemoryStorage::new());
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(40)
        .storage(store.clone())
        .build()
        .unwrap();
    let partial = uploader.upload_until(40).await.unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().map(|r| r.url),
        Some(partial.url.to_string()),
        "recorded while unfinished"
    );
    let summary = uploader.upload().await.unwrap();
    assert_eq!(stored(&server, &summary.url), bytes);
    assert!(
        store.list().await.unwrap().is_empty(),
        "removed once finished"
    );

    let kept = Arc::new(MemoryStorage::new());
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .chunk_size(40)
        .storage(kept.clone())
        .remove_record_on_success(false)
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    let record = kept.get(&key).await.unwrap().expect("kept when asked to");
    assert_eq!(record.url, summary.url.as_str());
    assert_eq!(record.size, Some(100));
}

/// parity 32: an explicit URL whose server length differs from the source is refused.
#[tokio::test]
async fn resuming_an_upload_of_another_length_is_refused() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let mut other = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .creation_with_upload(false)
        .build()
        .unwrap();
    let url = other.create().await.unwrap();

    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(12)))
        .url(url.as_str())
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::LengthMismatch {
                server: 10,
                local: 12,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("10") && error.to_string().contains("12"),
        "{error}"
    );
    assert_eq!(
        server.request_count("PATCH"),
        0,
        "nothing sent to the wrong upload"
    );
    assert_eq!(server.uploads().len(), 1);
    assert_eq!(server.upload(url.as_str()).unwrap().offset, 0);
}

/// parity 32: a stored URL whose server length differs is not continued: a new upload is made
/// (or, with recreating off, an error).
#[tokio::test]
async fn a_stored_upload_of_another_length_is_not_continued() {
    let server = TusMockServer::start().await;
    let client = Client::new(server.endpoint()).unwrap();
    let mut other = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .creation_with_upload(false)
        .build()
        .unwrap();
    let wrong = other.create().await.unwrap();
    let bytes = data(12);
    let key = md5_key(&bytes);

    let store = Arc::new(MemoryStorage::new());
    store
        .set(&key, UploadRecord::new(wrong.as_str()).with_size(12))
        .await
        .unwrap();
    let mut refusing = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .storage(store.clone())
        .recreate_if_gone(false)
        .build()
        .unwrap();
    let error = refusing.upload().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::LengthMismatch {
                server: 10,
                local: 12,
                ..
            }
        ),
        "{error:?}"
    );

    let mut uploader = client
        .uploader()
        .reader(Cursor::new(bytes.clone()))
        .storage(store.clone())
        .build()
        .unwrap();
    let summary = uploader.upload().await.unwrap();
    assert_ne!(summary.url, wrong);
    assert_eq!(summary.resumed_from, None);
    assert_eq!(stored(&server, &summary.url), bytes);
    assert_eq!(
        server.upload(wrong.as_str()).unwrap().offset,
        0,
        "the other upload is untouched"
    );
    assert_eq!(server.uploads().len(), 2);
    assert_eq!(
        server.request_count("PATCH"),
        0,
        "with creation-with-upload the POST carried all 12 bytes"
    );
}

/// parity 24
#[tokio::test]
async fn a_403_on_patch_of_a_created_upload_fails_at_once() {
    let server = TusMockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(tus(403).set_body_string("quota exceeded for this account"))
        .with_priority(1)
        .mount(server.wiremock())
        .await;
    let client = Client::new(server.endpoint()).unwrap();
    let mut uploader = client
        .uploader()
        .reader(Cursor::new(data(10)))
        .creation_with_upload(false)
        .retry_delay(5, MS)
        .build()
        .unwrap();
    let error = uploader.upload().await.unwrap_err();
    assert!(matches!(error, Error::Status { .. }), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(error.body(), Some("quota exceeded for this account"));
    assert!(error.to_string().contains("quota exceeded"), "{error}");
    assert!(!error.is_retryable());
    let requests = server.received_requests().await;
    assert_eq!(
        tus_sequence(&requests)
            .iter()
            .map(|r| r.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        ["POST", "PATCH"]
    );
}
