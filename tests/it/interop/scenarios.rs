//! The scenarios, each an `async fn` over one [`Server`]; `mod.rs` runs them on the servers
//! that advertise what they need.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tusky::fingerprint::DefaultFingerprint;
use tusky::protocol::Extension;
use tusky::storage::Storage;
use tusky::transport::Transport;
use tusky::{Client, NoRetry, UploaderBuilder};
use tusky_mock_server::{Cut, Direction, FaultProxy};
use tusky_storage::{JsonFileStorage, UploadRecord};

use http::Method;

use super::servers::{env_or_skip, status_of, Kind, Server};
use crate::common::{
    assert_no_records, noise, noise_file, pipe, upload_ok, wait_until, Events, Fault, Tap,
};

pub const CHUNK: u64 = 64 * 1024;
pub const MIB: u64 = 1024 * 1024;

/// Both servers are given `filename` and `filetype` on every upload: tuspyserver's HEAD
/// answers 400 without them.
pub fn named<T: Transport, S: Storage, F: tusky::fingerprint::Fingerprint>(
    builder: UploaderBuilder<T, S, F>,
    filename: &str,
) -> UploaderBuilder<T, S, F> {
    builder
        .metadata("filename", filename)
        .metadata("filetype", "application/octet-stream")
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temp dir")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The extensions a server advertises (OPTIONS), by name, sorted.
pub async fn advertised(server: &Server) -> Vec<&'static str> {
    let capabilities = server.client().capabilities().await.expect("OPTIONS");
    let mut names: Vec<_> = capabilities.extensions.iter().map(|e| e.name()).collect();
    names.sort_unstable();
    names
}

async fn supports(server: &Server, extension: Extension) -> bool {
    server
        .client()
        .capabilities()
        .await
        .expect("OPTIONS")
        .supports(extension)
}

/// Sizes 0, 1, chunk−1, chunk and chunk+1, with and without creation-with-upload: the server's
/// offset, length and data file match the source.
pub async fn sizes(server: &Server) {
    let dir = tempdir();
    let client = server.client();
    let with_upload = supports(server, Extension::CreationWithUpload).await;
    for (seed, size) in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1].into_iter().enumerate() {
        for creation_with_upload in [false, true] {
            if creation_with_upload && !with_upload {
                continue;
            }
            let name = format!("size-{size}-{creation_with_upload}.bin");
            let path = noise_file(dir.path(), &name, size, seed as u64 + 1);
            let mut uploader = named(client.uploader().path(&path), &name)
                .chunk_size(CHUNK)
                .creation_with_upload(creation_with_upload)
                .build()
                .unwrap();
            let what = format!("{:?}: {name}", server.kind);
            let summary = uploader
                .upload()
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(summary.offset, size, "{what}");
            let status = client.upload_status(summary.url.as_str()).await.unwrap();
            assert_eq!((status.offset, status.length), (size, Some(size)), "{what}");
            server.assert_holds_file(summary.url.as_str(), &path);
        }
    }
}

/// 50 MiB of pseudo-random bytes in 8 MiB chunks (the default), compared by streaming.
pub async fn large_file(server: &Server) {
    let dir = tempdir();
    let size = 50 * MIB;
    let path = noise_file(dir.path(), "large.bin", size, 50);
    let client = server.client();
    let mut uploader = named(client.uploader().path(&path), "large.bin")
        .build()
        .unwrap();
    let summary = uploader.upload().await.expect("50 MiB upload");
    assert_eq!(summary.offset, size);
    assert_eq!(summary.bytes_uploaded, size);
    server.assert_holds_file(summary.url.as_str(), &path);
}

/// Metadata with non-ASCII values: HEAD echoes it (all of it on @tus/server; tuspyserver
/// echoes only `filename` and `filetype`).
pub async fn metadata_round_trip(server: &Server) {
    let pairs = [
        ("filename", "naïve résumé ☃ 文件.bin"),
        ("filetype", "application/x-tüsky; charset=utf-8"),
        ("comment", "Grüße, 世界 — ✓ \"quoted\", with commas"),
        ("empty", ""),
    ];
    let bytes = noise(1000, 7);
    let client = server.client();
    let mut builder = client
        .uploader()
        .reader(std::io::Cursor::new(bytes.clone()));
    for (key, value) in pairs {
        builder = builder.metadata(key, value);
    }
    let summary = builder.build().unwrap().upload().await.expect("upload");
    let status = client
        .upload_status(summary.url.as_str())
        .await
        .expect("HEAD");
    let echoed: Vec<(String, String)> = status
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).expect("UTF-8")))
        .collect();
    let mut expected: Vec<(String, String)> = pairs
        .iter()
        // tuspyserver echoes only filename and filetype; rustus drops empty values…
        .filter(|(key, _)| server.kind != Kind::Py || ["filename", "filetype"].contains(key))
        .filter(|(_, value)| server.kind != Kind::Rustus || !value.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut echoed = echoed;
    if server.kind == Kind::Rustus {
        // …and keeps the pairs in a hash map: their order is lost.
        echoed.sort();
        expected.sort();
    }
    assert_eq!(echoed, expected, "{:?}: the echoed metadata", server.kind);
    server.assert_holds(summary.url.as_str(), &bytes);
}

/// Polls HEAD until the offset stops moving (a server may still be writing what it received
/// before a cut), and returns it. A real server says nothing when it is done with a cut
/// request, so "done" is two answers in a row that agree, [`SETTLE`] apart (for at most 10 s).
async fn settled_offset<T: Transport>(client: &Client<T>, url: &str) -> u64 {
    let mut last = None;
    for _ in 0..40 {
        let offset = client.upload_status(url).await.expect("HEAD").offset;
        if last == Some(offset) {
            return offset;
        }
        last = Some(offset);
        // The pause between two looks at the offset (the condition above), not a guess at
        // how long the server takes.
        tokio::time::sleep(SETTLE).await;
    }
    panic!("the server's offset for {url} does not settle");
}

/// How long an offset must stay the same to count as settled (see [`settled_offset`]).
const SETTLE: Duration = Duration::from_millis(250);

/// A PATCH cut mid-body by the FaultProxy (the uploader has no retries, so it fails and its
/// record stays in a JSON store); a new uploader, opening the same store file, resumes from
/// the server's offset — the bytes the server kept of the cut PATCH — and finishes.
pub async fn interrupted_patch_resumes_from_store(server: &Server) {
    let dir = tempdir();
    let size = 4 * MIB;
    let path = noise_file(dir.path(), "cut.bin", size, 11);
    let store_path = dir.path().join("store.json");
    let proxy = FaultProxy::start(server.addr()).await.expect("proxy");
    let endpoint = proxy.url_for(&server.endpoint);
    let what = format!("{:?}", server.kind);

    // One PATCH of the whole file, without creation-with-upload, so the POST is tiny and the
    // cut after 2 MiB upstream lands in the PATCH body whatever connection carries it.
    let cut_at = 2 * MIB;
    proxy.cut_after(cut_at);
    let client = Client::new(&endpoint).unwrap();
    let mut first = named(client.uploader().path(&path), "cut.bin")
        .chunk_size(size)
        .creation_with_upload(false)
        .storage(JsonFileStorage::open(&store_path).unwrap())
        .retry_policy(NoRetry)
        .build()
        .unwrap();
    let error = first.upload().await.expect_err("the cut fails the upload");
    assert!(
        matches!(error, tusky::Error::Transport { .. }),
        "{what}: a transport error, got {error}"
    );
    assert_eq!(proxy.stats().cuts, 1, "{what}");
    let url = first.url().expect("created before the cut").to_string();
    assert!(
        url.starts_with(&proxy.url()),
        "{what}: the Location ({url}) is built from Host, so it goes through the proxy"
    );
    let key = first.fingerprint_key().expect("a key").to_owned();
    drop(first);
    let stored = JsonFileStorage::open(&store_path).unwrap();
    assert_eq!(
        stored.get(&key).await.unwrap().map(|r| r.url),
        Some(url.clone())
    );

    let kept = settled_offset(&client, &url).await;
    eprintln!("{what}: the server kept {kept} bytes of a PATCH cut after {cut_at} bytes upstream");
    assert!(
        kept > 0 && kept < cut_at,
        "{what}: the server kept part of the cut PATCH ({kept} bytes)"
    );
    let on_disk = std::fs::metadata(server.data_file(&url)).unwrap().len();
    assert_eq!(on_disk, kept, "{what}: the data file holds what HEAD says");

    // A new client and uploader (a new process, say) with the same store file.
    let client = Client::new(&endpoint).unwrap();
    let mut second = named(client.uploader().path(&path), "cut.bin")
        .chunk_size(MIB)
        .storage(JsonFileStorage::open(&store_path).unwrap())
        .build()
        .unwrap();
    let summary = second.upload().await.expect("the resumed upload");
    assert_eq!(summary.url.as_str(), url, "{what}: the same upload");
    assert_eq!(summary.resumed_from, Some(kept), "{what}");
    assert_eq!(summary.bytes_uploaded, size - kept, "{what}");
    server.assert_holds_file(&url, &path);
    assert_no_records(&stored, "{what}: record removed").await;
}

/// The answer to a PATCH is lost (the FaultProxy cuts the response before its first byte)
/// although the server stored the chunk: tusky re-reads the offset with HEAD, sees the chunk
/// arrived, and continues after it — no byte sent twice (tuspyserver appends whatever it gets,
/// so a resend at the old offset would show in its file).
pub async fn lost_response_is_recovered(server: &Server) {
    let dir = tempdir();
    let size = 4 * CHUNK + 3;
    let path = noise_file(dir.path(), "lost.bin", size, 81);
    let proxy = FaultProxy::start(server.addr()).await.expect("proxy");
    let tap = Tap::reqwest();
    let client = tap.client(&proxy.url_for(&server.endpoint));
    let mut uploader = named(client.uploader().path(&path), "lost.bin")
        .chunk_size(CHUNK)
        .retry_delay(3, Duration::from_millis(50))
        .build()
        .unwrap();
    let url = uploader.create().await.expect("POST").to_string();
    assert_eq!(uploader.offset(), CHUNK, "the POST carried the first chunk");
    // Counted per connection from its start, so "after 0" cuts the next answer of all.
    proxy.cut(Cut::after(0).downstream());
    let summary = uploader.upload().await.expect("recovered");
    let what = format!("{:?}", server.kind);
    assert_eq!(proxy.stats().cuts, 1, "{what}");
    let shape: Vec<(Method, u64, Option<u16>, Option<u64>)> = tap
        .log()
        .into_iter()
        .filter(|e| e.method != Method::OPTIONS && e.method != Method::POST)
        .map(|e| {
            (
                e.method.clone(),
                e.body_len,
                e.status(),
                e.answered_offset(),
            )
        })
        .collect();
    let expected = [
        (Method::PATCH, CHUNK, None, None), // stored, answer lost
        (Method::HEAD, 0, Some(200), Some(2 * CHUNK)), // the server has it
        (Method::PATCH, CHUNK, Some(204), Some(3 * CHUNK)), // so it is not resent
        (Method::PATCH, CHUNK, Some(204), Some(4 * CHUNK)),
        (Method::PATCH, 3, Some(204), Some(size)),
    ];
    assert_eq!(shape, expected, "{what}");
    assert_eq!(summary.url.as_str(), url);
    server.assert_holds_file(&url, &path);
}

/// The network stalls mid-PATCH (the FaultProxy holds the upstream flow): tusky's stall
/// timeout drops the request and retries; the stall is lifted when the retry is scheduled, so
/// the server then gets the rest of the dropped request too, racing the retry. Whatever the
/// server makes of that race (409s, locks), the bytes end right.
pub async fn stalled_patch_is_dropped_and_retried(server: &Server) {
    let dir = tempdir();
    let size = 24 * MIB;
    let path = noise_file(dir.path(), "stall.bin", size, 91);
    let proxy = std::sync::Arc::new(FaultProxy::start(server.addr()).await.expect("proxy"));
    let client = Client::new(proxy.url_for(&server.endpoint)).unwrap();
    let events = Events::default();
    let on_progress = {
        let record = events.callback();
        let proxy = std::sync::Arc::clone(&proxy);
        move |event: &tusky::ProgressEvent| {
            if matches!(event, tusky::ProgressEvent::RetryScheduled { .. }) {
                proxy.throttle(Direction::Upstream, None);
            }
            record(event);
        }
    };
    let mut uploader = named(client.uploader().path(&path), "stall.bin")
        .chunk_size(8 * MIB)
        .creation_with_upload(false)
        .stall_timeout(Some(Duration::from_secs(1)))
        .retry_delay(8, Duration::from_millis(300))
        .on_progress(on_progress)
        .build()
        .unwrap();
    let url = uploader.create().await.expect("POST").to_string();
    proxy.throttle(Direction::Upstream, Some(0));
    let summary = uploader.upload().await.expect("finished after the stall");
    let what = format!("{:?}", server.kind);
    let retries: Vec<String> = events.retries().into_iter().map(|r| r.0).collect();
    eprintln!("{what}: retries after the stall: {retries:#?}");
    assert!(
        retries.first().is_some_and(|e| e.contains("stalled")),
        "{what}: {retries:?}"
    );
    assert_eq!(summary.url.as_str(), url);
    server.assert_holds_file(&url, &path);
}

/// Streams of unknown length (`Upload-Defer-Length`), fed through a pipe in odd pieces: empty,
/// 1 byte, exactly one and two chunks (the length is only known after the last full chunk)
/// and a ragged size, with and without creation-with-upload.
pub async fn unknown_length_stream(server: &Server) {
    assert!(supports(server, Extension::CreationDeferLength).await);
    let client = server.client();
    for (seed, size) in [0, 1, CHUNK, 2 * CHUNK, 3 * CHUNK + 12_345]
        .into_iter()
        .enumerate()
    {
        for creation_with_upload in [true, false] {
            let what = format!(
                "{:?} stream of {size} bytes, cwu {creation_with_upload}",
                server.kind
            );
            let bytes = noise(size, 21 + seed as u64);
            let (reader, _) = pipe(bytes.clone(), 4096, 10_007);
            let summary = upload_ok(
                named(client.uploader().stream(reader), "stream.bin")
                    .chunk_size(CHUNK)
                    .creation_with_upload(creation_with_upload),
                &what,
            )
            .await;
            assert_eq!(summary.offset, size, "{what}");
            let status = client.upload_status(summary.url.as_str()).await.unwrap();
            assert_eq!(
                (status.offset, status.length),
                (size, Some(size)),
                "{what}: the length was declared"
            );
            server.assert_holds(summary.url.as_str(), &bytes);
        }
    }
}

/// A stream's PATCH cut mid-body: the server keeps part of it, and tusky — which holds the
/// unacknowledged chunk of a stream in memory — resends from the server's offset, inside that
/// chunk, and finishes with the length declared.
pub async fn stream_cut_mid_patch(server: &Server) {
    let proxy = FaultProxy::start(server.addr()).await.expect("proxy");
    let tap = Tap::reqwest();
    let client = tap.client(&proxy.url_for(&server.endpoint));
    let bytes = noise(5 * 256 * 1024 + 77, 23);
    let (reader, _) = pipe(bytes.clone(), 8192, 9999);
    // OPTIONS and a bodiless POST, then the first 1 MiB PATCH is cut after ~700 000 bytes.
    proxy.cut_after(700_000);
    let mut uploader = named(client.uploader().stream(reader), "stream-cut.bin")
        .chunk_size(MIB)
        .creation_with_upload(false)
        .retry_delay(3, Duration::from_millis(300))
        .build()
        .unwrap();
    let summary = uploader.upload().await.expect("finished after the cut");
    let what = format!("{:?}", server.kind);
    assert_eq!(proxy.stats().cuts, 1, "{what}");
    let exchanges = tap.log();
    // The last HEAD: a server still writing the cut request when the first one came would
    // answer a 409 to the resend, and tusky would ask again.
    let head = exchanges
        .iter()
        .rfind(|e| e.method == Method::HEAD)
        .unwrap_or_else(|| panic!("{what}: a HEAD after the cut: {exchanges:#?}"));
    let kept = head.answered_offset().expect("Upload-Offset");
    assert!(
        kept > 0 && kept < MIB,
        "{what}: kept {kept} of the cut PATCH"
    );
    let last = exchanges.last().unwrap();
    assert_eq!(
        (&last.method, last.body_len, last.answered_offset()),
        (
            &Method::PATCH,
            bytes.len() as u64 - kept,
            Some(bytes.len() as u64)
        ),
        "{what}: the rest, from the server's offset"
    );
    server.assert_holds(summary.url.as_str(), &bytes);
}

/// `Client::terminate`: afterwards HEAD answers 404 or 410 and the data file is gone.
pub async fn termination(server: &Server) {
    assert!(supports(server, Extension::Termination).await);
    let bytes = noise(3 * CHUNK, 31);
    let client = server.client();
    let mut uploader = named(
        client.uploader().reader(std::io::Cursor::new(bytes)),
        "term.bin",
    )
    .chunk_size(CHUNK)
    .build()
    .unwrap();
    let summary = uploader.upload_until(CHUNK).await.unwrap();
    let url = summary.url.to_string();
    assert!(server.data_file(&url).exists());
    client.terminate(&url).await.expect("DELETE");
    let error = client
        .upload_status(&url)
        .await
        .expect_err("HEAD after DELETE");
    assert!(
        matches!(status_of(&error), Some(404 | 410)),
        "{:?}: HEAD after DELETE: {error}",
        server.kind
    );
    assert!(
        !server.data_file(&url).exists(),
        "{:?}: DELETE removed the data",
        server.kind
    );
}

/// Expiration on @tus/server with `EXPIRE_MS`: the stored record's `expires_unix` comes from
/// `Upload-Expires`, and once it has passed a new uploader creates a new upload instead of
/// resuming (without even asking the server); a record without an expiry whose URL answers
/// 410 is started over as well. The final bytes are right in both cases.
pub async fn expiration(server: &Server, expire_ms: u64) {
    assert!(supports(server, Extension::Expiration).await);
    let dir = tempdir();
    let size = 3 * CHUNK;
    let path = noise_file(dir.path(), "expiring.bin", size, 41);
    let client = server.client();
    let uploader = |store: &Path| {
        named(client.uploader().path(&path), "expiring.bin")
            .chunk_size(CHUNK)
            .storage(JsonFileStorage::open(store).unwrap())
    };

    // A: the record knows the expiry.
    let store_a = dir.path().join("a.json");
    let created = unix_now();
    let mut first = uploader(&store_a).build().unwrap();
    let url_a = first.upload_until(CHUNK).await.unwrap().url.to_string();
    let key = first.fingerprint_key().unwrap().to_owned();
    let record = JsonFileStorage::open(&store_a)
        .unwrap()
        .get(&key)
        .await
        .unwrap()
        .expect("a record");
    let expires = record.expires_unix.expect("Upload-Expires was recorded");
    let expected = created + expire_ms / 1000;
    assert!(
        (expected.saturating_sub(1)..=expected + 1).contains(&expires),
        "expires_unix {expires}, created {created} + {expire_ms} ms"
    );

    // B: the same kind of upload, but its record has no expiry (a tuspy store, say).
    let store_b = dir.path().join("b.json");
    let mut other = uploader(&store_b).build().unwrap();
    let url_b = other.upload_until(CHUNK).await.unwrap().url.to_string();
    JsonFileStorage::open(&store_b)
        .unwrap()
        .set(&key, UploadRecord::new(&url_b))
        .await
        .unwrap();

    // Both uploads expire on the server's clock (410), and record A's expiry (@tus/server
    // truncates Upload-Expires to the second) passes on ours, so that tusky does not ask.
    let within = Duration::from_millis(expire_ms) + Duration::from_secs(10);
    wait_until("both uploads expire", within, || async {
        unix_now() >= expires
            && answers_410(&client, &url_a).await
            && answers_410(&client, &url_b).await
    })
    .await;
    for url in [&url_a, &url_b] {
        let error = client.upload_status(url).await.expect_err("expired");
        assert_eq!(status_of(&error), Some(410), "{url}: {error}");
    }

    let tap = Tap::reqwest();
    let events = Events::default();
    let mut again = named(
        tap.client(&server.endpoint).uploader().path(&path),
        "expiring.bin",
    )
    .chunk_size(CHUNK)
    .storage(JsonFileStorage::open(&store_a).unwrap())
    .on_progress(events.callback())
    .build()
    .unwrap();
    let summary = again.upload().await.expect("a new upload");
    assert_ne!(
        summary.url.as_str(),
        url_a,
        "the expired upload is not resumed"
    );
    assert_eq!(summary.resumed_from, None);
    assert!(
        tap.log().iter().all(|e| e.url.as_str() != url_a),
        "the expired URL is not even asked about:\n{}",
        tap.transcript()
    );
    let reasons = events.started_over();
    assert!(
        reasons.len() == 1 && reasons[0].contains("expired"),
        "{reasons:?}"
    );
    server.assert_holds_file(summary.url.as_str(), &path);

    let events = Events::default();
    let mut again = uploader(&store_b)
        .on_progress(events.callback())
        .build()
        .unwrap();
    let summary = again.upload().await.expect("a new upload after 410");
    assert_ne!(
        summary.url.as_str(),
        url_b,
        "the gone upload is started over"
    );
    assert_eq!(summary.resumed_from, None);
    let reasons = events.started_over();
    assert!(
        reasons.len() == 1 && reasons[0].contains("410"),
        "{reasons:?}"
    );
    server.assert_holds_file(summary.url.as_str(), &path);
    for store in [&store_a, &store_b] {
        let store = JsonFileStorage::open(store).unwrap();
        assert!(store.list().await.unwrap().is_empty(), "records removed");
    }
}

/// Whether HEAD of `url` answers 410 Gone.
async fn answers_410<T: Transport>(client: &Client<T>, url: &str) -> bool {
    let answer = client.upload_status(url).await;
    answer.err().and_then(|e| status_of(&e)) == Some(410)
}

/// `parallel(3)`: on a server with concatenation, three partial uploads and a final POST whose
/// upload holds the file; without it, one plain upload.
pub async fn parallel(server: &Server) {
    let dir = tempdir();
    let size = 3 * MIB + 7;
    let path = noise_file(dir.path(), "parallel.bin", size, 51);
    let tap = Tap::reqwest();
    let client = tap.client(&server.endpoint);
    let concatenation = client
        .capabilities()
        .await
        .unwrap()
        .supports(Extension::Concatenation);
    let mut uploader = named(client.uploader().path(&path), "parallel.bin")
        .chunk_size(MIB / 2)
        .parallel(3)
        .build()
        .unwrap();
    let summary = uploader.upload().await.expect("parallel upload");
    assert_eq!(summary.offset, size);
    let url = summary.url.to_string();
    let exchanges = tap.log();
    let partials: Vec<String> = exchanges
        .iter()
        .filter(|e| e.method == Method::POST && e.concat.as_deref() == Some("partial"))
        .filter_map(|e| e.location.clone())
        .collect();
    let finals = exchanges
        .iter()
        .filter(|e| e.concat.as_deref().is_some_and(|c| c.starts_with("final;")))
        .count();
    if !concatenation {
        assert_eq!((partials.len(), finals), (0, 0), "a plain upload");
        server.assert_holds_file(&url, &path);
        return;
    }
    assert_eq!((partials.len(), finals), (3, 1), "{exchanges:#?}");
    let status = client.upload_status(&url).await.expect("HEAD on the final");
    assert_eq!((status.offset, status.length), (size, Some(size)));
    // tuspyserver and rustus materialise the final upload in its own data file…
    server.assert_holds_file(&url, &path);
    // …and delete the partial uploads once they are concatenated (rustus with
    // `--remove-parts true`, as scripts/interop-servers.sh starts it).
    for partial in &partials {
        assert!(!server.data_file(partial).exists(), "{partial} deleted");
        let error = client.upload_status(partial).await.expect_err("gone");
        assert_eq!(status_of(&error), Some(404), "{partial}: {error}");
    }
}

/// creation-with-upload: the first chunk goes in the POST (201 with `Upload-Offset`), the
/// rest in PATCHes; switched off, the POST carries nothing.
pub async fn creation_with_upload(server: &Server) {
    assert!(supports(server, Extension::CreationWithUpload).await);
    let size = 2 * CHUNK + 500;
    let bytes = noise(size, 61);
    for enabled in [true, false] {
        let tap = Tap::reqwest();
        let client = tap.client(&server.endpoint);
        let mut uploader = named(
            client
                .uploader()
                .reader(std::io::Cursor::new(bytes.clone())),
            "cwu.bin",
        )
        .chunk_size(CHUNK)
        .creation_with_upload(enabled)
        .build()
        .unwrap();
        let summary = uploader.upload().await.expect("upload");
        let exchanges: Vec<_> = tap
            .log()
            .into_iter()
            .filter(|e| e.method != Method::OPTIONS)
            .collect();
        let shape: Vec<(&str, u64, Option<u16>)> = exchanges
            .iter()
            .map(|e| (e.method.as_str(), e.body_len, e.status()))
            .collect();
        let what = format!("{:?} creation_with_upload({enabled})", server.kind);
        if enabled {
            assert_eq!(
                shape,
                [
                    ("POST", CHUNK, Some(201)),
                    ("PATCH", CHUNK, Some(204)),
                    ("PATCH", 500, Some(204)),
                ],
                "{what}"
            );
            assert_eq!(
                exchanges[0].answered_offset(),
                Some(CHUNK),
                "{what}: the POST kept a chunk"
            );
        } else {
            assert_eq!(
                shape,
                [
                    ("POST", 0, Some(201)),
                    ("PATCH", CHUNK, Some(204)),
                    ("PATCH", CHUNK, Some(204)),
                    ("PATCH", 500, Some(204)),
                ],
                "{what}"
            );
        }
        let patch_offsets: Vec<_> = exchanges[1..].iter().map(|e| e.answered_offset()).collect();
        let expected: Vec<_> = if enabled {
            vec![Some(2 * CHUNK), Some(size)]
        } else {
            vec![Some(CHUNK), Some(2 * CHUNK), Some(size)]
        };
        assert_eq!(patch_offsets, expected, "{what}");
        server.assert_holds(summary.url.as_str(), &bytes);
    }
}

/// Idempotent creation against a server that ignores `Idempotency-Key` (each of these, in the
/// versions the suite runs; the repo's mock and streaming servers honour it): the creation POST
/// whose answer was lost is repeated with its key, and the server makes a second upload — an
/// unused one, as without the option. The upload itself ends right.
pub async fn idempotency_key_is_ignored(server: &Server) {
    let bytes = noise(3 * CHUNK, 63);
    let tap = Tap::reqwest();
    tap.on(
        Method::POST,
        1,
        Fault::LoseAnswer(tusky::transport::TransportErrorKind::Connection),
    );
    let client = tap.client(&server.endpoint);
    let builder = client
        .uploader()
        .reader(std::io::Cursor::new(bytes.clone()));
    let builder = named(builder, "keyed.bin")
        .chunk_size(CHUNK)
        .idempotent_creation(true)
        .retry_delay(3, Duration::from_millis(10));
    let summary = upload_ok(builder, "a keyed upload").await;
    let posts = tap.of(&Method::POST);
    let what = format!("{:?}", server.kind);
    let keys: Vec<_> = posts.iter().map(|p| p.idempotency_key.clone()).collect();
    assert_eq!(keys.len(), 2, "{what}");
    assert!(keys[0].is_some() && keys[0] == keys[1], "{what}: {keys:?}");
    let made: Vec<_> = posts
        .iter()
        .map(|p| (p.server_status, &p.location))
        .collect();
    assert!(
        made.iter().all(|(status, _)| *status == Some(201)) && made[0].1 != made[1].1,
        "{what}: the repeat was answered with the first upload: {made:?}"
    );
    server.assert_holds(summary.url.as_str(), &bytes);
}

/// tuspy (the Python client) uploads the first STOP_AT bytes with its FileStorage and default
/// MD5 fingerprint; tusky opens that same TinyDB file with `TuspyFileStorage`, finds the
/// upload under its own MD5 key, resumes from STOP_AT and finishes it. Needs tuspy's Python
/// (`TUSKY_INTEROP_TUSPY_PYTHON`), else skips like a missing server.
pub async fn finish_tuspy_upload(server: &Server) {
    let Some(python) = env_or_skip(&["TUSKY_INTEROP_TUSPY_PYTHON"]) else {
        return;
    };
    let python = &python[0];
    let dir = tempdir();
    let size = 300_000u64;
    let (stop_at, chunk) = (131_072u64, 65_536u64);
    let path = noise_file(dir.path(), "from-tuspy.bin", size, 71);
    let store = dir.path().join("tuspy-store.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/tuspy_start_upload.py");
    let output = std::process::Command::new(python)
        .arg(&script)
        .arg("--store")
        .arg(&store)
        .arg(&server.endpoint)
        .arg(&path)
        .arg(stop_at.to_string())
        .arg(chunk.to_string())
        .output()
        .expect("run tuspy_start_upload.py");
    assert!(
        output.status.success(),
        "tuspy_start_upload.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = String::from_utf8(output.stdout).unwrap();
    let url = line
        .split("\"url\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no url in {line:?}"))
        .to_owned();
    assert!(line.contains(&format!("\"offset\": {stop_at}")), "{line}");
    assert!(
        tusky_storage::detect_tuspy_store(&std::fs::read(&store).unwrap()),
        "tuspy wrote a TinyDB store"
    );

    let client = server.client();
    let mut uploader = named(client.uploader().path(&path), "from-tuspy.bin")
        .chunk_size(chunk)
        .storage(tusky_storage::TuspyFileStorage::open(&store).unwrap())
        .fingerprint(DefaultFingerprint::default())
        .build()
        .unwrap();
    let summary = uploader.upload().await.expect("tusky finishes it");
    assert_eq!(summary.url.as_str(), url, "the upload tuspy started");
    assert_eq!(summary.resumed_from, Some(stop_at));
    assert_eq!(summary.bytes_uploaded, size - stop_at);
    server.assert_holds_file(&url, &path);
    let left = std::fs::read_to_string(&store).unwrap();
    assert!(
        !left.contains(&url),
        "the finished upload's key is removed: {left}"
    );
}

/// A byte of the first PATCH's body is changed on the way (the FaultProxy): a server that
/// verifies `Upload-Checksum` refuses the chunk and keeps nothing of it (460; rustus answers
/// 417), tusky resends it once, and the server ends up with the exact bytes.
pub async fn corrupted_chunk_is_refused_and_resent(server: &Server) {
    assert!(supports(server, Extension::Checksum).await);
    let dir = tempdir();
    let size = 3 * MIB;
    let path = noise_file(dir.path(), "corrupted.bin", size, 61);
    let proxy = FaultProxy::start(server.addr()).await.expect("proxy");
    let client = Client::new(proxy.url_for(&server.endpoint)).unwrap();
    let what = format!("{:?}", server.kind);
    // OPTIONS and a bodiless POST are a few hundred bytes: byte 500 000 is in the first PATCH.
    proxy.corrupt_byte(500_000);
    let events = Events::default();
    let mut uploader = named(client.uploader().path(&path), "corrupted.bin")
        .chunk_size(MIB)
        .creation_with_upload(false)
        .checksum(tusky::ChecksumAlgorithm::Sha256)
        .retry_delay(3, Duration::from_millis(10))
        .on_progress(events.callback())
        .build()
        .unwrap();
    let summary = uploader.upload().await.expect("finished after the resend");
    assert_eq!(proxy.stats().corruptions, 1, "{what}");
    let retries = events.retries();
    assert_eq!(retries.len(), 1, "{what}: one resend: {retries:?}");
    assert!(
        retries[0].0.contains("460") || retries[0].0.contains("417"),
        "{what}: the refusal names the server's answer: {retries:?}"
    );
    assert_eq!(summary.offset, size);
    server.assert_holds_file(summary.url.as_str(), &path);
}
