//! The stateful wiremock responder: effective method, routing, faults, then the shared tus
//! rules ([`super::operations`]).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use url::Url;
use wiremock::http::HeaderValue;
use wiremock::{Request, Respond, ResponseTemplate};

use super::builder::Config;
use super::faults::{Faults, PatchAction, PatchContext};
use super::operations::dispatch;
use super::state::State;
use crate::tus::reply::{valid_status, Reply, TUS_VERSION};
use crate::tus::request::{self, parse_u64};
use crate::tus::route::{self, route, Route};
use crate::tus::upload_id::id_from;

/// Everything the server and its responder share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// `{uri}{base_path}`, e.g. `http://127.0.0.1:4242/files/`.
    pub(crate) endpoint: String,
    /// The endpoint, parsed: partial upload URLs are resolved against it.
    pub(crate) endpoint_url: Url,
    state: Mutex<State>,
    faults: Mutex<Faults>,
}

impl Shared {
    pub(crate) fn new(config: Config, endpoint: String) -> Self {
        // wiremock's own `http://127.0.0.1:port` plus a base path that starts with `/`: a URL
        // (the fallback only keeps this from panicking).
        let endpoint_url = Url::parse(&endpoint)
            .unwrap_or_else(|_| Url::parse("http://127.0.0.1/").expect("a literal URL"));
        Shared {
            state: Mutex::new(State::new(config.random_ids)),
            config,
            endpoint,
            endpoint_url,
            faults: Mutex::default(),
        }
    }

    /// The uploads; a panic elsewhere (e.g. in a user hook) never poisons them for good.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets every upload and fault.
    pub(crate) fn clear(&self) {
        *self.state() = State::new(self.config.random_ids);
        *self.faults() = Faults::default();
    }

    /// The `Location` of upload `id`.
    pub(crate) fn location(&self, id: &str) -> String {
        if self.config.relative_locations {
            format!("{}{id}", self.config.protocol.base_path)
        } else {
            format!("{}{id}", self.endpoint)
        }
    }
}

/// One request being handled.
pub(crate) struct Ctx<'a> {
    pub(crate) req: &'a Request,
    pub(crate) shared: &'a Shared,
    pub(crate) now: SystemTime,
    /// [`TusMockServer::lock_uploads`](crate::TusMockServer::lock_uploads) is on.
    pub(crate) locked: bool,
    /// At most this many body bytes are stored ([`PatchAction::AcceptPartial`]).
    pub(crate) take_at_most: Option<u64>,
}

impl Ctx<'_> {
    pub(crate) fn config(&self) -> &Config {
        &self.shared.config
    }
}

/// The wiremock [`Respond`] implementation mounted by the server.
pub(crate) struct TusResponder {
    pub(crate) shared: Arc<Shared>,
}

impl Respond for TusResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let head = request.method.as_str() == "HEAD";
        into_template(handle(&self.shared, request), head)
    }
}

/// The wiremock response; adds `Tus-Resumable: 1.0.0`, drops the body when `head` (a HEAD
/// response has none) and skips header values that are not valid HTTP (they cannot come
/// from a client, but never panic on them).
fn into_template(reply: Reply, head: bool) -> ResponseTemplate {
    let mut t =
        ResponseTemplate::new(reply.valid_status()).insert_header("Tus-Resumable", TUS_VERSION);
    for (name, value) in reply.headers {
        match HeaderValue::from_str(&value) {
            Ok(v) => t = t.append_header(name, v),
            Err(_) => tracing::warn!(header = name, "dropping an invalid header value"),
        }
    }
    if let (Some(body), false) = (reply.body, head) {
        t = t.set_body_string(body);
    }
    if let Some(d) = reply.delay {
        t = t.set_delay(d);
    }
    t
}

/// The method a wiremock request stands for ([`route::effective_method`]).
pub(crate) fn effective_method(req: &Request) -> Result<String, Reply> {
    route::effective_method(req.method.as_str(), &req.headers)
}

/// Handles one request: counts it, applies faults, then answers like a tus server.
pub(crate) fn handle(shared: &Shared, req: &Request) -> Reply {
    let method = match effective_method(req) {
        Ok(m) => m,
        Err(reply) => return reply,
    };
    let route = route(&shared.config.protocol.base_path, req.url.path());
    let (action, locked) = decide(shared, req, &method, route);
    let take_at_most = match action {
        PatchAction::Accept | PatchAction::Delay(_) | PatchAction::StoreThenFail(_) => None,
        PatchAction::AcceptPartial(n) => Some(n),
        PatchAction::Fail(status) => {
            return Reply::error(valid_status(status), "injected fault (tusky-mock-server)")
        }
        PatchAction::Locked => {
            return Reply::error(423, "upload locked (injected by tusky-mock-server)")
        }
        PatchAction::Stall(d) => {
            let mut r = Reply::error(408, "stalled (injected by tusky-mock-server)");
            r.delay = Some(d);
            return r;
        }
    };
    let cx = Ctx {
        req,
        shared,
        now: SystemTime::now(),
        locked,
        take_at_most,
    };
    let mut reply = dispatch(&cx, &method, route);
    match action {
        PatchAction::Delay(d) => reply.delay = Some(d),
        PatchAction::StoreThenFail(status) => {
            reply = Reply::error(
                valid_status(status),
                "stored, then failed (injected by tusky-mock-server)",
            )
        }
        _ => {}
    }
    reply
}

/// Counts the request and picks its fault action: a scheduled one first, then the
/// PATCH hook (called with no lock held), else [`PatchAction::Accept`].
fn decide(shared: &Shared, req: &Request, method: &str, route: Route<'_>) -> (PatchAction, bool) {
    let (n, scheduled, hook, locked) = {
        let mut faults = shared.faults();
        let n = faults.count(method);
        let scheduled = faults.take_scheduled(method, n);
        let hook = if method == "PATCH" {
            faults.patch_hook.clone()
        } else {
            None
        };
        (n, scheduled, hook, faults.locked)
    };
    if let Some(action) = scheduled {
        return (action, locked);
    }
    let Some(hook) = hook else {
        return (PatchAction::Accept, locked);
    };
    let upload_id = match route {
        Route::Upload(id) => id.to_owned(),
        _ => id_from(req.url.path()).to_owned(),
    };
    let (offset, upload_length) = {
        let state = shared.state();
        match state.get(&upload_id) {
            Some(u) => (Some(u.info.offset), u.info.length),
            None => (None, None),
        }
    };
    let ctx = PatchContext {
        number: n,
        upload_id,
        offset,
        upload_length,
        client_offset: request::get(&req.headers, "upload-offset")
            .ok()
            .flatten()
            .and_then(parse_u64),
        body_len: req.body.len() as u64,
    };
    (hook.on_patch(&ctx), locked)
}
