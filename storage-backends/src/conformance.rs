//! A conformance suite every [`Storage`] backend must pass (feature `conformance`).
//!
//! Each scenario is a plain `pub async fn` that drives a store and panics with an assertion
//! message naming the scenario when the store misbehaves, in the manner of object_store's
//! integration tests. [`run_all`] runs every scenario, each on a fresh store from your factory,
//! so testing a custom backend takes three lines:
//!
//! ```
//! # use async_trait::async_trait;
//! # use tusky_storage::{MemoryStorage, Storage, StorageError, UploadRecord};
//! /// A custom backend (here it forwards to memory; yours would talk to Redis, say).
//! struct MyStore(MemoryStorage);
//!
//! #[async_trait]
//! impl Storage for MyStore {
//!     async fn get(&self, key: &str) -> Result<Option<UploadRecord>, StorageError> {
//!         self.0.get(key).await
//!     }
//!     async fn set(&self, key: &str, record: UploadRecord) -> Result<(), StorageError> {
//!         self.0.set(key, record).await
//!     }
//!     async fn remove(&self, key: &str) -> Result<(), StorageError> {
//!         self.0.remove(key).await
//!     }
//!     async fn list(&self) -> Result<Vec<(String, UploadRecord)>, StorageError> {
//!         self.0.list().await
//!     }
//! }
//!
//! // In your tests: `#[tokio::test(flavor = "multi_thread")] async fn conformance() { ... }`
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! tusky_storage::conformance::run_all(|_scenario| async { MyStore(MemoryStorage::new()) }).await;
//! # });
//! ```
//!
//! The factory gets the scenario's name, handy for a fresh file per scenario:
//!
//! ```no_run
//! # #[cfg(feature = "json")]
//! # async fn json(dir: &std::path::Path) {
//! use tusky_storage::JsonFileStorage;
//!
//! tusky_storage::conformance::run_all(|scenario| {
//!     let store = JsonFileStorage::open(dir.join(format!("{scenario}.json")));
//!     async move { store.unwrap() }
//! })
//! .await;
//! # }
//! ```
//!
//! A backend that keeps only the URL of a record (such as `TuspyFileStorage`, whose file format
//! has no room for anything else) runs [`run_all_with`]`(`[`Fidelity::UrlOnly`]`, ..)`: every
//! scenario still runs, and records read back are compared with the URL alone.
//!
//! [`concurrent_sets`] spawns tokio tasks, so the suite needs a tokio runtime; use a
//! multi-thread one to exercise real parallelism.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use crate::{Storage, UploadRecord};

/// How much of an [`UploadRecord`] a backend keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fidelity {
    /// Every field comes back exactly as stored (every general-purpose backend).
    #[default]
    Full,
    /// Only `url` comes back; every other field reads back as its default (`None`, empty).
    UrlOnly,
}

impl Fidelity {
    /// What `record` reads back as from a backend of this fidelity.
    pub fn expected(self, record: &UploadRecord) -> UploadRecord {
        match self {
            Fidelity::Full => record.clone(),
            Fidelity::UrlOnly => UploadRecord::new(record.url.clone()),
        }
    }
}

/// The names of the scenarios [`run_all`] runs, in order; each is also the name of its function.
pub const SCENARIOS: &[&str] = &[
    "get_missing_is_none",
    "empty_store_lists_nothing",
    "round_trips_every_field",
    "round_trips_awkward_keys",
    "set_overwrites",
    "remove_removes_only_its_key",
    "remove_missing_is_ok",
    "list_is_sorted_by_key",
    "list_prefix_lists_only_its_keys",
    "many_keys",
    "concurrent_sets",
];

/// Runs every scenario with full fidelity, each on a fresh store from `make`.
///
/// `make` gets the scenario's name (one of [`SCENARIOS`]) and returns a future of an empty
/// store; it is called once per scenario. Panics on the first scenario that fails.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Storage + 'static,
    F: FnMut(&'static str) -> Fut,
    Fut: Future<Output = S>,
{
    run_all_with(Fidelity::Full, make).await;
}

/// Runs every scenario, comparing records read back as `fidelity` says, each on a fresh store.
pub async fn run_all_with<S, F, Fut>(fidelity: Fidelity, mut make: F)
where
    S: Storage + 'static,
    F: FnMut(&'static str) -> Fut,
    Fut: Future<Output = S>,
{
    for &scenario in SCENARIOS {
        let store = make(scenario).await;
        match scenario {
            "get_missing_is_none" => get_missing_is_none(&store).await,
            "empty_store_lists_nothing" => empty_store_lists_nothing(&store).await,
            "round_trips_every_field" => round_trips_every_field(&store, fidelity).await,
            "round_trips_awkward_keys" => round_trips_awkward_keys(&store, fidelity).await,
            "set_overwrites" => set_overwrites(&store, fidelity).await,
            "remove_removes_only_its_key" => remove_removes_only_its_key(&store, fidelity).await,
            "remove_missing_is_ok" => remove_missing_is_ok(&store).await,
            "list_is_sorted_by_key" => list_is_sorted_by_key(&store, fidelity).await,
            "list_prefix_lists_only_its_keys" => {
                list_prefix_lists_only_its_keys(&store, fidelity).await
            }
            "many_keys" => many_keys(&store, fidelity).await,
            "concurrent_sets" => concurrent_sets(Arc::new(store), fidelity).await,
            other => unreachable!("scenario {other} is listed but not run"),
        }
    }
}

/// A tuspy MD5 key, the shape most keys have in practice.
const TUSPY_KEY: &str = "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3";

/// Keys that trip up naive backends: separators, spaces, quotes, escapes, non-ASCII, length.
fn awkward_keys() -> Vec<String> {
    vec![
        TUSPY_KEY.to_owned(),
        "size:100000--sha256:4b640d85ab3ba30fd02c9fc9db4a8928f416322ad27022ea58a65aaee68a4df2"
            .to_owned(),
        "a key with spaces".to_owned(),
        "colons:in:the:key".to_owned(),
        "slashes/in/the/key".to_owned(),
        "../not/a/path".to_owned(),
        "back\\slash and \"quotes\" and 'ticks'".to_owned(),
        "tab\tnewline\ncarriage\r".to_owned(),
        "ünïcödé ключ 鍵 🔑".to_owned(),
        "x".repeat(1000),
    ]
}

/// A record with every field set, including values that break lossy encodings.
fn full_record(n: u64) -> UploadRecord {
    UploadRecord::new(format!("https://tus.example/files/{n}?sig=ä%20b&x=\"y\""))
        .with_size(u64::MAX - n)
        .with_expires_unix(1_700_000_000 + n)
        .with_partial_urls(vec![
            format!("https://tus.example/files/{n}-part-1"),
            format!("https://tus.example/files/{n}-part-2"),
            String::new(),
        ])
        .with_source(format!("/home/jürgen/Vidéos/clip {n} 🎬.mp4"))
        .with_endpoint("https://tus.example/files/")
        .with_created_unix(1_600_000_000 + n)
        .with_final_idempotency_key(format!("{n:032x}"))
        .with_completed_unix(1_650_000_000 + n)
        .with_file(
            crate::FileIdentity::default()
                .with_modified_nanos(1_700_000_000_123_456_789 + n)
                .with_inode(u64::MAX, n)
                .with_path(format!("/home/jürgen/Vidéos/clip {n} 🎬.mp4")),
        )
        .with_prefix(crate::PrefixDigest::new(
            1000 + n,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ))
}

async fn get_ok<S: Storage + ?Sized>(store: &S, scenario: &str, key: &str) -> Option<UploadRecord> {
    match store.get(key).await {
        Ok(found) => found,
        Err(err) => panic!("{scenario}: get({key:?}) failed: {err}"),
    }
}

async fn set_ok<S: Storage + ?Sized>(store: &S, scenario: &str, key: &str, record: UploadRecord) {
    if let Err(err) = store.set(key, record).await {
        panic!("{scenario}: set({key:?}) failed: {err}");
    }
}

async fn remove_ok<S: Storage + ?Sized>(store: &S, scenario: &str, key: &str) {
    if let Err(err) = store.remove(key).await {
        panic!("{scenario}: remove({key:?}) failed: {err}");
    }
}

async fn list_ok<S: Storage + ?Sized>(store: &S, scenario: &str) -> Vec<(String, UploadRecord)> {
    match store.list().await {
        Ok(list) => list,
        Err(err) => panic!("{scenario}: list() failed: {err}"),
    }
}

/// `get` of a key never stored is `Ok(None)`, not an error.
pub async fn get_missing_is_none<S: Storage + ?Sized>(store: &S) {
    let found = get_ok(store, "get_missing_is_none", TUSPY_KEY).await;
    assert_eq!(
        found, None,
        "get_missing_is_none: a fresh store returned a record"
    );
}

/// A fresh store lists nothing.
pub async fn empty_store_lists_nothing<S: Storage + ?Sized>(store: &S) {
    let list = list_ok(store, "empty_store_lists_nothing").await;
    assert!(
        list.is_empty(),
        "empty_store_lists_nothing: a fresh store listed {list:?}"
    );
}

/// `set` then `get` gives back every field: size and expiry up to `u64::MAX`, partial URLs
/// (including an empty one), non-ASCII source and URL; and a record with nothing but a URL,
/// and one with an empty URL, come back as they went in.
pub async fn round_trips_every_field<S: Storage + ?Sized>(store: &S, fidelity: Fidelity) {
    const SCENARIO: &str = "round_trips_every_field";
    let records = [
        ("full", full_record(1)),
        (
            "url only",
            UploadRecord::new("https://tus.example/files/abc"),
        ),
        (
            "zero size, no url",
            UploadRecord::new("").with_size(0).with_expires_unix(0),
        ),
        (
            "parallel",
            UploadRecord::new("").with_partial_urls(vec![
                "https://a.example/1".into(),
                "https://a.example/2".into(),
            ]),
        ),
    ];
    for (key, record) in &records {
        set_ok(store, SCENARIO, key, record.clone()).await;
    }
    for (key, record) in &records {
        let found = get_ok(store, SCENARIO, key).await;
        assert_eq!(
            found,
            Some(fidelity.expected(record)),
            "{SCENARIO}: the record read back under {key:?} differs from the one stored"
        );
    }
}

/// Keys with colons, slashes, spaces, quotes, control characters, non-ASCII and 1000 bytes are
/// kept apart and read back exactly (`list` returns them byte for byte).
pub async fn round_trips_awkward_keys<S: Storage + ?Sized>(store: &S, fidelity: Fidelity) {
    const SCENARIO: &str = "round_trips_awkward_keys";
    let keys = awkward_keys();
    for (n, key) in (0u64..).zip(&keys) {
        set_ok(store, SCENARIO, key, full_record(n)).await;
    }
    for (n, key) in (0u64..).zip(&keys) {
        let found = get_ok(store, SCENARIO, key).await;
        assert_eq!(
            found,
            Some(fidelity.expected(&full_record(n))),
            "{SCENARIO}: wrong record under key {key:?}"
        );
    }
    let mut want: Vec<String> = keys.clone();
    want.sort();
    let listed: Vec<String> = list_ok(store, SCENARIO)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        listed, want,
        "{SCENARIO}: list() did not return exactly the keys stored, sorted"
    );
}

/// A second `set` under the same key replaces the first record whole (fields the second
/// record leaves unset do not survive from the first).
pub async fn set_overwrites<S: Storage + ?Sized>(store: &S, fidelity: Fidelity) {
    const SCENARIO: &str = "set_overwrites";
    set_ok(store, SCENARIO, TUSPY_KEY, full_record(1)).await;
    let second = UploadRecord::new("https://tus.example/files/second");
    set_ok(store, SCENARIO, TUSPY_KEY, second.clone()).await;
    let found = get_ok(store, SCENARIO, TUSPY_KEY).await;
    assert_eq!(
        found,
        Some(fidelity.expected(&second)),
        "{SCENARIO}: get after a second set did not return the second record"
    );
    let list = list_ok(store, SCENARIO).await;
    assert_eq!(
        list,
        vec![(TUSPY_KEY.to_owned(), fidelity.expected(&second))],
        "{SCENARIO}: list after overwriting one key"
    );
}

/// `remove` deletes its key and leaves every other key alone.
pub async fn remove_removes_only_its_key<S: Storage + ?Sized>(store: &S, fidelity: Fidelity) {
    const SCENARIO: &str = "remove_removes_only_its_key";
    set_ok(store, SCENARIO, "keep-1", full_record(1)).await;
    set_ok(store, SCENARIO, TUSPY_KEY, full_record(2)).await;
    set_ok(store, SCENARIO, "keep-3", full_record(3)).await;
    remove_ok(store, SCENARIO, TUSPY_KEY).await;
    assert_eq!(
        get_ok(store, SCENARIO, TUSPY_KEY).await,
        None,
        "{SCENARIO}: the key is still there after remove"
    );
    let list = list_ok(store, SCENARIO).await;
    assert_eq!(
        list,
        vec![
            ("keep-1".to_owned(), fidelity.expected(&full_record(1))),
            ("keep-3".to_owned(), fidelity.expected(&full_record(3))),
        ],
        "{SCENARIO}: the other keys after remove"
    );
    // The key can be stored again after removal.
    set_ok(store, SCENARIO, TUSPY_KEY, full_record(4)).await;
    assert_eq!(
        get_ok(store, SCENARIO, TUSPY_KEY).await,
        Some(fidelity.expected(&full_record(4))),
        "{SCENARIO}: set after remove"
    );
}

/// Removing a key that is not there (in an empty store, twice, and beside other keys) is `Ok`.
pub async fn remove_missing_is_ok<S: Storage + ?Sized>(store: &S) {
    const SCENARIO: &str = "remove_missing_is_ok";
    remove_ok(store, SCENARIO, "never-stored").await;
    remove_ok(store, SCENARIO, "never-stored").await;
    set_ok(
        store,
        SCENARIO,
        "present",
        UploadRecord::new("https://tus.example/p"),
    )
    .await;
    remove_ok(store, SCENARIO, "never-stored").await;
    let keys: Vec<String> = list_ok(store, SCENARIO)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        ["present"],
        "{SCENARIO}: removing a missing key changed the store"
    );
}

/// `list` returns every record with its key, sorted by key (byte order), whatever the order
/// of insertion.
pub async fn list_is_sorted_by_key<S: Storage + ?Sized>(store: &S, fidelity: Fidelity) {
    const SCENARIO: &str = "list_is_sorted_by_key";
    // Inserted out of order; "10" < "2" and "Z" < "a" < "é" in byte order.
    let keys = ["b", "é", "a", "2", "10", "Z", "a b", "a:b", "a/b"];
    for (n, key) in (0u64..).zip(keys) {
        set_ok(store, SCENARIO, key, full_record(n)).await;
    }
    let mut want: Vec<(String, UploadRecord)> = (0u64..)
        .zip(keys)
        .map(|(n, key)| (key.to_owned(), fidelity.expected(&full_record(n))))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let list = list_ok(store, SCENARIO).await;
    assert_eq!(
        list, want,
        "{SCENARIO}: list() is not every record sorted by key"
    );
}

/// `list_prefix` returns exactly the records whose key starts with the prefix, sorted by key
/// — a prefix with characters that are patterns elsewhere (`*`, `?`, `[`, `\\`) included.
pub async fn list_prefix_lists_only_its_keys<S: Storage + ?Sized>(store: &S, fidelity: Fidelity) {
    const SCENARIO: &str = "list_prefix_lists_only_its_keys";
    let keys = [
        "size:1--md5:aa",
        "size:1--md5:aa|https://a/",
        "size:1--md5:ab",
        "size:10--md5:aa",
        "size:1",
        "a*",
        "a*b",
        "ab",
        "a?",
        "a[1]",
        "a\\b",
        "é",
        "b",
    ];
    for (n, key) in (0u64..).zip(keys) {
        set_ok(store, SCENARIO, key, full_record(n)).await;
    }
    let prefixes = [
        "size:1--md5:aa",
        "size:1",
        "a*",
        "a?",
        "a[",
        "a\\",
        "a",
        "é",
        "",
        "zzz",
    ];
    for prefix in prefixes {
        let mut want: Vec<(String, UploadRecord)> = (0u64..)
            .zip(keys)
            .filter(|(_, key)| key.starts_with(prefix))
            .map(|(n, key)| (key.to_owned(), fidelity.expected(&full_record(n))))
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        let got = match store.list_prefix(prefix).await {
            Ok(records) => records,
            Err(err) => panic!("{SCENARIO}: list_prefix({prefix:?}) failed: {err}"),
        };
        assert_eq!(got, want, "{SCENARIO}: list_prefix({prefix:?})");
    }
}

/// 200 keys are all kept, each with its own record.
pub async fn many_keys<S: Storage + ?Sized>(store: &S, fidelity: Fidelity) {
    const SCENARIO: &str = "many_keys";
    const N: u64 = 200;
    for n in 0..N {
        set_ok(
            store,
            SCENARIO,
            &format!("size:{n}--md5:{n:032x}"),
            full_record(n),
        )
        .await;
    }
    for n in (0..N).step_by(7) {
        let key = format!("size:{n}--md5:{n:032x}");
        assert_eq!(
            get_ok(store, SCENARIO, &key).await,
            Some(fidelity.expected(&full_record(n))),
            "{SCENARIO}: wrong record under {key:?}"
        );
    }
    let list = list_ok(store, SCENARIO).await;
    let want: BTreeMap<String, UploadRecord> = (0..N)
        .map(|n| {
            (
                format!("size:{n}--md5:{n:032x}"),
                fidelity.expected(&full_record(n)),
            )
        })
        .collect();
    assert_eq!(list.len(), want.len(), "{SCENARIO}: list() length");
    assert_eq!(
        list,
        want.into_iter().collect::<Vec<_>>(),
        "{SCENARIO}: list() after {N} sets"
    );
}

/// Eight tokio tasks sharing the store through an `Arc` each set their own 10 keys and all
/// write one shared key: every own key lands, and the shared key holds one of the values
/// written (last writer wins, nothing is torn or lost).
pub async fn concurrent_sets<S: Storage + ?Sized + 'static>(store: Arc<S>, fidelity: Fidelity) {
    const SCENARIO: &str = "concurrent_sets";
    const TASKS: u64 = 8;
    const PER_TASK: u64 = 10;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = Arc::clone(&store);
        handles.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                let n = task * PER_TASK + i;
                set_ok(
                    &*store,
                    SCENARIO,
                    &format!("task-{task}-key-{i}"),
                    full_record(n),
                )
                .await;
                set_ok(&*store, SCENARIO, "shared", full_record(1000 + n)).await;
            }
        }));
    }
    for handle in handles {
        if let Err(err) = handle.await {
            if err.is_panic() {
                std::panic::resume_unwind(err.into_panic());
            }
            panic!("{SCENARIO}: a writer task was cancelled: {err}");
        }
    }
    let list = list_ok(&*store, SCENARIO).await;
    let got: BTreeMap<String, UploadRecord> = list.into_iter().collect();
    assert_eq!(
        got.len() as u64,
        TASKS * PER_TASK + 1,
        "{SCENARIO}: records were lost or invented: {:?}",
        got.keys().collect::<Vec<_>>()
    );
    for task in 0..TASKS {
        for i in 0..PER_TASK {
            let key = format!("task-{task}-key-{i}");
            assert_eq!(
                got.get(&key),
                Some(&fidelity.expected(&full_record(task * PER_TASK + i))),
                "{SCENARIO}: {key} did not land intact"
            );
        }
    }
    let shared = got.get("shared");
    assert!(
        (1000..1000 + TASKS * PER_TASK)
            .any(|n| shared == Some(&fidelity.expected(&full_record(n)))),
        "{SCENARIO}: the shared key holds none of the values written: {shared:?}"
    );
}
