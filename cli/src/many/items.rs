//! The files of a many-file upload: the files and directories given, directories walked by
//! the library ([`tusky::batch::walk`]), each file with the metadata of its upload; and what
//! is left out, with why.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tusky::batch::{walk, BatchItem};

use crate::failure::Failure;

/// An entry given or found that is not uploaded.
#[derive(Debug, Clone)]
pub struct Left {
    /// The entry, as given or found.
    pub path: String,
    /// Why.
    pub reason: String,
    /// Whether it was meant to be uploaded but could not be read (a failure), rather than left
    /// out by design (a link or special file inside a directory).
    pub error: bool,
}

/// What the arguments name.
#[derive(Debug, Default)]
pub struct Found {
    /// The files to upload, in the order given (each directory's in name order).
    pub items: Vec<BatchItem>,
    /// The entries left out.
    pub left: Vec<Left>,
}

/// The files `paths` name (directories walked), each with `given` metadata plus its own
/// (`filename`, `filetype`, and `relativePath` for a file found in a directory). Reads the
/// file system off the async threads.
pub async fn expand(paths: &[String], given: &[(String, String)]) -> Result<Found, Failure> {
    let (paths, given) = (paths.to_vec(), given.to_vec());
    tokio::task::spawn_blocking(move || expand_now(&paths, &given))
        .await
        .map_err(|e| Failure::local(format!("reading the files to upload: {e}")))
}

fn expand_now(paths: &[String], given: &[(String, String)]) -> Found {
    let mut found = Found::default();
    let mut seen = HashSet::new();
    for path in paths {
        let named = Path::new(path);
        // A link named on the command line is followed, as for one file.
        match std::fs::metadata(named) {
            Err(error) => found.leave(named, format!("cannot be read: {error}"), true),
            Ok(metadata) if metadata.is_dir() => match walk(named) {
                Ok(walked) => {
                    for item in walked.items {
                        found.add(item, given, &mut seen);
                    }
                    for skipped in walked.skipped {
                        let error = skipped.reason.is_error();
                        found.leave(&skipped.path, skipped.reason.to_string(), error);
                    }
                }
                Err(error) => found.leave(named, format!("cannot be read: {error}"), true),
            },
            Ok(metadata) if metadata.is_file() => {
                found.add(BatchItem::new(named), given, &mut seen);
            }
            Ok(_) => found.leave(named, "not a regular file".to_owned(), true),
        }
    }
    found
}

impl Found {
    /// Adds `item` with its metadata, unless the same file was added already.
    fn add(&mut self, item: BatchItem, given: &[(String, String)], seen: &mut HashSet<PathBuf>) {
        let canonical =
            std::fs::canonicalize(item.path()).unwrap_or_else(|_| item.path().to_owned());
        if !seen.insert(canonical) {
            return;
        }
        let pairs = crate::upload::metadata(given, Some(item.path()));
        let item = pairs
            .into_iter()
            .fold(item, |item, (key, value)| item.metadata(key, value));
        self.items.push(item);
    }

    fn leave(&mut self, path: &Path, reason: String, error: bool) {
        self.left.push(Left {
            path: path.display().to_string(),
            reason,
            error,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_walked_files_kept_once_and_missing_ones_said() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("photos");
        std::fs::create_dir_all(dir.join("2024")).unwrap();
        std::fs::write(dir.join("2024/a.jpg"), b"a").unwrap();
        std::fs::write(root.path().join("b.txt"), b"b").unwrap();
        let shown = |p: PathBuf| p.display().to_string();
        let paths = [
            shown(root.path().join("b.txt")),
            shown(dir.clone()),
            shown(dir.join("2024/a.jpg")),
            shown(root.path().join("missing")),
        ];
        let found = expand_now(&paths, &[("owner".into(), "me".into())]);
        assert_eq!(found.items.len(), 2, "{found:?}");
        let photo = &found.items[1];
        assert_eq!(photo.relative(), Some("photos/2024/a.jpg"));
        let metadata = photo.upload_metadata();
        let value = |key: &str| {
            metadata
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("owner"), Some("me"));
        assert_eq!(value("filename"), Some("a.jpg"));
        assert_eq!(value("filetype"), Some("image/jpeg"));
        assert_eq!(value("relativePath"), Some("photos/2024/a.jpg"));
        assert_eq!(found.items[0].relative(), None);
        assert_eq!(found.left.len(), 1);
        assert!(found.left[0].error && found.left[0].path.ends_with("missing"));
    }
}
