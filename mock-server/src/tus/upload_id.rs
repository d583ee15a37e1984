//! Upload ids: made at random, and found again in a URL, a path or a bare id.

/// A fresh upload id: 128 random bits from a cryptographically secure generator, in hex.
///
/// An upload URL is often the only credential for the upload (on `tusky serve`, say), so one
/// URL must reveal nothing about the others: no shared prefix, no counter.
pub(crate) fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Whether `id` looks like an id [`random_id`] made (32 lowercase hex digits): the streaming
/// server names files after ids, so it takes no other shape from its directory.
pub(crate) fn is_random_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The upload id in a URL, a path or a bare id: the last non-empty path segment,
/// without query or fragment.
pub(crate) fn id_from(url_or_id: &str) -> &str {
    let s = url_or_id.trim();
    let s = s.split(['?', '#']).next().unwrap_or(s);
    let s = s.trim_end_matches('/');
    s.rsplit('/').next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_urls_paths_and_ids() {
        assert_eq!(id_from("http://127.0.0.1:1/files/abc"), "abc");
        assert_eq!(id_from("/files/abc?x=1"), "abc");
        assert_eq!(id_from("/files/abc/"), "abc");
        assert_eq!(id_from("abc"), "abc");
        assert_eq!(id_from(""), "");
    }

    #[test]
    fn random_ids_have_one_shape() {
        let id = random_id();
        assert!(is_random_id(&id), "{id}");
        assert!(!is_random_id("../../etc/passwd"));
        assert!(!is_random_id(&id.to_uppercase()));
        assert!(!is_random_id(&id[1..]));
    }
}
