//! The mock's side of each tus operation: the shared rules ([`crate::tus`]) decide and commit;
//! here the bytes are the buffered wiremock body and the upload's `Vec<u8>`, all under the
//! state's lock.

use super::responder::Ctx;
use crate::tus::append::{commit_append, plan_append};
use crate::tus::body::{BodyEnd, BodyPlan, BodySink, Received, UploadBytes};
use crate::tus::creation::{self, commit_creation, plan_creation, Creation, CreationBody};
use crate::tus::reply::Reply;
use crate::tus::request::RequestHead;
use crate::tus::resource;
use crate::tus::route::{self, operation, Operation, Route};

/// Answers a request whose faults have been applied, like a tus server.
pub(crate) fn dispatch(cx: &Ctx<'_>, method: &str, route: Route<'_>) -> Reply {
    let head = RequestHead {
        method,
        headers: &cx.req.headers,
        body_len: Some(cx.req.body.len() as u64),
    };
    let protocol = &cx.config().protocol;
    match operation(protocol, &head, route) {
        Err(reply) => reply,
        Ok(Operation::Options) => route::options(protocol),
        Ok(Operation::Create) => create(cx, &head),
        Ok(Operation::Head(id)) => {
            let state = cx.shared.state();
            match resource::live(state.get(id).map(|u| &u.info), cx.now, cx.locked) {
                Ok(info) => resource::head(info),
                Err(reply) => reply,
            }
        }
        Ok(Operation::Patch(id)) => patch(cx, &head, id),
        Ok(Operation::Delete(id)) => delete(cx, id),
    }
}

/// `DELETE`: terminates the upload and drops its bytes.
fn delete(cx: &Ctx<'_>, id: &str) -> Reply {
    let mut state = cx.shared.state();
    if let Err(reply) = resource::live(state.get(id).map(|u| &u.info), cx.now, cx.locked) {
        return reply;
    }
    match state.get_mut(id) {
        Some(upload) => {
            upload.data = Vec::new();
            resource::terminate(&mut upload.info)
        }
        None => Reply::error(404, "no such upload"),
    }
}

/// `POST`: a new upload, its first bytes from the body or from its partial uploads.
fn create(cx: &Ctx<'_>, head: &RequestHead<'_>) -> Reply {
    let protocol = &cx.config().protocol;
    let mut state = cx.shared.state();
    let plan = match plan_creation(protocol, head, &cx.shared.endpoint_url, &*state, cx.now) {
        Err(reply) => return reply,
        Ok(Creation::Repeat {
            info,
            answer_offset,
        }) => return creation::created(&info, cx.shared.location(&info.id), answer_offset),
        Ok(Creation::New(plan)) => plan,
    };
    let mut data = Vec::new();
    let received = match &plan.body {
        CreationBody::Nothing => Received::complete(0),
        CreationBody::Upload(body) => take_body(cx, body, &mut data),
        CreationBody::Concatenate(ids) => {
            for id in ids {
                if let Some(partial) = state.get(id) {
                    data.extend_from_slice(&partial.data);
                }
            }
            Received::complete(data.len() as u64)
        }
    };
    let answer_offset = plan.answer_offset;
    match commit_creation(plan, &received) {
        Err(reply) => reply,
        Ok(info) => {
            let _ = data.truncate_to(info.offset);
            let id = state.insert(info, data);
            match state.get(&id) {
                Some(u) => creation::created(&u.info, cx.shared.location(&id), answer_offset),
                None => Reply::error(500, "the new upload vanished"),
            }
        }
    }
}

/// `PATCH`: appends the body at the upload's offset.
fn patch(cx: &Ctx<'_>, head: &RequestHead<'_>, id: &str) -> Reply {
    let protocol = &cx.config().protocol;
    let mut state = cx.shared.state();
    let info = state.get(id).map(|u| &u.info);
    let plan = match plan_append(protocol, head, info, cx.now, cx.locked) {
        Ok(plan) => plan,
        Err(reply) => return reply,
    };
    let Some(upload) = state.get_mut(id) else {
        return Reply::error(404, "no such upload");
    };
    let received = take_body(cx, &plan.body, &mut upload.data);
    let reply = commit_append(&plan, &mut upload.info, &received);
    let _ = upload.data.truncate_to(upload.info.offset);
    reply
}

/// The buffered body into `data`, at most [`Ctx::take_at_most`] bytes of it
/// ([`PatchAction::AcceptPartial`](crate::PatchAction::AcceptPartial)), digested whole.
fn take_body(cx: &Ctx<'_>, plan: &BodyPlan, data: &mut Vec<u8>) -> Received {
    let mut sink = BodySink::new(plan, cx.take_at_most);
    match sink.feed(data, &cx.req.body) {
        Ok(()) => sink.finish(BodyEnd::Complete),
        Err(e) => sink.finish(BodyEnd::StoreFailed(e.to_string())),
    }
}
