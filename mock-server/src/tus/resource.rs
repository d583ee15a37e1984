//! An upload URL: whether the upload can be used, `HEAD`, and termination. Pure functions.

use std::time::SystemTime;

use super::info::UploadInfo;
use super::reply::Reply;

/// The upload if it can be used: 404 when unknown or terminated, 410 when expired, 423 while
/// `locked` (the mock's `lock_uploads`, the streaming server's request in progress).
pub(crate) fn live(
    info: Option<&UploadInfo>,
    now: SystemTime,
    locked: bool,
) -> Result<&UploadInfo, Reply> {
    let info = match info {
        Some(u) if !u.terminated => u,
        Some(_) => return Err(Reply::error(404, "upload terminated")),
        None => return Err(Reply::error(404, "no such upload")),
    };
    if info.is_expired(now) {
        return Err(Reply::error(410, "upload expired"));
    }
    if locked {
        return Err(Reply::error(423, "upload locked"));
    }
    Ok(info)
}

/// `HEAD`: where the upload stands. A final upload whose concatenation has not finished
/// answers without `Upload-Offset`, as the concatenation extension asks.
pub(crate) fn head(info: &UploadInfo) -> Reply {
    let mut r = Reply::new(200).header("Cache-Control", "no-store");
    if !info.is_concatenating() {
        r = r.header("Upload-Offset", info.offset);
    }
    r = match info.length {
        Some(l) => r.header("Upload-Length", l),
        None => r.header("Upload-Defer-Length", 1),
    };
    if let Some(m) = &info.metadata_header {
        r = r.header("Upload-Metadata", m);
    }
    if let Some(c) = &info.concat_header {
        r = r.header("Upload-Concat", c);
    }
    r.expires(info.expires)
}

/// `DELETE` (termination): the upload answers 404 from now on and holds no bytes.
pub(crate) fn terminate(info: &mut UploadInfo) -> Reply {
    info.terminated = true;
    info.offset = 0;
    Reply::new(204)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::tus::info::{blank, Concat};

    #[test]
    fn gone_expired_and_locked_uploads() {
        let now = SystemTime::now();
        assert_eq!(live(None, now, false).unwrap_err().status, 404);
        let mut info = blank(Some(3));
        assert!(live(Some(&info), now, false).is_ok());
        assert_eq!(live(Some(&info), now, true).unwrap_err().status, 423);
        info.expires = Some(now - Duration::from_secs(1));
        assert_eq!(live(Some(&info), now, true).unwrap_err().status, 410);
        assert_eq!(terminate(&mut info).status, 204);
        assert_eq!(live(Some(&info), now, false).unwrap_err().status, 404);
    }

    #[test]
    fn head_tells_where_the_upload_stands() {
        let mut info = blank(None);
        info.offset = 7;
        info.metadata_header = Some("a YQ==".into());
        let r = head(&info);
        assert_eq!(r.header_value("upload-offset"), Some("7"));
        assert_eq!(r.header_value("upload-defer-length"), Some("1"));
        assert_eq!(r.header_value("upload-metadata"), Some("a YQ=="));
        assert_eq!(r.header_value("cache-control"), Some("no-store"));
        assert_eq!(r.header_value("upload-length"), None);
    }

    #[test]
    fn a_final_upload_being_concatenated_has_no_offset_yet() {
        let mut info = blank(Some(7));
        info.concat = Concat::Final(vec!["a".into()]);
        info.concat_header = Some("final;/files/a".into());
        let r = head(&info);
        assert_eq!(r.header_value("upload-offset"), None);
        assert_eq!(r.header_value("upload-length"), Some("7"));
        assert_eq!(r.header_value("upload-concat"), Some("final;/files/a"));
        info.offset = 7;
        assert_eq!(head(&info).header_value("upload-offset"), Some("7"));
    }
}
