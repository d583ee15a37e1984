//! [`Reply`]: a response under construction, independent of the HTTP library that sends it
//! (the mock turns it into a wiremock `ResponseTemplate`, the streaming server into a hyper
//! `Response`, each in one place that never panics on a header value).

use std::time::{Duration, SystemTime};

/// The tus version both servers speak.
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

    /// The value of header `name` (case-insensitive), if set.
    #[cfg(test)]
    pub(crate) fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The status to send: anything outside 100..=999 (an injected fault's, say) becomes 500.
    pub(crate) fn valid_status(&self) -> u16 {
        valid_status(self.status)
    }
}

/// A valid HTTP status: anything outside 100..=999 becomes 500.
pub(crate) fn valid_status(status: u16) -> u16 {
    if (100..=999).contains(&status) {
        status
    } else {
        500
    }
}
