use sha2::{Digest, Sha256};

use crate::hex::push_lower_hex;
use crate::{Fingerprint, DEFAULT_HEAD_LEN};

/// The size and the SHA-256 of the first 64 KiB: like `Md5Fingerprint`, but with a hash that
/// has no known collisions.
///
/// The key is `size:{size}--sha256:{lowercase hex SHA-256 of the first 65536 bytes}`. Only the
/// first [`DEFAULT_HEAD_LEN`] bytes of `head` are hashed, even when more are passed. Its keys
/// never equal tuspy's, so a store shared with tuspy needs the MD5 fingerprint instead.
///
/// ```
/// use tusky_fingerprint::{Fingerprint, Sha256Fingerprint};
///
/// let key = Sha256Fingerprint.fingerprint(b"hello world", 11);
/// assert_eq!(
///     key,
///     "size:11--sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
/// );
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Sha256Fingerprint;

impl Fingerprint for Sha256Fingerprint {
    fn head_len(&self) -> usize {
        DEFAULT_HEAD_LEN
    }

    fn fingerprint(&self, head: &[u8], size: u64) -> String {
        let head = &head[..head.len().min(DEFAULT_HEAD_LEN)];
        let mut key = format!("size:{size}--sha256:");
        push_lower_hex(&mut key, &Sha256::digest(head));
        key
    }
}
