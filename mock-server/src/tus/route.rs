//! What a request asks for: its effective method (`X-HTTP-Method-Override`), the resource its
//! path names, and the operation the two make — or the answer when they make none (412, 404,
//! 405). Pure functions.

use http::HeaderMap;

use super::config::Protocol;
use super::extension::Extension;
use super::reply::{Reply, TUS_VERSION};
use super::request::{self, RequestHead};

/// The method a request stands for: a `POST` carrying `X-HTTP-Method-Override`
/// stands for the override (`PATCH`, `DELETE`, `HEAD` or `POST`; others → 400).
pub(crate) fn effective_method(method: &str, headers: &HeaderMap) -> Result<String, Reply> {
    let method = method.to_ascii_uppercase();
    if method != "POST" {
        return Ok(method);
    }
    match request::get(headers, "x-http-method-override")? {
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

/// A tus operation on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation<'a> {
    Options,
    /// `POST` on the endpoint.
    Create,
    Head(&'a str),
    Patch(&'a str),
    /// `DELETE` (termination).
    Delete(&'a str),
}

/// The operation `head` asks of `route`, or the answer when it is none: 412 without
/// `Tus-Resumable: 1.0.0` (but on `OPTIONS`), 404 outside the base path, 405 with `Allow`.
pub(crate) fn operation<'a>(
    protocol: &Protocol,
    head: &RequestHead<'_>,
    route: Route<'a>,
) -> Result<Operation<'a>, Reply> {
    let method = head.method;
    if method != "OPTIONS" && !tus_resumable_ok(head) {
        return Err(
            Reply::error(412, "Tus-Resumable: 1.0.0 required").header("Tus-Version", TUS_VERSION)
        );
    }
    let termination = protocol.has(Extension::Termination);
    match (route, method) {
        (Route::Other, _) => Err(Reply::error(404, "not found")),
        (_, "OPTIONS") => Ok(Operation::Options),
        (Route::Endpoint, "POST") if protocol.has(Extension::Creation) => Ok(Operation::Create),
        (Route::Endpoint, _) => {
            let allow = if protocol.has(Extension::Creation) {
                "OPTIONS, POST"
            } else {
                "OPTIONS"
            };
            Err(Reply::error(405, "method not allowed on the endpoint").header("Allow", allow))
        }
        (Route::Upload(id), "HEAD") => Ok(Operation::Head(id)),
        (Route::Upload(id), "PATCH") => Ok(Operation::Patch(id)),
        (Route::Upload(id), "DELETE") if termination => Ok(Operation::Delete(id)),
        (Route::Upload(_), _) => {
            let allow = if termination {
                "OPTIONS, HEAD, PATCH, DELETE"
            } else {
                "OPTIONS, HEAD, PATCH"
            };
            Err(Reply::error(405, "method not allowed on an upload").header("Allow", allow))
        }
    }
}

fn tus_resumable_ok(head: &RequestHead<'_>) -> bool {
    matches!(head.get("tus-resumable"), Ok(Some(v)) if v.trim() == TUS_VERSION)
}

/// `OPTIONS`: the server's capabilities.
pub(crate) fn options(protocol: &Protocol) -> Reply {
    let mut r = Reply::new(204).header("Tus-Version", TUS_VERSION);
    if !protocol.extensions.is_empty() {
        let list: Vec<&str> = protocol.extensions.iter().map(|e| e.as_str()).collect();
        r = r.header("Tus-Extension", list.join(","));
    }
    if let Some(max) = protocol.max_size {
        r = r.header("Tus-Max-Size", max);
    }
    if protocol.has(Extension::Checksum) && !protocol.checksum_algorithms.is_empty() {
        r = r.header(
            "Tus-Checksum-Algorithm",
            protocol.checksum_algorithms.join(","),
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn overrides() {
        let h = headers(&[("x-http-method-override", "patch")]);
        assert_eq!(effective_method("post", &h).unwrap(), "PATCH");
        assert_eq!(effective_method("PUT", &h).unwrap(), "PUT");
        let h = headers(&[("x-http-method-override", "GET")]);
        assert_eq!(effective_method("POST", &h).unwrap_err().status, 400);
    }

    #[test]
    fn operations_and_refusals() {
        let protocol = Protocol::default();
        let tus = headers(&[("tus-resumable", "1.0.0")]);
        let none = HeaderMap::new();
        let op = |method: &'static str, h: &HeaderMap, r| {
            let head = RequestHead {
                method,
                headers: h,
                body_len: Some(0),
            };
            operation(&protocol, &head, r)
        };
        assert_eq!(
            op("OPTIONS", &none, Route::Endpoint),
            Ok(Operation::Options)
        );
        assert_eq!(op("POST", &none, Route::Endpoint).unwrap_err().status, 412);
        assert_eq!(op("POST", &tus, Route::Endpoint), Ok(Operation::Create));
        assert_eq!(
            op("PATCH", &tus, Route::Upload("a")),
            Ok(Operation::Patch("a"))
        );
        assert_eq!(
            op("DELETE", &tus, Route::Upload("a")),
            Ok(Operation::Delete("a"))
        );
        assert_eq!(op("GET", &tus, Route::Other).unwrap_err().status, 404);
        let refused = op("GET", &tus, Route::Upload("a")).unwrap_err();
        assert_eq!(refused.status, 405);
        assert_eq!(
            refused.header_value("allow"),
            Some("OPTIONS, HEAD, PATCH, DELETE")
        );
    }
}
