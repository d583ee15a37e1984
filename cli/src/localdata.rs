//! What the bundled server received, on disk: `DIR/<id>` (the bytes, written by the server as
//! they arrive) and `DIR/<id>.json` (id, URL, size, metadata), written here once the upload is
//! complete, through a temporary file and a rename.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tusky::mock::UploadSnapshot;

/// A file name for an upload id: only ASCII letters, digits, `-` and `_` are kept.
pub fn file_name(id: &str) -> String {
    let name: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    if name.is_empty() {
        "upload".to_owned()
    } else {
        name
    }
}

/// Where the bytes of upload `id` are in `dir`.
pub fn data_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(file_name(id))
}

/// Writes the JSON description of a complete upload (`size` bytes, already in
/// [`data_path`]) to `dir`; returns the bytes' path.
pub fn describe_upload(
    dir: &Path,
    upload: &UploadSnapshot,
    size: u64,
    source: Option<&str>,
) -> std::io::Result<PathBuf> {
    let name = file_name(&upload.id);
    let metadata: serde_json::Map<String, serde_json::Value> = upload
        .metadata
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.clone()
                    .map_or(serde_json::Value::Null, serde_json::Value::String),
            )
        })
        .collect();
    let info = serde_json::json!({
        "id": upload.id,
        "url": upload.url,
        "size": size,
        "metadata": metadata,
        "source": source,
        "written_unix": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    });
    let text = serde_json::to_vec_pretty(&info).map_err(std::io::Error::other)?;
    write_atomically(&dir.join(format!("{name}.json")), &text)?;
    Ok(dir.join(name))
}

/// Removes the bytes and the description of upload `id` (missing files are fine).
pub fn remove_upload(dir: &Path, id: &str) -> std::io::Result<()> {
    let name = file_name(id);
    for path in [dir.join(&name), dir.join(format!("{name}.json"))] {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".tusky-tmp");
    let tmp = path.with_file_name(tmp_name);
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_safe_file_names() {
        assert_eq!(file_name("abc123"), "abc123");
        assert_eq!(file_name("../../etc/passwd"), "etcpasswd");
        assert_eq!(file_name("///"), "upload");
    }
}
