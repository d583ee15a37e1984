//! Fuzz targets for tusky's pure parsers of server input. The checks live in
//! [`checks`], a single file that the stable test `tests/it/fuzz_corpus.rs` of the main crate
//! also compiles (with `#[path]`) to replay every corpus and artifact file under `cargo test`.

pub mod checks;
