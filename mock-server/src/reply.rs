//! [`Reply`]: a response under construction, turned into a wiremock
//! [`ResponseTemplate`] in one place so no header value can make it panic.

use std::time::{Duration, SystemTime};

use wiremock::http::HeaderValue;
use wiremock::ResponseTemplate;

/// The tus version this server speaks.
pub(crate) const TUS_VERSION: &str = "1.0.0";

/// A response: status, headers, an optional text body (the reason for an error)
/// and an optional delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Option<String>,
    pub(crate) delay: Option<Duration>,
}

impl Reply {
    /// A response with this status and no body.
    pub(crate) fn new(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
            delay: None,
        }
    }

    /// An error response whose body says why (omitted on HEAD).
    pub(crate) fn error(status: u16, reason: impl Into<String>) -> Self {
        Reply {
            body: Some(reason.into()),
            ..Reply::new(status)
        }
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    /// Adds `Upload-Expires` when `expires` is set.
    pub(crate) fn expires(self, expires: Option<SystemTime>) -> Self {
        match expires {
            Some(t) => self.header("Upload-Expires", httpdate::fmt_http_date(t)),
            None => self,
        }
    }

    /// The wiremock response; adds `Tus-Resumable: 1.0.0`, drops the body when
    /// `head` (a HEAD response has none) and skips header values that are not
    /// valid HTTP (they cannot come from a client, but never panic on them).
    pub(crate) fn into_template(self, head: bool) -> ResponseTemplate {
        let status = if (100..=999).contains(&self.status) {
            self.status
        } else {
            500
        };
        let mut t = ResponseTemplate::new(status).insert_header("Tus-Resumable", TUS_VERSION);
        for (name, value) in self.headers {
            match HeaderValue::from_str(&value) {
                Ok(v) => t = t.append_header(name, v),
                Err(_) => tracing::warn!(header = name, "dropping an invalid header value"),
            }
        }
        if let (Some(body), false) = (self.body, head) {
            t = t.set_body_string(body);
        }
        if let Some(d) = self.delay {
            t = t.set_delay(d);
        }
        t
    }
}

/// A valid HTTP status for an injected fault: anything outside 100..=999 becomes 500.
pub(crate) fn fault_status(status: u16) -> u16 {
    if (100..=999).contains(&status) {
        status
    } else {
        500
    }
}
