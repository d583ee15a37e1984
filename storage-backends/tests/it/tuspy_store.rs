//! TuspyFileStorage on files exactly as tuspy 1.1.0 (TinyDB 4) writes them.
#![cfg(feature = "json")]

use std::path::{Path, PathBuf};

use tusky_storage::{detect_tuspy_store, Storage, StorageError, TuspyFileStorage, UploadRecord};

use crate::common::{assert_corrupt, dir_entries, temp_path, KEY as HELLO};
const EMPTY: &str = "size:0--md5:d41d8cd98f00b204e9800998ecf8427e";

/// What tuspy 1.1.0 leaves after `FileStorage(path).set_item(HELLO, url)` on a new file:
/// TinyDB's `json.dumps(data)`, no trailing newline.
const TUSPY_FILE: &str = r#"{"_default": {"1": {"key": "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3", "url": "http://localhost:1080/files/6f3a0c"}}}"#;

fn with_file(contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let (dir, path) = temp_path("tuspy.json");
    std::fs::write(&path, contents).unwrap();
    (dir, path)
}

fn read(path: &Path) -> String {
    String::from_utf8(std::fs::read(path).unwrap()).unwrap()
}

/// Every conformance scenario runs; records are compared by URL only (the format keeps
/// nothing else). No scenario is skipped.
#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_conformance_in_url_only_mode() {
    use tusky_storage::conformance::Fidelity;
    crate::common::conformance_on_files("json", Fidelity::UrlOnly, TuspyFileStorage::open).await;
}

#[tokio::test]
async fn reads_a_file_written_by_tuspy() {
    let (_dir, path) = with_file(TUSPY_FILE.as_bytes());
    let store = TuspyFileStorage::open(&path).unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(
        store.get(HELLO).await.unwrap(),
        Some(UploadRecord::new("http://localhost:1080/files/6f3a0c"))
    );
    assert_eq!(store.get(EMPTY).await.unwrap(), None);
    assert_eq!(
        store.list().await.unwrap(),
        vec![(
            HELLO.to_owned(),
            UploadRecord::new("http://localhost:1080/files/6f3a0c")
        )]
    );
    assert_eq!(read(&path), TUSPY_FILE, "reading never writes");
}

#[tokio::test]
async fn a_first_set_writes_exactly_what_tuspy_would() {
    let (_dir, path) = temp_path("new/dir/tuspy.json");
    let store = TuspyFileStorage::open(&path).unwrap();
    assert!(store.list().await.unwrap().is_empty());
    let record = UploadRecord::new("http://localhost:1080/files/6f3a0c")
        .with_size(11)
        .with_source("hello.txt");
    store.set(HELLO, record).await.unwrap();
    assert_eq!(read(&path), TUSPY_FILE);
}

#[tokio::test]
async fn inserting_uses_the_next_integer_id() {
    let (_dir, path) = with_file(TUSPY_FILE.as_bytes());
    let store = TuspyFileStorage::open(&path).unwrap();
    store
        .set(EMPTY, UploadRecord::new("http://localhost:1080/files/e"))
        .await
        .unwrap();
    assert_eq!(
        read(&path),
        r#"{"_default": {"1": {"key": "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3", "url": "http://localhost:1080/files/6f3a0c"}, "2": {"key": "size:0--md5:d41d8cd98f00b204e9800998ecf8427e", "url": "http://localhost:1080/files/e"}}}"#
    );

    // Largest id + 1 even with gaps, ids ordered as integers in the file.
    let (_dir, path) = with_file(
        br#"{"_default": {"2": {"key": "b", "url": "u2"}, "10": {"key": "a", "url": "u10"}}}"#,
    );
    let store = TuspyFileStorage::open(&path).unwrap();
    store.set("c", UploadRecord::new("u11")).await.unwrap();
    assert_eq!(
        read(&path),
        r#"{"_default": {"2": {"key": "b", "url": "u2"}, "10": {"key": "a", "url": "u10"}, "11": {"key": "c", "url": "u11"}}}"#
    );
}

#[tokio::test]
async fn setting_an_existing_key_updates_its_document_in_place() {
    let (_dir, path) = with_file(
        br#"{"_default": {"1": {"key": "k", "url": "old", "note": "kept"}, "2": {"key": "other", "url": "o"}}}"#,
    );
    let store = TuspyFileStorage::open(&path).unwrap();
    store.set("k", UploadRecord::new("new")).await.unwrap();
    assert_eq!(
        read(&path),
        r#"{"_default": {"1": {"key": "k", "note": "kept", "url": "new"}, "2": {"key": "other", "url": "o"}}}"#
    );
    // Setting the same URL again changes nothing on disk.
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    store.set("k", UploadRecord::new("new")).await.unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
}

#[tokio::test]
async fn duplicate_keys_behave_as_in_tuspy() {
    // TinyDB allows several documents with one key; tuspy's get_item takes the first.
    let (_dir, path) = with_file(
        br#"{"_default": {"3": {"key": "k", "url": "third"}, "1": {"key": "k", "url": "first"}, "2": {"key": "j", "url": "j"}}}"#,
    );
    let store = TuspyFileStorage::open(&path).unwrap();
    assert_eq!(
        store.get("k").await.unwrap(),
        Some(UploadRecord::new("first"))
    );
    assert_eq!(
        store.list().await.unwrap(),
        vec![
            ("j".to_owned(), UploadRecord::new("j")),
            ("k".to_owned(), UploadRecord::new("first")),
        ]
    );
    // set updates every document with the key (TinyDB's update), remove deletes them all.
    store.set("k", UploadRecord::new("both")).await.unwrap();
    assert_eq!(
        read(&path),
        r#"{"_default": {"1": {"key": "k", "url": "both"}, "2": {"key": "j", "url": "j"}, "3": {"key": "k", "url": "both"}}}"#
    );
    store.remove("k").await.unwrap();
    assert_eq!(
        read(&path),
        r#"{"_default": {"2": {"key": "j", "url": "j"}}}"#
    );
}

#[tokio::test]
async fn other_tables_and_documents_are_preserved() {
    let original = r#"{"_default": {"1": {"key": "k", "url": "u"}, "2": {"something": "else"}, "3": {"key": "no-url"}}, "other": {"1": {"x": [1, 2.5, null, true]}}}"#;
    let (_dir, path) = with_file(original.as_bytes());
    let store = TuspyFileStorage::open(&path).unwrap();
    // Documents without a string url are not records.
    assert_eq!(store.get("no-url").await.unwrap(), None);
    assert_eq!(store.list().await.unwrap().len(), 1);

    store.remove("missing").await.unwrap();
    assert_eq!(
        read(&path),
        original,
        "a no-op remove does not rewrite the file"
    );

    store.remove("k").await.unwrap();
    assert_eq!(
        read(&path),
        r#"{"_default": {"2": {"something": "else"}, "3": {"key": "no-url"}}, "other": {"1": {"x": [1, 2.5, null, true]}}}"#
    );
    store.set("new", UploadRecord::new("n")).await.unwrap();
    assert!(read(&path).contains(r#""4": {"key": "new", "url": "n"}"#));
    assert!(read(&path).ends_with(r#""other": {"1": {"x": [1, 2.5, null, true]}}}"#));
}

#[tokio::test]
async fn empty_files_and_empty_documents_are_empty_stores() {
    for contents in [&b""[..], b"{}", br#"{"_default": {}}"#] {
        let (_dir, path) = with_file(contents);
        let store = TuspyFileStorage::open(&path).unwrap();
        assert!(store.list().await.unwrap().is_empty());
        store
            .set(
                HELLO,
                UploadRecord::new("http://localhost:1080/files/6f3a0c"),
            )
            .await
            .unwrap();
        assert_eq!(read(&path), TUSPY_FILE);
    }
}

#[tokio::test]
async fn non_ascii_is_escaped_as_python_does() {
    let (_dir, path) = temp_path("tuspy.json");
    let store = TuspyFileStorage::open(&path).unwrap();
    store
        .set("clé 🔑", UploadRecord::new("https://tus.example/é"))
        .await
        .unwrap();
    assert_eq!(
        read(&path),
        r#"{"_default": {"1": {"key": "cl\u00e9 \ud83d\udd11", "url": "https://tus.example/\u00e9"}}}"#
    );
    assert_eq!(
        store.get("clé 🔑").await.unwrap(),
        Some(UploadRecord::new("https://tus.example/é"))
    );
}

#[tokio::test]
async fn files_that_are_not_tinydb_are_refused_and_left_untouched() {
    let files: [(&str, &[u8]); 7] = [
        ("not JSON", b"{\"_default\": {\"1\": "),
        ("an array", b"[]"),
        ("a string", b"\"_default\""),
        (
            "a tusky store",
            br#"{"format":"tusky-url-store","version":1,"uploads":{}}"#,
        ),
        ("a table that is a list", br#"{"_default": []}"#),
        (
            "a table that is a number",
            br#"{"_default": {}, "other": 5}"#,
        ),
        ("whitespace only", b"  \n"),
    ];
    for (what, bytes) in files {
        let (dir, path) = temp_path("tuspy.json");
        let early = TuspyFileStorage::open(&path).unwrap();
        std::fs::write(&path, bytes).unwrap();
        assert_corrupt(TuspyFileStorage::open(&path), &path, what);
        for result in [
            early.set(HELLO, UploadRecord::new("u")).await,
            early.remove(HELLO).await,
            early.get(HELLO).await.map(drop),
            early.list().await.map(drop),
        ] {
            assert!(
                matches!(result, Err(StorageError::Corrupt { .. })),
                "{what}: {result:?}"
            );
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: the file was changed"
        );
        assert_eq!(
            dir_entries(dir.path()),
            ["tuspy.json", "tuspy.json.lock"],
            "{what}: files left behind"
        );
    }
}

#[tokio::test]
async fn the_tusky_error_points_to_the_other_store() {
    let (_dir, path) = with_file(br#"{"format":"tusky-url-store","version":1,"uploads":{}}"#);
    let message = TuspyFileStorage::open(&path).unwrap_err().to_string();
    assert!(message.contains("JsonFileStorage"), "{message}");
}

#[tokio::test]
async fn two_handles_interleaving_writes_lose_nothing() {
    let (_dir, path) = temp_path("tuspy.json");
    let a = TuspyFileStorage::open(&path).unwrap();
    let b = TuspyFileStorage::open(&path).unwrap();
    for i in 0..15 {
        a.set(&format!("a{i:02}"), UploadRecord::new(format!("ua{i}")))
            .await
            .unwrap();
        b.set(&format!("b{i:02}"), UploadRecord::new(format!("ub{i}")))
            .await
            .unwrap();
    }
    b.remove("a00").await.unwrap();
    a.remove("b00").await.unwrap();
    let keys: Vec<String> = a
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys.len(), 28);
    assert!(!keys.contains(&"a00".to_owned()) && !keys.contains(&"b00".to_owned()));
    // Ids were handed out one after another, never twice.
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let ids: Vec<u64> = doc["_default"]
        .as_object()
        .unwrap()
        .keys()
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 28);
    assert_eq!(ids.iter().max(), Some(&30));
}

#[test]
fn detects_tuspy_files_by_content() {
    for tuspy in [
        TUSPY_FILE.as_bytes(),
        br#"{"_default": {}}"#,
        b"{}",
        br#"{"_default": {"1": {"key": "k", "url": "u"}}, "other": {"7": {}}}"#,
        b" {\"_default\": {\"1\": {\"key\": \"k\", \"url\": \"u\"}}}\n",
    ] {
        assert!(
            detect_tuspy_store(tuspy),
            "{}",
            String::from_utf8_lossy(tuspy)
        );
    }
    for other in [
        &b""[..],
        b"not json",
        b"[]",
        br#"{"format":"tusky-url-store","version":1,"uploads":{}}"#,
        br#"{"format":"tusky-url-store","version":1,"uploads":{"1":{"url":"u"}}}"#,
        br#"{"_default": []}"#,
        br#"{"_default": {"one": {"key": "k"}}}"#,
        br#"{"_default": {"1": "not a document"}}"#,
    ] {
        assert!(
            !detect_tuspy_store(other),
            "{}",
            String::from_utf8_lossy(other)
        );
    }
}
