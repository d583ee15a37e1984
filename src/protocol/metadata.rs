use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// `Upload-Metadata` that cannot be sent or was received malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// A key is empty.
    #[error("metadata key is empty")]
    EmptyKey,
    /// A key contains a space, a comma or a non-printable/non-ASCII character.
    #[error("metadata key {0:?} contains a space, a comma or a character outside printable ASCII")]
    InvalidKey(String),
    /// A key appears twice.
    #[error("metadata key {0:?} appears more than once")]
    DuplicateKey(String),
    /// A value is not valid base64.
    #[error("metadata value for key {0:?} is not valid base64")]
    InvalidValue(String),
    /// The header has a pair with more than a key and a value.
    #[error("metadata pair {0:?} has more than a key and a value")]
    ExtraParts(String),
}

/// Checks that `key` can be sent: non-empty, printable ASCII, no space and no comma.
pub fn validate_metadata_key(key: &str) -> Result<(), MetadataError> {
    if key.is_empty() {
        return Err(MetadataError::EmptyKey);
    }
    if !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        return Err(MetadataError::InvalidKey(key.to_owned()));
    }
    Ok(())
}

/// Encodes metadata as the `Upload-Metadata` header value: `key base64(value)` pairs joined by
/// `,`, in the given order. An empty value is sent as the key alone. Returns `None` for no
/// pairs (send no header at all then). Keys are validated, and must be unique.
pub fn encode_metadata<K, V>(pairs: &[(K, V)]) -> Result<Option<String>, MetadataError>
where
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut seen = std::collections::HashSet::new();
    let mut encoded = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let key = key.as_ref();
        validate_metadata_key(key)?;
        if !seen.insert(key) {
            return Err(MetadataError::DuplicateKey(key.to_owned()));
        }
        let value = value.as_ref();
        if value.is_empty() {
            encoded.push(key.to_owned());
        } else {
            encoded.push(format!("{key} {}", STANDARD.encode(value)));
        }
    }
    Ok(Some(encoded.join(",")))
}

/// Decodes an `Upload-Metadata` header value into `(key, value bytes)` pairs in order.
/// Surrounding spaces are tolerated; an empty header is no pairs.
pub fn decode_metadata(header: &str) -> Result<Vec<(String, Vec<u8>)>, MetadataError> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for pair in header.split(',') {
        let pair = pair.trim();
        if pair.is_empty() {
            if header.trim().is_empty() {
                continue;
            }
            return Err(MetadataError::EmptyKey);
        }
        let mut parts = pair.split(' ').filter(|p| !p.is_empty());
        let key = parts.next().unwrap_or_default();
        let value = parts.next();
        if parts.next().is_some() {
            return Err(MetadataError::ExtraParts(pair.to_owned()));
        }
        validate_metadata_key(key)?;
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(MetadataError::DuplicateKey(key.to_owned()));
        }
        let value = match value {
            Some(v) => STANDARD
                .decode(v)
                .map_err(|_| MetadataError::InvalidValue(key.to_owned()))?,
            None => Vec::new(),
        };
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// parity 6
    #[test]
    fn encodes_pairs_as_key_space_base64() {
        let header = encode_metadata(&[("foo", "bar"), ("red", "blue")])
            .unwrap()
            .unwrap();
        let pairs: Vec<&str> = header.split(',').collect();
        assert_eq!(pairs, ["foo YmFy", "red Ymx1ZQ=="]);
    }

    /// parity 6
    #[test]
    fn rejects_bad_keys() {
        assert_eq!(
            encode_metadata(&[("foo, ", "x")]),
            Err(MetadataError::InvalidKey("foo, ".into()))
        );
        assert_eq!(
            encode_metadata(&[("fo o", "x")]),
            Err(MetadataError::InvalidKey("fo o".into()))
        );
        assert_eq!(
            encode_metadata(&[("a,b", "x")]),
            Err(MetadataError::InvalidKey("a,b".into()))
        );
        assert_eq!(encode_metadata(&[("", "x")]), Err(MetadataError::EmptyKey));
        assert_eq!(
            encode_metadata(&[("k", "1"), ("k", "2")]),
            Err(MetadataError::DuplicateKey("k".into()))
        );
    }

    /// parity 7
    #[test]
    fn utf8_values_are_base64_of_their_bytes() {
        let header = encode_metadata(&[("name", "päivää ☃")]).unwrap().unwrap();
        assert_eq!(
            header,
            format!("name {}", STANDARD.encode("päivää ☃".as_bytes()))
        );
        assert_eq!(
            decode_metadata(&header).unwrap(),
            vec![("name".to_owned(), "päivää ☃".as_bytes().to_vec())]
        );
    }

    /// parity 23
    #[test]
    fn no_metadata_means_no_header() {
        assert_eq!(encode_metadata::<&str, &str>(&[]), Ok(None));
    }

    #[test]
    fn empty_values_round_trip() {
        let header = encode_metadata(&[("a", ""), ("b", "x")]).unwrap().unwrap();
        assert_eq!(header, "a,b eA==");
        assert_eq!(
            decode_metadata(&header).unwrap(),
            vec![("a".into(), vec![]), ("b".into(), b"x".to_vec())]
        );
        assert_eq!(decode_metadata("").unwrap(), vec![]);
    }
}
