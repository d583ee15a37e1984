//! [`walk`]: the files of a directory tree, as batch items with their relative paths.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::BatchItem;

/// What [`walk`] found: the files to upload, and the entries it left out.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Walk {
    /// The regular files, depth first, each directory's entries in name order.
    pub items: Vec<BatchItem>,
    /// The entries that are not uploaded, and why.
    pub skipped: Vec<Skipped>,
}

/// An entry [`walk`] left out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// The entry.
    pub path: PathBuf,
    /// Why.
    pub reason: SkipReason,
}

/// Why [`walk`] left an entry out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A symbolic link: not followed, so a tree cannot loop or reach outside itself.
    Symlink,
    /// Not a regular file or directory (a FIFO, socket or device).
    Special,
    /// A directory (or entry) that could not be read: the error.
    Unreadable(String),
}

impl SkipReason {
    /// Whether the entry was meant to be uploaded but could not be read (an error, unlike a
    /// link or a special file, which are left out by design).
    pub fn is_error(&self) -> bool {
        matches!(self, SkipReason::Unreadable(_))
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Symlink => f.write_str("a symbolic link (not followed)"),
            SkipReason::Special => f.write_str("not a regular file"),
            SkipReason::Unreadable(error) => write!(f, "cannot be read: {error}"),
        }
    }
}

/// The regular files under `dir`, recursively, as [`BatchItem`]s whose relative path starts
/// with the directory's own name, as a browser's `webkitRelativePath` does: for `photos/`,
/// `photos/2024/a.jpg` (for `/`, the path below it). Symbolic links inside the tree are not
/// followed and special files are left out (both listed in [`Walk::skipped`]), as are
/// subdirectories that cannot be read. Hidden files are included.
///
/// Fails when `dir` itself cannot be read.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let dir = std::env::temp_dir().join(format!("tusky-walk-doc-{}", std::process::id()));
/// std::fs::create_dir_all(dir.join("2024"))?;
/// std::fs::write(dir.join("2024/a.jpg"), b"a")?;
/// std::fs::write(dir.join("b.txt"), b"b")?;
/// let walk = tusky::batch::walk(&dir)?;
/// let name = dir.file_name().unwrap().to_string_lossy().into_owned();
/// let relative: Vec<_> = walk.items.iter().map(|item| item.relative().unwrap().to_owned()).collect();
/// assert_eq!(relative, [format!("{name}/2024/a.jpg"), format!("{name}/b.txt")]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
pub fn walk(dir: &Path) -> io::Result<Walk> {
    let top = match dir.file_name() {
        Some(name) => Some(name.to_string_lossy().into_owned()),
        // `.`, `..`: the directory's real name.
        None => std::fs::canonicalize(dir)?
            .file_name()
            .map(|name| name.to_string_lossy().into_owned()),
    };
    let mut walk = Walk::default();
    // Entries still to visit, the next one last: a depth-first walk in name order.
    let mut pending: Vec<(PathBuf, Option<String>)> = entries(dir, top.as_deref())?;
    pending.reverse();
    while let Some((path, relative)) = pending.pop() {
        let kind = match std::fs::symlink_metadata(&path) {
            Ok(metadata) => metadata.file_type(),
            Err(error) => {
                walk.skip(path, SkipReason::Unreadable(error.to_string()));
                continue;
            }
        };
        if kind.is_symlink() {
            walk.skip(path, SkipReason::Symlink);
        } else if kind.is_file() {
            let mut item = BatchItem::new(path);
            if let Some(relative) = relative {
                item = item.relative_path(relative);
            }
            walk.items.push(item);
        } else if kind.is_dir() {
            match entries(&path, relative.as_deref()) {
                Ok(mut below) => {
                    below.reverse();
                    pending.append(&mut below);
                }
                Err(error) => walk.skip(path, SkipReason::Unreadable(error.to_string())),
            }
        } else {
            walk.skip(path, SkipReason::Special);
        }
    }
    Ok(walk)
}

impl Walk {
    fn skip(&mut self, path: PathBuf, reason: SkipReason) {
        self.skipped.push(Skipped { path, reason });
    }
}

/// The entries of `dir` in name order, each with its relative path (`relative` is the
/// directory's own, if any).
fn entries(dir: &Path, relative: Option<&str>) -> io::Result<Vec<(PathBuf, Option<String>)>> {
    let mut names = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names
        .into_iter()
        .map(|name| {
            let shown = name.to_string_lossy();
            let below = match relative {
                Some(relative) => format!("{relative}/{shown}"),
                None => shown.into_owned(),
            };
            (dir.join(&name), Some(below))
        })
        .collect())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_and_special_files_are_left_out_and_said() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("tree");
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        std::fs::write(dir.join("sub/deeper/z.bin"), b"z").unwrap();
        std::fs::write(dir.join("a.txt"), b"a").unwrap();
        std::fs::write(dir.join(".hidden"), b"h").unwrap();
        std::os::unix::fs::symlink(dir.join("a.txt"), dir.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let walk = walk(&dir).unwrap();
        let relative: Vec<_> = walk
            .items
            .iter()
            .map(|item| item.relative().unwrap())
            .collect();
        assert_eq!(
            relative,
            ["tree/.hidden", "tree/a.txt", "tree/sub/deeper/z.bin"]
        );
        assert_eq!(walk.items[1].path(), dir.join("a.txt"));
        let mut skipped: Vec<_> = walk
            .skipped
            .iter()
            .map(|s| (s.path.clone(), s.reason.clone()))
            .collect();
        skipped.sort_by(|a, b| a.0.cmp(&b.0));
        let mut expected = vec![
            (dir.join("link.txt"), SkipReason::Symlink),
            (dir.join("sub/loop"), SkipReason::Symlink),
        ];
        if made.is_ok_and(|s| s.success()) {
            expected.push((fifo, SkipReason::Special));
        }
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(skipped, expected);
        assert!(walk.skipped.iter().all(|s| !s.reason.is_error()));
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        assert!(walk(&root.path().join("missing")).is_err());
    }
}
