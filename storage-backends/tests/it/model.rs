//! Random sequences of operations on the file backends, checked against a `BTreeMap` model
//! (redb's testing style). The JSON and tuspy stores alternate between two handles on one
//! file, so every step also checks that a handle sees the other's writes.
#![cfg(any(feature = "json", feature = "redb"))]

use std::collections::BTreeMap;

use proptest::prelude::*;
use tusky_storage::{Storage, UploadRecord};

const KEYS: &[&str] = &[
    "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3",
    "size:0--md5:d41d8cd98f00b204e9800998ecf8427e",
    "a key with spaces",
    "slash/colon:key",
    "ünïcödé",
    "\"quoted\"",
];

#[derive(Debug, Clone)]
enum Op {
    Set(usize, u64),
    Remove(usize),
    Get(usize),
    List,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS.len(), 0u64..1000).prop_map(|(k, n)| Op::Set(k, n)),
        2 => (0..KEYS.len()).prop_map(Op::Remove),
        2 => (0..KEYS.len()).prop_map(Op::Get),
        1 => Just(Op::List),
    ]
}

fn record(n: u64, url_only: bool) -> UploadRecord {
    let record = UploadRecord::new(format!("https://tus.example/files/{n}"));
    if url_only {
        record
    } else {
        record.with_size(n).with_partial_urls(vec![format!("p{n}")])
    }
}

/// Runs `ops` on the stores (used in turn) and on the model; panics on the first difference.
async fn check<S: Storage>(stores: &[S], ops: &[Op], url_only: bool) {
    let mut model: BTreeMap<String, UploadRecord> = BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        let store = &stores[step % stores.len()];
        match *op {
            Op::Set(k, n) => {
                store.set(KEYS[k], record(n, url_only)).await.unwrap();
                model.insert(KEYS[k].to_owned(), record(n, url_only));
            }
            Op::Remove(k) => {
                store.remove(KEYS[k]).await.unwrap();
                model.remove(KEYS[k]);
            }
            Op::Get(k) => {
                let got = store.get(KEYS[k]).await.unwrap();
                assert_eq!(got.as_ref(), model.get(KEYS[k]), "step {step}: {op:?}");
            }
            Op::List => {
                let got = store.list().await.unwrap();
                let want: Vec<_> = model.clone().into_iter().collect();
                assert_eq!(got, want, "step {step}: {op:?}");
            }
        }
    }
    let got = stores[0].list().await.unwrap();
    assert_eq!(got, model.into_iter().collect::<Vec<_>>(), "final state");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[cfg(feature = "json")]
    #[test]
    fn json_store_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let (_dir, path) = crate::common::temp_path("uploads.json");
        let stores = [
            tusky_storage::JsonFileStorage::open(&path).unwrap(),
            tusky_storage::JsonFileStorage::open(&path).unwrap(),
        ];
        runtime().block_on(check(&stores, &ops, false));
    }

    #[cfg(feature = "json")]
    #[test]
    fn tuspy_store_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let (_dir, path) = crate::common::temp_path("tuspy.json");
        let stores = [
            tusky_storage::TuspyFileStorage::open(&path).unwrap(),
            tusky_storage::TuspyFileStorage::open(&path).unwrap(),
        ];
        runtime().block_on(check(&stores, &ops, true));
    }

    #[cfg(feature = "redb")]
    #[test]
    fn redb_store_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let store = tusky_storage::RedbStorage::open(dir.path().join("uploads.redb")).unwrap();
        // One handle per file: the second "handle" is a clone.
        let stores = [store.clone(), store];
        runtime().block_on(check(&stores, &ops, false));
    }
}
