//! What the backend tests share: a key, the files in a folder, the conformance suite on a
//! file per scenario, and the error for a file a backend refuses.
#![allow(dead_code)] // which helpers are used depends on the backends' features

use std::path::Path;

use tusky_storage::StorageError;

/// A key as tuspy's MD5 fingerprint makes them (of the 11 bytes `hello world`).
pub const KEY: &str = "size:11--md5:5eb63bbbe01eeed093cb22bb8f5acdc3";

/// The names in `dir`, sorted.
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that `result` is `StorageError::Corrupt` naming `path` (with a reason).
pub fn assert_corrupt(result: Result<impl std::fmt::Debug, StorageError>, path: &Path, what: &str) {
    match result {
        Err(StorageError::Corrupt {
            path: reported,
            reason,
        }) => {
            assert_eq!(reported, path, "{what}: the error names the wrong path");
            assert!(!reason.is_empty(), "{what}: empty reason");
        }
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    }
}

/// Runs the conformance suite with `fidelity`, each scenario on a store `open` makes of its
/// own file `<scenario>.<extension>` in a fresh folder; returns the folder, to look at what
/// the stores left behind.
#[cfg(feature = "conformance")]
pub async fn conformance_on_files<S, E>(
    extension: &str,
    fidelity: tusky_storage::conformance::Fidelity,
    open: impl Fn(std::path::PathBuf) -> Result<S, E>,
) -> tempfile::TempDir
where
    S: tusky_storage::Storage + 'static,
    E: std::fmt::Debug,
{
    let dir = tempfile::tempdir().unwrap();
    tusky_storage::conformance::run_all_with(fidelity, |scenario| {
        let store = open(dir.path().join(format!("{scenario}.{extension}")));
        async move { store.unwrap() }
    })
    .await;
    dir
}

/// A path named `name` in a fresh temporary folder (which goes away with the guard).
pub fn temp_path(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}
