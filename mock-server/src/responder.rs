//! The stateful wiremock responder: effective method, routing, faults, dispatch.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use wiremock::{Request, Respond, ResponseTemplate};

use crate::builder::Config;
use crate::extension::Extension;
use crate::faults::{Faults, PatchAction, PatchContext};
use crate::headers;
use crate::reply::{fault_status, Reply, TUS_VERSION};
use crate::state::State;
use crate::{creation, resource};

/// Everything the server and its responder share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// `{uri}{base_path}`, e.g. `http://127.0.0.1:4242/files/`.
    pub(crate) endpoint: String,
    state: Mutex<State>,
    faults: Mutex<Faults>,
}

impl Shared {
    pub(crate) fn new(config: Config, endpoint: String) -> Self {
        Shared {
            state: Mutex::new(State::new(config.random_ids)),
            config,
            endpoint,
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
            format!("{}{id}", self.config.base_path)
        } else {
            format!("{}{id}", self.endpoint)
        }
    }
}

/// What a request's path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// The creation endpoint (`/files/` or `/files`).
    Endpoint,
    /// An upload URL, with its id.
    Upload(&'a str),
    /// Anything else (404).
    Other,
}

pub(crate) fn route<'a>(base_path: &str, path: &'a str) -> Route<'a> {
    if path == base_path || (base_path.len() > 1 && path == base_path.trim_end_matches('/')) {
        return Route::Endpoint;
    }
    match path.strip_prefix(base_path) {
        Some(id) if !id.is_empty() && !id.contains('/') => Route::Upload(id),
        _ => Route::Other,
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
        handle(&self.shared, request).into_template(head)
    }
}

/// The method a request stands for: a `POST` carrying `X-HTTP-Method-Override`
/// stands for the override (`PATCH`, `DELETE`, `HEAD` or `POST`; others → 400).
pub(crate) fn effective_method(req: &Request) -> Result<String, Reply> {
    let method = req.method.as_str().to_ascii_uppercase();
    if method != "POST" {
        return Ok(method);
    }
    match headers::get(req, "x-http-method-override")? {
        None => Ok(method),
        Some(o) => {
            let o = o.trim().to_ascii_uppercase();
            match o.as_str() {
                "PATCH" | "DELETE" | "HEAD" | "POST" => Ok(o),
                _ => Err(Reply::error(
                    400,
                    "X-HTTP-Method-Override: only PATCH, DELETE, HEAD or POST",
                )),
            }
        }
    }
}

/// Handles one request: counts it, applies faults, then answers like a tus server.
pub(crate) fn handle(shared: &Shared, req: &Request) -> Reply {
    let method = match effective_method(req) {
        Ok(m) => m,
        Err(reply) => return reply,
    };
    let route = route(&shared.config.base_path, req.url.path());
    let (action, locked) = decide(shared, req, &method, route);
    let take_at_most = match action {
        PatchAction::Accept | PatchAction::Delay(_) | PatchAction::StoreThenFail(_) => None,
        PatchAction::AcceptPartial(n) => Some(n),
        PatchAction::Fail(status) => {
            return Reply::error(fault_status(status), "injected fault (tusky-mock-server)")
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
                fault_status(status),
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
        _ => crate::state::id_from(req.url.path()).to_owned(),
    };
    let (offset, upload_length) = {
        let state = shared.state();
        match state.get(&upload_id) {
            Some(u) => (Some(u.offset()), u.length),
            None => (None, None),
        }
    };
    let ctx = PatchContext {
        number: n,
        upload_id,
        offset,
        upload_length,
        client_offset: headers::get(req, "upload-offset")
            .ok()
            .flatten()
            .and_then(headers::parse_u64),
        body_len: req.body.len() as u64,
    };
    (hook.on_patch(&ctx), locked)
}

fn dispatch(cx: &Ctx<'_>, method: &str, route: Route<'_>) -> Reply {
    if method != "OPTIONS" && !tus_resumable_ok(cx.req) {
        return Reply::error(412, "Tus-Resumable: 1.0.0 required")
            .header("Tus-Version", TUS_VERSION);
    }
    let config = cx.config();
    match (route, method) {
        (Route::Other, _) => Reply::error(404, "not found"),
        (_, "OPTIONS") => options(config),
        (Route::Endpoint, "POST") if config.has(Extension::Creation) => creation::create(cx),
        (Route::Endpoint, _) => {
            let allow = if config.has(Extension::Creation) {
                "OPTIONS, POST"
            } else {
                "OPTIONS"
            };
            Reply::error(405, "method not allowed on the endpoint").header("Allow", allow)
        }
        (Route::Upload(id), "HEAD") => resource::head(cx, id),
        (Route::Upload(id), "PATCH") => resource::patch(cx, id),
        (Route::Upload(id), "DELETE") if config.has(Extension::Termination) => {
            resource::delete(cx, id)
        }
        (Route::Upload(_), _) => {
            let allow = if config.has(Extension::Termination) {
                "OPTIONS, HEAD, PATCH, DELETE"
            } else {
                "OPTIONS, HEAD, PATCH"
            };
            Reply::error(405, "method not allowed on an upload").header("Allow", allow)
        }
    }
}

fn tus_resumable_ok(req: &Request) -> bool {
    matches!(headers::get(req, "tus-resumable"), Ok(Some(v)) if v.trim() == TUS_VERSION)
}

/// `OPTIONS`: the server's capabilities.
fn options(config: &Config) -> Reply {
    let mut r = Reply::new(204).header("Tus-Version", TUS_VERSION);
    if !config.extensions.is_empty() {
        let list: Vec<&str> = config.extensions.iter().map(|e| e.as_str()).collect();
        r = r.header("Tus-Extension", list.join(","));
    }
    if let Some(max) = config.max_size {
        r = r.header("Tus-Max-Size", max);
    }
    if config.has(Extension::Checksum) && !config.checksum_algorithms.is_empty() {
        r = r.header(
            "Tus-Checksum-Algorithm",
            config.checksum_algorithms.join(","),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/files/", "/files/"), Route::Endpoint);
        assert_eq!(route("/files/", "/files"), Route::Endpoint);
        assert_eq!(route("/files/", "/files/abc"), Route::Upload("abc"));
        assert_eq!(route("/files/", "/files/abc/def"), Route::Other);
        assert_eq!(route("/files/", "/other"), Route::Other);
        assert_eq!(route("/", "/"), Route::Endpoint);
        assert_eq!(route("/", "/abc"), Route::Upload("abc"));
        assert_eq!(route("/", ""), Route::Other);
    }
}
