//! checksum: negotiation, the header's value (on PATCH and on a creation POST), 460 and 400;
//! a file's digests computed ahead (while the chunk before is sent) and discarded when the
//! server's offset is elsewhere.

use std::io::{Cursor, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::Digest as _;
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use tusky::{ChecksumAlgorithm, Error};
use tusky_mock_server::{Extension, PatchAction, PatchContext, TusMockServer};

use crate::common::{
    client_for, data, data_file, header, patch_upload_of, patches, posts, server_and_client,
    server_and_client_with, upload_error, upload_exactly, upload_of, upload_offset, QUICK,
};

/// The digest of `body`, computed here independently of tusky.
fn digest(name: &str, body: &[u8]) -> Vec<u8> {
    match name {
        "sha1" => sha1::Sha1::digest(body).to_vec(),
        "sha256" => sha2::Sha256::digest(body).to_vec(),
        "sha512" => sha2::Sha512::digest(body).to_vec(),
        "md5" => md5::Md5::digest(body).to_vec(),
        "crc32" => crc32fast::hash(body).to_be_bytes().to_vec(),
        other => panic!("no digest for {other}"),
    }
}

fn expected_header(name: &str, body: &[u8]) -> String {
    format!("{name} {}", STANDARD.encode(digest(name, body)))
}

const NAMES: [&str; 5] = ["sha1", "sha256", "sha512", "md5", "crc32"];

/// For each algorithm A: the client prefers [X, A, ...] and the server lists everything but
/// X (in another order), so A must be chosen; every PATCH carries A's digest of its own body.
#[tokio::test]
async fn negotiation_picks_the_first_preferred_listed_algorithm_and_digests_each_body() {
    for (i, chosen) in NAMES.iter().enumerate() {
        let unlisted = NAMES[(i + 1) % NAMES.len()];
        let mut listed: Vec<&str> = NAMES.iter().rev().copied().collect();
        listed.retain(|n| *n != unlisted);
        let server = TusMockServer::builder()
            .checksum_algorithms(&listed)
            .start()
            .await;
        let mut preference = vec![
            ChecksumAlgorithm::from_name(unlisted).unwrap(),
            ChecksumAlgorithm::from_name(chosen).unwrap(),
        ];
        for algorithm in ChecksumAlgorithm::ALL {
            if !preference.contains(&algorithm) {
                preference.push(algorithm);
            }
        }
        let client = client_for(&server);
        let bytes = data(20_000);
        let builder = patch_upload_of(&client, &bytes, 6_000).checksum_negotiated(&preference);
        upload_exactly(&server, builder, &bytes).await;
        let patches = patches(&server).await;
        assert_eq!(patches.len(), 4);
        for patch in &patches {
            assert_eq!(
                header(patch, "upload-checksum"),
                Some(expected_header(chosen, &patch.body)),
                "server lists {listed:?}, client prefers {preference:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_server_listing_no_algorithm_gets_no_checksum() {
    let listing_none = TusMockServer::builder()
        .checksum_algorithms(&[])
        .start()
        .await;
    let without_extension = TusMockServer::builder()
        .extensions(&[Extension::Creation])
        .start()
        .await;
    for server in [listing_none, without_extension] {
        let client = client_for(&server);
        let bytes = data(10_000);
        let builder =
            upload_of(&client, &bytes, 4_000).checksum_negotiated(&ChecksumAlgorithm::ALL);
        upload_exactly(&server, builder, &bytes).await;
        for request in server.received_requests().await {
            assert_eq!(header(&request, "upload-checksum"), None);
        }
    }
}

/// A reader that corrupts the byte at `position` on the second read that covers it: tusky
/// reads a range once for the digest and once for the body, so the first body sent for that
/// range differs from its digest — a real corruption in transit, which the server detects.
struct CorruptSecondRead {
    inner: Cursor<Vec<u8>>,
    position: u64,
    reads: u32,
}

impl AsyncRead for CorruptSecondRead {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let start = self.inner.position();
        let filled = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let end = start + (buf.filled().len() - filled) as u64;
        if (start..end).contains(&self.position) {
            self.reads += 1;
            if self.reads == 2 {
                let index = filled + (self.position - start) as usize;
                buf.filled_mut()[index] ^= 0xff;
            }
        }
        poll
    }
}

impl AsyncSeek for CorruptSecondRead {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        Pin::new(&mut self.inner).start_seek(position)
    }
    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Pin::new(&mut self.inner).poll_complete(cx)
    }
}

#[tokio::test]
async fn a_corrupted_body_gets_460_and_the_chunk_is_resent() {
    let (server, client) = server_and_client().await;
    let bytes = data(20_000);
    let reader = CorruptSecondRead {
        inner: Cursor::new(bytes.clone()),
        position: 9_000,
        reads: 0,
    };
    let builder = client
        .uploader()
        .reader(reader)
        .chunk_size(6_000)
        .creation_with_upload(false)
        .checksum_negotiated(&[ChecksumAlgorithm::Sha256])
        .retry_delay(2, QUICK);
    upload_exactly(&server, builder, &bytes).await;

    let patches = patches(&server).await;
    let second: Vec<_> = patches
        .iter()
        .filter(|p| upload_offset(p) == Some(6_000))
        .collect();
    assert_eq!(second.len(), 2, "the rejected chunk is sent twice");
    assert_ne!(second[0].body, bytes[6_000..12_000], "first: corrupted");
    assert_eq!(second[1].body, bytes[6_000..12_000], "second: intact");
    for patch in &second {
        assert_eq!(
            header(patch, "upload-checksum"),
            Some(expected_header("sha256", &bytes[6_000..12_000])),
            "the digest is of the source's bytes both times"
        );
    }
    assert_eq!(patches.len(), 5);
}

#[tokio::test]
async fn an_injected_460_resends_the_same_chunk() {
    let (server, client) = server_and_client().await;
    server.fail_patch(2, 460);
    let bytes = data(20_000);
    let builder = patch_upload_of(&client, &bytes, 6_000)
        .checksum_negotiated(&[ChecksumAlgorithm::Sha1])
        .retry_delay(2, QUICK);
    upload_exactly(&server, builder, &bytes).await;
    let patches = patches(&server).await;
    assert_eq!(patches.len(), 5);
    assert_eq!(upload_offset(&patches[1]), Some(6_000));
    assert_eq!(upload_offset(&patches[2]), Some(6_000));
    assert_eq!(patches[1].body, patches[2].body);
    assert_eq!(
        header(&patches[1], "upload-checksum"),
        header(&patches[2], "upload-checksum")
    );
}

/// The client insists on sha1 but the server only takes md5: every PATCH gets 400. tusky
/// retries a bounded number of times, then fails with the status and the server's reason.
#[tokio::test]
async fn a_permanent_400_is_retried_a_bounded_number_of_times_then_fails_clearly() {
    let (server, client) =
        server_and_client_with(TusMockServer::builder().checksum_algorithms(&["md5"])).await;
    let error = upload_error(
        client
            .uploader()
            .reader(Cursor::new(data(10_000)))
            .creation_with_upload(false)
            .checksum(ChecksumAlgorithm::Sha1)
            .retry_delay(3, QUICK),
    )
    .await;
    assert!(
        matches!(error, Error::RetriesExhausted { attempts: 4, .. }),
        "{error:?}"
    );
    assert_eq!(error.status().map(|s| s.as_u16()), Some(400));
    assert!(
        error.body().unwrap().contains("unsupported algorithm"),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("400") && message.contains("PATCH"),
        "{message}"
    );
    assert_eq!(patches(&server).await.len(), 4);
    assert_eq!(server.uploads()[0].offset, 0);
}

/// With creation-with-upload the POST carries the first chunk, and its checksum.
#[tokio::test]
async fn the_creation_post_carries_a_checksum_of_its_body() {
    let (server, client) = server_and_client().await;
    let bytes = data(5000);
    let builder = upload_of(&client, &bytes, 2000).checksum(ChecksumAlgorithm::Sha256);
    upload_exactly(&server, builder, &bytes).await;
    let posts = posts(&server).await;
    assert_eq!(posts[0].body, bytes[..2000]);
    assert_eq!(
        header(&posts[0], "upload-checksum"),
        Some(expected_header("sha256", &bytes[..2000]))
    );
}

/// A file in chunks of [`FILE_CHUNK`] (each digest is made while the chunk before is sent),
/// after `prepare` set the server up: the server, which verifies every checksum, ends with
/// exactly the file; returns the offsets of the PATCHes, each checked to carry its own body's
/// digest.
async fn checksummed_file_upload(prepare: impl FnOnce(&TusMockServer)) -> Vec<u64> {
    let (server, client) = server_and_client().await;
    prepare(&server);
    let (bytes, _dir, path) = data_file(3 * FILE_CHUNK as usize - 11);
    let builder = client
        .uploader()
        .path(&path)
        .chunk_size(FILE_CHUNK)
        .creation_with_upload(false)
        .checksum(ChecksumAlgorithm::Sha256)
        .retry_delay(2, QUICK);
    upload_exactly(&server, builder, &bytes).await;
    let patches = patches(&server).await;
    for patch in &patches {
        assert_eq!(
            header(patch, "upload-checksum"),
            Some(expected_header("sha256", &patch.body)),
            "the PATCH at {:?}",
            upload_offset(patch)
        );
    }
    patches.iter().map(|p| upload_offset(p).unwrap()).collect()
}

/// More than one read block, and not a multiple of it.
const FILE_CHUNK: u64 = 1_300_000;

/// The server keeps part of the first chunk: the digest computed ahead (of the chunk after the
/// whole first one) is not used; the next chunk, from the server's offset, is digested afresh.
#[tokio::test]
async fn a_partly_kept_chunk_discards_the_digest_computed_ahead() {
    let offsets = checksummed_file_upload(|server| {
        server.set_patch_hook(|ctx: &PatchContext| match ctx.number {
            1 => PatchAction::AcceptPartial(1234),
            _ => PatchAction::Accept,
        })
    })
    .await;
    let c = FILE_CHUNK;
    assert_eq!(offsets, [0, 1234, 1234 + c, 1234 + 2 * c]);
}

/// A 460 to the second chunk: it is sent again with its own digest (not the third chunk's,
/// computed ahead while it was sent), and the third chunk after it.
#[tokio::test]
async fn a_chunk_resent_after_460_discards_the_digest_computed_ahead() {
    let offsets = checksummed_file_upload(|server| server.fail_patch(2, 460)).await;
    let c = FILE_CHUNK;
    assert_eq!(offsets, [0, c, c, 2 * c]);
}
