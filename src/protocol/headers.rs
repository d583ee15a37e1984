use std::time::SystemTime;

/// The protocol version tusky speaks.
pub const TUS_VERSION: &str = "1.0.0";

/// A header the server sent could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The header was required but absent.
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// The header was present but its value is not valid.
    #[error("the {name} header {value:?} is not valid: {reason}")]
    Invalid {
        /// Which header.
        name: &'static str,
        /// Its value, lossily decoded and truncated to 100 characters.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Parses a non-negative decimal integer as tus sends it (`Upload-Offset`, `Upload-Length`,
/// `Tus-Max-Size`): digits only, no sign, no spaces inside, at most `u64::MAX`.
fn parse_u64(name: &'static str, value: &[u8]) -> Result<u64, HeaderError> {
    let invalid = |reason| HeaderError::Invalid {
        name,
        value: String::from_utf8_lossy(value).chars().take(100).collect(),
        reason,
    };
    let trimmed = value.trim_ascii();
    if trimmed.is_empty() {
        return Err(invalid("empty"));
    }
    if !trimmed.iter().all(u8::is_ascii_digit) {
        return Err(invalid("not a non-negative decimal integer"));
    }
    trimmed.iter().try_fold(0u64, |acc, digit| {
        acc.checked_mul(10)
            .and_then(|acc| acc.checked_add(u64::from(digit - b'0')))
            .ok_or_else(|| invalid("larger than 2^64-1"))
    })
}

/// A required header's value: `value` itself, or [`HeaderError::Missing`] naming `name` when
/// the header is absent. Every parser here takes a present value's raw bytes.
pub fn required<'a>(name: &'static str, value: Option<&'a [u8]>) -> Result<&'a [u8], HeaderError> {
    value.ok_or(HeaderError::Missing(name))
}

/// Parses an `Upload-Offset` header value.
pub fn parse_upload_offset(value: &[u8]) -> Result<u64, HeaderError> {
    parse_u64("Upload-Offset", value)
}

/// Parses an `Upload-Length` header value.
pub fn parse_upload_length(value: &[u8]) -> Result<u64, HeaderError> {
    parse_u64("Upload-Length", value)
}

/// Parses a `Tus-Max-Size` header value.
pub(crate) fn parse_max_size(value: &[u8]) -> Result<u64, HeaderError> {
    parse_u64("Tus-Max-Size", value)
}

/// Parses an `Upload-Expires` header value (an RFC 9110 HTTP date, e.g.
/// `Wed, 25 Jun 2025 16:00:00 GMT`).
pub fn parse_expires(value: &[u8]) -> Result<SystemTime, HeaderError> {
    let invalid = |reason| HeaderError::Invalid {
        name: "Upload-Expires",
        value: String::from_utf8_lossy(value).chars().take(100).collect(),
        reason,
    };
    let text = std::str::from_utf8(value).map_err(|_| invalid("not UTF-8"))?;
    httpdate::parse_http_date(text.trim()).map_err(|_| invalid("not an HTTP date"))
}

/// Parses a `Retry-After` header value: delay-seconds (`120`) or an HTTP date, which is taken
/// relative to `now` (a date in the past is no wait).
pub fn parse_retry_after(
    value: &[u8],
    now: SystemTime,
) -> Result<std::time::Duration, HeaderError> {
    if value.trim_ascii().iter().all(u8::is_ascii_digit) {
        return parse_u64("Retry-After", value).map(std::time::Duration::from_secs);
    }
    let invalid = |reason| HeaderError::Invalid {
        name: "Retry-After",
        value: String::from_utf8_lossy(value).chars().take(100).collect(),
        reason,
    };
    let text = std::str::from_utf8(value).map_err(|_| invalid("not UTF-8"))?;
    let when = httpdate::parse_http_date(text.trim())
        .map_err(|_| invalid("neither seconds nor an HTTP date"))?;
    Ok(when.duration_since(now).unwrap_or_default())
}

/// How an upload takes part in concatenation, as its `Upload-Concat` header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcatRole {
    /// `partial`: a part, to be joined into a final upload.
    Partial,
    /// `final;<url> …`: the upload joining partial ones.
    Final,
}

/// Parses an `Upload-Concat` value: `partial`, or `final;` followed by the partial uploads'
/// URLs (not checked here). `None` for anything else.
pub fn parse_upload_concat(value: &[u8]) -> Option<ConcatRole> {
    let value = value.trim_ascii();
    if value.eq_ignore_ascii_case(b"partial") {
        return Some(ConcatRole::Partial);
    }
    let head = value.get(..6)?;
    head.eq_ignore_ascii_case(b"final;")
        .then_some(ConcatRole::Final)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_roles() {
        assert_eq!(parse_upload_concat(b"partial"), Some(ConcatRole::Partial));
        assert_eq!(parse_upload_concat(b" Partial "), Some(ConcatRole::Partial));
        assert_eq!(
            parse_upload_concat(b"final;/files/a http://h/files/b"),
            Some(ConcatRole::Final)
        );
        assert_eq!(parse_upload_concat(b"final;"), Some(ConcatRole::Final));
        for other in [&b""[..], b"final", b"partial;x", b"finale;", b"\xff"] {
            assert_eq!(parse_upload_concat(other), None, "{other:?}");
        }
    }

    #[test]
    fn offsets_parse_strictly() {
        assert_eq!(parse_upload_offset(b"300"), Ok(300));
        assert_eq!(parse_upload_offset(b" 42 "), Ok(42));
        assert_eq!(parse_upload_offset(b"18446744073709551615"), Ok(u64::MAX));
        assert!(parse_upload_offset(b"18446744073709551616").is_err());
        assert!(parse_upload_offset(b"-1").is_err());
        assert!(parse_upload_offset(b"+1").is_err());
        assert!(parse_upload_offset(b"1 2").is_err());
        assert!(parse_upload_offset(b"").is_err());
        assert_eq!(
            required("Upload-Offset", None),
            Err(HeaderError::Missing("Upload-Offset"))
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784111777);
        let secs = std::time::Duration::from_secs;
        assert_eq!(parse_retry_after(b"120", now), Ok(secs(120)));
        assert_eq!(parse_retry_after(b" 0 ", now), Ok(secs(0)));
        assert_eq!(
            parse_retry_after(b"Sun, 06 Nov 1994 08:50:37 GMT", now),
            Ok(secs(60))
        );
        assert_eq!(
            parse_retry_after(b"Sun, 06 Nov 1994 08:48:37 GMT", now),
            Ok(secs(0))
        );
        assert!(parse_retry_after(b"-5", now).is_err());
        assert!(parse_retry_after(b"soon", now).is_err());
        assert!(parse_retry_after(b"", now).is_err());
    }

    #[test]
    fn expires_parses_http_dates() {
        let t = parse_expires(b"Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            784111777
        );
        assert!(parse_expires(b"tomorrow").is_err());
        assert!(parse_expires(&[0xff, 0xfe]).is_err());
    }
}
