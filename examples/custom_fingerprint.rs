//! A custom fingerprint: SHA-256 of the first 64 KiB plus the size, as the key under which an
//! upload's URL is stored.
//!
//! What it shows: the [`Fingerprint`] trait — `head_len()` says how many leading bytes of the
//! source the uploader reads, `fingerprint(head, size)` turns them and the source's size into
//! the storage key — and how to give it to an uploader with `.fingerprint(...)`. The uploader
//! reports the key it computed (`fingerprint_key()`); the example computes the same key from
//! the file by hand, interrupts the upload, and resumes it with a second uploader that uses the
//! same fingerprint (a run with a different fingerprint would not find the stored URL).
//!
//! tusky ships this very hash as `tusky::fingerprint::Sha256Fingerprint` (feature
//! `fingerprint-sha256`, keys `size:N--sha256:HEX`); write your own when you need another key —
//! here a versioned prefix, say, so that several programs can share one store.
//!
//! It uploads to the bundled mock tus server on 127.0.0.1 and checks the result, so it doubles
//! as a test:
//!
//! ```sh
//! cargo run --example custom_fingerprint --features mock-server
//! ```

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tusky::fingerprint::Fingerprint;
use tusky::mock::{sample_bytes, TusMockServer};
use tusky::storage::{MemoryStorage, Storage};

/// The size of the file's head that is hashed.
const HEAD_LEN: usize = 64 * 1024;

/// Keys a source by the SHA-256 of its first 64 KiB and its size:
/// `myapp-v1:sha256-64k:{hex}:size:{size}`.
///
/// Like every fingerprint, it must be pure: the same head and size always give the same key,
/// in every run and on every machine, or a later run cannot find the stored URL.
#[derive(Debug, Clone, Copy, Default)]
struct Sha256HeadFingerprint;

impl Fingerprint for Sha256HeadFingerprint {
    fn head_len(&self) -> usize {
        HEAD_LEN
    }

    fn fingerprint(&self, head: &[u8], size: u64) -> String {
        // The uploader passes at most head_len() bytes (fewer for a shorter source); cut anyway,
        // so that the key never depends on how much a caller passes.
        let head = &head[..head.len().min(HEAD_LEN)];
        let digest = Sha256::digest(head);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("myapp-v1:sha256-64k:{hex}:size:{size}")
    }
}

const SIZE: usize = 200 * 1024;
const CHUNK: u64 = 32 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TusMockServer::start().await;
    let client = tusky::Client::new(server.endpoint())?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("photo.raw");
    let content = sample_bytes(SIZE, 0);
    std::fs::write(&path, &content)?;

    // One store shared by both uploaders (an Arc is a Storage too); any backend would do.
    let store = Arc::new(MemoryStorage::new());

    // First uploader: stops after 96 KiB; its record is kept, under the custom key.
    // Both uploaders are made alike, as one program run twice would make them.
    let uploader = || {
        client
            .uploader()
            .path(&path)
            .chunk_size(CHUNK)
            .storage(store.clone())
            .fingerprint(Sha256HeadFingerprint)
            .build()
    };
    let mut first = uploader()?;
    let partial = first.upload_until(3 * CHUNK).await?;
    let key = first
        .fingerprint_key()
        .ok_or("the uploader computed no key")?
        .to_owned();
    println!("fingerprint key: {key}");
    println!(
        "first uploader: stopped at {} of {SIZE} bytes",
        partial.offset
    );

    // The same fingerprint, computed from the file by hand: its first 64 KiB and its size.
    // (The record's key adds the server and the file: `<fingerprint> @ <endpoint> @ file ...`.)
    let by_hand = Sha256HeadFingerprint.fingerprint_file(&path)?;
    assert_eq!(
        tusky::storage::key_fingerprint(&key),
        by_hand,
        "the uploader's key differs from the file's fingerprint"
    );
    println!("computed from the file: the same key");

    let record = store
        .get(&key)
        .await?
        .ok_or("nothing stored under the key")?;
    assert_eq!(record.url, partial.url.as_str());
    println!("store: {key} -> {}", record.url);

    // Second uploader, same fingerprint: finds the record and resumes.
    let mut second = uploader()?;
    let summary = second.upload().await?;
    println!(
        "second uploader: resumed from {:?}, sent {} bytes, done at {}",
        summary.resumed_from, summary.bytes_uploaded, summary.url
    );

    assert_eq!(second.fingerprint_key(), Some(key.as_str()));
    assert_eq!(summary.url, partial.url);
    assert_eq!(summary.resumed_from, Some(partial.offset));
    assert_eq!(server.uploads().len(), 1, "no second upload was created");
    assert_eq!(server.upload_bytes(summary.url.as_str()), Some(content));
    assert!(
        store.get(&key).await?.is_none(),
        "a finished upload is forgotten"
    );
    println!("verified: the server holds exactly the file; the record is gone");
    Ok(())
}
