//! Managing stored upload URLs: list them, look one up by a file's fingerprint, remove it.
//!
//! What it shows: the URL store is an ordinary [`Storage`] you can use directly. After three
//! uploads are interrupted, their records sit in a [`JsonFileStorage`]; this example
//!
//! 1. lists them (key, source, size, URL) with the server's offset for each
//!    (`Client::upload_status`, a HEAD request),
//! 2. looks one up by the fingerprint of its file — computed as the uploader computes it: the
//!    default [`Md5Fingerprint`] of the file's first 64 KiB and its size (tuspy's key),
//! 3. removes that record (the upload is forgotten: the next upload of the file starts over;
//!    `Client::terminate(url)` would also free the server's copy), and shows it is gone.
//!
//! It uploads to the bundled mock tus server on 127.0.0.1 and checks each step, so it doubles
//! as a test:
//!
//! ```sh
//! cargo run --example manage_stored_urls --features mock-server,storage-json
//! ```

use std::sync::Arc;

use tusky::fingerprint::{Fingerprint, Md5Fingerprint};
use tusky::mock::{sample_bytes, TusMockServer};
use tusky::storage::{key_fingerprint, records_with_fingerprint, JsonFileStorage, Storage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TusMockServer::start().await;
    let client = tusky::Client::new(server.endpoint())?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(JsonFileStorage::open(dir.path().join("uploads.json"))?);

    // Three uploads, each interrupted part-way, leave three records behind.
    let files = [
        ("a.mp4", 150_000, 1),
        ("b.iso", 90_000, 2),
        ("c.txt", 40_000, 3),
    ];
    for (name, size, seed) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, sample_bytes(size, seed))?;
        let mut uploader = client
            .uploader()
            .path(&path)
            .chunk_size(10_000)
            .storage(store.clone())
            .build()?;
        uploader.upload_until(size as u64 / 2).await?;
    }

    // 1. List the stored uploads, asking the server how far each got.
    assert_eq!(list_with_status(&client, &store).await?, 3);

    // 2. Look one up by its file's fingerprint (keys are `<fingerprint> @ <endpoint> @ file
    //    <device>:<inode>`: a file's records, on every server, are those with its fingerprint).
    let path = dir.path().join("b.iso");
    let fingerprint = Md5Fingerprint.fingerprint_file(&path)?;
    let (key, record) = records_with_fingerprint(store.as_ref(), &fingerprint)
        .await?
        .into_iter()
        .next()
        .ok_or("no record for b.iso")?;
    println!("lookup {}: {key} -> {}", path.display(), record.url);
    assert_eq!(
        record.source.as_deref(),
        Some(path.to_string_lossy().as_ref())
    );
    assert_eq!(record.size, Some(90_000));

    // 3. Remove it (forget the upload), and show that it is gone.
    store.remove(&key).await?;
    assert!(store.get(&key).await?.is_none());
    let remaining = store.list().await?;
    assert_eq!(remaining.len(), 2);
    assert!(remaining.iter().all(|(k, _)| *k != key));
    println!("removed {key}; {} stored uploads left:", remaining.len());
    for (key, record) in &remaining {
        println!("  {key} ({})", record.source.as_deref().unwrap_or("?"));
    }

    // With its record gone, the next upload of b.iso cannot resume: it creates a new upload.
    let mut uploader = client
        .uploader()
        .path(&path)
        .storage(store.clone())
        .build()?;
    let summary = uploader.upload().await?;
    assert_eq!(
        uploader.fingerprint_key().map(key_fingerprint),
        Some(fingerprint.as_str())
    );
    assert_eq!(summary.resumed_from, None);
    assert_ne!(summary.url.as_str(), record.url);
    assert_eq!(
        server.upload_bytes(summary.url.as_str()),
        Some(sample_bytes(90_000, 2))
    );
    println!(
        "uploading b.iso again started over: new upload {}",
        summary.url
    );
    Ok(())
}

/// Prints every stored upload with what the server holds of it; returns how many there are.
async fn list_with_status(
    client: &tusky::Client,
    store: &JsonFileStorage,
) -> Result<usize, Box<dyn std::error::Error>> {
    let records = store.list().await?;
    println!(
        "{} stored uploads in {}:",
        records.len(),
        store.path().display()
    );
    for (key, record) in &records {
        let status = client.upload_status(&record.url).await?;
        println!(
            "  {key}\n    source {}\n    {} of {} bytes on the server at {}",
            record.source.as_deref().unwrap_or("?"),
            status.offset,
            record.size.map_or("?".to_owned(), |s| s.to_string()),
            record.url
        );
    }
    Ok(records.len())
}
