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
        describe_changes(&server, &dir, &mut described);
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

/// Describes every newly completed upload and removes the description of terminated ones. A
/// file that cannot be written or removed (the directory was cleaned up under the server, a
/// full disk) is a warning: the server goes on serving, and does not try that upload again.
fn describe_changes(server: &StreamingTusServer, dir: &Path, described: &mut HashSet<String>) {
    let uploads = server.uploads();
    let live: HashSet<&str> = uploads.iter().map(|u| u.id.as_str()).collect();
    let gone: Vec<String> = described
        .iter()
        .filter(|id| !live.contains(id.as_str()))
        .cloned()
        .collect();
    for id in gone {
        described.remove(&id);
        let url = format!("{}{id}", server.endpoint());
        match localdata::remove_upload(dir, &id) {
            Ok(()) => eprintln!(
                "tusky: {} was terminated; its files were removed",
                escape(&url)
            ),
            Err(e) => warn(&format!("{url} was terminated; removing its files: {e}")),
        }
    }
    for upload in uploads {
        if !is_finished_file(&upload) || described.contains(&upload.id) {
            continue;
        }
        described.insert(upload.id.clone());
        match localdata::describe_upload(dir, &upload, upload.offset, None) {
            Ok(path) => eprintln!("tusky: {}", escape(&received_line(&upload, &path))),
            Err(e) => warn(&format!(
                "describing upload {} in {}: {e}",
                upload.id,
                dir.display()
            )),
        }
    }
}

/// `received SIZE (NAME) -> PATH`: the file name is whatever the client sent (the caller
/// escapes the line).
fn received_line(upload: &UploadSnapshot, path: &Path) -> String {
    let name = upload.metadata_value("filename").unwrap_or("");
    format!(
        "received {} {}-> {}",
        human(upload.offset),
        if name.is_empty() {
            String::new()
        } else {
            format!("({name}) ")
        },
        path.display()
    )
}

/// A problem the server goes on after, on stderr (escaped: it may hold what a client sent).
fn warn(message: &str) {
    eprintln!("tusky: warning: {}", escape(message));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A completed upload whose description cannot be written (the directory was cleaned up
    /// under the server) is a warning, not the server's end, and is not tried again; the
    /// description of the next one is written.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_description_that_cannot_be_written_does_not_stop_the_server() {
        let served = tempfile::tempdir().unwrap();
        let server = StreamingTusServer::builder(served.path())
            .start()
            .await
            .unwrap();
        let client = tusky::Client::new(server.endpoint()).unwrap();
        let upload = |bytes: &'static [u8]| {
            let client = client.clone();
            async move {
                let mut uploader = client
                    .uploader()
                    .reader(std::io::Cursor::new(bytes))
                    .build()
                    .unwrap();
                uploader.upload().await.unwrap()
            }
        };
        upload(b"first").await;
        let described_dir = tempfile::tempdir().unwrap();
        let gone = described_dir.path().join("removed");
        let mut described = HashSet::new();
        describe_changes(&server, &gone, &mut described);
        assert_eq!(described.len(), 1, "tried once, not again");

        let second = upload(b"second").await;
        describe_changes(&server, described_dir.path(), &mut described);
        let id = second.url.as_str().rsplit('/').next().unwrap();
        let json = described_dir
            .path()
            .join(format!("{}.json", localdata::file_name(id)));
        assert!(json.exists(), "the next upload is described");
        server.shutdown().await;
    }
}
