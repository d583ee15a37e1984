//! The concatenation extension: `Upload-Concat` values, and the partial uploads a final
//! upload names. Pure functions.

use std::time::SystemTime;

use url::Url;

use super::config::Protocol;
use super::info::{Concat, UploadInfo};
use super::reply::Reply;
use super::route::{route, Route};

/// What `Upload-Concat` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConcatRequest<'a> {
    Partial,
    Final(Vec<&'a str>),
}

pub(crate) fn parse_concat(value: &str) -> Result<ConcatRequest<'_>, Reply> {
    let v = value.trim();
    if v == "partial" {
        return Ok(ConcatRequest::Partial);
    }
    match v.strip_prefix("final;") {
        Some(list) => {
            let urls: Vec<&str> = list.split_whitespace().collect();
            if urls.is_empty() {
                Err(Reply::error(
                    400,
                    "Upload-Concat: final without partial uploads",
                ))
            } else {
                Ok(ConcatRequest::Final(urls))
            }
        }
        None => Err(Reply::error(
            400,
            "Upload-Concat: expected `partial` or `final;<url> <url>…`",
        )),
    }
}

/// The partial uploads a final `Upload-Concat` names, in order, and their total length. Every
/// one must be a live, complete partial upload of this server (else 400); the total must be
/// within `Tus-Max-Size` (else 413). `find` looks an upload up by id; URLs are resolved
/// against `endpoint`.
pub(crate) fn partials(
    protocol: &Protocol,
    endpoint: &Url,
    urls: &[&str],
    find: &dyn Fn(&str) -> Option<UploadInfo>,
    now: SystemTime,
) -> Result<(Vec<String>, u64), Reply> {
    let mut ids = Vec::with_capacity(urls.len());
    let mut total: u64 = 0;
    for url in urls {
        let bad = |why: &str| Reply::error(400, format!("Upload-Concat: {url}: {why}"));
        let resolved = endpoint.join(url).map_err(|_| bad("not a URL"))?;
        let id = match route(&protocol.base_path, resolved.path()) {
            Route::Upload(id) => id,
            _ => return Err(bad("not an upload URL of this server")),
        };
        let upload = find(id).ok_or_else(|| bad("no such upload"))?;
        if upload.terminated {
            return Err(bad("terminated"));
        }
        if upload.is_expired(now) {
            return Err(bad("expired"));
        }
        if upload.concat != Concat::Partial {
            return Err(bad("not a partial upload"));
        }
        if !upload.is_complete() {
            return Err(bad("not complete"));
        }
        total = total
            .checked_add(upload.offset)
            .ok_or_else(|| bad("total length overflows"))?;
        ids.push(id.to_owned());
    }
    protocol.check_max(total)?;
    Ok((ids, total))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::tus::info::blank;

    #[test]
    fn concat_values() {
        assert_eq!(parse_concat("partial"), Ok(ConcatRequest::Partial));
        assert_eq!(
            parse_concat("final;/files/a /files/b"),
            Ok(ConcatRequest::Final(vec!["/files/a", "/files/b"]))
        );
        assert_eq!(
            parse_concat("final; http://h/files/a"),
            Ok(ConcatRequest::Final(vec!["http://h/files/a"]))
        );
        assert_eq!(parse_concat("final;").unwrap_err().status, 400);
        assert_eq!(parse_concat("final").unwrap_err().status, 400);
        assert_eq!(parse_concat("partial;x").unwrap_err().status, 400);
    }

    #[test]
    fn only_live_complete_partials_of_this_server() {
        let mut uploads = HashMap::new();
        let mut add = |id: &str, concat: Concat, offset: u64, length: u64| {
            let mut info = blank(Some(length));
            info.id = id.to_owned();
            info.concat = concat;
            info.offset = offset;
            uploads.insert(id.to_owned(), info);
        };
        add("a", Concat::Partial, 3, 3);
        add("b", Concat::Partial, 4, 4);
        add("half", Concat::Partial, 1, 4);
        add("plain", Concat::None, 2, 2);
        let find = |id: &str| uploads.get(id).cloned();
        let endpoint = Url::parse("http://127.0.0.1:1/files/").unwrap();
        let protocol = Protocol::default();
        let now = SystemTime::now();
        let resolve = |urls: &[&str]| partials(&protocol, &endpoint, urls, &find, now);
        assert_eq!(
            resolve(&["/files/a", "http://127.0.0.1:1/files/b", "a"]),
            Ok((vec!["a".into(), "b".into(), "a".into()], 10))
        );
        for bad in [
            "/files/half",
            "/files/plain",
            "/files/nope",
            "/other/a",
            "/files/a/b",
        ] {
            assert_eq!(resolve(&[bad]).unwrap_err().status, 400, "{bad}");
        }
        let small = Protocol {
            max_size: Some(6),
            ..Protocol::default()
        };
        let over = partials(&small, &endpoint, &["a", "b"], &find, now);
        assert_eq!(over.unwrap_err().status, 413);
    }
}
