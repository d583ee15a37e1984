//! [`FileWatch`]: the identity of the file an upload reads, taken when it is opened, and the
//! check that it is still that file with the same bytes (same size, same modification time,
//! same inode) — before resuming, before each chunk, and after the last.

use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::storage::FileIdentity;

/// A file being uploaded, as it was when opened.
#[derive(Debug, Clone)]
pub(crate) struct FileWatch {
    path: PathBuf,
    identity: FileIdentity,
    /// The whole file's size (a part of a parallel upload reads a range of it).
    file_size: u64,
}

/// The identity of a file with `metadata`, at canonical `path`.
fn identity_of(metadata: &std::fs::Metadata, path: Option<&Path>) -> FileIdentity {
    let mut identity = FileIdentity::default();
    if let Some(nanos) = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| u64::try_from(d.as_nanos()).ok())
    {
        identity = identity.with_modified_nanos(nanos);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        identity = identity.with_inode(metadata.dev(), metadata.ino());
    }
    if let Some(path) = path {
        identity = identity.with_path(path.display().to_string());
    }
    if let Some(machine) = machine_id() {
        identity = identity.with_machine(machine);
    }
    identity
}

/// This machine's identity: `$TUSKY_MACHINE_ID` when set (containers that share a machine id,
/// tests that play several machines), else `/etc/machine-id`, else the host name.
fn machine_id() -> Option<String> {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    from_env("TUSKY_MACHINE_ID")
        .or_else(|| {
            std::fs::read_to_string("/etc/machine-id")
                .ok()
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty())
        })
        .or_else(|| from_env("HOSTNAME"))
        .or_else(|| from_env("COMPUTERNAME"))
}

impl FileWatch {
    /// Takes the identity of the open `file` at `path`.
    pub(crate) async fn of(file: &tokio::fs::File, path: &Path) -> io::Result<Self> {
        let metadata = file.metadata().await?;
        let canonical = tokio::fs::canonicalize(path).await.ok();
        Ok(Self {
            path: path.to_owned(),
            identity: identity_of(&metadata, canonical.as_deref()),
            file_size: metadata.len(),
        })
    }

    /// The path the file was opened at.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn identity(&self) -> &FileIdentity {
        &self.identity
    }

    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    /// What changed since the file was opened, if anything (its size, modification time or
    /// inode; a file that cannot be read any more counts as changed).
    pub(crate) async fn changed(&self) -> Option<String> {
        let metadata = match tokio::fs::metadata(&self.path).await {
            Ok(metadata) => metadata,
            Err(error) => return Some(format!("it cannot be read any more: {error}")),
        };
        if metadata.len() != self.file_size {
            return Some(format!(
                "its size changed from {} to {} bytes",
                self.file_size,
                metadata.len()
            ));
        }
        // The path was canonical when opened, and the machine is this one: compare the rest.
        let mut now = identity_of(&metadata, None);
        now.path = self.identity.path.clone();
        now.machine = self.identity.machine.clone();
        self.identity.difference(&now)
    }
}
