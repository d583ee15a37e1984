//! The one rule for origins: user headers and credentials go only to the origin the user
//! named (the endpoint's, or the upload URL's when there is no endpoint); an https upload never
//! continues over http; user names and passwords in URLs become an `Authorization` header and
//! never appear in a stored or shown URL.

use base64::Engine;
use http::HeaderValue;
use url::Url;

/// How a request's URL relates to the origin the user named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relation {
    /// Same scheme, host and port.
    Same,
    /// Another origin (another host or port, or http → https).
    Other,
    /// From https to http: refused.
    Downgrade,
}

/// Where `url` stands relative to `home`.
pub(crate) fn relation(home: &url::Origin, url: &Url) -> Relation {
    let origin = url.origin();
    if &origin == home {
        return Relation::Same;
    }
    match home {
        url::Origin::Tuple(scheme, ..) if scheme == "https" && url.scheme() == "http" => {
            Relation::Downgrade
        }
        _ => Relation::Other,
    }
}

/// `url` without user name and password, and those as a Basic `Authorization` value.
pub(crate) fn split_credentials(url: &Url) -> (Url, Option<HeaderValue>) {
    if url.username().is_empty() && url.password().is_none() {
        return (url.clone(), None);
    }
    let user = percent_decode(url.username());
    let password = url.password().map(percent_decode).unwrap_or_default();
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    let value = HeaderValue::from_str(&format!("Basic {token}"))
        .ok()
        .map(|mut v| {
            v.set_sensitive(true);
            v
        });
    (bare, value)
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn relations() {
        let home = url("https://tus.example/files/").origin();
        let table = [
            ("https://tus.example/files/1", Relation::Same),
            ("https://tus.example:443/other", Relation::Same),
            ("https://cdn.example/files/1", Relation::Other),
            ("https://tus.example:8443/files/1", Relation::Other),
            ("http://tus.example/files/1", Relation::Downgrade),
            ("http://other.example/files/1", Relation::Downgrade),
        ];
        for (target, expected) in table {
            assert_eq!(relation(&home, &url(target)), expected, "{target}");
        }
        let plain = url("http://tus.example/files/").origin();
        assert_eq!(
            relation(&plain, &url("https://tus.example/files/1")),
            Relation::Other
        );
    }

    #[test]
    fn credentials_leave_the_url() {
        let (bare, auth) = split_credentials(&url("https://al%40ice:p%3Ass@tus.example/files/"));
        assert_eq!(bare.as_str(), "https://tus.example/files/");
        let expected = base64::engine::general_purpose::STANDARD.encode("al@ice:p:ss");
        assert_eq!(auth.unwrap().to_str().unwrap(), format!("Basic {expected}"));
        let (same, none) = split_credentials(&url("https://tus.example/files/"));
        assert_eq!((same.as_str(), none), ("https://tus.example/files/", None));
    }
}
