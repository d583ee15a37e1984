//! The one place that decides what a failure means: a pure function from an error and the
//! facts around it to a [`Decision`]. The retry path ([`super::retry_path`]) carries it out.

use http::StatusCode;

use super::state::UrlOrigin;
use crate::error::Operation;
use crate::Error;

/// Whether a request may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Repeating it cannot do harm (HEAD, PATCH from the server's offset, DELETE, a creation
    /// POST whose duplicate would only be an unused upload).
    Safe,
    /// A POST carrying an `Idempotency-Key` (idempotent creation): a repeat is answered with
    /// the upload the first one made, so it is as safe to repeat as a PATCH, also after a lost
    /// answer; and a `409` means the first request with this key is still being received, so it
    /// is waited out and repeated (with the same key).
    Keyed,
    /// Only after an answer that shows the server did nothing (5xx, 423): a lost answer may
    /// mean it was done (the final concatenation POST).
    IfRefused,
}

impl Repeat {
    /// A creation POST: keyed when it carries `key`; else safe to repeat (a duplicate is an
    /// unused upload), but a `409` to it is the server's refusal.
    pub(crate) fn creation(key: Option<&super::idempotency::IdempotencyKey>) -> Self {
        match key {
            Some(_) => Self::Keyed,
            None => Self::Safe,
        }
    }

    /// The final concatenation POST: keyed when it carries `key`; without one, a lost answer
    /// may hide a created upload, so it is repeated only after an answer that shows nothing
    /// was created.
    pub(crate) fn final_post(key: Option<&super::idempotency::IdempotencyKey>) -> Self {
        match key {
            Some(_) => Self::Keyed,
            None => Self::IfRefused,
        }
    }
}

/// What is known when a request fails.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    /// Where the upload URL came from, when there is one.
    pub origin: Option<UrlOrigin>,
    /// Whether a gone upload may be created again.
    pub may_recreate: bool,
    /// Whether PATCHes carry `Upload-Checksum`.
    pub checksummed: bool,
    /// Whether a creation POST carries (or may carry) the first chunk.
    pub creation_body: bool,
    /// Whether a 401 gets the auth headers refreshed (a header provider is set).
    pub refreshes_auth: bool,
    pub repeat: Repeat,
}

impl Facts {
    /// The facts of a request about no upload in particular.
    pub(crate) fn request(repeat: Repeat) -> Self {
        Self {
            origin: None,
            may_recreate: false,
            checksummed: false,
            creation_body: false,
            refreshes_auth: false,
            repeat,
        }
    }
}

/// What to do after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Give up with this error.
    Fail,
    /// Wait (per the retry policy), re-read the offset with HEAD, continue from there.
    Retry,
    /// Like `Retry`, with smaller chunks (the server answered 413 to a PATCH).
    ShrinkChunk,
    /// A 413 to a creation POST that carried data (often a proxy's body limit): create again
    /// at once, without a body.
    CreateWithoutBody,
    /// The upload is gone or unusable: forget its URL and create a new one.
    StartOver(String),
}

/// Decides what `error` means, given `facts`.
pub(crate) fn classify(error: &Error, facts: &Facts) -> Decision {
    match error {
        Error::Status {
            status, context, ..
        } => classify_status(*status, context.operation, facts),
        Error::LengthMismatch { .. }
            if facts.origin == Some(UrlOrigin::Stored) && facts.may_recreate =>
        {
            Decision::StartOver(error.to_string())
        }
        Error::Transport { source, .. } if !source.is_transient() => Decision::Fail,
        Error::Transport { .. } if facts.repeat == Repeat::IfRefused => Decision::Fail,
        _ if error.is_retryable() => Decision::Retry,
        _ => Decision::Fail,
    }
}

fn classify_status(status: StatusCode, operation: Operation, facts: &Facts) -> Decision {
    if operation == Operation::Create
        && status == StatusCode::PAYLOAD_TOO_LARGE
        && facts.creation_body
    {
        return Decision::CreateWithoutBody;
    }
    // 404/410 mean the upload is gone, on HEAD or PATCH. 403 means gone only on HEAD (servers
    // answer it for uploads they no longer hold); on a PATCH it is a refusal.
    let gone = match operation {
        Operation::Head => matches!(
            status,
            StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::FORBIDDEN
        ),
        Operation::Patch => matches!(status, StatusCode::NOT_FOUND | StatusCode::GONE),
        _ => false,
    };
    if gone && facts.origin.is_some() {
        return if facts.may_recreate {
            Decision::StartOver(format!("the server answered {status} for the upload"))
        } else {
            Decision::Fail
        };
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE && operation == Operation::Patch {
        return Decision::ShrinkChunk;
    }
    // The header provider was told to refresh: worth one more try (the retry path makes a
    // second 401 in a row final).
    if status == StatusCode::UNAUTHORIZED && facts.refreshes_auth {
        return Decision::Retry;
    }
    // 5xx, 423 (locked) and 429 (too many requests): the server did nothing and asks for later.
    let refused = status.is_server_error()
        || status == StatusCode::LOCKED
        || status == StatusCode::TOO_MANY_REQUESTS;
    // 409: to a keyed POST, a creation with its key is still being received (wait for it);
    // to a POST without a key, a refusal like any other 4xx; to a PATCH, the offset differed
    // (re-read it).
    let creates = matches!(operation, Operation::Create | Operation::Concatenate);
    let conflict_waits = status == StatusCode::CONFLICT
        && match facts.repeat {
            Repeat::Keyed => true,
            Repeat::Safe => !creates,
            Repeat::IfRefused => false,
        };
    let retryable = match facts.repeat {
        Repeat::IfRefused => refused,
        // 460: the checksum did not match (resend). On a PATCH that carried a checksum, 400
        // (the algorithm was refused) and 417 (rustus's answer to a mismatch, instead of 460)
        // are resent too (bounded). Without a checksum both are malformed requests, like any
        // other 4xx: fail at once. 422 to a keyed POST (its key was used for another
        // request) is final too.
        Repeat::Safe | Repeat::Keyed => {
            refused
                || conflict_waits
                || status.as_u16() == 460
                || (matches!(status.as_u16(), 400 | 417)
                    && operation == Operation::Patch
                    && facts.checksummed)
        }
    };
    if retryable {
        Decision::Retry
    } else {
        Decision::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Context;
    use Operation::*;

    fn status(op: Operation, code: u16) -> Error {
        Error::Status {
            context: Context::new(op, None, Some(0)),
            status: StatusCode::from_u16(code).unwrap(),
            body: String::new(),
            retry_after: None,
        }
    }

    fn facts(origin: Option<UrlOrigin>, may_recreate: bool, checksummed: bool) -> Facts {
        Facts {
            origin,
            may_recreate,
            checksummed,
            creation_body: true,
            refreshes_auth: false,
            repeat: Repeat::Safe,
        }
    }

    // One row per case: a table, longer than a function should be, on purpose.
    #[test]
    fn status_table() {
        let stored = Some(UrlOrigin::Stored);
        let explicit = Some(UrlOrigin::Explicit);
        let over = |d: &Decision| matches!(d, Decision::StartOver(_));
        // (operation, status, facts, expected decision; None = a start-over)
        let table: Vec<(Operation, u16, Facts, Option<Decision>)> = vec![
            (
                Patch,
                500,
                facts(stored, true, false),
                Some(Decision::Retry),
            ),
            (
                Patch,
                502,
                facts(stored, true, false),
                Some(Decision::Retry),
            ),
            (
                Patch,
                503,
                facts(stored, true, false),
                Some(Decision::Retry),
            ),
            (
                Patch,
                423,
                facts(stored, true, false),
                Some(Decision::Retry),
            ),
            (
                Patch,
                409,
                facts(stored, true, false),
                Some(Decision::Retry),
            ),
            (
                Patch,
                460,
                facts(stored, true, false),
                Some(Decision::Retry),
            ),
            (Patch, 401, facts(stored, true, false), Some(Decision::Fail)),
            (Patch, 422, facts(stored, true, false), Some(Decision::Fail)),
            (Patch, 415, facts(stored, true, false), Some(Decision::Fail)),
            (Head, 404, facts(stored, true, false), None),
            (Head, 410, facts(stored, true, false), None),
            (Head, 403, facts(stored, true, false), None),
            (
                Head,
                404,
                facts(explicit, false, false),
                Some(Decision::Fail),
            ),
            (
                Head,
                403,
                facts(explicit, false, false),
                Some(Decision::Fail),
            ),
            (Create, 403, facts(None, true, false), Some(Decision::Fail)),
            // parity 24: a 403 on PATCH is a refusal, not a gone upload.
            (Patch, 403, facts(stored, true, false), Some(Decision::Fail)),
            (Patch, 404, facts(stored, true, false), None),
            (
                Patch,
                413,
                facts(stored, true, false),
                Some(Decision::ShrinkChunk),
            ),
            (
                Create,
                413,
                facts(None, true, false),
                Some(Decision::CreateWithoutBody),
            ),
            (Patch, 400, facts(stored, true, true), Some(Decision::Retry)),
            (Patch, 400, facts(stored, true, false), Some(Decision::Fail)),
            (Patch, 417, facts(stored, true, true), Some(Decision::Retry)),
            (Patch, 417, facts(stored, true, false), Some(Decision::Fail)),
            (Patch, 401, facts(stored, true, false), Some(Decision::Fail)),
            (
                Patch,
                401,
                Facts {
                    refreshes_auth: true,
                    ..facts(stored, true, false)
                },
                Some(Decision::Retry),
            ),
        ];
        for (op, code, facts, expected) in table {
            let decision = classify(&status(op, code), &facts);
            match expected {
                Some(expected) => assert_eq!(decision, expected, "{op} {code}"),
                None => assert!(over(&decision), "{op} {code}: {decision:?}"),
            }
        }
    }

    #[test]
    fn a_request_that_must_not_be_repeated_blindly_is_retried_only_when_refused() {
        let once = Facts::request(Repeat::IfRefused);
        assert_eq!(classify(&status(Concatenate, 503), &once), Decision::Retry);
        assert_eq!(classify(&status(Concatenate, 423), &once), Decision::Retry);
        assert_eq!(classify(&status(Concatenate, 429), &once), Decision::Retry);
        assert_eq!(classify(&status(Concatenate, 409), &once), Decision::Fail);
        let lost = Error::Transport {
            context: Context::new(Concatenate, None, None),
            source: crate::transport::TransportError::new(
                crate::transport::TransportErrorKind::Connection,
                "reset",
            ),
        };
        assert_eq!(classify(&lost, &once), Decision::Fail);
        assert_eq!(
            classify(&lost, &Facts::request(Repeat::Safe)),
            Decision::Retry
        );
    }

    #[test]
    fn a_creation_post_waits_out_a_409_only_with_an_idempotency_key() {
        let key = crate::uploader::idempotency::IdempotencyKey::new();
        let creating = |repeat| Facts {
            repeat,
            ..facts(None, true, false)
        };
        let keyed = creating(Repeat::creation(Some(&key)));
        let unkeyed = creating(Repeat::creation(None));
        assert_eq!(unkeyed.repeat, Repeat::Safe, "as before the option");
        let lost = Error::Transport {
            context: Context::new(Create, None, Some(0)),
            source: crate::transport::TransportError::new(
                crate::transport::TransportErrorKind::Connection,
                "lost",
            ),
        };
        // (error, decision with the key, decision without)
        let table = [
            // A duplicate without a key is an unused upload: repeated either way.
            (lost, Decision::Retry, Decision::Retry),
            (status(Create, 503), Decision::Retry, Decision::Retry),
            (status(Create, 423), Decision::Retry, Decision::Retry),
            // 409 to a keyed POST: the first request with this key is still being received.
            // Without a key, 409 to a POST is a refusal.
            (status(Create, 409), Decision::Retry, Decision::Fail),
            // 422: the key was used for a creation of another length or kind.
            (status(Create, 422), Decision::Fail, Decision::Fail),
            (status(Create, 400), Decision::Fail, Decision::Fail),
            (status(Create, 403), Decision::Fail, Decision::Fail),
            (
                status(Create, 413),
                Decision::CreateWithoutBody,
                Decision::CreateWithoutBody,
            ),
        ];
        for (error, with_key, without) in table {
            assert_eq!(classify(&error, &keyed), with_key, "{error}");
            assert_eq!(classify(&error, &unkeyed), without, "{error}");
        }
        // A 409 to a PATCH (the offset differed) is re-read, as ever.
        assert_eq!(classify(&status(Patch, 409), &unkeyed), Decision::Retry);
    }

    #[test]
    fn a_final_post_with_an_idempotency_key_is_repeated_after_a_lost_answer_too() {
        let key = crate::uploader::idempotency::IdempotencyKey::new();
        let keyed = Facts::request(Repeat::final_post(Some(&key)));
        let unkeyed = Facts::request(Repeat::final_post(None));
        assert_eq!(unkeyed.repeat, Repeat::IfRefused, "as before the option");
        let lost = |kind| Error::Transport {
            context: Context::new(Concatenate, None, None),
            source: crate::transport::TransportError::new(kind, "lost"),
        };
        use crate::transport::TransportErrorKind::{Connection, Timeout};
        // (error, decision with the key, decision without)
        let table = [
            (lost(Connection), Decision::Retry, Decision::Fail),
            (lost(Timeout), Decision::Retry, Decision::Fail),
            (status(Concatenate, 500), Decision::Retry, Decision::Retry),
            (status(Concatenate, 503), Decision::Retry, Decision::Retry),
            // 409: the server still works on the first request with this key.
            (status(Concatenate, 409), Decision::Retry, Decision::Fail),
            // 422: the key was used for another request: never repeat.
            (status(Concatenate, 422), Decision::Fail, Decision::Fail),
            (status(Concatenate, 400), Decision::Fail, Decision::Fail),
        ];
        for (error, with_key, without) in table {
            assert_eq!(classify(&error, &keyed), with_key, "{error}");
            assert_eq!(classify(&error, &unkeyed), without, "{error}");
        }
    }
}
