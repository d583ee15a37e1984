//! The head of a request as the protocol rules see it: the effective method, the headers and
//! the body's length when known up front; header values read strictly, without panicking
//! (pure functions).

use http::HeaderMap;

use super::reply::Reply;

/// The media type of tus PATCH bodies.
pub(crate) const OFFSET_STREAM: &str = "application/offset+octet-stream";

/// What the rules look at before any body byte is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestHead<'a> {
    /// The effective method, uppercase (see [`super::route::effective_method`]).
    pub(crate) method: &'a str,
    pub(crate) headers: &'a HeaderMap,
    /// The body's length when known before reading it: the mock's buffered body, the
    /// streaming server's `Content-Length` (`None` for a chunked body).
    pub(crate) body_len: Option<u64>,
}

impl<'a> RequestHead<'a> {
    /// The single value of header `name` as text: `Ok(None)` when absent; a 400 reply when
    /// repeated or not visible ASCII.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<&'a str>, Reply> {
        get(self.headers, name)
    }

    /// Header `name` as a non-negative integer: `Ok(None)` when absent, 400 when bad.
    pub(crate) fn get_u64(&self, name: &'static str) -> Result<Option<u64>, Reply> {
        match self.get(name)? {
            None => Ok(None),
            Some(v) => parse_u64(v)
                .map(Some)
                .ok_or_else(|| Reply::error(400, format!("{name}: not a non-negative integer"))),
        }
    }

    /// Whether the `Content-Type` is `application/offset+octet-stream` (parameters and case
    /// ignored).
    pub(crate) fn is_offset_stream(&self) -> bool {
        is_offset_stream(self.headers)
    }

    /// Whether the request may carry body bytes: its length is unknown or not zero.
    pub(crate) fn may_have_body(&self) -> bool {
        self.body_len != Some(0)
    }
}

/// The single value of header `name` as text.
///
/// `Ok(None)` when absent; a 400 reply when repeated or not visible ASCII.
pub(crate) fn get<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, Reply> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Reply::error(400, format!("{name}: sent more than once")));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| Reply::error(400, format!("{name}: not visible ASCII")))
}

/// A non-negative decimal integer as tus requires: ASCII digits only (surrounding
/// whitespace tolerated), no sign, no overflow.
pub(crate) fn parse_u64(value: &str) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Whether `Content-Type` is `application/offset+octet-stream` (parameters and case ignored).
pub(crate) fn is_offset_stream(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(OFFSET_STREAM))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64(" 42 "), Some(42));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_u64("+1"), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64("1.0"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("0x10"), None);
    }

    #[test]
    fn repeated_and_binary_headers_are_400() {
        let mut h = HeaderMap::new();
        h.append("upload-offset", "1".parse().unwrap());
        h.append("upload-offset", "2".parse().unwrap());
        h.insert(
            "upload-length",
            http::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(get(&h, "upload-offset").unwrap_err().status, 400);
        assert_eq!(get(&h, "upload-length").unwrap_err().status, 400);
        assert_eq!(get(&h, "upload-metadata"), Ok(None));
    }

    #[test]
    fn offset_stream_ignores_case_and_parameters() {
        let mut h = HeaderMap::new();
        assert!(!is_offset_stream(&h));
        h.insert(
            "content-type",
            "Application/Offset+Octet-Stream; x=y".parse().unwrap(),
        );
        assert!(is_offset_stream(&h));
        h.insert("content-type", "application/octet-stream".parse().unwrap());
        assert!(!is_offset_stream(&h));
    }

    proptest! {
        #[test]
        fn parse_u64_agrees_with_display(n in any::<u64>()) {
            prop_assert_eq!(parse_u64(&n.to_string()), Some(n));
        }

        #[test]
        fn parse_u64_never_panics(s in ".*") {
            let _ = parse_u64(&s);
        }
    }
}
