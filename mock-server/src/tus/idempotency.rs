//! Idempotent creation: a creation `POST` carrying `Idempotency-Key` that repeats a key the
//! server already saw answers the upload it created then, instead of creating a second one.
//!
//! The key is remembered as long as its upload lives (not terminated, not expired). A repeat
//! that asks for something else (another `Upload-Length`, `Upload-Defer-Length` or
//! `Upload-Concat`) gets **422**; a repeat while the first request is still being received
//! (the streaming server only) gets **409** — the answers the IETF `Idempotency-Key` draft
//! gives for a changed payload and a request in progress. Pure functions.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::info::UploadInfo;
use super::reply::Reply;
use super::request::RequestHead;

/// The longest key accepted (400 beyond).
pub(crate) const MAX_KEY_LEN: usize = 255;

/// What a creation request asked for, compared when its key comes again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CreationAsk {
    /// `Upload-Length`.
    pub(crate) length: Option<u64>,
    /// `Upload-Defer-Length: 1`.
    pub(crate) deferred: bool,
    /// `Upload-Concat`, trimmed.
    pub(crate) concat: Option<String>,
}

/// The key of a creation and what it asked for, kept with the upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdempotencyRecord {
    pub(crate) key: String,
    pub(crate) ask: CreationAsk,
}

/// What the server knows about a key.
#[derive(Debug, Clone)]
pub(crate) enum KeyLookup {
    /// Never seen, or its upload is gone.
    Unknown,
    /// A creation with this key is being received (the streaming server).
    Pending,
    /// The live upload it created.
    Created(Box<UploadInfo>),
}

/// The request's `Idempotency-Key`: `Ok(None)` when absent, 400 when empty, repeated or longer
/// than [`MAX_KEY_LEN`]. The draft's form is a structured-field string (`"…"`), whose quotes
/// are not part of the key; a bare value is taken as it is, so `"k1"` and `k1` are one key.
pub(crate) fn key<'a>(head: &RequestHead<'a>) -> Result<Option<&'a str>, Reply> {
    match head.get("idempotency-key")? {
        None => Ok(None),
        Some(k) => {
            let k = k.trim();
            let k = k
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(k);
            if k.is_empty() || k.len() > MAX_KEY_LEN {
                Err(Reply::error(
                    400,
                    format!("Idempotency-Key: 1 to {MAX_KEY_LEN} visible characters"),
                ))
            } else {
                Ok(Some(k))
            }
        }
    }
}

/// The upload a repeated key stands for, when the repeat may have it: `Ok(None)` for a key
/// not seen or whose upload is gone at `now` (create), 409 while the first request is in
/// progress, 422 when `ask` differs.
pub(crate) fn repeated(
    lookup: KeyLookup,
    ask: &CreationAsk,
    now: SystemTime,
) -> Result<Option<UploadInfo>, Reply> {
    match lookup {
        KeyLookup::Unknown => Ok(None),
        KeyLookup::Created(info) if !info.is_live(now) => Ok(None),
        KeyLookup::Pending => Err(Reply::error(
            409,
            "Idempotency-Key: a creation with this key is in progress",
        )),
        KeyLookup::Created(info) => match &info.idempotency {
            Some(record) if record.ask == *ask => Ok(Some(*info)),
            _ => Err(Reply::error(
                422,
                "Idempotency-Key: already used for a creation with another Upload-Length, Upload-Defer-Length or Upload-Concat",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;
    use proptest::prelude::*;

    use super::*;
    use crate::tus::info::blank;

    fn ask(length: Option<u64>) -> CreationAsk {
        CreationAsk {
            length,
            deferred: length.is_none(),
            concat: None,
        }
    }

    fn head(headers: &HeaderMap) -> RequestHead<'_> {
        RequestHead {
            method: "POST",
            headers,
            body_len: Some(0),
        }
    }

    #[test]
    fn keys_are_read_strictly() {
        let mut h = HeaderMap::new();
        assert_eq!(key(&head(&h)), Ok(None));
        h.insert("idempotency-key", " \"abc\" ".parse().unwrap());
        assert_eq!(
            key(&head(&h)),
            Ok(Some("abc")),
            "the string, not its quotes"
        );
        h.insert("idempotency-key", "abc".parse().unwrap());
        assert_eq!(key(&head(&h)), Ok(Some("abc")));
        for empty in ["", "\"\""] {
            h.insert("idempotency-key", empty.parse().unwrap());
            assert_eq!(key(&head(&h)).unwrap_err().status, 400, "{empty:?}");
        }
        h.insert("idempotency-key", "k".repeat(256).parse().unwrap());
        assert_eq!(key(&head(&h)).unwrap_err().status, 400);
    }

    #[test]
    fn a_repeat_gets_the_upload_when_it_asks_the_same() {
        let mut info = blank(Some(5));
        info.idempotency = Some(IdempotencyRecord {
            key: "k".into(),
            ask: ask(Some(5)),
        });
        let now = SystemTime::now();
        let created = || KeyLookup::Created(Box::new(info.clone()));
        assert_eq!(
            repeated(created(), &ask(Some(5)), now),
            Ok(Some(info.clone()))
        );
        assert_eq!(
            repeated(created(), &ask(Some(6)), now).unwrap_err().status,
            422
        );
        assert_eq!(
            repeated(created(), &ask(None), now).unwrap_err().status,
            422
        );
        assert_eq!(
            repeated(KeyLookup::Pending, &ask(Some(5)), now)
                .unwrap_err()
                .status,
            409
        );
        assert_eq!(repeated(KeyLookup::Unknown, &ask(Some(5)), now), Ok(None));
        // A terminated upload frees its key.
        info.terminated = true;
        assert_eq!(
            repeated(KeyLookup::Created(Box::new(info)), &ask(Some(6)), now),
            Ok(None)
        );
    }

    proptest! {
        #[test]
        fn any_other_ask_is_422(a in proptest::option::of(any::<u64>()), b in proptest::option::of(any::<u64>()), concat in proptest::option::of("[a-z;/ ]{0,12}")) {
            let first = CreationAsk { length: a, deferred: a.is_none(), concat: None };
            let second = CreationAsk { length: b, deferred: b.is_none(), concat };
            let mut info = blank(a);
            info.idempotency = Some(IdempotencyRecord { key: "k".into(), ask: first.clone() });
            let answer = repeated(KeyLookup::Created(Box::new(info)), &second, SystemTime::now());
            prop_assert_eq!(answer.is_ok(), first == second);
        }
    }
}
