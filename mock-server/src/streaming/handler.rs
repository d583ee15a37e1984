//! [`App`]: one request of the streaming server from head to answer — the `Host` guard, then
//! the shared tus rules ([`crate::tus`]) with the body streamed to the upload's file, and the
//! upload's info saved before the answer.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::{Body, Incoming};
use tokio::sync::watch;
use url::Url;

use super::body::{discard, receive, Destination, Reading};
use super::buffers::BufferPool;
use super::concatenation;
use super::file_jobs::FileJobs;
use super::files::{DataFile, Layout};
use super::host::HostGuard;
use super::registry::{Registry, Reservation};
use super::response::into_response;
use crate::tus::append::{commit_append, plan_append};
use crate::tus::body::{BodyEnd, BodySink, Received, UploadBytes};
use crate::tus::config::Protocol;
use crate::tus::creation::{
    commit_creation, created, plan_creation, Creation, CreationBody, CreationPlan,
};
use crate::tus::info::UploadInfo;
use crate::tus::reply::Reply;
use crate::tus::request::RequestHead;
use crate::tus::resource;
use crate::tus::route::{effective_method, operation, options, route, Operation};

/// Everything the requests of one server share.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) protocol: Protocol,
    pub(crate) layout: Layout,
    pub(crate) registry: Arc<Registry>,
    /// `http://{address}{base_path}`.
    pub(crate) endpoint: String,
    pub(crate) endpoint_url: Url,
    pub(crate) host_guard: HostGuard,
    /// A body that sends nothing for this long is cut short.
    pub(crate) idle_timeout: Duration,
    /// Bumped after every change to an upload.
    pub(crate) changes: watch::Sender<u64>,
    /// The buffers bodies are gathered in.
    pub(crate) buffers: Arc<BufferPool>,
    /// The file work in progress.
    pub(crate) jobs: Arc<FileJobs>,
    /// Set when the server stops: long file work (a final upload's copy) ends early.
    pub(crate) stopping: std::sync::atomic::AtomicBool,
}

impl App {
    /// Answers one request.
    pub(crate) async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let is_head = req.method() == Method::HEAD;
        let reply = self.reply(req).await;
        into_response(reply, is_head)
    }

    async fn reply(self: &Arc<Self>, req: Request<Incoming>) -> Reply {
        let (parts, body) = req.into_parts();
        let host = parts
            .headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()));
        if let Err(reply) = self.host_guard.check(host) {
            return reply;
        }
        let method = match effective_method(parts.method.as_str(), &parts.headers) {
            Ok(m) => m,
            Err(reply) => return reply,
        };
        let head = RequestHead {
            method: &method,
            headers: &parts.headers,
            body_len: body.size_hint().exact(),
        };
        let now = SystemTime::now();
        match operation(
            &self.protocol,
            &head,
            route(&self.protocol.base_path, parts.uri.path()),
        ) {
            Err(reply) => reply,
            Ok(Operation::Options) => options(&self.protocol),
            Ok(Operation::Create) => self.create(&head, body, now, host).await,
            Ok(Operation::Head(id)) => {
                match resource::live(self.registry.info(id).as_ref(), now, false) {
                    Ok(info) => resource::head(info),
                    Err(reply) => reply,
                }
            }
            Ok(Operation::Patch(id)) => self.patch(&head, id, body, now).await,
            Ok(Operation::Delete(id)) => self.delete(id, now).await,
        }
    }

    /// `POST`: plans under the registry's lock, then on one blocking thread takes the first
    /// bytes into a new file, saves the info, and makes the upload visible.
    async fn create(
        self: &Arc<Self>,
        head: &RequestHead<'_>,
        body: Incoming,
        now: SystemTime,
        host: Option<&str>,
    ) -> Reply {
        let decided = self.registry.decide_creation(|uploads| {
            plan_creation(&self.protocol, head, &self.endpoint_url, uploads, now)
        });
        let (plan, reservation) = match decided {
            // 409 and 422 to a creation are the answers to a repeated key (idempotency.rs).
            Err(reply) if matches!(reply.status, 409 | 422) => {
                return self.after_body(body, head, reply).await
            }
            Err(reply) => return reply,
            Ok((
                Creation::Repeat {
                    info,
                    answer_offset,
                },
                _,
            )) => {
                let reply = created(&info, self.location(host, &info.id), answer_offset);
                return self.after_body(body, head, reply).await;
            }
            Ok((Creation::New(plan), Some(reservation))) => (plan, reservation),
            Ok((Creation::New(_), None)) => return Reply::error(500, "no id for the new upload"),
        };
        let location = self.location(host, &reservation.id);
        let path = self.layout.data_path(&reservation.id);
        let created = match plan.body.clone() {
            CreationBody::Upload(body_plan) => {
                let to = Destination {
                    open: move || DataFile::create(&path),
                    sink: BodySink::new(&body_plan, None),
                    settle: self.settler(plan, reservation, location),
                };
                receive(body, to, self.reading(body_plan.limit)).await
            }
            CreationBody::Nothing => {
                let fill = |_: &mut DataFile| Received::complete(0);
                let settle = self.settler(plan, reservation, location);
                self.blocking(move || Ok(fill_new(&path, fill, settle)))
                    .await
            }
            CreationBody::Concatenate(ids) => {
                let app = Arc::clone(self);
                self.blocking(move || Ok(app.create_final(plan, reservation, &ids, location)))
                    .await
            }
        };
        created.unwrap_or_else(|e| Reply::error(500, format!("creating the upload: {e}")))
    }

    /// What settles a new upload once its first bytes are stored ([`App::settle_creation`]).
    fn settler(
        self: &Arc<Self>,
        plan: CreationPlan,
        reservation: Reservation,
        location: String,
    ) -> impl FnOnce(Option<&mut DataFile>, Received) -> Reply + Send + 'static {
        let app = Arc::clone(self);
        move |file, received| app.settle_creation(plan, reservation, file, &received, location)
    }

    /// A new upload's first bytes are in `file` (`None`: it could not be made): commits the
    /// creation, saves the info, and makes the upload visible; or removes what was stored.
    fn settle_creation(
        &self,
        plan: CreationPlan,
        reservation: Reservation,
        file: Option<&mut DataFile>,
        received: &Received,
        location: String,
    ) -> Reply {
        let answer_offset = plan.answer_offset;
        let id = reservation.id.clone();
        let mut info = match commit_creation(plan, received) {
            Ok(info) => info,
            Err(reply) => {
                if let Err(e) = self.layout.remove(&id) {
                    tracing::warn!(error = %e, "removing the bytes of a refused creation");
                }
                return reply;
            }
        };
        info.id = id;
        if let Err(e) = self.save(file, &info) {
            let _ = self.layout.remove(&info.id);
            return Reply::error(500, format!("saving the new upload: {e}"));
        }
        let reply = created(&info, location, answer_offset);
        reservation.insert(info);
        self.changed();
        reply
    }

    /// A final upload: opens its partials' files, creates its empty file, saves its info and
    /// makes it visible, claimed by the copy of the partials' bytes, which starts now
    /// (`concatenation.rs`): the answer does not wait for the copy.
    fn create_final(
        self: &Arc<Self>,
        plan: CreationPlan,
        reservation: Reservation,
        ids: &[String],
        location: String,
    ) -> Reply {
        let sources = match concatenation::open_sources(&self.layout, &self.registry, ids) {
            Ok(sources) => sources,
            Err(e) => return Reply::error(500, format!("opening the partial uploads: {e}")),
        };
        let answer_offset = plan.answer_offset;
        let mut info = match commit_creation(plan, &Received::complete(0)) {
            Ok(info) => info,
            Err(reply) => return reply,
        };
        info.id = reservation.id.clone();
        let made = DataFile::create(&self.layout.data_path(&info.id))
            .and_then(|_| self.layout.save_info(&info));
        if let Err(e) = made {
            let _ = self.layout.remove(&info.id);
            return Reply::error(500, format!("saving the new upload: {e}"));
        }
        let reply = created(&info, location, answer_offset);
        let claim = reservation.insert_claimed(info.clone());
        concatenation::start(self, info, claim, sources);
        self.changed();
        reply
    }

    /// `reply` to a creation that stores nothing of its body, once the body is read (as long
    /// as it says, else at most the declared length or the maximum size): the answers to a
    /// repeated `Idempotency-Key` (the upload again, 409 while the first is received, 422 for
    /// another ask), which a client acts on. A connection closed with a request unread is
    /// reset, and the reset can overtake the answer (a proxy between passes it on first).
    async fn after_body(&self, body: Incoming, head: &RequestHead<'_>, reply: Reply) -> Reply {
        let declared = head.get_u64("upload-length").ok().flatten();
        let limit = (head.body_len.or(declared))
            .or(self.protocol.max_size)
            .unwrap_or(u64::MAX);
        discard(body, limit, self.idle_timeout).await;
        reply
    }

    /// `PATCH`: claims the upload (423 while another request writes it), then on one blocking
    /// thread streams the body to its file, commits, saves the info and gives the claim back.
    async fn patch(
        self: &Arc<Self>,
        head: &RequestHead<'_>,
        id: &str,
        body: Incoming,
        now: SystemTime,
    ) -> Reply {
        let (info, claim) = self.registry.claim(id);
        let locked = info.is_some() && claim.is_none();
        let plan = match plan_append(&self.protocol, head, info.as_ref(), now, locked) {
            Ok(plan) => plan,
            Err(reply) => return reply,
        };
        let (Some(mut info), Some(claim)) = (info, claim) else {
            return Reply::error(500, "an upload planned without its claim");
        };
        let path = self.layout.data_path(id);
        let (offset, limit) = (plan.offset, plan.body.limit);
        let app = Arc::clone(self);
        let to = Destination {
            // Bytes past the offset are left by a request cut short: they go.
            open: move || {
                let mut file = DataFile::open(&path)?;
                file.truncate_to(offset)?;
                Ok(file)
            },
            sink: BodySink::new(&plan.body, None),
            settle: move |file: Option<&mut DataFile>, received: Received| {
                let reply = commit_append(&plan, &mut info, &received);
                let saved = app.save(file, &info);
                claim.update(info);
                app.changed();
                match saved {
                    Ok(()) => reply,
                    Err(e) => Reply::error(500, format!("saving the upload's info: {e}")),
                }
            },
        };
        receive(body, to, self.reading(limit))
            .await
            .unwrap_or_else(|e| Reply::error(500, format!("storing the body: {e}")))
    }

    /// `DELETE`: removes the upload's files, then the upload.
    async fn delete(&self, id: &str, now: SystemTime) -> Reply {
        let (info, claim) = self.registry.claim(id);
        let locked = info.is_some() && claim.is_none();
        let mut info = match resource::live(info.as_ref(), now, locked) {
            Ok(info) => info.clone(),
            Err(reply) => return reply,
        };
        let Some(claim) = claim else {
            return Reply::error(500, "an upload deleted without its claim");
        };
        if self.registry.feeds_a_concatenation(id) {
            return Reply::error(423, "a final upload is being made from this partial upload");
        }
        let layout = self.layout.clone();
        let owned = id.to_owned();
        if let Err(e) = self.blocking(move || layout.remove(&owned)).await {
            return Reply::error(500, format!("removing the upload's files: {e}"));
        }
        claim.remove();
        self.changed();
        resource::terminate(&mut info)
    }

    /// Cuts the data file (`None`: opens it) to `info.offset` and saves the info.
    pub(crate) fn save(&self, file: Option<&mut DataFile>, info: &UploadInfo) -> io::Result<()> {
        match file {
            Some(file) => file.truncate_to(info.offset)?,
            None => DataFile::open(&self.layout.data_path(&info.id))?.truncate_to(info.offset)?,
        }
        self.layout.save_info(info)
    }

    /// Tells the watchers of [`StreamingTusServer::changes`](super::StreamingTusServer::changes).
    pub(crate) fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// Runs file work on a blocking thread, counted in [`App::jobs`].
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let job = self.jobs.start();
        tokio::task::spawn_blocking(move || {
            let _job = job;
            work()
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(format!("the file thread failed: {e}"))))
    }

    /// How bodies of at most `limit` bytes are read.
    fn reading(&self, limit: u64) -> Reading<'_> {
        Reading {
            limit,
            idle: self.idle_timeout,
            buffers: &self.buffers,
            jobs: &self.jobs,
        }
    }

    /// The URL of upload `id` as the client addressed this server (its `Host`), or on the
    /// address the server listens on.
    fn location(&self, host: Option<&str>, id: &str) -> String {
        match host.filter(|h| is_authority(h)) {
            Some(host) => format!("http://{host}{}{id}", self.protocol.base_path),
            None => format!("{}{id}", self.endpoint),
        }
    }
}

/// Whether `host` can stand in a URL as given: a name or address and a port, nothing else.
fn is_authority(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Creates a data file at `path`, `fill`s it, and `settle`s what became of it.
fn fill_new<T>(
    path: &Path,
    fill: impl FnOnce(&mut DataFile) -> Received,
    settle: impl FnOnce(Option<&mut DataFile>, Received) -> T,
) -> T {
    let mut file = DataFile::create(path);
    let received = match &mut file {
        Ok(file) => fill(file),
        Err(e) => store_failed(e),
    };
    settle(file.as_mut().ok(), received)
}

fn store_failed(e: &io::Error) -> Received {
    Received {
        stored: 0,
        digest: None,
        end: BodyEnd::StoreFailed(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::is_authority;

    #[test]
    fn only_plain_authorities_make_locations() {
        assert!(is_authority("127.0.0.1:8080"));
        assert!(is_authority("[::1]:1"));
        assert!(is_authority("localhost"));
        assert!(!is_authority("evil/path"));
        assert!(!is_authority("a@b"));
        assert!(!is_authority(""));
    }
}
