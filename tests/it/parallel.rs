//! Parallel uploads on a few workers: parts created (and stored parts read) concurrently, more
//! parts than workers with each worker taking the next part when it is done, so that a slow
//! part holds up one worker and not the upload; the final POST joins the parts in file order.
//! Orders are forced with requests held until a condition holds (never with timing).

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tusky::storage::{MemoryStorage, Storage};
use tusky_mock_server::{TusMockServer, UploadConcat};

use crate::common::{
    data_file, parallel_upload_of, partials, shut_out, upload_cancelled_at, upload_exactly,
    Condition, Exchange, Fault, Tap, RUN,
};

/// Long enough for any held-back order to come about on a loaded machine; a test that waits
/// this long has failed.
const WITHIN: Duration = Duration::from_secs(30);

/// The parts the final upload at `url` joins, in its order.
fn joined(server: &TusMockServer, url: &url::Url) -> Vec<String> {
    match server.upload(url.as_str()).map(|u| u.concat) {
        Some(UploadConcat::Final(parts)) => parts,
        other => panic!("{url} is not a final upload: {other:?}"),
    }
}

/// Whether `exchange` is a part's creation POST.
fn creates_a_part(exchange: &Exchange) -> bool {
    exchange.method == Method::POST && exchange.concat.as_deref() == Some("partial")
}

/// With 2 workers and 4 parts, every PATCH of the first part is held until the other three
/// parts are complete on the server: the second worker takes parts 2, 3 and 4 while the first
/// waits. (Were the parts dealt out to workers in advance, or did a worker wait for the
/// earliest part before taking a new one, parts 3 and 4 would wait for part 1, forever.)
#[tokio::test]
async fn a_slow_part_holds_up_one_worker_while_the_others_take_the_rest() {
    let server = Arc::new(TusMockServer::start().await);
    let tap = Tap::reqwest();
    // 40_001 bytes in 4 parts: the first is the only one of 10_001 bytes.
    let (bytes, _dir, path) = data_file(40_001);
    tap.on_matching(
        |request, log| {
            request.method == Method::PATCH
                && log.iter().any(|e| {
                    creates_a_part(e)
                        && e.length == Some(10_001)
                        && e.location
                            .as_deref()
                            .is_some_and(|l| l.ends_with(request.url.path()))
                })
        },
        Fault::HoldUntil(Condition {
            what: "the other three parts complete while the first is held",
            within: WITHIN,
            holds: {
                let server = Arc::clone(&server);
                Arc::new(move |_: &[Exchange]| {
                    partials(&server)
                        .iter()
                        .filter(|p| p.is_complete() && p.length != Some(10_001))
                        .count()
                        == 3
                })
            },
        }),
    );
    let client = tap.client(&server.endpoint());

    let (_, summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 2, 4_000).parts(4),
        &bytes,
    )
    .await;

    assert_eq!(partials(&server).len(), 4);
    let lengths: Vec<Option<u64>> = joined(&server, &summary.url)
        .iter()
        .map(|url| server.upload(url).unwrap().length)
        .collect();
    assert_eq!(
        lengths,
        [Some(10_001), Some(10_000), Some(10_000), Some(10_000)],
        "joined in file order, not in the order the parts ended"
    );
    assert!(
        tap.most_in_flight() <= 2,
        "two workers, {} requests at once:\n{}",
        tap.most_in_flight(),
        tap.transcript()
    );
}

/// The parts' creation POSTs overlap: the first is held until the second is sent.
#[tokio::test]
async fn parts_are_created_concurrently() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    let (bytes, _dir, path) = data_file(30_000);
    tap.on(
        Method::POST,
        1,
        Fault::HoldUntil(Condition {
            what: "a second part's creation POST is sent while the first is held",
            within: WITHIN,
            holds: Arc::new(|log: &[Exchange]| {
                log.iter().filter(|e| creates_a_part(e)).count() >= 2
            }),
        }),
    );
    let client = tap.client(&server.endpoint());

    upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 3, 5_000),
        &bytes,
    )
    .await;

    assert_eq!(partials(&server).len(), 3);
    assert!(tap.most_in_flight() <= 3, "{}", tap.transcript());
}

/// A resumed upload reads its stored parts concurrently: the first HEAD is held until the
/// second is sent.
#[tokio::test]
async fn stored_parts_are_read_concurrently() {
    let server = TusMockServer::start().await;
    let tap = Tap::reqwest();
    let client = tap.client(&server.endpoint());
    let store = Arc::new(MemoryStorage::new());
    let (bytes, _dir, path) = data_file(60_000);
    let first = parallel_upload_of(&client, &path, 3, 2_000)
        .storage(Arc::clone(&store))
        .header(RUN, "first");
    upload_cancelled_at(first, 20_000).await;
    shut_out(&server, "first").await;
    assert_eq!(partials(&server).len(), 3, "every part was created");
    let heads_before = tap.of(&Method::HEAD).len();
    tap.on(
        Method::HEAD,
        heads_before as u64 + 1,
        Fault::HoldUntil(Condition {
            what: "a second stored part's HEAD is sent while the first is held",
            within: WITHIN,
            holds: Arc::new(move |log: &[Exchange]| {
                log.iter().filter(|e| e.method == Method::HEAD).count() >= heads_before + 2
            }),
        }),
    );

    let (_, summary) = upload_exactly(
        &server,
        parallel_upload_of(&client, &path, 3, 2_000).storage(Arc::clone(&store)),
        &bytes,
    )
    .await;

    assert!(summary.resumed_from.is_some_and(|held| held >= 20_000));
    assert!(
        tap.of(&Method::HEAD).len() >= heads_before + 3,
        "each stored part was read"
    );
    assert_eq!(partials(&server).len(), 3, "no part created again");
}

/// An upload of 6 parts on 2 workers, cancelled mid-way (some parts done, some under way, some
/// not created yet), is finished by a new uploader: the parts that exist are continued, the
/// missing ones created, and the final upload holds exactly the file, its parts in file order.
#[tokio::test]
async fn a_cancelled_upload_of_many_parts_resumes_and_creates_the_missing_ones() {
    let server = TusMockServer::start().await;
    let client = crate::common::client_for(&server);
    let store = Arc::new(MemoryStorage::new());
    let (bytes, _dir, path) = data_file(60_000);
    let build = |run: &str| {
        parallel_upload_of(&client, &path, 2, 2_500)
            .parts(6)
            .storage(Arc::clone(&store))
            .header(RUN, run)
    };
    upload_cancelled_at(build("first"), 25_000).await;
    shut_out(&server, "first").await;
    let records = store.list().await.unwrap();
    assert_eq!(records.len(), 1);
    let recorded = &records[0].1.partial_urls;
    assert_eq!(recorded.len(), 6, "one slot per part: {recorded:?}");
    let created = partials(&server);
    assert!(
        created.len() < 6,
        "cancelled before every part was created: {created:?}"
    );
    for part in &created {
        assert!(
            recorded.contains(&part.url),
            "created but not recorded: {}",
            part.url
        );
    }
    let held: u64 = created.iter().map(|p| p.offset).sum();

    let (_, summary) = upload_exactly(&server, build("second"), &bytes).await;

    assert_eq!(summary.resumed_from, Some(held));
    let parts = joined(&server, &summary.url);
    assert_eq!(parts.len(), 6);
    assert_eq!(partials(&server).len(), 6, "the existing parts were kept");
    let mut start = 0;
    for url in &parts {
        let part = server.upload_bytes(url).unwrap();
        assert_eq!(part, bytes[start..start + part.len()], "{url}");
        start += part.len();
    }
    assert!(store.list().await.unwrap().is_empty());
}
