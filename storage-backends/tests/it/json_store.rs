//! JsonFileStorage: conformance, sharing one file, refusing foreign files, atomic writes.
#![cfg(feature = "json")]

use std::collections::BTreeSet;
use std::path::PathBuf;

use tusky_storage::{JsonFileStorage, Storage, StorageError, UploadRecord};

use crate::common::{assert_corrupt, dir_entries, temp_path, KEY};

#[cfg(feature = "conformance")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_conformance() {
    use tusky_storage::conformance::Fidelity;
    let dir =
        crate::common::conformance_on_files("json", Fidelity::Full, JsonFileStorage::open).await;
    // Every scenario's store is a readable file, and no temporary file was left behind.
    for name in dir_entries(dir.path()) {
        assert!(
            name.ends_with(".json") || name.ends_with(".json.lock"),
            "unexpected file left behind: {name}"
        );
    }
}

#[tokio::test]
async fn missing_file_is_an_empty_store_created_with_its_parents_on_first_write() {
    let (_dir, path) = temp_path("a/b/c/uploads.json");
    let store = JsonFileStorage::open(&path).unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(store.get(KEY).await.unwrap(), None);
    assert!(store.list().await.unwrap().is_empty());
    store.remove(KEY).await.unwrap();
    assert!(
        !path.exists(),
        "reads and a no-op remove must not create the store"
    );

    store
        .set(KEY, UploadRecord::new("https://tus.example/1"))
        .await
        .unwrap();
    assert!(path.exists());
    assert_eq!(
        dir_entries(path.parent().unwrap()),
        ["uploads.json", "uploads.json.lock"],
        "only the store and its lock file"
    );
}

#[tokio::test]
async fn the_file_has_a_format_and_version() {
    let (_dir, path) = temp_path("uploads.json");
    let store = JsonFileStorage::open(&path).unwrap();
    let record = UploadRecord::new("https://tus.example/1")
        .with_size(11)
        .with_partial_urls(vec!["https://tus.example/p1".into()]);
    store.set(KEY, record).await.unwrap();
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        on_disk,
        serde_json::json!({
            "format": "tusky-url-store",
            "version": 1,
            "uploads": {
                KEY: {
                    "url": "https://tus.example/1",
                    "size": 11,
                    "expires_unix": null,
                    "partial_urls": ["https://tus.example/p1"],
                    "source": null,
                    "endpoint": null
                }
            }
        })
    );
}

#[tokio::test]
async fn an_empty_file_is_an_empty_store() {
    let (_dir, path) = temp_path("uploads.json");
    std::fs::write(&path, b"").unwrap();
    let store = JsonFileStorage::open(&path).unwrap();
    assert!(store.list().await.unwrap().is_empty());
    store.set(KEY, UploadRecord::new("u")).await.unwrap();
    assert_eq!(store.get(KEY).await.unwrap(), Some(UploadRecord::new("u")));
}

#[tokio::test]
async fn minimal_and_older_records_are_read_with_defaults() {
    let (_dir, path) = temp_path("uploads.json");
    std::fs::write(
        &path,
        br#"{"format":"tusky-url-store","version":1,"uploads":{"k":{"url":"https://tus.example/1"}}}"#,
    )
    .unwrap();
    let store = JsonFileStorage::open(&path).unwrap();
    assert_eq!(
        store.get("k").await.unwrap(),
        Some(UploadRecord::new("https://tus.example/1"))
    );
}

/// A parallel upload's record as tusky wrote it before final POSTs carried an
/// `Idempotency-Key` reads as before, without a key; one with a key keeps it.
#[tokio::test]
async fn a_parallel_record_without_a_final_idempotency_key_reads_as_before() {
    let (_dir, path) = temp_path("uploads.json");
    std::fs::write(
        &path,
        br#"{"format":"tusky-url-store","version":1,"uploads":{"k":{"url":"","size":30,
            "expires_unix":null,"partial_urls":["https://tus.example/1",""],"source":"/f",
            "endpoint":"https://tus.example/","created_unix":1700000000}}}"#,
    )
    .unwrap();
    let store = JsonFileStorage::open(&path).unwrap();
    let old = UploadRecord::new("")
        .with_size(30)
        .with_partial_urls(vec!["https://tus.example/1".into(), String::new()])
        .with_source("/f")
        .with_endpoint("https://tus.example/")
        .with_created_unix(1_700_000_000);
    assert_eq!(store.get("k").await.unwrap(), Some(old.clone()));

    let keyed = old.with_final_idempotency_key("00112233445566778899aabbccddeeff");
    store.set("k", keyed.clone()).await.unwrap();
    let reopened = JsonFileStorage::open(&path).unwrap();
    assert_eq!(reopened.get("k").await.unwrap(), Some(keyed));
}

#[tokio::test]
async fn two_handles_on_one_file_interleaving_writes_lose_nothing() {
    let (_dir, path) = temp_path("shared.json");
    let a = JsonFileStorage::open(&path).unwrap();
    let b = JsonFileStorage::open(&path).unwrap();
    for i in 0..20 {
        a.set(
            &format!("a-{i:02}"),
            UploadRecord::new(format!("https://a/{i}")),
        )
        .await
        .unwrap();
        b.set(
            &format!("b-{i:02}"),
            UploadRecord::new(format!("https://b/{i}")),
        )
        .await
        .unwrap();
        if i % 5 == 4 {
            // Each handle removes the other's key: it must see the other's write.
            a.remove(&format!("b-{i:02}")).await.unwrap();
            b.remove(&format!("a-{:02}", i - 1)).await.unwrap();
        }
    }
    let mut want = BTreeSet::new();
    for i in 0..20 {
        if i % 5 != 4 {
            want.insert(format!("b-{i:02}"));
        }
        if i % 5 != 3 {
            want.insert(format!("a-{i:02}"));
        }
    }
    for store in [&a, &b] {
        let got: BTreeSet<String> = store
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(got, want);
    }
}

/// Several OS threads, each with its own runtime and its own handle on one file, hammer it.
#[test]
fn threads_with_their_own_handles_lose_nothing() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 30;
    let (dir, path) = temp_path("hammer.json");
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let store = JsonFileStorage::open(&path).unwrap();
                    for i in 0..PER_THREAD {
                        let record =
                            UploadRecord::new(format!("https://t{t}/{i}")).with_size(i as u64);
                        store.set(&format!("t{t}-{i:03}"), record).await.unwrap();
                        store
                            .set(&format!("t{t}-scratch"), UploadRecord::new("x"))
                            .await
                            .unwrap();
                        store.remove(&format!("t{t}-scratch")).await.unwrap();
                    }
                });
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let list = runtime
        .block_on(JsonFileStorage::open(&path).unwrap().list())
        .unwrap();
    assert_eq!(list.len(), THREADS * PER_THREAD);
    for t in 0..THREADS {
        for i in 0..PER_THREAD {
            let key = format!("t{t}-{i:03}");
            let record = list.iter().find(|(k, _)| *k == key).map(|(_, r)| r.clone());
            assert_eq!(
                record,
                Some(UploadRecord::new(format!("https://t{t}/{i}")).with_size(i as u64)),
                "{key}"
            );
        }
    }
    assert_eq!(dir_entries(dir.path()), ["hammer.json", "hammer.json.lock"]);
}

fn foreign_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("not JSON", b"{\"format\": \"tusky-url-store\", \"vers".to_vec()),
        ("not UTF-8", vec![0xff, 0xfe, b'{', b'}']),
        ("a JSON array", b"[1, 2, 3]\n".to_vec()),
        ("another program's JSON", b"{\"name\": \"my-app\", \"dependencies\": {}}".to_vec()),
        ("an empty object", b"{}".to_vec()),
        (
            "a tuspy store",
            br#"{"_default": {"1": {"key": "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3", "url": "http://localhost/files/1"}}}"#.to_vec(),
        ),
        ("another format", br#"{"format":"other","version":1,"uploads":{}}"#.to_vec()),
        ("a newer version", br#"{"format":"tusky-url-store","version":2,"uploads":{}}"#.to_vec()),
        ("no version", br#"{"format":"tusky-url-store","uploads":{}}"#.to_vec()),
        ("a string version", br#"{"format":"tusky-url-store","version":"1","uploads":{}}"#.to_vec()),
        ("version 0", br#"{"format":"tusky-url-store","version":0,"uploads":{}}"#.to_vec()),
        ("no uploads", br#"{"format":"tusky-url-store","version":1}"#.to_vec()),
        ("uploads a list", br#"{"format":"tusky-url-store","version":1,"uploads":[]}"#.to_vec()),
        (
            "a record of the wrong shape",
            br#"{"format":"tusky-url-store","version":1,"uploads":{"k":{"url":5}}}"#.to_vec(),
        ),
        (
            "a record without url",
            br#"{"format":"tusky-url-store","version":1,"uploads":{"k":{"size":5}}}"#.to_vec(),
        ),
    ]
}

#[tokio::test]
async fn foreign_corrupt_and_newer_files_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for (n, (what, bytes)) in foreign_files().into_iter().enumerate() {
        let path: PathBuf = dir.path().join(format!("store-{n}.json"));
        // A handle opened while the file was missing, then the file appears (another program).
        let early = JsonFileStorage::open(&path).unwrap();
        std::fs::write(&path, &bytes).unwrap();

        assert_corrupt(JsonFileStorage::open(&path), &path, what);
        assert_corrupt(early.get(KEY).await, &path, what);
        assert_corrupt(early.list().await, &path, what);
        assert_corrupt(
            early.set(KEY, UploadRecord::new("https://x")).await,
            &path,
            what,
        );
        assert_corrupt(early.remove(KEY).await, &path, what);
        assert_corrupt(early.remove("k").await, &path, what);

        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: the file was changed"
        );
    }
    for name in dir_entries(dir.path()) {
        assert!(
            !name.contains("tmp"),
            "a temporary file was left behind: {name}"
        );
    }
}

#[tokio::test]
async fn the_error_names_the_file_and_says_it_was_left_untouched() {
    let (_dir, path) = temp_path("tuspy.json");
    std::fs::write(&path, br#"{"_default": {}}"#).unwrap();
    let message = JsonFileStorage::open(&path).unwrap_err().to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("left untouched"), "{message}");
    assert!(message.contains("TuspyFileStorage"), "{message}");

    std::fs::write(
        &path,
        br#"{"format":"tusky-url-store","version":7,"uploads":{}}"#,
    )
    .unwrap();
    let message = JsonFileStorage::open(&path).unwrap_err().to_string();
    assert!(message.contains("newer"), "{message}");
}

#[tokio::test]
async fn unknown_fields_are_kept_when_writing() {
    let (_dir, path) = temp_path("uploads.json");
    std::fs::write(
        &path,
        br#"{"format":"tusky-url-store","version":1,"written_by":"tusky 9.9",
             "uploads":{"old":{"url":"https://o","checksum":"sha1 abc"}}}"#,
    )
    .unwrap();
    let store = JsonFileStorage::open(&path).unwrap();
    store
        .set(KEY, UploadRecord::new("https://n"))
        .await
        .unwrap();
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(on_disk["written_by"], "tusky 9.9");
    assert_eq!(on_disk["uploads"]["old"]["checksum"], "sha1 abc");
    assert_eq!(on_disk["uploads"][KEY]["url"], "https://n");
}

#[tokio::test]
async fn a_failed_write_leaves_the_store_as_it_was() {
    let (dir, path) = temp_path("uploads.json");
    let store = JsonFileStorage::open(&path).unwrap();
    store
        .set(KEY, UploadRecord::new("https://before"))
        .await
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    // Block the temporary file's name with a directory: creating it fails.
    let blocker = dir.path().join("uploads.json.tusky-tmp");
    std::fs::create_dir(&blocker).unwrap();
    match store.set(KEY, UploadRecord::new("https://after")).await {
        Err(StorageError::Io { path: reported, .. }) => assert_eq!(reported, path),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        store.get(KEY).await.unwrap(),
        Some(UploadRecord::new("https://before"))
    );

    std::fs::remove_dir(&blocker).unwrap();
    store
        .set(KEY, UploadRecord::new("https://after"))
        .await
        .unwrap();
    assert_eq!(
        store.get(KEY).await.unwrap(),
        Some(UploadRecord::new("https://after"))
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_store_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_path("uploads.json");
    let store = JsonFileStorage::open(&path).unwrap();
    store
        .set("a", UploadRecord::new("https://a"))
        .await
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    store
        .set("b", UploadRecord::new("https://b"))
        .await
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn a_directory_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    match JsonFileStorage::open(dir.path()) {
        Err(StorageError::Io { path, .. }) => assert_eq!(path, dir.path()),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// Concurrent writes through one handle (the uploads of a batch, say) take turns in the
/// process: none waits for the file lock, so none tells the user that a process — this one —
/// holds the store; and none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_handles_concurrent_writes_never_wait_for_the_file_lock() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (_dir, path) = temp_path("turns.json");
    let waits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&waits);
    let store = JsonFileStorage::open(&path)
        .unwrap()
        .on_lock_wait(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
    let writes: Vec<_> = (0..32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let record = UploadRecord::new(format!("https://t/{i}"));
                store.set(&format!("k{i:02}"), record).await.unwrap();
            })
        })
        .collect();
    for write in writes {
        write.await.unwrap();
    }
    assert_eq!(store.list().await.unwrap().len(), 32);
    assert_eq!(
        waits.load(Ordering::SeqCst),
        0,
        "a write waited for its own process"
    );
}
