//! A [`Reply`] as a hyper response: `Tus-Resumable: 1.0.0` on every answer, no body on
//! `HEAD`, and header values that are not valid HTTP skipped, never a panic.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use crate::tus::reply::{Reply, TUS_VERSION};

/// The response for `reply` to a request whose method was `HEAD` when `head`.
pub(crate) fn into_response(reply: Reply, head: bool) -> Response<Full<Bytes>> {
    let status =
        StatusCode::from_u16(reply.valid_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match (reply.body, head) {
        (Some(text), false) => Bytes::from(text),
        _ => Bytes::new(),
    };
    let has_body = !body.is_empty();
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    if has_body {
        headers.insert(
            "content-type",
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    for (name, value) in reply.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            _ => tracing::warn!(header = name, "dropping an invalid header value"),
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tus_resumable_always_and_no_body_on_head() {
        let reply = Reply::error(409, "wrong offset").header("Upload-Offset", 3);
        let r = into_response(reply.clone(), false);
        assert_eq!(r.status(), 409);
        assert_eq!(r.headers()["tus-resumable"], "1.0.0");
        assert_eq!(r.headers()["upload-offset"], "3");
        let r = into_response(reply, true);
        assert!(r.headers().get("content-type").is_none());
        let odd = Reply::new(7).header("Location", "a\nb");
        let r = into_response(odd, false);
        assert_eq!(r.status(), 500);
        assert!(r.headers().get("location").is_none());
    }
}
