//! `POST` on the endpoint: creation, creation-with-upload, creation-defer-length,
//! concatenation and idempotent creation — the plan made from the request head, the commit
//! made from what became of the body, and the answer.

use std::time::SystemTime;

use url::Url;

use super::body::{BodyEnd, BodyPlan, Received};
use super::checksum;
use super::concat::{self, ConcatRequest};
use super::config::Protocol;
use super::extension::Extension;
use super::idempotency::{self, CreationAsk, IdempotencyRecord};
use super::info::{Concat, UploadInfo};
use super::metadata;
use super::reply::Reply;
use super::request::RequestHead;
use super::uploads::Uploads;

/// What a creation request will make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Creation {
    /// A new upload.
    New(CreationPlan),
    /// The upload an earlier request with the same `Idempotency-Key` created: answer it
    /// again ([`created`]); a body this request carries is not read.
    Repeat {
        info: UploadInfo,
        answer_offset: bool,
    },
}

/// A new upload, before its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreationPlan {
    /// The upload (no id yet, offset 0; a final upload's length is its partials' total).
    pub(crate) info: UploadInfo,
    pub(crate) body: CreationBody,
    /// When the upload expires if it is unfinished.
    pub(crate) expires_at: Option<SystemTime>,
    /// Answer `Upload-Offset` (a creation-with-upload request).
    pub(crate) answer_offset: bool,
}

/// Where a new upload's first bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CreationBody {
    /// Nowhere: it starts empty.
    Nothing,
    /// The request body (creation-with-upload).
    Upload(BodyPlan),
    /// The bytes of these partial uploads, in order (a final upload).
    Concatenate(Vec<String>),
}

/// Decides on a creation `POST` from its head: 400 for a bad header, 413 over
/// `Tus-Max-Size` (or a known body over `Upload-Length`), 422/409 for a repeated
/// `Idempotency-Key` that cannot be answered; else what to create.
pub(crate) fn plan_creation(
    protocol: &Protocol,
    head: &RequestHead<'_>,
    endpoint: &Url,
    uploads: &dyn Uploads,
    now: SystemTime,
) -> Result<Creation, Reply> {
    let concat_header = if protocol.has(Extension::Concatenation) {
        head.get("upload-concat")?
    } else {
        None
    };
    let concat = concat_header.map(concat::parse_concat).transpose()?;
    let metadata_header = head.get("upload-metadata")?;
    if let Some(h) = metadata_header {
        metadata::parse(h).map_err(|e| Reply::error(400, e.to_string()))?;
    }
    let length = head.get_u64("upload-length")?;
    let defer = head.get("upload-defer-length")?;
    let with_upload = head.is_offset_stream() && protocol.has(Extension::CreationWithUpload);

    let key = idempotency::key(head)?;
    let ask = CreationAsk {
        length,
        deferred: defer.is_some(),
        concat: concat_header.map(|c| c.trim().to_owned()),
    };
    if let Some(key) = key {
        if let Some(info) = idempotency::repeated(uploads.by_key(key), &ask, now)? {
            return Ok(Creation::Repeat {
                info,
                answer_offset: with_upload,
            });
        }
    }

    let mut info = UploadInfo {
        id: String::new(),
        length: None,
        offset: 0,
        metadata_header: metadata_header.map(str::to_owned),
        concat: Concat::None,
        concat_header: concat_header.map(str::to_owned),
        expires: None,
        terminated: false,
        idempotency: key.map(|key| IdempotencyRecord {
            key: key.to_owned(),
            ask,
        }),
    };
    let body = if let Some(ConcatRequest::Final(urls)) = &concat {
        if length.is_some() || defer.is_some() {
            return Err(Reply::error(
                400,
                "a final upload takes no Upload-Length or Upload-Defer-Length",
            ));
        }
        if head.may_have_body() {
            return Err(Reply::error(400, "a final upload takes no body"));
        }
        let find = |id: &str| uploads.info(id);
        let (ids, total) = concat::partials(protocol, endpoint, urls, &find, now)?;
        info.length = Some(total);
        CreationBody::Concatenate(ids)
    } else {
        info.length = declared_length(protocol, length, defer)?;
        if concat == Some(ConcatRequest::Partial) {
            info.concat = Concat::Partial;
        }
        first_body(protocol, head, info.length, with_upload)?
    };
    let answer_offset = with_upload && !matches!(body, CreationBody::Concatenate(_));
    Ok(Creation::New(CreationPlan {
        info,
        body,
        expires_at: protocol.expiry().map(|d| now + d),
        answer_offset,
    }))
}

/// The length of a new ordinary or partial upload: `Upload-Length`, or `None` for
/// `Upload-Defer-Length: 1`.
fn declared_length(
    protocol: &Protocol,
    length: Option<u64>,
    defer: Option<&str>,
) -> Result<Option<u64>, Reply> {
    match (length, defer) {
        (Some(_), Some(_)) => Err(Reply::error(
            400,
            "Upload-Length and Upload-Defer-Length are exclusive",
        )),
        (Some(n), None) => {
            protocol.check_max(n)?;
            Ok(Some(n))
        }
        (None, Some(d)) => {
            if !protocol.has(Extension::CreationDeferLength) {
                Err(Reply::error(400, "creation-defer-length is not supported"))
            } else if d.trim() != "1" {
                Err(Reply::error(400, "Upload-Defer-Length: must be 1"))
            } else {
                Ok(None)
            }
        }
        (None, None) => Err(Reply::error(
            400,
            "Upload-Length or Upload-Defer-Length: 1 required",
        )),
    }
}

/// The body of a creation `POST`: upload data only when it is
/// `application/offset+octet-stream` and creation-with-upload is on (another body is ignored,
/// as tusd does); checked against the length, the maximum size and `Upload-Checksum`.
fn first_body(
    protocol: &Protocol,
    head: &RequestHead<'_>,
    length: Option<u64>,
    with_upload: bool,
) -> Result<CreationBody, Reply> {
    if !with_upload {
        if head.is_offset_stream() && head.may_have_body() {
            return Err(Reply::error(
                400,
                "creation-with-upload is not supported: POST without a body, then PATCH",
            ));
        }
        return Ok(CreationBody::Nothing);
    }
    let limit = match (length, head.body_len) {
        (Some(l), Some(len)) if len > l => {
            return Err(Reply::error(
                413,
                format!("{len} body bytes exceed Upload-Length {l}"),
            ))
        }
        (Some(l), _) => l,
        (None, len) => {
            if let Some(len) = len {
                protocol.check_max(len)?;
            }
            protocol.max_size.unwrap_or(u64::MAX)
        }
    };
    Ok(CreationBody::Upload(BodyPlan {
        limit,
        checksum: checksum::claim(protocol, head)?,
    }))
}

/// The new upload once its body is in, or the answer when nothing is created: 413 for a body
/// over the limit, 460 for a checksum mismatch, 500 when the bytes could not be stored. A body
/// cut short creates the upload with the bytes that arrived — none when it carried
/// `Upload-Checksum`, which they cannot match. The caller keeps exactly `info.offset` bytes.
pub(crate) fn commit_creation(plan: CreationPlan, got: &Received) -> Result<UploadInfo, Reply> {
    let mut info = plan.info;
    let checksum = match &plan.body {
        CreationBody::Upload(body) => body.checksum.as_ref(),
        _ => None,
    };
    info.offset = match &got.end {
        BodyEnd::TooLong => return Err(too_long(info.length)),
        BodyEnd::StoreFailed(why) => {
            return Err(Reply::error(500, format!("storing the body: {why}")))
        }
        BodyEnd::Complete => {
            if let (Some(claim), Some(digest)) = (checksum, &got.digest) {
                claim
                    .check(digest)
                    .map_err(|e| Reply::error(e.status(), e.to_string()))?;
            }
            got.stored
        }
        BodyEnd::Interrupted(_) if checksum.is_some() => 0,
        BodyEnd::Interrupted(_) => got.stored,
    };
    if let CreationBody::Concatenate(ids) = plan.body {
        info.concat = Concat::Final(ids);
    }
    // A final upload short of its length is being concatenated: the server, not the client,
    // finishes it, so it does not expire.
    if !info.is_complete() && !info.is_concatenating() {
        info.expires = plan.expires_at;
    }
    Ok(info)
}

/// 413 for a body longer than the upload may take.
pub(crate) fn too_long(length: Option<u64>) -> Reply {
    match length {
        Some(l) => Reply::error(413, format!("the body goes past Upload-Length {l}")),
        None => Reply::error(413, "the body goes past Tus-Max-Size"),
    }
}

/// The answer to a creation: 201, `Location`, `Upload-Expires` while expiring, and
/// `Upload-Offset` when the request carried upload data.
pub(crate) fn created(info: &UploadInfo, location: String, answer_offset: bool) -> Reply {
    let mut reply = Reply::new(201)
        .header("Location", location)
        .expires(info.expires);
    if answer_offset {
        reply = reply.header("Upload-Offset", info.offset);
    }
    reply
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use http::HeaderMap;

    use super::*;
    use crate::tus::checksum::{Algorithm, ChecksumClaim};
    use crate::tus::idempotency::KeyLookup;
    use crate::tus::info::blank;

    #[derive(Default)]
    struct Fake {
        uploads: HashMap<String, UploadInfo>,
        keys: HashMap<String, String>,
    }

    impl Uploads for Fake {
        fn info(&self, id: &str) -> Option<UploadInfo> {
            self.uploads.get(id).cloned()
        }
        fn by_key(&self, key: &str) -> KeyLookup {
            match self.keys.get(key).and_then(|id| self.info(id)) {
                Some(info) => KeyLookup::Created(Box::new(info)),
                None => KeyLookup::Unknown,
            }
        }
    }

    fn plan(
        headers: &[(&'static str, &str)],
        body_len: Option<u64>,
        fake: &Fake,
    ) -> Result<Creation, Reply> {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.append(*k, v.parse().unwrap());
        }
        let head = RequestHead {
            method: "POST",
            headers: &h,
            body_len,
        };
        let protocol = Protocol {
            max_size: Some(100),
            expires_after: Some(Duration::from_secs(60)),
            ..Protocol::default()
        };
        let endpoint = Url::parse("http://127.0.0.1:1/files/").unwrap();
        plan_creation(&protocol, &head, &endpoint, fake, SystemTime::UNIX_EPOCH)
    }

    fn new_plan(c: Result<Creation, Reply>) -> CreationPlan {
        match c {
            Ok(Creation::New(p)) => p,
            other => panic!("not a new upload: {other:?}"),
        }
    }

    const STREAM: (&str, &str) = ("content-type", "application/offset+octet-stream");

    #[test]
    fn a_body_is_planned_within_the_length_with_its_checksum() {
        let fake = Fake::default();
        let p = new_plan(plan(
            &[
                ("upload-length", "10"),
                STREAM,
                ("upload-checksum", "crc32 AAAAAA=="),
            ],
            None,
            &fake,
        ));
        assert!(p.answer_offset);
        let CreationBody::Upload(body) = &p.body else {
            panic!("{p:?}")
        };
        assert_eq!(body.limit, 10);
        assert_eq!(
            body.checksum.as_ref().map(|c| c.algorithm),
            Some(Algorithm::Crc32)
        );
        assert_eq!(
            plan(&[("upload-length", "3"), STREAM], Some(4), &fake)
                .unwrap_err()
                .status,
            413
        );
        // Deferred: the limit is the maximum size.
        let p = new_plan(plan(&[("upload-defer-length", "1"), STREAM], None, &fake));
        assert_eq!(
            p.body,
            CreationBody::Upload(BodyPlan {
                limit: 100,
                checksum: None
            })
        );
        assert_eq!(
            plan(&[("upload-defer-length", "1"), STREAM], Some(101), &fake)
                .unwrap_err()
                .status,
            413
        );
        // Another content type is not upload data.
        let p = new_plan(plan(
            &[("upload-length", "10"), ("content-type", "text/plain")],
            Some(5),
            &fake,
        ));
        assert_eq!((p.body, p.answer_offset), (CreationBody::Nothing, false));
    }

    #[test]
    fn the_commit_keeps_what_the_body_left() {
        let fake = Fake::default();
        let p = new_plan(plan(&[("upload-length", "10"), STREAM], None, &fake));
        let got = |stored, end| Received {
            stored,
            digest: None,
            end,
        };
        let info = commit_creation(p.clone(), &got(4, BodyEnd::Complete)).unwrap();
        assert_eq!((info.offset, info.length), (4, Some(10)));
        assert_eq!(
            info.expires,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(60))
        );
        let info = commit_creation(p.clone(), &got(10, BodyEnd::Complete)).unwrap();
        assert_eq!(info.expires, None, "a finished upload never expires");
        let cut = BodyEnd::Interrupted(crate::tus::body::Interruption::Disconnected);
        assert_eq!(
            commit_creation(p.clone(), &got(3, cut.clone()))
                .unwrap()
                .offset,
            3
        );
        assert_eq!(
            commit_creation(p.clone(), &got(10, BodyEnd::TooLong))
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            commit_creation(p.clone(), &got(1, BodyEnd::StoreFailed("disk".into())))
                .unwrap_err()
                .status,
            500
        );

        let mut checked = p;
        checked.body = CreationBody::Upload(BodyPlan {
            limit: 10,
            checksum: Some(ChecksumClaim {
                algorithm: Algorithm::Crc32,
                expected: vec![1, 2, 3, 4],
            }),
        });
        let digest = |d: &[u8]| Received {
            stored: 4,
            digest: Some(d.to_vec()),
            end: BodyEnd::Complete,
        };
        assert_eq!(
            commit_creation(checked.clone(), &digest(&[1, 2, 3, 4]))
                .unwrap()
                .offset,
            4
        );
        assert_eq!(
            commit_creation(checked.clone(), &digest(&[0, 0, 0, 0]))
                .unwrap_err()
                .status,
            460
        );
        let cut_short = Received {
            stored: 4,
            digest: Some(vec![]),
            end: cut,
        };
        assert_eq!(
            commit_creation(checked, &cut_short).unwrap().offset,
            0,
            "nothing kept that cannot be verified"
        );
    }

    #[test]
    fn a_repeated_key_answers_the_first_upload() {
        let mut fake = Fake::default();
        let first = new_plan(plan(
            &[("upload-length", "10"), ("idempotency-key", "k1")],
            Some(0),
            &fake,
        ));
        let mut info = commit_creation(first, &Received::complete(0)).unwrap();
        info.id = "a".into();
        info.offset = 4;
        fake.uploads.insert("a".into(), info.clone());
        fake.keys.insert("k1".into(), "a".into());
        // The draft's quoted form names the same key.
        let again = plan(
            &[
                ("upload-length", "10"),
                ("idempotency-key", "\"k1\""),
                STREAM,
            ],
            Some(10),
            &fake,
        );
        assert_eq!(
            again,
            Ok(Creation::Repeat {
                info: info.clone(),
                answer_offset: true
            })
        );
        let reply = created(&info, "http://h/files/a".into(), true);
        assert_eq!(
            (reply.status, reply.header_value("upload-offset")),
            (201, Some("4"))
        );
        let changed = plan(
            &[("upload-length", "11"), ("idempotency-key", "k1")],
            Some(0),
            &fake,
        );
        assert_eq!(changed.unwrap_err().status, 422);
        let other_key = new_plan(plan(
            &[("upload-length", "10"), ("idempotency-key", "k2")],
            Some(0),
            &fake,
        ));
        assert_eq!(other_key.info.idempotency.map(|r| r.key), Some("k2".into()));
    }

    #[test]
    fn a_final_upload_is_its_partials_total() {
        let mut fake = Fake::default();
        for (id, n) in [("a", 3), ("b", 4)] {
            let mut info = blank(Some(n));
            info.offset = n;
            info.concat = Concat::Partial;
            fake.uploads.insert(id.into(), info);
        }
        let p = new_plan(plan(
            &[("upload-concat", "final;/files/a /files/b")],
            Some(0),
            &fake,
        ));
        assert_eq!(p.info.length, Some(7));
        assert_eq!(
            p.body,
            CreationBody::Concatenate(vec!["a".into(), "b".into()])
        );
        let info = commit_creation(p, &Received::complete(7)).unwrap();
        assert_eq!(info.concat, Concat::Final(vec!["a".into(), "b".into()]));
        assert!(info.is_complete() && info.expires.is_none());
        let with_length = plan(
            &[("upload-concat", "final;/files/a"), ("upload-length", "3")],
            Some(0),
            &fake,
        );
        assert_eq!(with_length.unwrap_err().status, 400);
        assert_eq!(
            plan(&[("upload-concat", "final;/files/a")], None, &fake)
                .unwrap_err()
                .status,
            400
        );
    }
}
