//! `tusky serve`: the bundled streaming tus server for local development.
//!
//! The server keeps every upload in the directory as it arrives: `<id>` (the bytes) and
//! `<id>.info` (its state), so unfinished uploads survive a restart on the same directory.
//! Here, each completed upload (not a partial one) gets a description, `<id>.json`, as soon as
//! the server reports the change; a terminated upload's files go away.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use tusky::mock::{StreamingTusServer, UploadConcat, UploadSnapshot};
use tusky::CancellationToken;

use crate::args::ServeArgs;
use crate::failure::Failure;
use crate::localdata;
use crate::size::human;
use crate::store;
use crate::terminal_text::escape;

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
    let server = StreamingTusServer::builder(&dir)
        .base_path(&args.base_path)
        .listener(listener)
        .start()
        .await
        .map_err(|e| {
            Failure::local(format!(
                "starting the server on {}: {e}",
                escape(&dir.display().to_string())
            ))
        })?;
    let endpoint = server.endpoint();
    println!("{endpoint}");
    let _ = std::io::stdout().flush();
    let dir_text = dir.display().to_string();
    let shown_dir = escape(&dir_text);
    eprintln!("tusky: serving tus 1.0 at {endpoint} (127.0.0.1 only; for development)");
    eprintln!(
        "tusky: uploads are written to {shown_dir} as they arrive (<id>, with its state in <id>.info); a completed upload is described in <id>.json; unfinished uploads survive a restart on this directory"
    );
    let kept = server.uploads().iter().filter(|u| !u.is_complete()).count();
    if kept > 0 {
        eprintln!("tusky: {kept} unfinished upload(s) from an earlier run can be resumed");
    }
    eprintln!("tusky: try: tusky upload FILE {endpoint}    (Ctrl-C stops the server)");

    let mut described = already_described(&server, &dir);
    let mut changes = server.changes();
    loop {
        describe_changes(&server, &dir, &mut described)?;
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { break },
            _ = cancel.cancelled() => break,
        }
    }
    let unfinished = server.uploads().iter().filter(|u| !u.is_complete()).count();
    server.shutdown().await;
    eprintln!(
        "tusky: stopped; {} completed upload(s) in {shown_dir}{}",
        described.len(),
        if unfinished > 0 {
            format!("; {unfinished} unfinished upload(s) kept, to resume after a restart")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// A completed upload that gets a description: not a partial upload (its final one does).
fn is_finished_file(upload: &UploadSnapshot) -> bool {
    upload.is_complete() && upload.concat != UploadConcat::Partial
}

/// The completed uploads of an earlier run that already have their description.
fn already_described(server: &StreamingTusServer, dir: &Path) -> HashSet<String> {
    server
        .uploads()
        .into_iter()
        .filter(is_finished_file)
        .filter(|u| {
            let json = format!("{}.json", localdata::file_name(&u.id));
            dir.join(json).exists()
        })
        .map(|u| u.id)
        .collect()
}

/// Describes every newly completed upload and removes the description of terminated ones.
fn describe_changes(
    server: &StreamingTusServer,
    dir: &Path,
    described: &mut HashSet<String>,
) -> Result<(), Failure> {
    let uploads = server.uploads();
    let live: HashSet<&str> = uploads.iter().map(|u| u.id.as_str()).collect();
    let gone: Vec<String> = described
        .iter()
        .filter(|id| !live.contains(id.as_str()))
        .cloned()
        .collect();
    for id in gone {
        described.remove(&id);
        localdata::remove_upload(dir, &id).map_err(|e| {
            Failure::local(format!(
                "removing the terminated upload {id} from {}: {e}",
                dir.display()
            ))
        })?;
        eprintln!(
            "tusky: {} was terminated; its files were removed",
            escape(&format!("{}{id}", server.endpoint()))
        );
    }
    for upload in uploads {
        if !is_finished_file(&upload) || described.contains(&upload.id) {
            continue;
        }
        let path = localdata::describe_upload(dir, &upload, upload.offset, None).map_err(|e| {
            Failure::local(format!(
                "describing upload {} in {}: {e}",
                upload.id,
                dir.display()
            ))
        })?;
        // The file name is whatever the client sent: escaped, like the rest of the line.
        let name = upload.metadata_value("filename").unwrap_or("");
        let line = format!(
            "received {} {}-> {}",
            human(upload.offset),
            if name.is_empty() {
                String::new()
            } else {
                format!("({name}) ")
            },
            path.display()
        );
        eprintln!("tusky: {}", escape(&line));
        described.insert(upload.id.clone());
    }
    Ok(())
}
