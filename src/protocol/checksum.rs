use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::Digest as _;

/// A checksum algorithm of the tus checksum extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// SHA-1 (every checksum-capable server must support it).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
    /// MD5.
    Md5,
    /// CRC-32 (IEEE), sent big-endian.
    Crc32,
}

impl ChecksumAlgorithm {
    /// Every algorithm tusky can compute, strongest first (the default preference order).
    pub const ALL: [ChecksumAlgorithm; 5] = [
        Self::Sha256,
        Self::Sha512,
        Self::Sha1,
        Self::Md5,
        Self::Crc32,
    ];

    /// The name used in `Upload-Checksum` and `Tus-Checksum-Algorithm`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
            Self::Md5 => "md5",
            Self::Crc32 => "crc32",
        }
    }

    /// The algorithm with this name (case-insensitive), if tusky knows it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Starts a running digest.
    pub fn digest(self) -> Digest {
        Digest(
            match self {
                Self::Sha1 => State::Sha1(sha1::Sha1::new()),
                Self::Sha256 => State::Sha256(sha2::Sha256::new()),
                Self::Sha512 => State::Sha512(sha2::Sha512::new()),
                Self::Md5 => State::Md5(md5::Md5::new()),
                Self::Crc32 => State::Crc32(crc32fast::Hasher::new()),
            },
            self,
        )
    }

    /// The `Upload-Checksum` header value for `body`: `<name> <base64 digest>`.
    pub fn header_for(self, body: &[u8]) -> String {
        let mut digest = self.digest();
        digest.update(body);
        digest.header_value()
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

enum State {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
    Md5(md5::Md5),
    Crc32(crc32fast::Hasher),
}

/// A running digest: feed it the body in pieces, then take the header value.
pub struct Digest(State, ChecksumAlgorithm);

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Digest").field(&self.1).finish()
    }
}

impl Digest {
    /// Adds bytes to the digest.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            State::Sha1(h) => h.update(bytes),
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
            State::Md5(h) => h.update(bytes),
            State::Crc32(h) => h.update(bytes),
        }
    }

    /// The `Upload-Checksum` header value: `<name> <base64 digest>`.
    pub fn header_value(self) -> String {
        let raw: Vec<u8> = match self.0 {
            State::Sha1(h) => h.finalize().to_vec(),
            State::Sha256(h) => h.finalize().to_vec(),
            State::Sha512(h) => h.finalize().to_vec(),
            State::Md5(h) => h.finalize().to_vec(),
            State::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
        };
        format!("{} {}", self.1.name(), STANDARD.encode(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// parity 19
    #[test]
    fn sha1_of_abcd_matches_tuspy() {
        assert_eq!(
            ChecksumAlgorithm::Sha1.header_for(b"abcd"),
            "sha1 gf6L/odXbD7LIkJvjleEc4KRes8="
        );
    }

    #[test]
    fn pieces_give_the_same_digest_as_the_whole() {
        for algo in ChecksumAlgorithm::ALL {
            let mut d = algo.digest();
            d.update(b"ab");
            d.update(b"cd");
            assert_eq!(d.header_value(), algo.header_for(b"abcd"), "{algo}");
        }
    }

    #[test]
    fn names_round_trip() {
        for algo in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::from_name(algo.name()), Some(algo));
        }
        assert_eq!(
            ChecksumAlgorithm::from_name("SHA1"),
            Some(ChecksumAlgorithm::Sha1)
        );
        assert_eq!(ChecksumAlgorithm::from_name("blake3"), None);
    }
}
