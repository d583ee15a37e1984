//! What single uploads, parallel uploads and the by-URL client calls share about requests:
//! header values, status errors, `Upload-Expires`, the creation answer, HEAD and DELETE.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use url::Url;

use crate::client::Client;
use crate::error::Context;
use crate::protocol::{self, names, ConcatRole};
use crate::transport::{Body, Response, Transport, TransportError, TransportErrorKind};
use crate::upload_status::Concatenation;
use crate::{Error, Result};

/// A header value tusky formats itself (numbers, base64, names): always valid.
pub(crate) fn header_value(value: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&value.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn status_error(mut context: Context, response: &Response) -> Error {
    context.request_id = response
        .header(crate::transport::layers::REQUEST_ID)
        .map(|v| {
            String::from_utf8_lossy(v)
                .chars()
                .take(100)
                .collect::<String>()
                .into()
        });
    // Whole seconds, rounded up (a date's fraction of a second), at most u32::MAX.
    let retry_after = response
        .header(names::RETRY_AFTER)
        .and_then(|v| protocol::parse_retry_after(v, SystemTime::now()).ok())
        .map(|wait| {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            u32::try_from(secs).unwrap_or(u32::MAX)
        });
    Error::Status {
        context,
        status: response.status,
        body: response.body_text(),
        retry_after,
    }
}

/// The answer's `Upload-Expires`, if it has a valid one (a malformed one is ignored).
pub(crate) fn parse_expires(response: &Response) -> Option<SystemTime> {
    let value = response.header(names::UPLOAD_EXPIRES)?;
    match protocol::parse_expires(value) {
        Ok(time) => Some(time),
        Err(error) => {
            tracing::warn!(%error, "ignoring a malformed Upload-Expires");
            None
        }
    }
}

/// The new upload's URL from a creation answer: 201 with a `Location`, resolved against the
/// URL the request went to.
pub(crate) fn created_url(context: &Context, requested: &Url, response: &Response) -> Result<Url> {
    if response.status != StatusCode::CREATED {
        return Err(status_error(context.clone(), response));
    }
    let location = response
        .header("location")
        .ok_or_else(|| Error::protocol(context.clone(), "the 201 answer has no Location header"))?;
    let url = protocol::resolve_location(requested, location)
        .map_err(|e| Error::header(context.clone(), e))?;
    if requested.scheme() == "https" && url.scheme() == "http" {
        return Err(Error::protocol(
            context.clone(),
            format!("refusing the upload URL {url}: it would continue an https upload over http"),
        ));
    }
    Ok(url)
}

/// What a HEAD says about an upload.
#[derive(Debug, Clone)]
pub(crate) struct HeadAnswer {
    /// 0 for a final upload still being concatenated (`concatenation`).
    pub offset: u64,
    pub concatenation: Option<Concatenation>,
    pub length: Option<u64>,
    pub expires: Option<SystemTime>,
    pub metadata: Vec<(String, Vec<u8>)>,
}

/// HEAD: the server's offset, length, expiry and metadata of the upload at `url`. No answer
/// within `deadline` is a timeout (a HEAD has no body to show progress with).
pub(crate) async fn head<T: Transport>(
    client: &Client<T>,
    context: &Context,
    url: &Url,
    headers: HeaderMap,
    deadline: Option<Duration>,
) -> Result<HeadAnswer> {
    let request = client.send(context, Method::HEAD, url, headers, Body::Empty);
    let response = match deadline {
        Some(deadline) => tokio::time::timeout(deadline, request)
            .await
            .map_err(|_| Error::Transport {
                context: context.clone(),
                source: TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("stalled: no answer for {deadline:?}"),
                ),
            })??,
        None => request.await?,
    };
    if !matches!(response.status, StatusCode::OK | StatusCode::NO_CONTENT) {
        return Err(status_error(context.clone(), &response));
    }
    head_answer(context, &response)
}

/// Parses a HEAD answer; an offset beyond the length is a protocol error. A final upload may
/// answer without `Upload-Offset` while its server joins the partials (the concatenation
/// extension says so): offset 0, `Concatenation::Final { finished: false }`.
fn head_answer(context: &Context, response: &Response) -> Result<HeadAnswer> {
    let role = response
        .header(names::UPLOAD_CONCAT)
        .and_then(protocol::parse_upload_concat);
    let (offset, concatenation) = match (response.header(names::UPLOAD_OFFSET), role) {
        (None, Some(ConcatRole::Final)) => (0, Some(Concatenation::Final { finished: false })),
        (offset, role) => {
            let offset = protocol::required("Upload-Offset", offset)
                .and_then(protocol::parse_upload_offset)
                .map_err(|e| Error::header(context.clone(), e))?;
            (offset, role.map(Concatenation::finished))
        }
    };
    let length = response
        .header(names::UPLOAD_LENGTH)
        .map(protocol::parse_upload_length)
        .transpose()
        .map_err(|e| Error::header(context.clone(), e))?;
    if let Some(length) = length.filter(|length| offset > *length) {
        return Err(Error::protocol(
            context.clone(),
            format!("the server's answer is inconsistent: Upload-Offset {offset} is beyond Upload-Length {length}"),
        ));
    }
    let metadata = response
        .header(names::UPLOAD_METADATA)
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| protocol::decode_metadata(v).ok())
        .unwrap_or_default();
    Ok(HeadAnswer {
        offset,
        concatenation,
        length,
        expires: parse_expires(response),
        metadata,
    })
}

/// DELETE: terminates the upload at `url` (any 2xx is success).
pub(crate) async fn delete<T: Transport>(
    client: &Client<T>,
    context: &Context,
    url: &Url,
    headers: HeaderMap,
) -> Result<()> {
    let response = client
        .send(context, Method::DELETE, url, headers, Body::Empty)
        .await?;
    if !response.status.is_success() {
        return Err(status_error(context.clone(), &response));
    }
    Ok(())
}

/// Whether `error` says the upload is not there (any more): 404 or 410, or 403 to a HEAD.
pub(crate) fn is_gone(error: &Error) -> bool {
    match error {
        Error::Status {
            status, context, ..
        } => {
            matches!(*status, StatusCode::NOT_FOUND | StatusCode::GONE)
                || (*status == StatusCode::FORBIDDEN
                    && context.operation == crate::error::Operation::Head)
        }
        _ => false,
    }
}
