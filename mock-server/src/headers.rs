//! Reading request headers strictly, without panicking (pure functions).

use wiremock::Request;

use crate::reply::Reply;

/// The media type of tus PATCH bodies.
pub(crate) const OFFSET_STREAM: &str = "application/offset+octet-stream";

/// The single value of header `name` as text.
///
/// `Ok(None)` when absent; a 400 reply when repeated or not visible ASCII.
pub(crate) fn get<'a>(req: &'a Request, name: &'static str) -> Result<Option<&'a str>, Reply> {
    let mut values = req.headers.get_all(name).iter();
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

/// Header `name` as a non-negative integer: `Ok(None)` when absent, 400 when bad.
pub(crate) fn get_u64(req: &Request, name: &'static str) -> Result<Option<u64>, Reply> {
    match get(req, name)? {
        None => Ok(None),
        Some(v) => parse_u64(v)
            .map(Some)
            .ok_or_else(|| Reply::error(400, format!("{name}: not a non-negative integer"))),
    }
}

/// Whether the request's `Content-Type` is `application/offset+octet-stream`
/// (parameters and case ignored).
pub(crate) fn is_offset_stream(req: &Request) -> bool {
    req.headers
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
