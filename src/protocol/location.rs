use url::Url;

use super::HeaderError;

fn invalid(location: &[u8], reason: &'static str) -> HeaderError {
    HeaderError::Invalid {
        name: "Location",
        value: String::from_utf8_lossy(location)
            .chars()
            .take(100)
            .collect(),
        reason,
    }
}

/// Resolves a `Location` header against the URL the request was sent to: an absolute URL is
/// used as is, a relative one (`/files/abc`, `abc`, `//host/x`) is resolved per RFC 3986.
/// Only `http` and `https` results are accepted.
pub fn resolve_location(request_url: &Url, location: &[u8]) -> Result<Url, HeaderError> {
    let text = std::str::from_utf8(location)
        .map_err(|_| invalid(location, "not UTF-8"))?
        .trim();
    if text.is_empty() {
        return Err(invalid(location, "empty"));
    }
    let url = request_url
        .join(text)
        .map_err(|_| invalid(location, "not a URL"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        _ => Err(invalid(location, "not an http(s) URL")),
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
