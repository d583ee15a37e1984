//! `Upload-Checksum` parsing and verification (pure functions).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::Md5;
use sha1::{Digest as _, Sha1};
use sha2::{Sha256, Sha512};

use super::config::Protocol;
use super::extension::Extension;
use super::reply::Reply;
use super::request::RequestHead;

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

/// An algorithm this crate can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
    Md5,
    /// The IEEE CRC-32 as 4 big-endian bytes.
    Crc32,
}

impl Algorithm {
    /// The algorithm named `name` (lowercase, as the spec writes them).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sha1" => Algorithm::Sha1,
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            "md5" => Algorithm::Md5,
            "crc32" => Algorithm::Crc32,
            _ => return None,
        })
    }
}

/// What an `Upload-Checksum` header claims: the digest the body must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChecksumClaim {
    pub(crate) algorithm: Algorithm,
    pub(crate) expected: Vec<u8>,
}

impl ChecksumClaim {
    /// Whether `actual` (the body's digest with [`Self::algorithm`]) is the claimed one.
    pub(crate) fn check(&self, actual: &[u8]) -> Result<(), ChecksumError> {
        if actual == self.expected.as_slice() {
            Ok(())
        } else {
            Err(ChecksumError::Mismatch)
        }
    }
}

/// A digest computed piece by piece, as a body streams through.
#[derive(Clone)]
pub(crate) enum Digester {
    Sha1(Sha1),
    Sha256(Sha256),
    Sha512(Sha512),
    Md5(Md5),
    Crc32(crc32fast::Hasher),
}

impl Digester {
    pub(crate) fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha1 => Digester::Sha1(Sha1::new()),
            Algorithm::Sha256 => Digester::Sha256(Sha256::new()),
            Algorithm::Sha512 => Digester::Sha512(Sha512::new()),
            Algorithm::Md5 => Digester::Md5(Md5::new()),
            Algorithm::Crc32 => Digester::Crc32(crc32fast::Hasher::new()),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Digester::Sha1(d) => d.update(bytes),
            Digester::Sha256(d) => d.update(bytes),
            Digester::Sha512(d) => d.update(bytes),
            Digester::Md5(d) => d.update(bytes),
            Digester::Crc32(d) => d.update(bytes),
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        match self {
            Digester::Sha1(d) => d.finalize().to_vec(),
            Digester::Sha256(d) => d.finalize().to_vec(),
            Digester::Sha512(d) => d.finalize().to_vec(),
            Digester::Md5(d) => d.finalize().to_vec(),
            Digester::Crc32(d) => d.finalize().to_be_bytes().to_vec(),
        }
    }
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digester")
    }
}

/// Parses an `Upload-Checksum` header value, accepting only the `allowed` algorithms (names
/// compared exactly: the spec makes them lowercase).
pub(crate) fn parse_claim(
    header: &str,
    allowed: &[String],
) -> Result<ChecksumClaim, ChecksumError> {
    let (name, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or(ChecksumError::Malformed)?;
    if !allowed.iter().any(|a| a == name) {
        return Err(ChecksumError::Unsupported(name.to_owned()));
    }
    let expected = STANDARD
        .decode(encoded)
        .map_err(|_| ChecksumError::Malformed)?;
    let algorithm =
        Algorithm::from_name(name).ok_or_else(|| ChecksumError::Unsupported(name.to_owned()))?;
    Ok(ChecksumClaim {
        algorithm,
        expected,
    })
}

/// The claim of a request's `Upload-Checksum` when the checksum extension is on (the header
/// is ignored otherwise, like servers without it); 400 when malformed or unsupported.
pub(crate) fn claim(
    protocol: &Protocol,
    head: &RequestHead<'_>,
) -> Result<Option<ChecksumClaim>, Reply> {
    if !protocol.has(Extension::Checksum) {
        return Ok(None);
    }
    match head.get("upload-checksum")? {
        None => Ok(None),
        Some(h) => parse_claim(h, &protocol.checksum_algorithms)
            .map(Some)
            .map_err(|e| Reply::error(e.status(), e.to_string())),
    }
}

/// Verifies an `Upload-Checksum` header value against a whole `body`.
#[cfg(test)]
pub(crate) fn verify(header: &str, allowed: &[String], body: &[u8]) -> Result<(), ChecksumError> {
    let claim = parse_claim(header, allowed)?;
    let mut digester = Digester::new(claim.algorithm);
    digester.update(body);
    claim.check(&digester.finish())
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
            let mut digester = Digester::new(Algorithm::from_name(algo).unwrap());
            digester.update(b"a");
            digester.update(b"bc");
            let d = digester.finish();
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
        fn pieces_digest_like_the_whole(body in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..200) {
            let cut = cut.min(body.len());
            for algo in SUPPORTED {
                let algorithm = Algorithm::from_name(algo).unwrap();
                let mut whole = Digester::new(algorithm);
                whole.update(&body);
                let mut pieces = Digester::new(algorithm);
                pieces.update(&body[..cut]);
                pieces.update(&body[cut..]);
                prop_assert_eq!(whole.finish(), pieces.finish());
            }
        }

        #[test]
        fn never_panics(header in ".*", body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = verify(&header, &all(), &body);
        }
    }
}
