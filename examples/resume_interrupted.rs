//! Resuming an interrupted upload in a later run, through a URL store on disk.
//!
//! What it shows: an upload that stops half-way (here a [`tusky::CancellationToken`] cancelled
//! from the progress callback, as a Ctrl-C handler would; a crash or a lost network leaves the
//! same state) keeps its upload URL in a [`JsonFileStorage`]. A second uploader — built the way
//! the next run of the program would build it, with a freshly opened store — finds the URL by
//! the file's fingerprint, asks the server for its offset, prints
//! `resuming at offset N (P% done)` and sends only the rest. The finished upload's record is
//! removed from the store.
//!
//! It uploads to the bundled mock tus server on 127.0.0.1 and checks the server's bytes at the
//! end, so it doubles as a test:
//!
//! ```sh
//! cargo run --example resume_interrupted --features mock-server,storage-json
//! ```

use std::path::Path;

use tusky::mock::{sample_bytes, TusMockServer};
use tusky::storage::{JsonFileStorage, Storage};
use tusky::{CancellationToken, ProgressEvent};

/// 1 MiB in 64 KiB chunks; the first run is interrupted once 40% is acknowledged.
const SIZE: usize = 1024 * 1024;
const CHUNK: u64 = 64 * 1024;
const INTERRUPT_AT_PERCENT: u64 = 40;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = TusMockServer::start().await;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("backup.tar");
    let content = sample_bytes(SIZE, 0);
    std::fs::write(&file, &content)?;
    // Where upload URLs are remembered between runs (a real program would use a fixed path,
    // e.g. in its data directory).
    let store_path = dir.path().join("uploads.json");

    // ---- First run: interrupted part-way. ----
    println!("run 1: uploading {} ({SIZE} bytes)", file.display());
    let cancel = CancellationToken::new();
    let result = upload(&server, &file, &store_path, Some(cancel)).await;
    match result {
        Err(tusky::Error::Cancelled { .. }) => println!("run 1: interrupted"),
        other => return Err(format!("run 1 should have been interrupted: {other:?}").into()),
    }

    // The server keeps what it acknowledged; the store keeps the URL.
    let store = JsonFileStorage::open(&store_path)?;
    let records = store.list().await?;
    assert_eq!(records.len(), 1, "the interrupted upload's URL is stored");
    let (key, record) = &records[0];
    println!("run 1: stored {key} -> {}", record.url);
    let on_server = server
        .upload(&record.url)
        .ok_or("the server lost the upload")?;
    assert!(on_server.offset > 0 && on_server.offset < SIZE as u64);
    println!(
        "run 1: the server holds {} of {SIZE} bytes",
        on_server.offset
    );

    // ---- Second run: a new uploader, a newly opened store, the same file. ----
    println!("run 2: uploading {} again", file.display());
    let summary = upload(&server, &file, &store_path, None).await?;
    println!("run 2: done: {} bytes at {}", summary.offset, summary.url);

    // It continued the same upload from the server's offset, and sent only the rest.
    assert_eq!(summary.url.as_str(), record.url);
    assert_eq!(summary.resumed_from, Some(on_server.offset));
    assert_eq!(summary.bytes_uploaded, SIZE as u64 - on_server.offset);
    assert_eq!(server.uploads().len(), 1, "no second upload was created");
    assert_eq!(server.upload_bytes(summary.url.as_str()), Some(content));
    // A finished upload is forgotten: running again would start a new upload.
    assert!(store.list().await?.is_empty());
    println!(
        "verified: the server holds exactly the file; run 2 sent {} bytes; the store is empty",
        summary.bytes_uploaded
    );
    Ok(())
}

/// One run of the program: upload `file`, remembering the URL in the store at `store_path`.
/// With `cancel`, the run is cancelled once the server has acknowledged 40%.
async fn upload(
    server: &TusMockServer,
    file: &Path,
    store_path: &Path,
    cancel: Option<CancellationToken>,
) -> tusky::Result<tusky::UploadSummary> {
    let client = tusky::Client::new(server.endpoint())?;
    let token = cancel.clone().unwrap_or_default();
    let mut uploader = client
        .uploader()
        .path(file)
        .metadata("filename", "backup.tar")
        .chunk_size(CHUNK)
        // Remember the URL under the file's fingerprint; a stored URL is resumed.
        .storage(JsonFileStorage::open(store_path)?)
        .cancellation_token(token.clone())
        .on_progress(move |event| match event {
            ProgressEvent::Started {
                url,
                offset,
                total,
                resumed: true,
            } => {
                let percent = total.map_or(0.0, |t| *offset as f64 * 100.0 / t as f64);
                println!("  resuming at offset {offset} ({percent:.1}% done) of {url}");
            }
            ProgressEvent::Started { url, .. } => println!("  created {url}"),
            ProgressEvent::Acknowledged {
                offset,
                total: Some(total),
            } => {
                println!("  {:>3}%  {offset} of {total} bytes", offset * 100 / total);
                // Stands in for Ctrl-C: a signal handler would call `token.cancel()` the same way.
                if cancel.is_some() && offset * 100 >= total * INTERRUPT_AT_PERCENT {
                    token.cancel();
                }
            }
            _ => {}
        })
        .build()?;
    uploader.upload().await
}
