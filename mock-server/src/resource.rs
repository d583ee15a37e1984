//! Requests on an upload URL: `HEAD`, `PATCH` and `DELETE`.

use crate::creation::{check_max, verify_checksum};
use crate::headers::{self, get_u64};
use crate::reply::Reply;
use crate::responder::Ctx;
use crate::state::{Concat, State, Upload};

/// The upload `id` if it can be used: 404 when unknown or terminated, 410 when
/// expired, 423 while uploads are locked.
fn live<'s>(cx: &Ctx<'_>, state: &'s mut State, id: &str) -> Result<&'s mut Upload, Reply> {
    let upload = match state.get_mut(id) {
        Some(u) if !u.terminated => u,
        Some(_) => return Err(Reply::error(404, "upload terminated")),
        None => return Err(Reply::error(404, "no such upload")),
    };
    if upload.is_expired(cx.now) {
        return Err(Reply::error(410, "upload expired"));
    }
    if cx.locked {
        return Err(Reply::error(423, "upload locked"));
    }
    Ok(upload)
}

/// `HEAD`: where the upload stands.
pub(crate) fn head(cx: &Ctx<'_>, id: &str) -> Reply {
    let mut state = cx.shared.state();
    let upload = match live(cx, &mut state, id) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut r = Reply::new(200)
        .header("Cache-Control", "no-store")
        .header("Upload-Offset", upload.offset());
    r = match upload.length {
        Some(l) => r.header("Upload-Length", l),
        None => r.header("Upload-Defer-Length", 1),
    };
    if let Some(m) = &upload.metadata_header {
        r = r.header("Upload-Metadata", m);
    }
    if let Some(c) = &upload.concat_header {
        r = r.header("Upload-Concat", c);
    }
    r.expires(upload.expires)
}

/// `DELETE` (termination): 204, then the upload answers 404.
pub(crate) fn delete(cx: &Ctx<'_>, id: &str) -> Reply {
    let mut state = cx.shared.state();
    match live(cx, &mut state, id) {
        Ok(upload) => {
            upload.terminated = true;
            upload.data = Vec::new();
            Reply::new(204)
        }
        Err(r) => r,
    }
}

/// `PATCH`: appends the body at the current offset.
pub(crate) fn patch(cx: &Ctx<'_>, id: &str) -> Reply {
    patch_inner(cx, id).unwrap_or_else(|r| r)
}

fn patch_inner(cx: &Ctx<'_>, id: &str) -> Result<Reply, Reply> {
    let req = cx.req;
    let mut state = cx.shared.state();
    let upload = live(cx, &mut state, id)?;
    if matches!(upload.concat, Concat::Final(_)) {
        return Err(Reply::error(403, "PATCH on a final upload"));
    }
    if !headers::is_offset_stream(req) {
        return Err(Reply::error(
            415,
            format!("Content-Type: {} required", headers::OFFSET_STREAM),
        ));
    }
    let offset = get_u64(req, "upload-offset")?
        .ok_or_else(|| Reply::error(400, "Upload-Offset required"))?;
    let current = upload.offset();
    if offset != current {
        return Err(Reply::error(
            409,
            format!("Upload-Offset {offset} does not match the upload's offset {current}"),
        )
        .header("Upload-Offset", current));
    }
    let body_len = req.body.len() as u64;
    let end = offset
        .checked_add(body_len)
        .ok_or_else(|| Reply::error(413, "offset + body overflows"))?;

    let new_length = match (upload.length, get_u64(req, "upload-length")?) {
        (Some(l), Some(sent)) if sent != l => {
            return Err(Reply::error(
                400,
                format!("Upload-Length is {l} and cannot change to {sent}"),
            ))
        }
        (None, Some(sent)) if sent < end => {
            return Err(Reply::error(
                400,
                format!("Upload-Length {sent} is less than offset + body ({end})"),
            ))
        }
        (None, Some(sent)) => {
            check_max(cx, sent)?;
            Some(sent)
        }
        _ => None,
    };
    match new_length.or(upload.length) {
        Some(l) if end > l => {
            return Err(Reply::error(
                413,
                format!("offset + body ({end}) exceeds Upload-Length {l}"),
            ))
        }
        Some(_) => {}
        None => check_max(cx, end)?,
    }
    verify_checksum(cx)?;

    if new_length.is_some() {
        upload.length = new_length;
    }
    let take = cx.take_at_most.map_or(body_len, |n| n.min(body_len));
    // `take <= body_len`, which is a `usize`, so the cast cannot truncate.
    upload.data.extend_from_slice(&req.body[..take as usize]);
    if upload.is_complete() {
        upload.expires = None;
    }
    Ok(Reply::new(204)
        .header("Upload-Offset", upload.offset())
        .expires(upload.expires))
}
