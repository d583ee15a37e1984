//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) and any local crash artifacts
//! (`fuzz/artifacts/<target>/`, not committed) through the fuzz targets' checks, on stable, as
//! part of `cargo test`: every interesting input found by fuzzing stays a regression test
//! without nightly or cargo-fuzz.
//!
//! The checks are `fuzz/src/checks.rs`, compiled here as a module with `#[path]` and in the fuzz
//! crate as `tusky_fuzz::checks`: one definition, two crates (the fuzz crate is its own
//! workspace and cannot be a dev-dependency here). See that file's header.

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The regular, non-hidden files of `dir` (none if it does not exist), sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_and_artifacts_pass_the_fuzz_checks() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    for kind in ["corpus", "artifacts"] {
        let Ok(dirs) = fs::read_dir(fuzz.join(kind)) else {
            continue;
        };
        for dir in dirs {
            let dir = dir.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let Some((_, check)) = checks::TARGETS.iter().find(|(target, _)| *target == name)
            else {
                panic!(
                    "{} is not the folder of a fuzz target (add it to checks::TARGETS)",
                    dir.display()
                );
            };
            for file in files(&dir) {
                let data = fs::read(&file).unwrap();
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("{}: {message}", file.display()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} inputs fail their fuzz checks:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_target_has_a_seed_corpus() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, _) in checks::TARGETS {
        let seeds = files(&corpus.join(target));
        assert!(
            seeds.len() >= 10,
            "fuzz/corpus/{target} has {} seeds",
            seeds.len()
        );
    }
}

/// The date formatter the `headers` check uses to re-write `Upload-Expires` values.
#[test]
fn imf_fixdate_formats_known_dates() {
    assert_eq!(
        checks::imf_fixdate(784_111_777),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
    assert_eq!(checks::imf_fixdate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(
        checks::imf_fixdate(951_782_400),
        "Tue, 29 Feb 2000 00:00:00 GMT"
    );
    assert_eq!(
        checks::imf_fixdate(253_402_300_799),
        "Fri, 31 Dec 9999 23:59:59 GMT"
    );
}
