//! The blocking API: without a runtime, from a path, a reader and with parallel partial
//! uploads; refused inside a runtime.

use std::path::PathBuf;

use tusky::Client;
use tusky_mock_server::{TusMockServer, UploadConcat};

use crate::common::{client_for, data_file, parallel_upload_of, stored};

/// A mock server on a runtime of its own (the blocking uploader runs outside it), a client for
/// it, and a file of test bytes.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: TusMockServer,
    client: Client,
    bytes: Vec<u8>,
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// The [`Fixture`], with a file of `len` bytes.
fn fixture(len: usize) -> Fixture {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TusMockServer::start());
    let client = client_for(&server);
    let (bytes, _dir, path) = data_file(len);
    Fixture {
        runtime,
        server,
        client,
        bytes,
        _dir,
        path,
    }
}

#[test]
fn blocking_upload_of_a_path() {
    let f = fixture(50_000);
    let mut uploader = f
        .client
        .uploader()
        .path(&f.path)
        .chunk_size(12_000)
        .metadata("filename", "f.bin")
        .build_blocking()
        .unwrap();
    let summary = uploader.upload().unwrap();
    assert_eq!(summary.offset, 50_000);
    assert_eq!(uploader.offset(), 50_000);
    assert_eq!(stored(&f.server, &summary.url), f.bytes);
    assert_eq!(f.server.uploads().len(), 1);
    assert_eq!(
        f.server.uploads()[0].metadata_value("filename"),
        Some("f.bin")
    );
}

#[test]
fn blocking_parallel_upload_of_a_path() {
    let f = fixture(100_003);
    let mut uploader = parallel_upload_of(&f.client, &f.path, 4, 10_000)
        .metadata("filename", "f.bin")
        .build_blocking()
        .unwrap();
    let summary = uploader.upload().unwrap();
    assert_eq!(stored(&f.server, &summary.url), f.bytes);
    let uploads = f.server.uploads();
    assert_eq!(uploads.len(), 5);
    let partials = uploads
        .iter()
        .filter(|u| u.concat == UploadConcat::Partial)
        .count();
    assert_eq!(partials, 4);
    let last = uploads.last().unwrap();
    assert!(matches!(last.concat, UploadConcat::Final(_)));
    assert_eq!(last.metadata_value("filename"), Some("f.bin"));
    assert_eq!(last.url, summary.url.as_str());
}

#[test]
fn the_blocking_uploader_works_without_a_runtime_and_is_refused_inside_one() {
    let f = fixture(20_000);
    let file = std::fs::File::open(&f.path).unwrap();
    let mut uploader = f
        .client
        .uploader()
        .reader(tusky::blocking::SyncReader::new(file))
        .chunk_size(7000)
        .build_blocking()
        .unwrap();
    let summary = uploader.upload().unwrap();
    assert_eq!(uploader.offset(), 20_000);
    assert_eq!(stored(&f.server, &summary.url), f.bytes);
    let inside = f
        .runtime
        .block_on(async { f.client.uploader().path(&f.path).build_blocking().err() });
    assert!(inside.is_some_and(|e| e.to_string().contains("inside an async runtime")));
}
