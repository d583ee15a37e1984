//! Final uploads on the streaming server: the final POST is answered before the partials'
//! bytes are copied in; the copy survives the partials' termination and a restart.

use std::path::{Path, PathBuf};

use tusky_mock_server::StreamingTusServer;

use super::{start, start_on};
use crate::support::*;

const MIB: usize = 1024 * 1024;

/// Partial uploads holding `parts`, in order: their URLs.
async fn partials(server: &StreamingTusServer, parts: &[&[u8]]) -> Vec<String> {
    let mut urls = Vec::new();
    for part in parts {
        let length = part.len().to_string();
        let headers = [("Upload-Concat", "partial"), ("Upload-Length", &length)];
        let resp = post_to(&server.endpoint(), &headers, Some(part)).await;
        assert_eq!(resp.status(), 201);
        urls.push(header(&resp, "location").unwrap());
    }
    urls
}

/// The final upload of `urls`: its URL.
async fn final_of(server: &StreamingTusServer, urls: &[String]) -> String {
    let concat = format!("final;{}", urls.join(" "));
    let resp = post_to(&server.endpoint(), &[("Upload-Concat", &concat)], None).await;
    assert_eq!(resp.status(), 201);
    header(&resp, "location").unwrap()
}

/// Three partials of `noise` (2 MiB + 5, 1 MiB, 3 bytes) and their final upload, complete.
async fn concatenated(server: &StreamingTusServer) -> (Vec<String>, String, Vec<u8>) {
    let parts = [noise(2 * MIB + 5, 1), noise(MIB, 2), noise(3, 3)];
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let urls = partials(server, &refs).await;
    let url = final_of(server, &urls).await;
    let upload = server.concatenated(&url).await.unwrap();
    assert!(upload.is_complete());
    (urls, url, parts.concat())
}

#[tokio::test]
async fn the_final_upload_holds_its_partials_bytes_once_copied() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (urls, url, whole) = concatenated(&server).await;
    let resp = head(&url).await;
    assert_header(&resp, "upload-offset", &whole.len().to_string());
    assert_header(&resp, "upload-length", &whole.len().to_string());
    let path = server.upload_path(&url).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), whole, "the bytes on disk");
    // The partials are kept, and the copy no longer holds the final upload.
    assert_eq!(server.upload_bytes(&urls[2]).unwrap(), noise(3, 3));
    assert_eq!(delete(&url).await.status(), 204);
}

/// A partial upload cannot be terminated while a final upload is being made from it (a
/// restart would copy from its file again); once the copy has ended it can, and the final
/// upload keeps its bytes.
#[tokio::test]
async fn partials_are_kept_until_the_copy_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let parts = [noise(3 * MIB, 4), noise(MIB + 1, 5)];
    let urls = partials(&server, &[&parts[0], &parts[1]]).await;
    let url = final_of(&server, &urls).await;
    let early = delete(&urls[0]).await.status();
    assert!(
        early == 423 || (early == 204 && server.upload(&url).unwrap().is_complete()),
        "{early}"
    );
    assert!(server.concatenated(&url).await.unwrap().is_complete());
    for partial in &urls[1..] {
        assert_eq!(delete(partial).await.status(), 204);
    }
    assert_eq!(server.upload_bytes(&url).unwrap(), parts.concat());
}

/// A final upload as a server stopped half-way through its copy leaves it (its file cut to
/// half, after a complete copy and a shutdown), in `dir`.
struct CutShort {
    port: u16,
    url: String,
    whole: Vec<u8>,
    /// The final upload's file.
    path: PathBuf,
    /// The partial uploads' files.
    partials: Vec<PathBuf>,
}

async fn cut_short(dir: &Path) -> CutShort {
    let server = start(dir).await;
    let port = server.address().port();
    let (urls, url, whole) = concatenated(&server).await;
    let path = server.upload_path(&url).unwrap();
    let partials = urls
        .iter()
        .map(|u| server.upload_path(u).unwrap())
        .collect();
    server.shutdown().await;
    cut_to_half(&path);
    CutShort {
        port,
        url,
        whole,
        path,
        partials,
    }
}

#[tokio::test]
async fn a_final_upload_cut_short_by_a_stop_is_copied_again_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let stopped = cut_short(dir.path()).await;

    let server = start_on(dir.path(), stopped.port).await;
    let url = &stopped.url;
    let upload = server.concatenated(url).await.unwrap();
    assert!(upload.is_complete());
    assert_eq!(
        std::fs::read(&stopped.path).unwrap(),
        stopped.whole,
        "copied again"
    );
    let length = stopped.whole.len().to_string();
    assert_header(&head(url).await, "upload-offset", &length);
}

#[tokio::test]
async fn a_final_upload_whose_partial_is_gone_at_start_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let stopped = cut_short(dir.path()).await;
    std::fs::remove_file(&stopped.partials[1]).unwrap();

    let server = start_on(dir.path(), stopped.port).await;
    assert!(server.concatenated(&stopped.url).await.is_none());
    assert_eq!(head(&stopped.url).await.status(), 404);
    assert!(!stopped.path.exists(), "its file is removed");
    assert_eq!(server.uploads().len(), 2, "the other partials stay");
}

fn cut_to_half(path: &Path) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len / 2).unwrap();
}

/// A shutdown right after the final POST's answer stops the copy (or finds it done); the
/// next server on the directory has the final upload whole either way.
#[tokio::test]
async fn a_shutdown_during_the_copy_leaves_it_to_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let port = server.address().port();
    let parts = [noise(40 * MIB, 6), noise(9 * MIB + 3, 7)];
    let urls = partials(&server, &[&parts[0], &parts[1]]).await;
    let url = final_of(&server, &urls).await;
    server.shutdown().await;

    let server = start_on(dir.path(), port).await;
    assert!(server.concatenated(&url).await.unwrap().is_complete());
    assert_eq!(server.upload_bytes(&url).unwrap(), parts.concat());
}
