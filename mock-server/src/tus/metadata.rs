//! Parsing of the `Upload-Metadata` header (pure functions, property-tested).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Decoded metadata: keys in the order received, values `None` when absent.
pub(crate) type Metadata = Vec<(String, Option<Vec<u8>>)>;

/// Why an `Upload-Metadata` header was rejected (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MetadataError {
    /// A pair had an empty key (this includes `,,` and a trailing comma).
    EmptyKey,
    /// A key contained a control character.
    InvalidKey(String),
    /// The same key appeared twice.
    DuplicateKey(String),
    /// A pair had more than one space-separated value.
    TooManyParts(String),
    /// A value was not canonical, padded standard base64.
    BadBase64(String),
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetadataError::EmptyKey => f.write_str("Upload-Metadata: empty key"),
            MetadataError::InvalidKey(k) => write!(f, "Upload-Metadata: invalid key {k:?}"),
            MetadataError::DuplicateKey(k) => write!(f, "Upload-Metadata: duplicate key {k:?}"),
            MetadataError::TooManyParts(k) => {
                write!(f, "Upload-Metadata: more than one value for key {k:?}")
            }
            MetadataError::BadBase64(k) => {
                write!(f, "Upload-Metadata: value of {k:?} is not base64")
            }
        }
    }
}

/// Parses an `Upload-Metadata` header value.
///
/// Pairs are separated by `,`; leading spaces/tabs before a pair are tolerated
/// (`a YQ==, b Yg==`). Within a pair the key and the base64 value are separated by
/// exactly one space; the value may be absent (`key`, decoded as `None`) or empty
/// (`key `, decoded as `Some(vec![])`). Keys are non-empty, unique, and contain no
/// space, comma or control character. An empty (or blank) header is no metadata.
pub(crate) fn parse(header: &str) -> Result<Metadata, MetadataError> {
    let mut out: Metadata = Vec::new();
    if header.trim().is_empty() {
        return Ok(out);
    }
    for pair in header.split(',') {
        let pair = pair.trim_start_matches([' ', '\t']);
        let (key, value) = match pair.split_once(' ') {
            Some((k, v)) => (k, Some(v)),
            None => (pair, None),
        };
        if key.is_empty() {
            return Err(MetadataError::EmptyKey);
        }
        if key.chars().any(|c| c.is_control() || c == ' ' || c == ',') {
            return Err(MetadataError::InvalidKey(key.to_owned()));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(MetadataError::DuplicateKey(key.to_owned()));
        }
        let decoded = match value {
            None => None,
            Some(v) if v.contains([' ', '\t']) => {
                return Err(MetadataError::TooManyParts(key.to_owned()))
            }
            Some(v) => Some(
                STANDARD
                    .decode(v)
                    .map_err(|_| MetadataError::BadBase64(key.to_owned()))?,
            ),
        };
        out.push((key.to_owned(), decoded));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_pairs_in_order() {
        let m =
            parse("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential,empty ").unwrap();
        assert_eq!(
            m,
            vec![
                (
                    "filename".to_owned(),
                    Some(b"world_domination_plan.pdf".to_vec())
                ),
                ("is_confidential".to_owned(), None),
                ("empty".to_owned(), Some(vec![])),
            ]
        );
    }

    #[test]
    fn tolerates_space_after_comma_and_blank_header() {
        assert_eq!(parse("a YQ==, b Yg==").unwrap().len(), 2);
        assert!(parse("").unwrap().is_empty());
        assert!(parse("  ").unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse("a YQ==,"), Err(MetadataError::EmptyKey));
        assert_eq!(parse(",a"), Err(MetadataError::EmptyKey));
        assert_eq!(
            parse("a YQ==,a Yg=="),
            Err(MetadataError::DuplicateKey("a".into()))
        );
        assert_eq!(
            parse("a YQ== Yg=="),
            Err(MetadataError::TooManyParts("a".into()))
        );
        assert_eq!(parse("a YQ"), Err(MetadataError::BadBase64("a".into())));
        assert_eq!(parse("a !!!!"), Err(MetadataError::BadBase64("a".into())));
        assert_eq!(
            parse("a\u{1}b YQ=="),
            Err(MetadataError::InvalidKey("a\u{1}b".into()))
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in ".*") {
            let _ = parse(&s);
        }

        #[test]
        fn round_trips(pairs in proptest::collection::btree_map(
            "[a-zA-Z0-9_.-]{1,12}",
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            0..6,
        )) {
            let header = pairs
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k} {}", STANDARD.encode(v)),
                    None => k.clone(),
                })
                .collect::<Vec<_>>()
                .join(",");
            let parsed = parse(&header).unwrap();
            let expected: Metadata = pairs.into_iter().collect();
            prop_assert_eq!(parsed, expected);
        }
    }
}
