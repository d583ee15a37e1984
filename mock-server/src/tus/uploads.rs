//! [`Uploads`]: what the rules may look up while deciding on a request.

use super::idempotency::KeyLookup;
use super::info::UploadInfo;

/// The uploads a server holds, as the decisions see them (the mock's state, the streaming
/// server's registry).
pub(crate) trait Uploads {
    /// The upload `id`, terminated and expired ones included.
    fn info(&self, id: &str) -> Option<UploadInfo>;
    /// What the server knows about `Idempotency-Key: key`.
    fn by_key(&self, key: &str) -> KeyLookup;
}
