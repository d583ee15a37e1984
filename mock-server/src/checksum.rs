//! `Upload-Checksum` parsing and verification (pure functions).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::Md5;
use sha1::{Digest as _, Sha1};
use sha2::{Sha256, Sha512};

/// The algorithms this crate can verify, in the order they are advertised by default.
pub(crate) const SUPPORTED: [&str; 5] = ["sha1", "sha256", "sha512", "md5", "crc32"];

/// Why a checksum check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChecksumError {
    /// The header is not `<algorithm> <base64>` (answered with 400).
    Malformed,
    /// The algorithm is not one the server advertises (answered with 400).
    Unsupported(String),
    /// The digest of the body differs (answered with 460).
    Mismatch,
}

impl ChecksumError {
    /// The HTTP status a tus server answers for this error.
    pub(crate) fn status(&self) -> u16 {
        match self {
            ChecksumError::Malformed | ChecksumError::Unsupported(_) => 400,
            ChecksumError::Mismatch => 460,
        }
    }
}

impl fmt::Display for ChecksumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecksumError::Malformed => {
                f.write_str("Upload-Checksum: expected `<algorithm> <base64 digest>`")
            }
            ChecksumError::Unsupported(a) => {
                write!(f, "Upload-Checksum: unsupported algorithm {a:?}")
            }
            ChecksumError::Mismatch => f.write_str("Upload-Checksum: checksum mismatch"),
        }
    }
}

/// The digest of `body` with `algorithm`, or `None` if this crate cannot compute it.
///
/// `crc32` is the IEEE CRC-32 as 4 big-endian bytes.
pub(crate) fn digest(algorithm: &str, body: &[u8]) -> Option<Vec<u8>> {
    Some(match algorithm {
        "sha1" => Sha1::digest(body).to_vec(),
        "sha256" => Sha256::digest(body).to_vec(),
        "sha512" => Sha512::digest(body).to_vec(),
        "md5" => Md5::digest(body).to_vec(),
        "crc32" => crc32fast::hash(body).to_be_bytes().to_vec(),
        _ => return None,
    })
}

/// Verifies an `Upload-Checksum` header value against `body`, accepting only the
/// `allowed` algorithms (names compared exactly: the spec makes them lowercase).
pub(crate) fn verify(header: &str, allowed: &[String], body: &[u8]) -> Result<(), ChecksumError> {
    let (algorithm, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or(ChecksumError::Malformed)?;
    if !allowed.iter().any(|a| a == algorithm) {
        return Err(ChecksumError::Unsupported(algorithm.to_owned()));
    }
    let expected = STANDARD
        .decode(encoded)
        .map_err(|_| ChecksumError::Malformed)?;
    let actual = digest(algorithm, body).ok_or(ChecksumError::Unsupported(algorithm.to_owned()))?;
    if actual == expected {
        Ok(())
    } else {
        Err(ChecksumError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all() -> Vec<String> {
        SUPPORTED.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn spec_example_verifies() {
        // From the checksum section of the tus 1.0 protocol.
        assert_eq!(
            verify("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", &all(), b"hello world"),
            Ok(())
        );
    }

    #[test]
    fn every_algorithm_round_trips() {
        for algo in SUPPORTED {
            let d = digest(algo, b"abc").unwrap();
            let header = format!("{algo} {}", STANDARD.encode(d));
            assert_eq!(verify(&header, &all(), b"abc"), Ok(()), "{algo}");
            assert_eq!(
                verify(&header, &all(), b"abd"),
                Err(ChecksumError::Mismatch),
                "{algo}"
            );
        }
    }

    #[test]
    fn errors() {
        assert_eq!(verify("sha1", &all(), b""), Err(ChecksumError::Malformed));
        assert_eq!(
            verify("sha1 ***", &all(), b""),
            Err(ChecksumError::Malformed)
        );
        assert_eq!(
            verify("blake3 AAAA", &all(), b""),
            Err(ChecksumError::Unsupported("blake3".into()))
        );
        assert_eq!(
            verify("SHA1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", &all(), b"hello world"),
            Err(ChecksumError::Unsupported("SHA1".into()))
        );
        let only_md5 = vec!["md5".to_string()];
        assert_eq!(
            verify(
                "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
                &only_md5,
                b"hello world"
            ),
            Err(ChecksumError::Unsupported("sha1".into()))
        );
        // Right base64, wrong length: a mismatch, not a crash.
        assert_eq!(
            verify("sha1 AAAA", &all(), b"x"),
            Err(ChecksumError::Mismatch)
        );
        assert_eq!(ChecksumError::Mismatch.status(), 460);
        assert_eq!(ChecksumError::Malformed.status(), 400);
    }

    proptest! {
        #[test]
        fn never_panics(header in ".*", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = verify(&header, &all(), &body);
        }
    }
}
