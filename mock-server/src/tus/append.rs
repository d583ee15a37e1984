//! `PATCH`: appending a body at the upload's offset — the plan made from the request head and
//! the upload's info, and the commit made from what became of the body. Pure functions.

use std::time::SystemTime;

use super::body::{BodyEnd, BodyPlan, Interruption, Received};
use super::checksum;
use super::config::Protocol;
use super::creation::too_long;
use super::info::{Concat, UploadInfo};
use super::reply::Reply;
use super::request::{RequestHead, OFFSET_STREAM};
use super::resource::live;

/// An accepted `PATCH`, before its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppendPlan {
    /// The upload's offset, where the body goes.
    pub(crate) offset: u64,
    /// The `Upload-Length` this request declares for a deferred upload.
    pub(crate) new_length: Option<u64>,
    /// At most the bytes up to the length (or `Tus-Max-Size` while deferred).
    pub(crate) body: BodyPlan,
}

/// Decides on a `PATCH` from its head and the upload's info (`None`: unknown): 404, 410 or
/// 423 for an upload that cannot be used, 403 on a final upload, 415 without
/// `application/offset+octet-stream`, 400 for a missing or bad `Upload-Offset` or
/// `Upload-Length`, 409 (with the right `Upload-Offset`) at the wrong offset, 413 past the
/// length, 400 for a bad `Upload-Checksum`; else where to append and how much.
pub(crate) fn plan_append(
    protocol: &Protocol,
    head: &RequestHead<'_>,
    info: Option<&UploadInfo>,
    now: SystemTime,
    locked: bool,
) -> Result<AppendPlan, Reply> {
    // 403 on a final upload even while its concatenation holds it (423 would invite a retry).
    let upload = live(info, now, false)?;
    if matches!(upload.concat, Concat::Final(_)) {
        return Err(Reply::error(403, "PATCH on a final upload"));
    }
    let upload = live(Some(upload), now, locked)?;
    if !head.is_offset_stream() {
        return Err(Reply::error(
            415,
            format!("Content-Type: {OFFSET_STREAM} required"),
        ));
    }
    let offset = head
        .get_u64("upload-offset")?
        .ok_or_else(|| Reply::error(400, "Upload-Offset required"))?;
    let current = upload.offset;
    if offset != current {
        return Err(Reply::error(
            409,
            format!("Upload-Offset {offset} does not match the upload's offset {current}"),
        )
        .header("Upload-Offset", current));
    }
    // With a body of unknown length (chunked), the limit below stops it instead.
    let end = offset
        .checked_add(head.body_len.unwrap_or(0))
        .ok_or_else(|| Reply::error(413, "offset + body overflows"))?;
    let new_length = new_length(protocol, head, upload.length, end)?;
    let limit = match new_length.or(upload.length) {
        Some(l) if end > l => {
            return Err(Reply::error(
                413,
                format!("offset + body ({end}) exceeds Upload-Length {l}"),
            ))
        }
        Some(l) => l.saturating_sub(offset),
        None => {
            protocol.check_max(end)?;
            protocol
                .max_size
                .map_or(u64::MAX, |m| m.saturating_sub(offset))
        }
    };
    Ok(AppendPlan {
        offset,
        new_length,
        body: BodyPlan {
            limit,
            checksum: checksum::claim(protocol, head)?,
        },
    })
}

/// The `Upload-Length` a `PATCH` declares: only for a deferred upload, at least `end`, within
/// `Tus-Max-Size`; repeating the known length is fine, changing it is 400.
fn new_length(
    protocol: &Protocol,
    head: &RequestHead<'_>,
    length: Option<u64>,
    end: u64,
) -> Result<Option<u64>, Reply> {
    match (length, head.get_u64("upload-length")?) {
        (Some(l), Some(sent)) if sent != l => Err(Reply::error(
            400,
            format!("Upload-Length is {l} and cannot change to {sent}"),
        )),
        (None, Some(sent)) if sent < end => Err(Reply::error(
            400,
            format!("Upload-Length {sent} is less than offset + body ({end})"),
        )),
        (None, Some(sent)) => {
            protocol.check_max(sent)?;
            Ok(Some(sent))
        }
        _ => Ok(None),
    }
}

/// Applies what became of a `PATCH` body to `info` and says what to answer. The caller then
/// keeps exactly `info.offset` bytes (dropping the rest of what it stored).
///
/// - complete (and matching its `Upload-Checksum`): kept, 204 with the new `Upload-Offset`;
/// - a checksum mismatch: nothing kept, 460; over the limit: nothing kept, 413; the store
///   failed: nothing kept, 500;
/// - cut short (the client went away or went quiet): the bytes that arrived are kept, as tus
///   allows — none when the request carried `Upload-Checksum`, which they cannot match.
pub(crate) fn commit_append(plan: &AppendPlan, info: &mut UploadInfo, got: &Received) -> Reply {
    let interrupted = match &got.end {
        BodyEnd::TooLong => return too_long(plan.new_length.or(info.length)),
        BodyEnd::StoreFailed(why) => return Reply::error(500, format!("storing the body: {why}")),
        BodyEnd::Complete => {
            if let (Some(claim), Some(digest)) = (&plan.body.checksum, &got.digest) {
                if let Err(e) = claim.check(digest) {
                    return Reply::error(e.status(), e.to_string());
                }
            }
            None
        }
        BodyEnd::Interrupted(why) if plan.body.checksum.is_some() => {
            return interruption(*why, "nothing is kept: Upload-Checksum cannot match a part")
        }
        BodyEnd::Interrupted(why) => Some(*why),
    };
    if plan.new_length.is_some() {
        info.length = plan.new_length;
    }
    info.offset += got.stored;
    if info.is_complete() {
        info.expires = None;
    }
    let reply = match interrupted {
        None => Reply::new(204),
        Some(why) => interruption(why, "the bytes that arrived are kept"),
    };
    reply
        .header("Upload-Offset", info.offset)
        .expires(info.expires)
}

fn interruption(why: Interruption, what: &str) -> Reply {
    match why {
        Interruption::Disconnected => Reply::error(400, format!("the body ended early; {what}")),
        Interruption::TimedOut => {
            Reply::error(408, format!("no body bytes came for too long; {what}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::HeaderMap;

    use super::*;
    use crate::tus::checksum::{Algorithm, ChecksumClaim};
    use crate::tus::info::blank;

    fn plan(
        info: &UploadInfo,
        headers: &[(&'static str, &str)],
        body_len: Option<u64>,
    ) -> Result<AppendPlan, Reply> {
        let mut h = HeaderMap::new();
        h.insert("content-type", OFFSET_STREAM.parse().unwrap());
        for (k, v) in headers {
            h.insert(*k, v.parse().unwrap());
        }
        let head = RequestHead {
            method: "PATCH",
            headers: &h,
            body_len,
        };
        let protocol = Protocol {
            max_size: Some(100),
            ..Protocol::default()
        };
        plan_append(&protocol, &head, Some(info), SystemTime::now(), false)
    }

    #[test]
    fn the_plan_takes_at_most_the_rest_of_the_upload() {
        let mut info = blank(Some(10));
        info.offset = 4;
        let p = plan(&info, &[("upload-offset", "4")], None).unwrap();
        assert_eq!((p.offset, p.body.limit, p.new_length), (4, 6, None));
        assert_eq!(
            plan(&info, &[("upload-offset", "4")], Some(7))
                .unwrap_err()
                .status,
            413
        );
        let wrong = plan(&info, &[("upload-offset", "3")], Some(1)).unwrap_err();
        assert_eq!(
            (wrong.status, wrong.header_value("upload-offset")),
            (409, Some("4"))
        );
        assert_eq!(plan(&info, &[], Some(1)).unwrap_err().status, 400);
        assert_eq!(
            plan(
                &info,
                &[("upload-offset", "4"), ("upload-length", "11")],
                Some(1)
            )
            .unwrap_err()
            .status,
            400
        );
    }

    #[test]
    fn a_deferred_upload_takes_its_length_or_the_maximum() {
        let info = blank(None);
        let p = plan(&info, &[("upload-offset", "0")], None).unwrap();
        assert_eq!(p.body.limit, 100);
        let p = plan(
            &info,
            &[("upload-offset", "0"), ("upload-length", "8")],
            Some(3),
        )
        .unwrap();
        assert_eq!((p.new_length, p.body.limit), (Some(8), 8));
        assert_eq!(
            plan(
                &info,
                &[("upload-offset", "0"), ("upload-length", "2")],
                Some(3)
            )
            .unwrap_err()
            .status,
            400
        );
        assert_eq!(
            plan(
                &info,
                &[("upload-offset", "0"), ("upload-length", "101")],
                Some(3)
            )
            .unwrap_err()
            .status,
            413
        );
        assert_eq!(
            plan(&info, &[("upload-offset", "0")], Some(101))
                .unwrap_err()
                .status,
            413
        );
    }

    #[test]
    fn the_commit_keeps_complete_verified_or_interrupted_bodies() {
        let mut info = blank(None);
        info.expires = Some(SystemTime::now() + Duration::from_secs(9));
        let p = AppendPlan {
            offset: 0,
            new_length: Some(5),
            body: BodyPlan {
                limit: 5,
                checksum: None,
            },
        };
        let got = |stored, end| Received {
            stored,
            digest: None,
            end,
        };
        let cut = BodyEnd::Interrupted(Interruption::TimedOut);
        let reply = commit_append(&p, &mut info, &got(2, cut.clone()));
        assert_eq!(
            (reply.status, reply.header_value("upload-offset")),
            (408, Some("2"))
        );
        assert_eq!((info.offset, info.length), (2, Some(5)));

        let p = AppendPlan {
            offset: 2,
            new_length: None,
            body: BodyPlan {
                limit: 3,
                checksum: None,
            },
        };
        let reply = commit_append(&p, &mut info, &got(3, BodyEnd::Complete));
        assert_eq!(
            (reply.status, reply.header_value("upload-offset")),
            (204, Some("5"))
        );
        assert!(info.is_complete() && info.expires.is_none());
    }

    #[test]
    fn the_commit_discards_what_it_cannot_keep() {
        let before = blank(Some(9));
        let claim = ChecksumClaim {
            algorithm: Algorithm::Crc32,
            expected: vec![9],
        };
        let p = AppendPlan {
            offset: 0,
            new_length: None,
            body: BodyPlan {
                limit: 9,
                checksum: Some(claim),
            },
        };
        for (end, digest, status) in [
            (BodyEnd::Complete, vec![8], 460),
            (BodyEnd::TooLong, vec![9], 413),
            (BodyEnd::StoreFailed("full".into()), vec![9], 500),
            (
                BodyEnd::Interrupted(Interruption::Disconnected),
                vec![],
                400,
            ),
        ] {
            let mut info = before.clone();
            let reply = commit_append(
                &p,
                &mut info,
                &Received {
                    stored: 4,
                    digest: Some(digest),
                    end,
                },
            );
            assert_eq!(reply.status, status);
            assert_eq!(info, before, "nothing kept for {status}");
        }
        let mut info = before.clone();
        let ok = commit_append(
            &p,
            &mut info,
            &Received {
                stored: 4,
                digest: Some(vec![9]),
                end: BodyEnd::Complete,
            },
        );
        assert_eq!((ok.status, info.offset), (204, 4));
    }
}
