//! Property tests of the upload loop against the mock tus server: whatever the file size, the
//! chunk size, how much of each PATCH the server keeps, which PATCHes fail, and where a first
//! uploader stops, the server ends up holding exactly the source's bytes.
//!
//! Each property drives a real `Uploader` over loopback HTTP, so case counts are modest (set
//! `PROPTEST_CASES` to run more) and sizes stay under ~2 MiB, biased to small files and to
//! sizes next to chunk and read-piece boundaries, where off-by-one errors live. One tokio
//! runtime per property; one fresh mock server per case, so PATCH numbers in a case's fault
//! schedule count from 1.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use tusky::storage::MemoryStorage;
use tusky::transport::PIECE;
use tusky::{ChecksumAlgorithm, Client};
use tusky_mock_server::{PatchAction, PatchContext, TusMockServer};

use super::{check, check_progress, holds_exactly, upload_all};
use crate::common::{client_for, noise, noise_file, server_and_client, upload_of, Events, Trickle};

const MAX_SIZE: u64 = 2 * 1024 * 1024;
/// Chunk sizes are raised so that no case needs more than about this many PATCHes.
const MAX_CHUNKS: u64 = 96;

// ---------------------------------------------------------------------------------------------
// Strategies

/// Chunk sizes: tiny ones, the read-piece size and its neighbours, powers of two, anything.
fn chunk_size() -> impl Strategy<Value = u64> {
    let piece = PIECE as u64;
    prop_oneof![
        2 => 1u64..=16,
        2 => prop::sample::select(vec![
            1000,
            4096,
            65_536,
            piece - 1,
            piece,
            piece + 1,
            2 * piece,
            1 << 20,
            MAX_SIZE,
            4 * MAX_SIZE,
        ]),
        3 => 17u64..=MAX_SIZE,
    ]
}

/// A file size for `chunk`: small, near a multiple of the chunk or of the read piece, or any.
fn size_for(chunk: u64) -> impl Strategy<Value = u64> {
    let near = |unit: u64| {
        (0u64..=12, -1i64..=1)
            .prop_map(move |(k, d)| (k * unit).saturating_add_signed(d).min(MAX_SIZE))
    };
    prop_oneof![
        3 => 0u64..=4096,
        2 => near(chunk),
        1 => near(PIECE as u64),
        2 => 0u64..=MAX_SIZE,
    ]
}

/// `(size, chunk)` where the chunk is raised, if needed, to keep the PATCH count bounded.
fn size_and_chunk() -> impl Strategy<Value = (u64, u64)> {
    chunk_size()
        .prop_flat_map(|chunk| (size_for(chunk), Just(chunk)))
        .prop_map(|(size, chunk)| (size, chunk.max(size.div_ceil(MAX_CHUNKS)).max(1)))
}

/// How much of one PATCH body the server keeps.
#[derive(Debug, Clone, Copy)]
enum Keep {
    /// All of it.
    All,
    /// None of it (the offset does not move).
    Nothing,
    /// This many bytes at most.
    Bytes(u64),
    /// This many thousandths of the body, at least one byte.
    PerMille(u64),
}

impl Keep {
    fn action(self, body_len: u64) -> PatchAction {
        match self {
            Keep::All => PatchAction::Accept,
            Keep::Nothing => PatchAction::AcceptPartial(0),
            Keep::Bytes(n) => PatchAction::AcceptPartial(n),
            Keep::PerMille(p) => PatchAction::AcceptPartial((body_len * p / 1000).max(1)),
        }
    }
}

/// A schedule of partial acceptance, applied to PATCH number n as `schedule[(n - 1) % len]`.
/// At least one entry keeps something, so every upload can finish.
fn keep_schedule() -> impl Strategy<Value = Vec<Keep>> {
    let keep = prop_oneof![
        2 => Just(Keep::All),
        1 => Just(Keep::Nothing),
        1 => (1u64..=3).prop_map(Keep::Bytes),
        4 => (1u64..1000).prop_map(Keep::PerMille),
    ];
    vec(keep, 1..6).prop_map(|mut schedule| {
        if schedule.iter().all(|k| matches!(k, Keep::Nothing)) {
            schedule.push(Keep::All);
        }
        schedule
    })
}

/// Installs `schedule` as the server's PATCH hook. A server that keeps a byte or two of every
/// 2 MiB body would make a case send gigabytes (and wiremock records every body), so once the
/// bodies received pass a budget of a few times the file's size the server accepts everything.
fn install_schedule(server: &TusMockServer, schedule: Vec<Keep>, size: u64) {
    let budget = AtomicU64::new(4 * size + 64 * 1024);
    server.set_patch_hook(move |ctx: &PatchContext| {
        let left = budget.fetch_sub(
            ctx.body_len.min(budget.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        if left == 0 || ctx.number > 4 * MAX_CHUNKS {
            return PatchAction::Accept;
        }
        let keep = schedule[((ctx.number - 1) % schedule.len() as u64) as usize];
        keep.action(ctx.body_len)
    });
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Partial acceptance: the server keeps a schedule-chosen part of each PATCH; the client goes on
/// from the offset the server answers, and ends with the whole file stored.
#[test]
fn partial_acceptance_stores_exactly_the_file() {
    let strategy = (
        size_and_chunk(),
        keep_schedule(),
        any::<bool>(),
        any::<u64>(),
    );
    check(
        file!(),
        64,
        strategy,
        |((size, chunk), schedule, with_upload, seed)| async move {
            let (server, client) = server_and_client().await;
            install_schedule(&server, schedule, size);
            let bytes = noise(size, seed);
            let events = Events::default();
            let mut uploader = upload_of(&client, &bytes, chunk)
                .creation_with_upload(with_upload)
                .retry_delay(0, Duration::ZERO)
                .on_progress(events.callback())
                .build()
                .unwrap();
            let summary = upload_all("the upload", &server, &mut uploader, &bytes).await?;
            prop_assert_eq!(summary.bytes_uploaded, size);
            prop_assert_eq!(summary.resumed_from, None);
            prop_assert!(server
                .upload(summary.url.as_str())
                .is_some_and(|u| u.is_complete()));
            prop_assert_eq!(server.uploads().len(), 1);
            check_progress(&events, 0, size, true)
        },
    );
}

/// A file sent with checksums, with partial acceptance: each chunk's digest is computed while
/// the chunk before it is sent, for the range after all of it, and discarded whenever the
/// server's offset is elsewhere. The server verifies every checksum (a wrong one is a 460, which
/// fails the upload: no retries) and ends with exactly the file.
#[test]
fn partial_acceptance_of_a_checksummed_file_stores_exactly_the_file() {
    let algorithm = prop::sample::select(ChecksumAlgorithm::ALL.to_vec());
    let strategy = (
        size_and_chunk(),
        keep_schedule(),
        any::<bool>(),
        algorithm,
        any::<u64>(),
    );
    check(
        file!(),
        48,
        strategy,
        |((size, chunk), schedule, with_upload, algorithm, seed)| async move {
            let (server, client) = server_and_client().await;
            install_schedule(&server, schedule, size);
            let dir = tempfile::tempdir().unwrap();
            let path = noise_file(dir.path(), "source.bin", size, seed);
            let bytes = std::fs::read(&path).unwrap();
            let mut uploader = client
                .uploader()
                .path(&path)
                .chunk_size(chunk)
                .creation_with_upload(with_upload)
                .checksum(algorithm)
                .retry_delay(0, Duration::ZERO)
                .build()
                .unwrap();
            let summary = upload_all("the upload", &server, &mut uploader, &bytes).await?;
            prop_assert_eq!(summary.bytes_uploaded, size);
            prop_assert_eq!(server.uploads().len(), 1);
            Ok(())
        },
    );
}

/// Status faults (500, 503, 423 Locked, 409 Conflict) on random PATCHes: with enough retries the
/// upload still ends with exactly the file's bytes; each fault costs one retry and one HEAD.
#[test]
fn status_faults_are_retried_to_exact_bytes() {
    let faults = prop::collection::btree_map(
        1u64..=40,
        prop::sample::select(vec![500u16, 503, 423, 409]),
        0..8,
    );
    let strategy = (size_and_chunk(), faults, any::<bool>(), any::<u64>());
    check(
        file!(),
        48,
        strategy,
        |((size, chunk), faults, with_upload, seed): (
            (u64, u64),
            BTreeMap<u64, u16>,
            bool,
            u64,
        )| async move {
            let (server, client) = server_and_client().await;
            for (&n, &status) in &faults {
                server.fail_patch(n, status);
            }
            let bytes = noise(size, seed);
            let events = Events::default();
            let mut uploader = upload_of(&client, &bytes, chunk)
                .creation_with_upload(with_upload)
                .retry_delay(faults.len() as u32 + 1, Duration::from_millis(1))
                .on_progress(events.callback())
                .build()
                .unwrap();
            upload_all("the upload", &server, &mut uploader, &bytes).await?;
            let patches = server.request_count("PATCH");
            let fired = faults.keys().filter(|&&n| n <= patches).count();
            let retries = events.retries().len();
            prop_assert_eq!(
                retries,
                fired,
                "retries vs faults that fired ({} PATCHes)",
                patches
            );
            prop_assert_eq!(
                server.request_count("HEAD") as usize,
                fired,
                "one HEAD per fault"
            );
            prop_assert_eq!(server.uploads().len(), 1);
            check_progress(&events, 0, size, true)
        },
    );
}

/// A first uploader stops at a random point (`upload_until`, exactly there, even when the first
/// bytes go in the creation POST); a new uploader sharing its URL storage resumes from the
/// server's offset at that moment and completes the same upload.
#[test]
fn a_new_uploader_resumes_where_the_first_stopped() {
    let strategy = (
        size_and_chunk(),
        0.0f64..=1.1,
        keep_schedule(),
        any::<bool>(),
        any::<u64>(),
    );
    check(
        file!(),
        48,
        strategy,
        |((size, chunk), stop_fraction, schedule, with_upload, seed)| async move {
            let stop = (size as f64 * stop_fraction) as u64;
            let server = TusMockServer::start().await;
            install_schedule(&server, schedule, size);
            let client = client_for(&server);
            let store = Arc::new(MemoryStorage::new());
            let bytes = noise(size, seed);
            let build = |events: &Events| {
                upload_of(&client, &bytes, chunk)
                    .creation_with_upload(with_upload)
                    .storage(Arc::clone(&store))
                    .retry_delay(0, Duration::ZERO)
                    .on_progress(events.callback())
                    .build()
                    .unwrap()
            };

            let first_events = Events::default();
            let first = build(&first_events)
                .upload_until(stop)
                .await
                .map_err(|e| TestCaseError::fail(format!("first upload failed: {e}")))?;
            let at_stop = server
                .upload(first.url.as_str())
                .expect("the first upload exists");
            prop_assert_eq!(
                first.offset,
                at_stop.offset,
                "the first uploader's offset is the server's"
            );
            prop_assert_eq!(
                first.offset,
                stop.min(size),
                "upload_until stops exactly there"
            );
            holds_exactly(&server, &first.url, &bytes[..first.offset as usize])?;
            let first_finished = first.offset == size;
            check_progress(&first_events, 0, first.offset, first_finished)?;

            let second_events = Events::default();
            let mut second = build(&second_events);
            let second = upload_all("the second upload", &server, &mut second, &bytes).await?;
            if first_finished {
                // A finished upload's record is removed: the second uploader starts a new one.
                prop_assert_eq!(second.resumed_from, None);
                prop_assert_eq!(server.uploads().len(), 2);
            } else {
                prop_assert_eq!(&second.url, &first.url);
                prop_assert_eq!(second.resumed_from, Some(at_stop.offset));
                prop_assert_eq!(second.bytes_uploaded, size - at_stop.offset);
                prop_assert_eq!(server.uploads().len(), 1);
                check_progress(&second_events, at_stop.offset, size, true)?;
            }
            Ok(())
        },
    );
}

/// Streams of unknown length (`Upload-Defer-Length`), read in random pieces, with partial
/// acceptance: the server ends with exactly the stream's bytes and the right `Upload-Length`.
#[test]
fn unknown_length_streams_store_exactly_the_bytes() {
    let pieces = vec(prop_oneof![1usize..=16, 1usize..=200_000], 1..5);
    let strategy = (
        size_and_chunk(),
        pieces,
        keep_schedule(),
        any::<bool>(),
        any::<u64>(),
    );
    check(
        file!(),
        48,
        strategy,
        |((size, chunk), pieces, schedule, with_upload, seed)| async move {
            let server = TusMockServer::start().await;
            install_schedule(&server, schedule, size);
            let bytes = noise(size, seed);
            let events = Events::default();
            let reader = Trickle::with_pieces(bytes.clone(), pieces);
            let mut uploader = Client::new(server.endpoint())
                .unwrap()
                .uploader()
                .stream(reader)
                .chunk_size(chunk)
                .creation_with_upload(with_upload)
                .retry_delay(0, Duration::ZERO)
                .on_progress(events.callback())
                .build()
                .unwrap();
            let summary = upload_all("the upload", &server, &mut uploader, &bytes).await?;
            let upload = server.upload(summary.url.as_str()).unwrap();
            prop_assert_eq!(upload.length, Some(size));
            prop_assert!(upload.is_complete());
            check_progress(&events, 0, size, true)
        },
    );
}
