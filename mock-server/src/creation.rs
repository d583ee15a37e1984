//! `POST` on the endpoint: creation, creation-with-upload, creation-defer-length
//! and concatenation.

use wiremock::http::Url;

use crate::checksum;
use crate::extension::Extension;
use crate::headers::{self, get, get_u64};
use crate::metadata::{self, Metadata};
use crate::reply::Reply;
use crate::responder::{route, Ctx, Route};
use crate::state::{Concat, Upload};

/// What `Upload-Concat` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ConcatRequest<'a> {
    Partial,
    Final(Vec<&'a str>),
}

fn parse_concat(value: &str) -> Result<ConcatRequest<'_>, Reply> {
    let v = value.trim();
    if v == "partial" {
        return Ok(ConcatRequest::Partial);
    }
    match v.strip_prefix("final;") {
        Some(list) => {
            let urls: Vec<&str> = list.split_whitespace().collect();
            if urls.is_empty() {
                Err(Reply::error(
                    400,
                    "Upload-Concat: final without partial uploads",
                ))
            } else {
                Ok(ConcatRequest::Final(urls))
            }
        }
        None => Err(Reply::error(
            400,
            "Upload-Concat: expected `partial` or `final;<url> <url>…`",
        )),
    }
}

/// Handles a creation `POST`.
pub(crate) fn create(cx: &Ctx<'_>) -> Reply {
    create_inner(cx).unwrap_or_else(|r| r)
}

fn create_inner(cx: &Ctx<'_>) -> Result<Reply, Reply> {
    let config = cx.config();
    let req = cx.req;
    let concat_header = if config.has(Extension::Concatenation) {
        get(req, "upload-concat")?
    } else {
        None
    };
    let concat = concat_header.map(parse_concat).transpose()?;
    let metadata_header = get(req, "upload-metadata")?;
    let metadata: Metadata = match metadata_header {
        Some(h) => metadata::parse(h).map_err(|e| Reply::error(400, e.to_string()))?,
        None => Vec::new(),
    };
    let length = get_u64(req, "upload-length")?;
    let defer = get(req, "upload-defer-length")?;

    let mut upload = Upload {
        id: String::new(),
        length: None,
        data: Vec::new(),
        metadata_header: metadata_header.map(str::to_owned),
        metadata,
        concat: Concat::None,
        concat_header: concat_header.map(str::to_owned),
        expires: None,
        terminated: false,
    };

    let mut answer_offset = false;
    if let Some(ConcatRequest::Final(urls)) = &concat {
        if length.is_some() || defer.is_some() {
            return Err(Reply::error(
                400,
                "a final upload takes no Upload-Length or Upload-Defer-Length",
            ));
        }
        if !req.body.is_empty() {
            return Err(Reply::error(400, "a final upload takes no body"));
        }
        let (ids, data) = concatenate(cx, urls)?;
        upload.length = Some(data.len() as u64);
        upload.data = data;
        upload.concat = Concat::Final(ids);
    } else {
        upload.length = declared_length(cx, length, defer)?;
        if concat == Some(ConcatRequest::Partial) {
            upload.concat = Concat::Partial;
        }
        if headers::is_offset_stream(req) {
            if config.has(Extension::CreationWithUpload) {
                upload.data = first_bytes(cx, upload.length)?;
                answer_offset = true;
            } else if !req.body.is_empty() {
                return Err(Reply::error(
                    400,
                    "creation-with-upload is not supported: POST without a body, then PATCH",
                ));
            }
        }
    }

    if !upload.is_complete() {
        upload.expires = config.expiry().map(|d| cx.now + d);
    }
    let offset = upload.offset();
    let expires = upload.expires;
    let id = cx.shared.state().insert(upload);
    let mut reply = Reply::new(201)
        .header("Location", cx.shared.location(&id))
        .expires(expires);
    if answer_offset {
        reply = reply.header("Upload-Offset", offset);
    }
    Ok(reply)
}

/// The length of a new ordinary or partial upload: `Upload-Length`, or `None` for
/// `Upload-Defer-Length: 1`.
fn declared_length(
    cx: &Ctx<'_>,
    length: Option<u64>,
    defer: Option<&str>,
) -> Result<Option<u64>, Reply> {
    match (length, defer) {
        (Some(_), Some(_)) => Err(Reply::error(
            400,
            "Upload-Length and Upload-Defer-Length are exclusive",
        )),
        (Some(n), None) => {
            check_max(cx, n)?;
            Ok(Some(n))
        }
        (None, Some(d)) => {
            if !cx.config().has(Extension::CreationDeferLength) {
                Err(Reply::error(400, "creation-defer-length is not supported"))
            } else if d.trim() != "1" {
                Err(Reply::error(400, "Upload-Defer-Length: must be 1"))
            } else {
                Ok(None)
            }
        }
        (None, None) => Err(Reply::error(
            400,
            "Upload-Length or Upload-Defer-Length: 1 required",
        )),
    }
}

/// 413 when `size` is over `Tus-Max-Size`.
pub(crate) fn check_max(cx: &Ctx<'_>, size: u64) -> Result<(), Reply> {
    match cx.config().max_size {
        Some(max) if size > max => Err(Reply::error(
            413,
            format!("{size} bytes is over Tus-Max-Size {max}"),
        )),
        _ => Ok(()),
    }
}

/// The body of a creation-with-upload `POST`, checked against the length, the
/// maximum size and `Upload-Checksum`.
fn first_bytes(cx: &Ctx<'_>, length: Option<u64>) -> Result<Vec<u8>, Reply> {
    let body = &cx.req.body;
    let len = body.len() as u64;
    match length {
        Some(l) if len > l => {
            return Err(Reply::error(
                413,
                format!("{len} body bytes exceed Upload-Length {l}"),
            ))
        }
        Some(_) => {}
        None => check_max(cx, len)?,
    }
    verify_checksum(cx)?;
    Ok(body.clone())
}

/// Verifies `Upload-Checksum` against the whole body when the checksum extension
/// is on (ignored otherwise, like servers without it).
pub(crate) fn verify_checksum(cx: &Ctx<'_>) -> Result<(), Reply> {
    if !cx.config().has(Extension::Checksum) {
        return Ok(());
    }
    match get(cx.req, "upload-checksum")? {
        None => Ok(()),
        Some(h) => checksum::verify(h, &cx.config().checksum_algorithms, &cx.req.body)
            .map_err(|e| Reply::error(e.status(), e.to_string())),
    }
}

/// The ids and concatenated bytes of the partial uploads named by a final
/// `Upload-Concat`; every one must be a live, complete partial upload (else 400).
fn concatenate(cx: &Ctx<'_>, urls: &[&str]) -> Result<(Vec<String>, Vec<u8>), Reply> {
    let base = Url::parse(&cx.shared.endpoint)
        .map_err(|_| Reply::error(500, "the mock's endpoint is not a URL"))?;
    let state = cx.shared.state();
    let mut ids = Vec::with_capacity(urls.len());
    let mut total: u64 = 0;
    for url in urls {
        let bad = |why: &str| Reply::error(400, format!("Upload-Concat: {url}: {why}"));
        let resolved = base.join(url).map_err(|_| bad("not a URL"))?;
        let id = match route(&cx.config().base_path, resolved.path()) {
            Route::Upload(id) => id,
            _ => return Err(bad("not an upload URL of this server")),
        };
        let upload = state.get(id).ok_or_else(|| bad("no such upload"))?;
        if upload.terminated {
            return Err(bad("terminated"));
        }
        if upload.is_expired(cx.now) {
            return Err(bad("expired"));
        }
        if upload.concat != Concat::Partial {
            return Err(bad("not a partial upload"));
        }
        if !upload.is_complete() {
            return Err(bad("not complete"));
        }
        total = total
            .checked_add(upload.offset())
            .ok_or_else(|| bad("total length overflows"))?;
        ids.push(id.to_owned());
    }
    check_max(cx, total)?;
    let mut data = Vec::new();
    for id in &ids {
        if let Some(u) = state.get(id) {
            data.extend_from_slice(&u.data);
        }
    }
    Ok((ids, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_values() {
        assert_eq!(parse_concat("partial"), Ok(ConcatRequest::Partial));
        assert_eq!(
            parse_concat("final;/files/a /files/b"),
            Ok(ConcatRequest::Final(vec!["/files/a", "/files/b"]))
        );
        assert_eq!(
            parse_concat("final; http://h/files/a"),
            Ok(ConcatRequest::Final(vec!["http://h/files/a"]))
        );
        assert_eq!(parse_concat("final;").unwrap_err().status, 400);
        assert_eq!(parse_concat("final").unwrap_err().status, 400);
        assert_eq!(parse_concat("partial;x").unwrap_err().status, 400);
    }
}
