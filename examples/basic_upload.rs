//! A resumable upload of a file, with metadata and a progress callback.
//!
//! What it shows: the everyday use of tusky — a [`tusky::Client`] for an endpoint, an uploader
//! for a file path with `Upload-Metadata` (`filename`, `filetype`), a chunk size, and a progress
//! callback that prints how much the server has acknowledged. At the end it prints the upload
//! URL, the place the file now lives on the server.
//!
//! To run anywhere, it uploads to the bundled mock tus server on 127.0.0.1 (in-process, no
//! network), and then checks that the server holds exactly the file's bytes and metadata, so
//! the example doubles as a test:
//!
//! ```sh
//! cargo run --example basic_upload --features mock-server
//! ```
//!
//! Against a real server, only the endpoint changes: `tusky::Client::new("https://tus.example/files/")`.

use std::sync::atomic::{AtomicU64, Ordering};

use tusky::mock::{sample_bytes, TusMockServer};
use tusky::ProgressEvent;

/// The file's size: 2 MiB, sent in 256 KiB chunks (8 PATCH requests).
const SIZE: usize = 2 * 1024 * 1024;
const CHUNK: u64 = 256 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A tus server for this example only (your program would have an endpoint URL instead).
    let server = TusMockServer::start().await;

    // A file to upload.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("report.pdf");
    let content = sample_bytes(SIZE, 0);
    std::fs::write(&path, &content)?;
    println!(
        "uploading {} ({SIZE} bytes) to {}",
        path.display(),
        server.endpoint()
    );

    // The client holds what every upload to this server shares: the endpoint, headers, TLS.
    let client = tusky::Client::new(server.endpoint())?;

    // The progress callback runs on the uploading task, so it must be quick. `Acknowledged` is
    // the server's offset (it never goes backwards); print it every 25%.
    let last_quarter = AtomicU64::new(0);
    let mut uploader = client
        .uploader()
        .path(&path)
        .metadata("filename", "report.pdf")
        .metadata("filetype", "application/pdf")
        .chunk_size(CHUNK)
        .on_progress(move |event| match event {
            ProgressEvent::Started { url, offset, .. } => {
                println!("  created {url}, starting at byte {offset}");
            }
            ProgressEvent::Acknowledged {
                offset,
                total: Some(total),
            } => {
                let percent = offset * 100 / total;
                let quarter = percent / 25;
                if quarter > last_quarter.swap(quarter, Ordering::Relaxed) {
                    println!("  {percent:>3}%  ({offset} of {total} bytes)");
                }
            }
            ProgressEvent::RetryScheduled { error, delay, .. } => {
                println!("  retrying in {delay:?}: {error}");
            }
            _ => {}
        })
        .build()?;

    let summary = uploader.upload().await?;
    println!("done: {} bytes at {}", summary.offset, summary.url);

    // Check what arrived: every byte, and the metadata.
    let stored = server
        .upload_bytes(summary.url.as_str())
        .ok_or("the server does not know the upload URL")?;
    assert_eq!(stored, content, "the server holds different bytes");
    let upload = server
        .upload(summary.url.as_str())
        .ok_or("no such upload")?;
    assert!(upload.is_complete());
    assert_eq!(upload.metadata_value("filename"), Some("report.pdf"));
    assert_eq!(upload.metadata_value("filetype"), Some("application/pdf"));
    assert_eq!(summary.resumed_from, None, "a fresh upload resumes nothing");
    println!(
        "verified: the server holds the same {} bytes, filename={:?}",
        stored.len(),
        upload.metadata_value("filename").unwrap_or_default()
    );
    Ok(())
}
