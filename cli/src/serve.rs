//! `tusky serve`: the bundled tus server (tusky's mock server) for local development.
//!
//! The server keeps uploads in memory; a task writes each completed upload to the directory
//! (`<id>` and `<id>.json`) within [`PERSIST_EVERY`], and removes the files of an upload
//! that is terminated later. Unfinished uploads are lost when the server stops.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use tusky::mock::{TusMockServer, UploadConcat};
use tusky::CancellationToken;

use crate::args::ServeArgs;
use crate::failure::Failure;
use crate::localdata;
use crate::size::human;
use crate::store;
use crate::terminal_text::escape;

/// How often completed uploads are looked for.
const PERSIST_EVERY: Duration = Duration::from_millis(300);

/// Runs the server until `cancel` (Ctrl-C, SIGTERM).
pub async fn run(args: ServeArgs, cancel: CancellationToken) -> Result<(), Failure> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => store::data_dir()?.join("served"),
    };
    store::create_private_dir(&dir).map_err(|e| {
        Failure::local(format!(
            "creating the upload directory {}: {e}",
            dir.display()
        ))
    })?;
    let address = format!("127.0.0.1:{}", args.port);
    let listener = std::net::TcpListener::bind(&address)
        .map_err(|e| Failure::local(format!("listening on {address}: {e}")))?;
    // Upload URLs are the only credential here: ids that say nothing about each other.
    let server = TusMockServer::builder()
        .base_path(&args.base_path)
        .record_requests(false)
        .random_ids(true)
        .start_on(listener)
        .await;
    let endpoint = server.endpoint();
    println!("{endpoint}");
    let _ = std::io::stdout().flush();
    eprintln!("tusky: serving tus 1.0 at {endpoint} (127.0.0.1 only; for development)");
    eprintln!(
        "tusky: completed uploads are written to {}; uploads are held in memory while the server runs, and unfinished ones are lost when it stops",
        escape(&dir.display().to_string())
    );
    eprintln!("tusky: try: tusky upload FILE {endpoint}    (Ctrl-C stops the server)");

    let mut written: HashSet<String> = HashSet::new();
    loop {
        let stop = tokio::select! {
            _ = tokio::time::sleep(PERSIST_EVERY) => false,
            _ = cancel.cancelled() => true,
        };
        persist(&server, &dir, &mut written)?;
        if stop {
            break;
        }
    }
    let unfinished = server
        .uploads()
        .iter()
        .filter(|u| !u.terminated && !u.is_complete() && u.concat != UploadConcat::Partial)
        .count();
    eprintln!(
        "tusky: stopped; {} completed upload(s) in {}{}",
        written.len(),
        escape(&dir.display().to_string()),
        if unfinished > 0 {
            format!("; {unfinished} unfinished upload(s) were dropped")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Writes every newly completed upload and removes the files of terminated ones.
fn persist(
    server: &TusMockServer,
    dir: &Path,
    written: &mut HashSet<String>,
) -> Result<(), Failure> {
    for upload in server.uploads() {
        if upload.terminated {
            if written.remove(&upload.id) {
                localdata::remove_upload(dir, &upload.id).map_err(|e| {
                    Failure::local(format!(
                        "removing the terminated upload {} from {}: {e}",
                        upload.id,
                        dir.display()
                    ))
                })?;
                eprintln!(
                    "tusky: {} was terminated; its files were removed",
                    escape(&upload.url)
                );
            }
            continue;
        }
        if !upload.is_complete()
            || upload.concat == UploadConcat::Partial
            || written.contains(&upload.id)
        {
            continue;
        }
        let Some(bytes) = server.upload_bytes(&upload.url) else {
            continue;
        };
        let path = localdata::write_upload(dir, &upload, &bytes, None).map_err(|e| {
            Failure::local(format!(
                "writing upload {} to {}: {e}",
                upload.id,
                dir.display()
            ))
        })?;
        // The file name is whatever the client sent: escaped, like the rest of the line.
        let name = upload.metadata_value("filename").unwrap_or("");
        let line = format!(
            "received {} {}-> {}",
            human(bytes.len() as u64),
            if name.is_empty() {
                String::new()
            } else {
                format!("({name}) ")
            },
            path.display()
        );
        eprintln!("tusky: {}", escape(&line));
        written.insert(upload.id.clone());
    }
    Ok(())
}
