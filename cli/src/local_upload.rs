//! The bundled server of a LOCAL upload (no ENDPOINT): tusky's streaming tus server in this
//! process on 127.0.0.1, receiving into a staging directory inside the local data directory.
//! Once the upload is checked against its input, its file moves to `DIR/<id>` and is described
//! in `DIR/<id>.json`; the staging directory goes away with the [`Local`], whatever happened.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tusky::mock::{StreamingTusServer, UploadConcat, UploadSnapshot};

use crate::failure::{Exit, Failure};
use crate::localdata;
use crate::store;

/// The bundled server and where the bytes it receives go.
pub struct Local {
    server: StreamingTusServer,
    staging: Staging,
    dir: PathBuf,
}

/// A directory removed when dropped.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), error = %e, "removing the LOCAL upload's staging directory");
        }
    }
}

impl Local {
    /// Starts the server, staging in a fresh directory inside `dir` (created if missing).
    pub async fn start(dir: PathBuf) -> Result<Self, Failure> {
        let failed = |what: &str, path: &Path, e: std::io::Error| {
            Failure::local(format!("{what} {}: {e}", path.display()))
        };
        store::create_private_dir(&dir).map_err(|e| failed("creating", &dir, e))?;
        let staging = dir.join(format!(
            ".incoming-{}-{:08x}",
            std::process::id(),
            rand_suffix()
        ));
        store::create_private_dir(&staging).map_err(|e| failed("creating", &staging, e))?;
        let staging = Staging(staging);
        let server = StreamingTusServer::builder(&staging.0)
            .start()
            .await
            .map_err(|e| failed("starting the bundled server in", &staging.0, e))?;
        Ok(Local {
            server,
            staging,
            dir,
        })
    }

    /// The bundled server's endpoint.
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// The upload at `url` and the file holding its bytes (a final upload's once its
    /// partials' bytes are copied in: the server answers its POST before).
    pub async fn received(&self, url: &str) -> Result<(UploadSnapshot, PathBuf), Failure> {
        let missing = || {
            Failure::new(
                Exit::Other,
                format!("the bundled server has no upload at {url}"),
            )
        };
        let upload = self.server.concatenated(url).await.ok_or_else(missing)?;
        if matches!(upload.concat, UploadConcat::Final(_)) && !upload.is_complete() {
            return Err(Failure::local(format!(
                "the bundled server did not finish joining the parts of {url} within {:?}",
                StreamingTusServer::FILE_WORK_DEADLINE
            )));
        }
        let path = self.server.upload_path(url).ok_or_else(missing)?;
        Ok((upload, path))
    }

    /// Stops the server, moves the upload's file to `DIR/<id>` and describes it in
    /// `DIR/<id>.json`; returns the file's new path.
    pub async fn keep(
        self,
        upload: &UploadSnapshot,
        source: Option<&str>,
    ) -> Result<PathBuf, Failure> {
        let Local {
            server,
            staging,
            dir,
        } = self;
        let received = server.upload_path(&upload.id);
        server.shutdown().await;
        let written = |e: std::io::Error| {
            Failure::local(format!(
                "writing the LOCAL upload to {}: {e}",
                dir.display()
            ))
        };
        let from =
            received.ok_or_else(|| written(std::io::Error::other("the upload's file is gone")))?;
        let to = localdata::data_path(&dir, &upload.id);
        std::fs::rename(&from, &to).map_err(written)?;
        let path =
            localdata::describe_upload(&dir, upload, upload.offset, source).map_err(written)?;
        drop(staging);
        Ok(path)
    }
}

/// A few random bits for a directory name (std's hasher is randomly keyed).
fn rand_suffix() -> u32 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now()) as u32
}

/// Whether the files at `a` and `b` hold the same bytes (read in 1 MiB blocks).
pub async fn same_files(a: &Path, b: &Path) -> Result<bool, Failure> {
    let open = |path: &Path| {
        let path = path.to_path_buf();
        async move {
            tokio::fs::File::open(&path).await.map_err(|e| {
                Failure::local(format!("reading {} to verify it: {e}", path.display()))
            })
        }
    };
    let (mut fa, mut fb) = (open(a).await?, open(b).await?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = read_full(&mut fa, &mut ba, a).await?;
        let nb = read_full(&mut fb, &mut bb, b).await?;
        if ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// The SHA-256 of the file at `path`.
pub async fn file_sha256(path: &Path) -> Result<Vec<u8>, Failure> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Failure::local(format!("reading {} to verify it: {e}", path.display())))?;
    let mut digest = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = read_full(&mut file, &mut buf, path).await?;
        if n == 0 {
            return Ok(digest.finalize().to_vec());
        }
        digest.update(&buf[..n]);
    }
}

/// Fills `buf` from `file` (less only at its end); the bytes read.
async fn read_full(
    file: &mut tokio::fs::File,
    buf: &mut [u8],
    path: &Path,
) -> Result<usize, Failure> {
    let mut at = 0;
    while at < buf.len() {
        let n = file
            .read(&mut buf[at..])
            .await
            .map_err(|e| Failure::local(format!("reading {} to verify it: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        at += n;
    }
    Ok(at)
}
