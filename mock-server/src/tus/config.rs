//! [`Protocol`]: what a server offers and enforces, the same for both servers.

use std::time::Duration;

use super::checksum;
use super::extension::Extension;
use super::reply::Reply;

/// The protocol settings of a server, fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Protocol {
    pub(crate) extensions: Vec<Extension>,
    pub(crate) max_size: Option<u64>,
    pub(crate) checksum_algorithms: Vec<String>,
    pub(crate) expires_after: Option<Duration>,
    /// Always starts and ends with `/`.
    pub(crate) base_path: String,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            extensions: Extension::ALL.to_vec(),
            max_size: None,
            checksum_algorithms: checksum::SUPPORTED.iter().map(|s| s.to_string()).collect(),
            expires_after: None,
            base_path: "/files/".to_owned(),
        }
    }
}

impl Protocol {
    pub(crate) fn has(&self, extension: Extension) -> bool {
        self.extensions.contains(&extension)
    }

    /// The expiry period, when the expiration extension is on and a period is set.
    pub(crate) fn expiry(&self) -> Option<Duration> {
        self.expires_after
            .filter(|_| self.has(Extension::Expiration))
    }

    /// 413 when `size` is over `Tus-Max-Size`.
    pub(crate) fn check_max(&self, size: u64) -> Result<(), Reply> {
        match self.max_size {
            Some(max) if size > max => Err(Reply::error(
                413,
                format!("{size} bytes is over Tus-Max-Size {max}"),
            )),
            _ => Ok(()),
        }
    }

    /// Sets the extensions, dropping duplicates; the order given is the order advertised.
    pub(crate) fn set_extensions(&mut self, extensions: &[Extension]) {
        let mut list = Vec::with_capacity(extensions.len());
        for e in extensions {
            if !list.contains(e) {
                list.push(*e);
            }
        }
        self.extensions = list;
    }

    /// Sets the checksum algorithms: lowercased, deduplicated; names this crate cannot verify
    /// are dropped with a `tracing` warning, so a server never advertises an algorithm it
    /// would then reject.
    pub(crate) fn set_checksum_algorithms(&mut self, algorithms: &[&str]) {
        let mut list: Vec<String> = Vec::new();
        for a in algorithms {
            let a = a.trim().to_ascii_lowercase();
            if !checksum::SUPPORTED.contains(&a.as_str()) {
                tracing::warn!(algorithm = %a, "tusky-mock-server cannot verify this checksum algorithm; not advertised");
                continue;
            }
            if !list.contains(&a) {
                list.push(a);
            }
        }
        self.checksum_algorithms = list;
    }

    /// Sets the base path: a leading and a trailing `/` are added when missing.
    pub(crate) fn set_base_path(&mut self, path: &str) {
        let trimmed = path.trim().trim_matches('/');
        self.base_path = if trimmed.is_empty() {
            "/".to_owned()
        } else {
            format!("/{trimmed}/")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_path_is_normalised() {
        let b = |p: &str| {
            let mut c = Protocol::default();
            c.set_base_path(p);
            c.base_path
        };
        assert_eq!(b("files"), "/files/");
        assert_eq!(b("/files"), "/files/");
        assert_eq!(b("/a/b/"), "/a/b/");
        assert_eq!(b(""), "/");
        assert_eq!(b("/"), "/");
    }

    #[test]
    fn unknown_checksum_algorithms_are_dropped() {
        let mut c = Protocol::default();
        c.set_checksum_algorithms(&["SHA1", "blake3", "md5", "sha1"]);
        assert_eq!(c.checksum_algorithms, vec!["sha1", "md5"]);
    }

    #[test]
    fn expiry_needs_the_extension() {
        let mut c = Protocol {
            expires_after: Some(Duration::from_secs(1)),
            ..Protocol::default()
        };
        assert_eq!(c.expiry(), Some(Duration::from_secs(1)));
        c.set_extensions(&[Extension::Creation, Extension::Creation]);
        assert_eq!(c.extensions, vec![Extension::Creation]);
        assert_eq!(c.expiry(), None);
    }

    #[test]
    fn max_size_is_413() {
        let c = Protocol {
            max_size: Some(10),
            ..Protocol::default()
        };
        assert_eq!(c.check_max(10), Ok(()));
        assert_eq!(c.check_max(11).unwrap_err().status, 413);
        assert_eq!(Protocol::default().check_max(u64::MAX), Ok(()));
    }
}
