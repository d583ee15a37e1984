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
//! - holds offset 0 in its saved info: a server stopped before the copy ended (a shutdown
//!   stops the copy within [`COPY_PIECE`] bytes) copies again at its next start, from the
//!   partials' files (partial uploads are kept after concatenation);
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
use std::sync::atomic::{AtomicBool, Ordering};
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
    match copy(&app.layout, &info, sources, &app.stopping) {
        Ok(Copied::Whole(mut file)) => {
            info.offset = file.stored();
            match app.save(Some(&mut file), &info) {
                Ok(()) => claim.release_with(info),
                Err(e) => return fail(app, &info.id, claim, &e),
            }
        }
        Ok(Copied::Stopped) => {
            // Its saved info still says offset 0: the next start copies again.
            tracing::info!(id = %info.id, "server stopping: the final upload's copy is left for the next start");
            return;
        }
        Err(e) => return fail(app, &info.id, claim, &e),
    }
    app.changed();
}

/// How much is copied between two looks at whether the server is stopping.
const COPY_PIECE: u64 = 16 * 1024 * 1024;

/// What became of a copy.
#[derive(Debug)]
enum Copied {
    /// The final upload's file, every byte in.
    Whole(DataFile),
    /// The server is stopping: the copy ended half-way.
    Stopped,
}

/// The final upload's file with every source appended in order, exactly `info.length` bytes;
/// or [`Copied::Stopped`] once `stopping` is set (checked every [`COPY_PIECE`]).
fn copy(
    layout: &Layout,
    info: &UploadInfo,
    sources: Vec<Source>,
    stopping: &AtomicBool,
) -> io::Result<Copied> {
    let mut file = DataFile::open(&layout.data_path(&info.id))?;
    file.truncate_to(0)?;
    for mut source in sources {
        let mut left = source.len;
        while left > 0 {
            if stopping.load(Ordering::SeqCst) {
                return Ok(Copied::Stopped);
            }
            let piece = left.min(COPY_PIECE);
            let copied = file.append_from(&mut (&mut source.file).take(piece))?;
            if copied != piece {
                return Err(io::Error::other(format!(
                    "a partial upload's file holds {} of its {} bytes",
                    source.len - left + copied,
                    source.len
                )));
            }
            left -= piece;
        }
    }
    if Some(file.stored()) != info.length {
        return Err(io::Error::other(format!(
            "the partial uploads hold {} bytes, the final upload {:?}",
            file.stored(),
            info.length
        )));
    }
    Ok(Copied::Whole(file))
}

fn fail(app: &App, id: &str, claim: Claim, error: &io::Error) {
    tracing::warn!(id, %error, "concatenating a final upload failed: it is removed");
    if let Err(e) = app.layout.remove(id) {
        tracing::warn!(id, error = %e, "removing the failed final upload's files");
    }
    claim.remove();
    app.changed();
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::tus::info::blank;

    fn source(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Source {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        Source {
            file: File::open(&path).unwrap(),
            len: bytes.len() as u64,
        }
    }

    fn final_upload(layout: &Layout, length: u64) -> UploadInfo {
        let mut info = blank(Some(length));
        info.id = crate::tus::upload_id::random_id();
        DataFile::create(&layout.data_path(&info.id)).unwrap();
        info
    }

    #[test]
    fn the_copy_joins_the_sources_in_order_and_stops_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::create(&dir.path().join("uploads")).unwrap();
        let big: Vec<u8> = (0..COPY_PIECE + 5).map(|i| (i % 251) as u8).collect();
        let sources = || {
            vec![
                source(dir.path(), "a", &big),
                source(dir.path(), "b", b"tail"),
            ]
        };
        let info = final_upload(&layout, big.len() as u64 + 4);

        let running = AtomicBool::new(false);
        let Copied::Whole(file) = copy(&layout, &info, sources(), &running).unwrap() else {
            panic!("stopped without being asked");
        };
        assert_eq!(file.stored(), info.length.unwrap());
        let on_disk = fs::read(layout.data_path(&info.id)).unwrap();
        assert_eq!(on_disk, [&big[..], b"tail"].concat());

        let stopping = AtomicBool::new(true);
        let copied = copy(&layout, &info, sources(), &stopping).unwrap();
        assert!(matches!(copied, Copied::Stopped), "{copied:?}");

        let short = final_upload(&layout, 10);
        let error = copy(&layout, &short, sources(), &running).unwrap_err();
        assert!(
            error.to_string().contains("the partial uploads hold"),
            "{error}"
        );
    }
}
