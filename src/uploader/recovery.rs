//! The one place that decides what a failure means for an upload.

use http::StatusCode;

use crate::Error;

/// What to do after a failed step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// Give up with this error.
    Fail,
    /// Wait (per the retry policy), re-read the offset with HEAD, continue from there.
    Resync,
    /// Like `Resync`, with smaller chunks (the server answered 413 to a PATCH).
    ShrinkChunk,
    /// The upload is gone or unusable: forget its URL and create a new one.
    StartOver(String),
}

/// Where the upload URL came from; decides whether a gone upload may be recreated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlOrigin {
    /// Given to the builder.
    Explicit,
    /// Found in the storage.
    Stored,
    /// Created by this uploader.
    Created,
}

/// Decides what `error` means. `recreate` is whether a gone upload may be started over;
/// `checksummed` whether PATCHes carry `Upload-Checksum`.
pub(crate) fn recovery(
    error: &Error,
    origin: Option<UrlOrigin>,
    recreate: bool,
    checksummed: bool,
) -> Recovery {
    match error {
        Error::Status {
            status, context, ..
        } => {
            // 404/410 mean the upload is gone, on HEAD or PATCH. 403 means gone only on HEAD
            // (servers answer it for uploads they no longer hold); on a PATCH it is a refusal.
            let gone = match context.operation {
                crate::error::Operation::Head => matches!(
                    *status,
                    StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::FORBIDDEN
                ),
                crate::error::Operation::Patch => {
                    matches!(*status, StatusCode::NOT_FOUND | StatusCode::GONE)
                }
                _ => false,
            };
            if gone && origin.is_some() {
                return if recreate {
                    Recovery::StartOver(format!("the server answered {status} for the upload"))
                } else {
                    Recovery::Fail
                };
            }
            if *status == StatusCode::PAYLOAD_TOO_LARGE
                && context.operation == crate::error::Operation::Patch
            {
                return Recovery::ShrinkChunk;
            }
            // 400 on a PATCH that carried a checksum: the algorithm was refused; resend (bounded).
            // Without a checksum a 400 is a malformed request, like any other 4xx: fail at once.
            if error.is_retryable()
                || (*status == StatusCode::BAD_REQUEST
                    && context.operation == crate::error::Operation::Patch
                    && checksummed)
            {
                Recovery::Resync
            } else {
                Recovery::Fail
            }
        }
        Error::LengthMismatch { .. } if origin == Some(UrlOrigin::Stored) && recreate => {
            Recovery::StartOver(error.to_string())
        }
        _ if error.is_retryable() => Recovery::Resync,
        _ => Recovery::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Context, Operation};

    fn status(op: Operation, code: u16) -> Error {
        Error::Status {
            context: Context::new(op, None, Some(0)),
            status: StatusCode::from_u16(code).unwrap(),
            body: String::new(),
        }
    }

    #[test]
    fn classification() {
        use Operation::*;
        let stored = Some(UrlOrigin::Stored);
        for code in [500, 502, 503, 423, 409, 460] {
            assert_eq!(
                recovery(&status(Patch, code), stored, true, false),
                Recovery::Resync,
                "{code}"
            );
        }
        for code in [401, 422, 415] {
            assert_eq!(
                recovery(&status(Patch, code), stored, true, false),
                Recovery::Fail,
                "{code}"
            );
        }
        for code in [404, 410, 403] {
            assert!(
                matches!(
                    recovery(&status(Head, code), stored, true, false),
                    Recovery::StartOver(_)
                ),
                "{code}"
            );
            assert_eq!(
                recovery(&status(Head, code), Some(UrlOrigin::Explicit), false, false),
                Recovery::Fail
            );
        }
        assert_eq!(
            recovery(&status(Create, 403), None, true, false),
            Recovery::Fail
        );
        // parity 24: a 403 on PATCH is a refusal, not a gone upload.
        assert_eq!(
            recovery(&status(Patch, 403), stored, true, false),
            Recovery::Fail
        );
        assert!(matches!(
            recovery(&status(Patch, 404), stored, true, false),
            Recovery::StartOver(_)
        ));
        assert_eq!(
            recovery(&status(Patch, 413), stored, true, false),
            Recovery::ShrinkChunk
        );
        // 400 on a PATCH: a refused checksum algorithm (resend) only when one was sent.
        assert_eq!(
            recovery(&status(Patch, 400), stored, true, true),
            Recovery::Resync
        );
        assert_eq!(
            recovery(&status(Patch, 400), stored, true, false),
            Recovery::Fail
        );
    }
}
