use crate::hex::push_lower_hex;
use crate::Fingerprint;

/// A weak, dependency-free fingerprint: the size and the first 32 bytes in hex.
///
/// Used only when no hashing feature is enabled. Two files of the same size that start with
/// the same 32 bytes get the same key, so prefer `Md5Fingerprint` or `Sha256Fingerprint`.
///
/// ```
/// use tusky_fingerprint::{Fingerprint, HeadBytesFingerprint};
///
/// assert_eq!(HeadBytesFingerprint.head_len(), 32);
/// assert_eq!(HeadBytesFingerprint.fingerprint(b"hi", 2), "size:2--head:6869");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadBytesFingerprint;

impl Fingerprint for HeadBytesFingerprint {
    fn head_len(&self) -> usize {
        32
    }

    fn fingerprint(&self, head: &[u8], size: u64) -> String {
        let mut key = format!("size:{size}--head:");
        push_lower_hex(&mut key, &head[..head.len().min(32)]);
        key
    }
}
