//! Private files and directories: an upload URL is a bearer credential on many servers, so what
//! a store creates is readable by its owner only (on Unix: directories 0700, files 0600).
//! Elsewhere the platform's defaults apply.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

/// The permission bits of a directory a store creates (Unix).
#[cfg(unix)]
pub(crate) const DIR_MODE: u32 = 0o700;
/// The permission bits of a file a store creates (Unix); a rewritten file never gets more.
#[cfg(unix)]
pub(crate) const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents; the ones created are private. Existing directories
/// are left as they are.
pub(crate) fn create_private_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)
}

/// Opens `path` for writing without truncating it, creating it private when missing.
pub(crate) fn open_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path)
}

/// Creates `path` as a new, empty, private file, replacing a leftover file of that name (whose
/// permissions could be wider). The permissions are set before anything is written: `mode`,
/// narrowed to at most 0600 (the store's own bits when it exists, so a store the user made
/// read-only stays so; `None` gives 0600).
#[cfg(feature = "json")]
pub(crate) fn create_private(path: &Path, mode: Option<u32>) -> io::Result<File> {
    // A missing file is the usual case; something that is not a file (a directory, say) is
    // reported by the creation below.
    let _ = fs::remove_file(path);
    let mut options = OpenOptions::new();
    options.create_new(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Exact bits, whatever the umask.
        let bits = mode.unwrap_or(FILE_MODE) & FILE_MODE;
        file.set_permissions(fs::Permissions::from_mode(bits))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(file)
}

/// The permission bits of the file at `path`, when it exists (Unix; `None` elsewhere).
#[cfg(feature = "json")]
pub(crate) fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .ok()
            .map(|metadata| metadata.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_directories_are_private_and_existing_ones_untouched() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dirs(&dir.path().join("a/b")).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        assert_eq!(mode(dir.path()), 0o755);
    }

    #[cfg(feature = "json")]
    #[test]
    fn a_new_file_is_private_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        // A leftover of that name, readable by everyone.
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        let file = create_private(&path, None).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 0);
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);

        // Never wider than 0600; narrower when asked.
        assert_eq!(mode_after(&path, Some(0o644)), 0o600);
        assert_eq!(mode_after(&path, Some(0o400)), 0o400);
    }

    #[cfg(feature = "json")]
    fn mode_after(path: &Path, wanted: Option<u32>) -> u32 {
        let file = create_private(path, wanted).unwrap();
        let bits = file.metadata().unwrap().permissions().mode() & 0o777;
        drop(file);
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
        bits
    }

    #[test]
    fn an_opened_lock_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l");
        drop(open_private(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
    }
}
