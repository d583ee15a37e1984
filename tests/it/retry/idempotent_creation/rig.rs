//! [`Rig`]: one of the repo's servers (both honour `Idempotency-Key`), a client reaching it
//! through a [`Tap`], and the server's way of losing the answer to a POST after acting on it.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::{HeaderValue, Method};
use tusky::transport::Request;
use tusky::Client;
use tusky_mock_server::{Cut, FaultProxy, PatchAction, StreamingTusServer, TusMockServer};

use crate::common::{Exchange, HoldsUploads, Tap};

/// Which POST's answer goes missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Post {
    /// The first creation POST (of an upload, or of a part).
    Creation,
    /// The first final concatenation POST.
    Final,
}

impl Post {
    fn is(self, method: &Method, concat: Option<&str>) -> bool {
        let is_final = concat.is_some_and(|c| c.starts_with("final;"));
        *method == Method::POST && is_final == (self == Post::Final)
    }

    /// Whether `request` is the first POST of this kind (`log`: the exchanges before it).
    fn is_first(self, request: &Request, log: &[Exchange]) -> bool {
        let concat = request.headers.get("upload-concat");
        let concat = concat.and_then(|c| c.to_str().ok());
        self.is(&request.method, concat)
            && !log.iter().any(|e| self.is(&e.method, e.concat.as_deref()))
    }

    /// Whether `exchange` is a POST of this kind.
    pub fn matches(self, exchange: &Exchange) -> bool {
        self.is(&exchange.method, exchange.concat.as_deref())
    }
}

/// A server of the repo, a client for it over a [`Tap`], and how an answer is lost there.
pub struct Rig<S> {
    pub server: Arc<S>,
    pub tap: Tap,
    pub client: Client<Tap>,
    /// Makes the answer to the request about to be sent go missing, once the server has acted.
    lose_next: Arc<dyn Fn() + Send + Sync>,
    /// Where the server keeps its files, if it has any (the streaming server).
    dir: Option<PathBuf>,
    /// What must live as long as the rig: the proxy, the server's directory.
    _keep: Vec<Box<dyn Any + Send + Sync>>,
}

impl Rig<TusMockServer> {
    /// The mock server, reached directly. It "loses" an answer by acting on the request and
    /// then answering 503 (`PatchAction::StoreThenFail`): an answer that says nothing was
    /// made, when it was.
    pub async fn mock() -> Self {
        let server = Arc::new(TusMockServer::start().await);
        let tap = Tap::reqwest();
        let client = tap.client(&server.endpoint());
        let on = Arc::clone(&server);
        let lose_next = Arc::new(move || {
            let next = on.request_count("POST") + 1;
            on.schedule_request("POST", next, PatchAction::StoreThenFail(503));
        });
        Rig {
            server,
            tap,
            client,
            lose_next,
            dir: None,
            _keep: Vec::new(),
        }
    }
}

impl Rig<StreamingTusServer> {
    /// The streaming server (its files in a temporary directory), its endpoint reached through
    /// a [`FaultProxy`] that loses an answer by cutting the connection as the answer comes
    /// back: the client gets no answer at all.
    ///
    /// The server answers only requests addressed to its own port (its `Host` guard), so every
    /// request names the server in `Host`, as a reverse proxy passes it on; the server then
    /// names uploads at its own address, and only the POSTs to the endpoint pass the proxy.
    pub async fn streaming() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = StreamingTusServer::builder(dir.path()).start().await;
        let server = Arc::new(server.unwrap());
        let proxy = Arc::new(FaultProxy::start(server.address()).await.unwrap());
        let tap = Tap::reqwest();
        let host = HeaderValue::from_str(&server.address().to_string()).unwrap();
        let client = Client::builder()
            .endpoint(proxy.url_for(&server.endpoint()))
            .on_request(move |request| {
                request.headers.insert(http::header::HOST, host.clone());
            })
            .build_with_transport(tap.clone())
            .unwrap();
        let on = Arc::clone(&proxy);
        // At most one byte of the answer (none on a connection that carried an answer before).
        let lose_next = Arc::new(move || on.cut(Cut::after(1).downstream()));
        Rig {
            server,
            tap,
            client,
            lose_next,
            dir: Some(dir.path().to_owned()),
            _keep: vec![Box::new(proxy), Box::new(dir)],
        }
    }

    /// A check of whether the server has begun storing an upload it does not show yet: the
    /// file of a creation whose body is still arriving (made once the creation's id and key
    /// are reserved, before its body is read).
    pub fn receiving_a_creation(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let server = Arc::clone(&self.server);
        let dir = self.dir.clone();
        move || {
            dir.as_deref()
                .is_some_and(|dir| data_files(dir) > server.uploads().len())
        }
    }
}

/// The upload data files in `dir` (the names without an extension).
fn data_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().contains('.'))
            .count()
    })
}

impl<S> Rig<S> {
    /// Loses the answer to the first POST of kind `which`, after the server has acted on it.
    pub fn lose_answer_to(&self, which: Post) {
        let lose = Arc::clone(&self.lose_next);
        self.tap.on_sending(move |request, log| {
            if which.is_first(request, log) {
                lose();
            }
        });
    }

    /// The `Idempotency-Key` of every POST of kind `which` the client sent, in order.
    pub fn keys_of(&self, which: Post) -> Vec<Option<String>> {
        self.tap
            .of(&Method::POST)
            .into_iter()
            .filter(|e| which.matches(e))
            .map(|e| e.idempotency_key)
            .collect()
    }
}
