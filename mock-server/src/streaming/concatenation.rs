//! A final upload's bytes: its partial uploads' files, copied into its own file **after** the
//! answer to its POST.
//!
//! The copy takes time in proportion to the size (about 17 ms per 64 MiB from the page cache
//! here; from disk, a 100 GiB final upload would outlast a client's request timeout), and the
//! client has nothing left to send. So the final POST is answered once the final upload
//! exists and its partials' files are open, and the copy runs on a blocking thread after it.
//! While it runs, the final upload
//! - answers `HEAD` without `Upload-Offset`, as the concatenation extension asks of a final
//!   upload whose concatenation has not finished (`UploadInfo::is_concatenating`);
//! - is claimed by the copy: `DELETE` gets 423, as for any upload being written, and so does a
//!   `DELETE` of one of its partial uploads (the next start copies from their files again);
//! - holds offset 0 in its saved info: a server stopped before the copy ended copies again at
//!   its next start, from the partials' files (partial uploads are kept after concatenation);
//! - is waited for by [`upload_path`], [`upload_bytes`] and [`concatenated`].
//!
//! A copy that fails (a disk error, or a partial's file gone from the directory before a
//! restart) removes the final upload (a warning; `HEAD` then answers 404).
//!
//! [`upload_path`]: super::StreamingTusServer::upload_path
//! [`upload_bytes`]: super::StreamingTusServer::upload_bytes
//! [`concatenated`]: super::StreamingTusServer::concatenated

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

use super::files::{DataFile, Layout};
use super::handler::App;
use super::registry::{Claim, Registry};
use crate::tus::body::UploadBytes;
use crate::tus::info::{Concat, UploadInfo};

/// A partial upload's bytes, as the copy reads them.
#[derive(Debug)]
pub(crate) struct Source {
    file: File,
    len: u64,
}

/// Opens the files of the partial uploads `ids`, in order: each must be a complete partial
/// upload the registry holds, with at least its length in its file.
pub(crate) fn open_sources(
    layout: &Layout,
    registry: &Registry,
    ids: &[String],
) -> io::Result<Vec<Source>> {
    ids.iter()
        .map(|id| {
            let partial = registry
                .info(id)
                .filter(|p| p.concat == Concat::Partial && p.is_complete())
                .ok_or_else(|| io::Error::other(format!("partial upload {id} is gone")))?;
            let file = File::open(layout.data_path(id))?;
            Ok(Source {
                file,
                len: partial.offset,
            })
        })
        .collect()
}

/// Copies `sources` into the final upload `info` (claimed by `claim`) on a blocking thread
/// counted in the server's file jobs, then records it complete, or removes it.
pub(crate) fn start(app: &Arc<App>, info: UploadInfo, claim: Claim, sources: Vec<Source>) {
    let job = app.jobs.start();
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || {
        let _job = job;
        finish(&app, info, claim, sources);
    });
}

/// Starts the copy of every final upload a stopped server left unfinished (at start).
pub(crate) fn resume_all(app: &Arc<App>) {
    for info in app.registry.all() {
        if !info.is_concatenating() {
            continue;
        }
        let Concat::Final(ids) = &info.concat else {
            continue;
        };
        let (_, Some(claim)) = app.registry.claim(&info.id) else {
            continue;
        };
        match open_sources(&app.layout, &app.registry, ids) {
            Ok(sources) => start(app, info, claim, sources),
            Err(e) => fail(app, &info.id, claim, &e),
        }
    }
}

fn finish(app: &App, mut info: UploadInfo, claim: Claim, sources: Vec<Source>) {
    match copy(&app.layout, &info, sources) {
        Ok(mut file) => {
            info.offset = file.stored();
            match app.save(Some(&mut file), &info) {
                Ok(()) => claim.release_with(info),
                Err(e) => return fail(app, &info.id, claim, &e),
            }
        }
        Err(e) => return fail(app, &info.id, claim, &e),
    }
    app.changed();
}

/// The final upload's file with every source appended in order, exactly `info.length` bytes.
fn copy(layout: &Layout, info: &UploadInfo, sources: Vec<Source>) -> io::Result<DataFile> {
    let mut file = DataFile::open(&layout.data_path(&info.id))?;
    file.truncate_to(0)?;
    for source in sources {
        let copied = file.append_from(&mut source.file.take(source.len))?;
        if copied != source.len {
            return Err(io::Error::other(format!(
                "a partial upload's file holds {copied} of its {} bytes",
                source.len
            )));
        }
    }
    if Some(file.stored()) != info.length {
        return Err(io::Error::other(format!(
            "the partial uploads hold {} bytes, the final upload {:?}",
            file.stored(),
            info.length
        )));
    }
    Ok(file)
}

fn fail(app: &App, id: &str, claim: Claim, error: &io::Error) {
    tracing::warn!(id, %error, "concatenating a final upload failed: it is removed");
    if let Err(e) = app.layout.remove(id) {
        tracing::warn!(id, error = %e, "removing the failed final upload's files");
    }
    claim.remove();
    app.changed();
}
