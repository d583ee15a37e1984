//! The automatic chunk size against the mock server: growth while each PATCH costs more than
//! its bytes, the ceiling (`max`, `Tus-Max-Size`), backing off on 413 and on timeouts, parts
//! of a parallel upload tuning on their own. The mock holds each PATCH's answer back to give
//! requests a fixed cost (it simulates a slow server; nothing waits on it); the tests check
//! the lengths the server received and the bytes it holds.

use std::time::Duration;

use tusky::transport::ReqwestTransport;
use tusky::{ChunkSize, Client};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use crate::common::{
    client_for, data, data_file, patch_upload_of, patches, posts, reader_of,
    server_and_client_with, upload_exactly, Builder, QUICK,
};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// What every PATCH costs on the slow server, far more than its bytes: the tuner grows.
const PER_REQUEST: Duration = Duration::from_millis(50);

/// A server whose PATCHes each cost [`PER_REQUEST`].
async fn slow_server() -> TusMockServer {
    let server = TusMockServer::start().await;
    server.set_patch_hook(|_: &PatchContext| PatchAction::Delay(PER_REQUEST));
    server
}

/// The body lengths of the PATCHes the server received, in order.
async fn patch_lengths(server: &TusMockServer) -> Vec<u64> {
    patches(server)
        .await
        .iter()
        .map(|p| p.body.len() as u64)
        .collect()
}

/// The server received PATCHes of the `first` lengths, then none over `to`, which is where the
/// uploader's chunk size stayed.
async fn assert_backed_off<S: tusky::storage::Storage, F: tusky::fingerprint::Fingerprint>(
    server: &TusMockServer,
    uploader: &tusky::Uploader<ReqwestTransport, S, F>,
    first: &[u64],
    to: u64,
) {
    let lengths = patch_lengths(server).await;
    assert_eq!(&lengths[..first.len()], first, "{lengths:?}");
    let after = &lengths[first.len()..];
    assert!(after.iter().all(|len| *len <= to), "{lengths:?}");
    assert_eq!(uploader.chunk_size(), to);
}

/// An auto-sized upload of `bytes` in PATCHes only, of at most `max` bytes a chunk.
fn auto_upload_of(client: &Client, bytes: &[u8], max: u64) -> Builder<ReqwestTransport> {
    reader_of(client, bytes)
        .creation_with_upload(false)
        .chunk_sizing(ChunkSize::Auto { max })
        .retry_delay(3, QUICK)
}

#[tokio::test]
async fn auto_grows_the_chunks_while_each_request_costs_more_than_its_bytes() {
    let server = slow_server().await;
    let client = client_for(&server);
    let bytes = data(5 * MIB as usize + 123);
    let (uploader, _) = upload_exactly(&server, auto_upload_of(&client, &bytes, MIB), &bytes).await;
    let lengths = patch_lengths(&server).await;
    // A sixteenth of the ceiling, four times that, then the ceiling: the fixed cost is all.
    assert_eq!(&lengths[..3], &[64 * KIB, 256 * KIB, MIB], "{lengths:?}");
    let (last, full) = lengths.split_last().unwrap();
    assert!(full[2..].iter().all(|len| *len == MIB), "{lengths:?}");
    assert!(*last <= MIB + MIB / 2, "{lengths:?}");
    assert_eq!(uploader.chunk_size(), MIB);
}

/// The creation POST that carries the first chunk is a request like a PATCH: the tuner learns
/// from it, so the first PATCH is already the second size measured (measuring the POST's size
/// again costs one request more than the fit needs — one request of a server's fixed cost).
#[tokio::test]
async fn auto_learns_from_the_creation_post_that_carries_the_first_chunk() {
    let server = slow_server().await;
    server.delay_request("POST", 1, PER_REQUEST);
    let client = client_for(&server);
    let bytes = data(5 * MIB as usize + 123);
    let builder = auto_upload_of(&client, &bytes, MIB).creation_with_upload(true);
    let (uploader, _) = upload_exactly(&server, builder, &bytes).await;
    let posted: Vec<u64> = posts(&server)
        .await
        .iter()
        .map(|p| p.body.len() as u64)
        .collect();
    assert_eq!(posted, vec![64 * KIB]);
    let lengths = patch_lengths(&server).await;
    assert_eq!(&lengths[..2], &[256 * KIB, MIB], "{lengths:?}");
    assert_eq!(uploader.chunk_size(), MIB);
}

#[tokio::test]
async fn a_fixed_chunk_size_stays_fixed_on_the_same_server() {
    let server = slow_server().await;
    let client = client_for(&server);
    let bytes = data(MIB as usize);
    upload_exactly(&server, patch_upload_of(&client, &bytes, 256 * KIB), &bytes).await;
    assert_eq!(patch_lengths(&server).await, vec![256 * KIB; 4]);
}

/// `Tus-Max-Size` bounds the whole upload, so no chunk of an accepted upload can pass it; the
/// tuner takes it as its ceiling as well (it would have grown to 16 MiB after the first
/// chunk).
#[tokio::test]
async fn auto_never_grows_past_tus_max_size() {
    let (server, client) = server_and_client_with(TusMockServer::builder().max_size(2 * MIB)).await;
    let bytes = data(2 * MIB as usize);
    let builder = auto_upload_of(&client, &bytes, 64 * MIB);
    let (uploader, _) = upload_exactly(&server, builder, &bytes).await;
    assert_eq!(patch_lengths(&server).await, vec![2 * MIB]);
    assert_eq!(uploader.chunk_size(), 2 * MIB);
}

#[tokio::test]
async fn auto_backs_off_on_413_and_stays_under_the_limit() {
    const LIMIT: u64 = 300 * KIB;
    let server = TusMockServer::start().await;
    server.set_patch_hook(|ctx: &PatchContext| {
        if ctx.body_len > LIMIT {
            PatchAction::Fail(413)
        } else {
            PatchAction::Delay(PER_REQUEST)
        }
    });
    let client = client_for(&server);
    let bytes = data(3 * MIB as usize);
    let (uploader, _) = upload_exactly(&server, auto_upload_of(&client, &bytes, MIB), &bytes).await;
    // 64 KiB, 256 KiB, then 1 MiB and 512 KiB refused: halved to 256 KiB, and kept there.
    let first = [64 * KIB, 256 * KIB, MIB, 512 * KIB];
    assert_backed_off(&server, &uploader, &first, 256 * KIB).await;
}

#[tokio::test]
async fn auto_backs_off_when_a_patch_times_out() {
    let server = TusMockServer::start().await;
    // The second PATCH is stored but answered long after the stall timeout.
    server.delay_patch(2, Duration::from_secs(5));
    let client = client_for(&server);
    let bytes = data(2 * MIB as usize);
    let builder =
        auto_upload_of(&client, &bytes, MIB).stall_timeout(Some(Duration::from_millis(300)));
    let (uploader, _) = upload_exactly(&server, builder, &bytes).await;
    // Halved from the 256 KiB that timed out, and no growth after it.
    assert_backed_off(&server, &uploader, &[64 * KIB, 256 * KIB], 128 * KIB).await;
}

#[tokio::test]
async fn each_part_of_a_parallel_upload_tunes_on_its_own() {
    let server = slow_server().await;
    let client = client_for(&server);
    let (bytes, _dir, path) = data_file(4 * MIB as usize);
    let builder = client
        .uploader()
        .path(&path)
        .parallel(2)
        .creation_with_upload(false)
        .chunk_sizing(ChunkSize::Auto { max: MIB });
    upload_exactly(&server, builder, &bytes).await;
    let mut by_part: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for patch in patches(&server).await {
        let part = patch.url.path().to_owned();
        by_part
            .entry(part)
            .or_default()
            .push(patch.body.len() as u64);
    }
    assert_eq!(by_part.len(), 2, "{by_part:?}");
    for lengths in by_part.values() {
        assert_eq!(&lengths[..3], &[64 * KIB, 256 * KIB, MIB], "{by_part:?}");
    }
}
