//! The concurrency limit: the server never sees more than `jobs` uploads in flight, and it
//! does see that many (so the limit is not met by running one at a time).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use http::Method;
use tokio::sync::watch;
use tusky::mock::{PatchAction, PatchContext};
use tusky::transport::{Request, Response, Transport, TransportError};
use tusky::Client;
use tusky_mock_server::TusMockServer;

use super::{assert_all_on_server, batch_of, run_batch, Tree, CHUNK};

/// Uploads in flight as the mock server sees them: from an upload's first PATCH to the PATCH
/// that completes it. Counted by the server's PATCH hook, never by time.
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<(HashSet<String>, usize)>>);

impl InFlight {
    fn hook(&self) -> impl Fn(&PatchContext) -> PatchAction + Send + Sync + 'static {
        let state = Arc::clone(&self.0);
        move |ctx: &PatchContext| {
            let mut state = state.lock().unwrap();
            state.0.insert(ctx.upload_id.clone());
            state.1 = state.1.max(state.0.len());
            let end = ctx.offset.unwrap_or(0) + ctx.body_len;
            if ctx.upload_length.is_some_and(|length| end >= length) {
                state.0.remove(&ctx.upload_id);
            }
            PatchAction::Accept
        }
    }

    /// The most uploads in flight at once.
    fn most(&self) -> usize {
        self.0.lock().unwrap().1
    }
}

/// A transport that holds the PATCH completing an upload (the one at offset `last`) until
/// `jobs` uploads have begun beyond those completed (or every file has begun): a batch that
/// runs its jobs at once passes; one that runs fewer than `jobs` at once waits forever, which
/// the deadline turns into a failure.
struct Gate {
    inner: Arc<dyn Transport>,
    jobs: usize,
    files: usize,
    last: u64,
    /// (uploads that sent their first PATCH, uploads whose last PATCH was answered).
    counts: watch::Sender<(usize, usize)>,
}

#[async_trait]
impl Transport for Gate {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let offset = (request.method == Method::PATCH)
            .then(|| {
                request
                    .headers
                    .get("upload-offset")?
                    .to_str()
                    .ok()?
                    .parse::<u64>()
                    .ok()
            })
            .flatten();
        if offset == Some(0) {
            self.counts.send_modify(|(begun, _)| *begun += 1);
        }
        let last = offset == Some(self.last);
        if last {
            let (jobs, files) = (self.jobs, self.files);
            let mut counts = self.counts.subscribe();
            let enough = counts.wait_for(|&(begun, done)| begun >= files.min(done + jobs));
            tokio::time::timeout(Duration::from_secs(30), enough)
                .await
                .unwrap_or_else(|_| panic!("{jobs} uploads were never in flight at once"))
                .unwrap();
        }
        let answer = self.inner.send(request).await;
        if last {
            self.counts.send_modify(|(_, done)| *done += 1);
        }
        answer
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_sees_at_most_jobs_uploads_in_flight_and_that_many_at_once() {
    let server = TusMockServer::start().await;
    let in_flight = InFlight::default();
    server.set_patch_hook(in_flight.hook());
    let (files, jobs, size) = (7, 3, 4 * CHUNK);
    let tree = Tree::new(&vec![size; files]);
    let (counts, _) = watch::channel((0, 0));
    let client = Client::builder()
        .endpoint(server.endpoint())
        .layer(move |inner: Arc<dyn Transport>| -> Arc<dyn Transport> {
            Arc::new(Gate {
                inner,
                jobs,
                files,
                last: size - CHUNK,
                counts: counts.clone(),
            })
        })
        .build()
        .unwrap();
    let (results, summary) = run_batch(batch_of(&client, &tree, jobs)).await;
    assert!(summary.all_uploaded(), "{summary:?}");
    assert_all_on_server(&server, &tree, &results);
    assert_eq!(in_flight.most(), jobs, "uploads in flight at once");
    assert_eq!(server.request_count("POST"), files as u64);
}

#[tokio::test]
async fn jobs_of_zero_is_refused() {
    let client = Client::new("http://127.0.0.1:9/files/").unwrap();
    let error = client.batch().jobs(0).run().unwrap_err();
    assert!(matches!(error, tusky::Error::Config(_)), "{error}");
}
