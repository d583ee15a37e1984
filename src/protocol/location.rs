use url::Url;

/// Resolves a `Location` header against the URL the request was sent to: an absolute URL is
/// used as is, a relative one (`/files/abc`, `abc`, `//host/x`) is resolved per RFC 3986.
/// Only `http` and `https` results are accepted.
pub fn resolve_location(request_url: &Url, location: &[u8]) -> Result<Url, String> {
    let text = std::str::from_utf8(location)
        .map_err(|_| "the Location header is not UTF-8".to_owned())?
        .trim();
    if text.is_empty() {
        return Err("the Location header is empty".to_owned());
    }
    let url = request_url
        .join(text)
        .map_err(|e| format!("the Location header {text:?} is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!(
            "the Location header {text:?} has scheme {other:?}, not http(s)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Url {
        Url::parse("http://master.tus.io/files/").unwrap()
    }

    /// parity 8
    #[test]
    fn absolute_location_is_used_as_is() {
        let url = resolve_location(&endpoint(), b"https://other.example/up/1").unwrap();
        assert_eq!(url.as_str(), "https://other.example/up/1");
    }

    /// parity 8
    #[test]
    fn relative_location_is_resolved_against_the_endpoint() {
        assert_eq!(
            resolve_location(&endpoint(), b"/files/abc")
                .unwrap()
                .as_str(),
            "http://master.tus.io/files/abc"
        );
        assert_eq!(
            resolve_location(&endpoint(), b"abc").unwrap().as_str(),
            "http://master.tus.io/files/abc"
        );
    }

    #[test]
    fn bad_locations_are_errors() {
        assert!(resolve_location(&endpoint(), b"").is_err());
        assert!(resolve_location(&endpoint(), b"javascript:alert(1)").is_err());
        assert!(resolve_location(&endpoint(), &[0xff]).is_err());
    }
}
