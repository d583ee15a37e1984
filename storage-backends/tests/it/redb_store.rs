//! RedbStorage: conformance, persistence, the one-handle rule, refusing foreign files.
#![cfg(feature = "redb")]

use std::path::Path;

use redb::TableDefinition;
use tusky_storage::{RedbStorage, Storage, StorageError, UploadRecord};

use crate::common::{assert_corrupt, temp_path, KEY};

fn record() -> UploadRecord {
    UploadRecord::new("https://tus.example/files/1")
        .with_size(11)
        .with_expires_unix(1_700_000_000)
        .with_source("/tmp/hello.txt")
}

#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_conformance() {
    use tusky_storage::conformance::Fidelity;
    crate::common::conformance_on_files("redb", Fidelity::Full, RedbStorage::open).await;
}

#[tokio::test]
async fn data_survives_drop_and_reopen() {
    let (_dir, path) = temp_path("nested/dirs/uploads.redb");
    {
        let store = RedbStorage::open(&path).unwrap();
        assert_eq!(store.path(), path);
        store.set(KEY, record()).await.unwrap();
        store.set("gone", record()).await.unwrap();
        store.remove("gone").await.unwrap();
    }
    let store = RedbStorage::open(&path).unwrap();
    assert_eq!(store.get(KEY).await.unwrap(), Some(record()));
    assert_eq!(
        store.list().await.unwrap(),
        vec![(KEY.to_owned(), record())]
    );
}

#[tokio::test]
async fn a_second_handle_on_an_open_file_is_a_clear_error() {
    let (_dir, path) = temp_path("uploads.redb");
    let first = RedbStorage::open(&path).unwrap();
    first.set(KEY, record()).await.unwrap();

    let err = RedbStorage::open(&path).unwrap_err();
    match &err {
        StorageError::Io {
            path: reported,
            source,
            ..
        } => {
            assert_eq!(reported, &path);
            assert_eq!(source.kind(), std::io::ErrorKind::ResourceBusy);
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("already open"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");

    // A clone shares the open database instead.
    let clone = first.clone();
    assert_eq!(clone.get(KEY).await.unwrap(), Some(record()));
    drop(first);
    drop(clone);
    assert!(
        RedbStorage::open(&path).is_ok(),
        "the lock goes with the last handle"
    );
}

#[tokio::test]
async fn an_empty_file_becomes_a_database() {
    let (_dir, path) = temp_path("empty.redb");
    std::fs::write(&path, b"").unwrap();
    let store = RedbStorage::open(&path).unwrap();
    assert_eq!(store.get(KEY).await.unwrap(), None);
    store.set(KEY, record()).await.unwrap();
    assert_eq!(store.get(KEY).await.unwrap(), Some(record()));
}

#[test]
fn foreign_files_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "a JSON store",
            br#"{"format":"tusky-url-store","version":1,"uploads":{}}"#.to_vec(),
        ),
        ("one byte", b"x".to_vec()),
        ("almost the magic", b"redb\x1A\x0A".to_vec()),
        ("4 KiB of junk", vec![0xAB; 4096]),
    ];
    for (n, (what, bytes)) in files.into_iter().enumerate() {
        let path = dir.path().join(format!("foreign-{n}"));
        std::fs::write(&path, &bytes).unwrap();
        assert_corrupt(RedbStorage::open(&path), &path, what);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: the file was changed"
        );
    }
}

/// Writes raw bytes under `key` in the store's table, as another tusky version might.
fn write_raw(path: &Path, key: &str, value: &[u8]) {
    let table: TableDefinition<&str, &[u8]> = TableDefinition::new("tusky_uploads");
    let db = redb::Database::create(path).unwrap();
    let write = db.begin_write().unwrap();
    write.open_table(table).unwrap().insert(key, value).unwrap();
    write.commit().unwrap();
}

#[tokio::test]
async fn records_from_a_newer_version_or_garbage_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (what, value) in [
        (
            "newer",
            br#"{"version":2,"record":{"url":"https://x"}}"#.as_slice(),
        ),
        ("garbage", b"\x00\x01not json".as_slice()),
        ("no wrapper", br#"{"url":"https://x"}"#.as_slice()),
        (
            "bad record",
            br#"{"version":1,"record":{"url":7}}"#.as_slice(),
        ),
    ] {
        let path = dir.path().join(format!("{what}.redb"));
        write_raw(&path, KEY, value);
        let store = RedbStorage::open(&path).unwrap();
        for result in [
            store.get(KEY).await.map(|_| ()),
            store.list().await.map(|_| ()),
        ] {
            match result {
                Err(StorageError::Corrupt {
                    path: reported,
                    reason,
                }) => {
                    assert_eq!(reported, path, "{what}");
                    assert!(
                        reason.contains(KEY),
                        "{what}: the reason names the key: {reason}"
                    );
                    if what == "newer" {
                        assert!(reason.contains("newer"), "{reason}");
                    }
                }
                other => panic!("{what}: expected Corrupt, got {other:?}"),
            }
        }
        // The record can still be replaced or removed.
        store.set(KEY, record()).await.unwrap();
        assert_eq!(store.get(KEY).await.unwrap(), Some(record()));
    }
}

#[tokio::test]
async fn the_stored_value_is_versioned_json() {
    let (_dir, path) = temp_path("uploads.redb");
    RedbStorage::open(&path)
        .unwrap()
        .set(KEY, record())
        .await
        .unwrap();
    let table: TableDefinition<&str, &[u8]> = TableDefinition::new("tusky_uploads");
    let db = redb::Database::create(&path).unwrap();
    let read = db.begin_read().unwrap();
    let bytes = read
        .open_table(table)
        .unwrap()
        .get(KEY)
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value["version"], 1);
    assert_eq!(value["record"]["url"], "https://tus.example/files/1");
    assert_eq!(value["record"]["size"], 11);
}

#[test]
fn a_file_with_the_magic_but_a_broken_header_is_refused_and_left_untouched() {
    let (_dir, path) = temp_path("broken.redb");
    let mut bytes = b"redb\x1A\x0A\xA9\x0D\x0A".to_vec();
    bytes.extend(std::iter::repeat_n(0xCD, 8192));
    std::fs::write(&path, &bytes).unwrap();
    assert_corrupt(RedbStorage::open(&path), &path, "a broken header");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file was changed");
}
