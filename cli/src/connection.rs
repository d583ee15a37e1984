//! How the command line talks to a server: one client per server the user named, carrying the
//! `-H` headers, TLS and deadline options; and URLs as the user typed them, which may carry a
//! user name and password that must never be printed.

use std::borrow::Cow;

use tusky::{Client, ClientBuilder};
use url::Url;

use crate::args::ConnectionArgs;
use crate::failure::Failure;

/// The TLS warning `--insecure` prints.
pub const INSECURE_WARNING: &str = "--insecure: TLS CERTIFICATES ARE NOT CHECKED. Anyone between you and the server can read and change this upload. Use it only against a test server you control.";

/// A URL given on the command line: `full` as typed (with any `user:password@`, which the
/// client turns into an `Authorization` header), `bare` without them, for everything shown.
#[derive(Debug, Clone)]
pub struct UserUrl {
    full: Url,
    bare: Url,
}

impl UserUrl {
    /// Parses `text` (an http or https URL); `what` names it in the error, which never shows
    /// a password.
    pub fn parse(what: &str, text: &str) -> Result<Self, Failure> {
        let full = Url::parse(text)
            .map_err(|e| Failure::usage(format!("{what} {} is not a URL: {e}", redact(text))))?;
        if !matches!(full.scheme(), "http" | "https") {
            return Err(Failure::usage(format!(
                "{what} {} has scheme {:?}; tus needs http or https",
                redact(text),
                full.scheme()
            )));
        }
        let mut bare = full.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        Ok(Self { full, bare })
    }

    /// The URL without user name and password: the one to show, store and compare.
    pub fn bare(&self) -> &Url {
        &self.bare
    }

    /// The URL as typed, credentials included: only for the client, which keeps them as a
    /// header.
    pub fn full(&self) -> &str {
        self.full.as_str()
    }
}

/// `text` with anything between `scheme://` and an `@` in its authority replaced by `***`,
/// for showing a URL that did not parse (so cannot be stripped properly).
pub fn redact(text: &str) -> Cow<'_, str> {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(text);
    };
    let rest = &text[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}***{}", &text[..start], &rest[at..])),
        None => Cow::Borrowed(text),
    }
}

/// A stored URL as it may be shown: without user name and password (a store written by an
/// older version, or by tuspy, may hold them), normalised when it parses.
pub fn shown_url(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        Err(_) => redact(text).into_owned(),
    }
}

/// The builder for a client with the connection options: `-H` and `--header-command` headers
/// (sent only to the origin of the client's endpoint, unless `--cross-origin-headers`), TLS,
/// request deadline, proxy.
pub fn builder(connection: &ConnectionArgs) -> Result<ClientBuilder, Failure> {
    let mut builder = Client::builder()
        .danger_accept_invalid_certs(connection.insecure)
        .cross_origin_headers(connection.cross_origin_headers);
    for (name, value) in &connection.headers {
        builder = builder.header(name, value);
    }
    for path in &connection.ca_certs {
        let pem = std::fs::read(path).map_err(|e| {
            Failure::usage(format!("--ca-cert {}: reading it: {e}", path.display()))
        })?;
        builder = builder.root_certificate_pem(pem);
    }
    if let Some(timeout) = connection.request_timeout {
        builder = builder.request_timeout(timeout);
    }
    if let Some(proxy) = &connection.proxy {
        builder = builder.proxy(proxy);
    }
    if connection.no_proxy {
        builder = builder.no_proxy();
    }
    if let Some(command) = &connection.header_command {
        let first = crate::header_command::first_headers(command)?;
        builder = builder.header_provider(crate::header_command::provider(command.clone(), first));
    }
    Ok(builder)
}

/// A client whose home is `home` (an endpoint, or an upload URL): the `-H` headers go to its
/// origin only. Without a home, a client that sends no `-H` header at all.
pub fn client(connection: &ConnectionArgs, home: Option<&UserUrl>) -> Result<Client, Failure> {
    let built = match home {
        Some(home) => builder(connection)?.endpoint(home.full()).build(),
        None => {
            let headerless = ConnectionArgs {
                headers: Vec::new(),
                header_command: None,
                ..connection.clone()
            };
            builder(&headerless)?.build()
        }
    };
    built.map_err(|e| Failure::tus("setting up the client", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        let url = UserUrl::parse("ENDPOINT", "https://alice:s3cret@tus.example/files/").unwrap();
        assert_eq!(url.bare().as_str(), "https://tus.example/files/");
        assert!(url.full().contains("s3cret"));
        for bad in [
            "https://alice:s3cret@[::1/files/",
            "ftp://alice:s3cret@host/",
        ] {
            let failure = UserUrl::parse("ENDPOINT", bad).unwrap_err();
            assert!(!failure.message.contains("s3cret"), "{}", failure.message);
        }
        assert_eq!(
            redact("https://a:b@c@host:1/x@y?z"),
            "https://***@host:1/x@y?z"
        );
        assert_eq!(redact("https://host/a@b"), "https://host/a@b");
        assert_eq!(redact("not a url"), "not a url");
        assert_eq!(shown_url("http://u:p@h/files/1"), "http://h/files/1");
        assert_eq!(shown_url("http://h/files/1"), "http://h/files/1");
        assert_eq!(shown_url("http://u:p@[bad/1"), "http://***@[bad/1");
    }
}
