//! The `.info` file's format: an upload's [`UploadInfo`] kept in two slots that take turns,
//! so that saving it after a request is one positional write into the file, not a new file
//! renamed over the old one (which costs a new inode, the old one's release and, on ext4, a
//! flush of the new file: about a tenth of a millisecond, more than anything else a 1 MiB
//! `PATCH` costs the server).
//!
//! The file is two slots of [`SLOT_ALIGN`]-multiple size. A slot is a text header line, the
//! info as JSON, and blank padding:
//!
//! ```text
//! tusky-upload-info 2 seq 00000000000000000007 len 0000000312 crc32 1c291ca3
//! {"id":"…","length":…,"offset":…,…}
//! ```
//!
//! `seq` orders the saves; `crc32` covers `seq` and the JSON. The current info is the valid
//! slot with the highest `seq`; a save writes the **other** slot, so the current one is never
//! touched. Why that is safe:
//!
//! - A process killed (or a machine stopped) in the middle of a save leaves that slot torn:
//!   its checksum fails, and the other slot — the info before that request — is read at the
//!   next start. The data file's bytes past that offset are dropped then, as for any request
//!   cut short; the client was not answered, and resumes from `HEAD`.
//! - A slot's checksum cannot pass on a mix of two saves (seq, length and content are all
//!   checked), and the loader never panics on any bytes.
//! - An info that outgrows its slot (it grows only a little after creation: digits of the
//!   offset, a deferred length) is written as a new file through a temporary file and a
//!   rename, atomic as before; so is the first info of an upload.
//!
//! Format 1, the JSON file the server wrote before, is still read (and replaced by format 2 at
//! the next save).

use serde::{Deserialize, Serialize};

use crate::tus::info::UploadInfo;

/// Slots are a multiple of this many bytes (a page), at offset 0 and at the slot size.
pub(crate) const SLOT_ALIGN: usize = 4096;

/// Room left in a new slot for the info to grow (offset digits, a deferred length).
const HEADROOM: usize = 64;

const MAGIC: &str = "tusky-upload-info 2";

/// `MAGIC seq <20 digits> len <10 digits> crc32 <8 hex>\n`.
const HEADER_LEN: usize =
    MAGIC.len() + " seq ".len() + 20 + " len ".len() + 10 + " crc32 ".len() + 8 + 1;

/// The info file of format 1: pretty JSON, replaced whole.
#[derive(Serialize, Deserialize)]
struct FormatOne {
    format: u32,
    upload: UploadInfo,
}

/// What an `.info` file holds, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) info: UploadInfo,
    /// Where a save goes next; `None` when the file must be written anew (format 1).
    pub(crate) next: Option<NextSave>,
}

/// The slot a save writes, and what it writes there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NextSave {
    /// The slot size of the file.
    pub(crate) slot_size: usize,
    /// 0 or 1: the slot not holding the current info.
    pub(crate) slot: usize,
    pub(crate) seq: u64,
}

impl NextSave {
    /// The byte offset of the slot in the file.
    pub(crate) fn position(&self) -> u64 {
        (self.slot * self.slot_size) as u64
    }
}

/// Why an `.info` file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// Neither slot holds a whole info (nor is it format 1).
    NoValidSlot,
    /// A readable info of another format version.
    OtherFormat(u32),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::NoValidSlot => f.write_str("neither slot of the info file is whole"),
            DecodeError::OtherFormat(v) => write!(f, "info file format {v}, expected 1 or 2"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The current info of an `.info` file, and where the next save goes.
pub(crate) fn decode(file: &[u8]) -> Result<Decoded, DecodeError> {
    if file.first() == Some(&b'{') {
        return decode_format_one(file);
    }
    let slot_size = file.len() / 2;
    if slot_size < SLOT_ALIGN
        || !slot_size.is_multiple_of(SLOT_ALIGN)
        || file.len() != 2 * slot_size
    {
        return Err(DecodeError::NoValidSlot);
    }
    let slots = [&file[..slot_size], &file[slot_size..]];
    let read: Vec<Option<(u64, UploadInfo)>> = slots.iter().map(|s| decode_slot(s)).collect();
    let current = match (&read[0], &read[1]) {
        (Some((a, _)), Some((b, _))) => usize::from(b > a),
        (Some(_), None) => 0,
        (None, Some(_)) => 1,
        (None, None) => return Err(DecodeError::NoValidSlot),
    };
    let Some((seq, info)) = read[current].clone() else {
        return Err(DecodeError::NoValidSlot);
    };
    Ok(Decoded {
        info,
        next: Some(NextSave {
            slot_size,
            slot: 1 - current,
            seq: seq.saturating_add(1),
        }),
    })
}

fn decode_format_one(file: &[u8]) -> Result<Decoded, DecodeError> {
    #[derive(Deserialize)]
    struct Version {
        format: u32,
    }
    let version: Version = serde_json::from_slice(file).map_err(|_| DecodeError::NoValidSlot)?;
    if version.format != 1 {
        return Err(DecodeError::OtherFormat(version.format));
    }
    let one: FormatOne = serde_json::from_slice(file).map_err(|_| DecodeError::NoValidSlot)?;
    Ok(Decoded {
        info: one.upload,
        next: None,
    })
}

/// A slot's `seq` and info, when it is whole.
fn decode_slot(slot: &[u8]) -> Option<(u64, UploadInfo)> {
    let header = std::str::from_utf8(slot.get(..HEADER_LEN)?).ok()?;
    let fields: Vec<&str> = header.strip_suffix('\n')?.split(' ').collect();
    let [m1, m2, "seq", seq, "len", len, "crc32", crc] = fields.as_slice() else {
        return None;
    };
    if format!("{m1} {m2}") != MAGIC || seq.len() != 20 || len.len() != 10 || crc.len() != 8 {
        return None;
    }
    let seq: u64 = seq.parse().ok()?;
    let len: usize = len.parse().ok()?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    let json = slot.get(HEADER_LEN..HEADER_LEN.checked_add(len)?)?;
    if checksum(seq, json) != crc {
        return None;
    }
    let info = serde_json::from_slice(json).ok()?;
    Some((seq, info))
}

/// One slot holding `info` as save number `seq`, padded to `slot_size` bytes; `None` when it
/// does not fit.
pub(crate) fn encode_slot(info: &UploadInfo, seq: u64, slot_size: usize) -> Option<Vec<u8>> {
    let json = serde_json::to_vec(info).ok()?;
    if HEADER_LEN + json.len() + 1 > slot_size {
        return None;
    }
    let mut slot = Vec::with_capacity(slot_size);
    slot.extend_from_slice(
        format!(
            "{MAGIC} seq {seq:020} len {:010} crc32 {:08x}\n",
            json.len(),
            checksum(seq, &json)
        )
        .as_bytes(),
    );
    slot.extend_from_slice(&json);
    slot.push(b'\n');
    slot.resize(slot_size - 1, b' ');
    slot.push(b'\n');
    Some(slot)
}

/// A whole new `.info` file holding `info` (in its first slot; the second is blank), with
/// slots large enough for it and some growth.
pub(crate) fn encode_file(info: &UploadInfo) -> Vec<u8> {
    let json_len = serde_json::to_vec(info).map_or(0, |j| j.len());
    let needed = HEADER_LEN + json_len + 1 + HEADROOM;
    let slot_size = needed.div_ceil(SLOT_ALIGN) * SLOT_ALIGN;
    let mut file = encode_slot(info, 0, slot_size).unwrap_or_default();
    file.resize(2 * slot_size, b' ');
    if let Some(last) = file.last_mut() {
        *last = b'\n';
    }
    file
}

fn checksum(seq: u64, json: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(json);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::tus::info::blank;

    fn info(offset: u64, metadata: &str) -> UploadInfo {
        let mut info = blank(Some(offset.saturating_mul(2)));
        info.id = "0123456789abcdef0123456789abcdef".into();
        info.offset = offset;
        info.metadata_header = Some(metadata.into());
        info
    }

    /// `file` after saving `info` where [`decode`] says.
    fn save(file: &mut [u8], info: &UploadInfo) {
        let next = decode(file).unwrap().next.unwrap();
        let slot = encode_slot(info, next.seq, next.slot_size).unwrap();
        let at = next.position() as usize;
        file[at..at + slot.len()].copy_from_slice(&slot);
    }

    #[test]
    fn saves_alternate_slots_and_the_last_one_is_read() {
        let mut file = encode_file(&info(0, "a"));
        assert_eq!(file.len(), 2 * SLOT_ALIGN);
        assert_eq!(decode(&file).unwrap().info, info(0, "a"));
        for offset in 1..5 {
            let before = decode(&file).unwrap().next.unwrap();
            save(&mut file, &info(offset, "a"));
            let after = decode(&file).unwrap();
            assert_eq!(after.info, info(offset, "a"));
            let next = after.next.unwrap();
            assert_eq!((next.slot, next.seq), (1 - before.slot, before.seq + 1));
        }
        // Readable as text.
        let text = String::from_utf8(file).unwrap();
        assert!(text.starts_with("tusky-upload-info 2 seq 00000000000000000004 len "));
    }

    #[test]
    fn a_torn_save_leaves_the_info_before_it() {
        let mut file = encode_file(&info(1, "a"));
        save(&mut file, &info(2, "a"));
        let next = decode(&file).unwrap().next.unwrap();
        let slot = encode_slot(&info(3, "a"), next.seq, next.slot_size).unwrap();
        let at = next.position() as usize;
        // Only the header and part of the JSON reach the file.
        file[at..at + HEADER_LEN + 5].copy_from_slice(&slot[..HEADER_LEN + 5]);
        let read = decode(&file).unwrap();
        assert_eq!(read.info, info(2, "a"));
        // The next save goes over the torn slot, never over the good one.
        assert_eq!(read.next.unwrap().slot, next.slot);
    }

    #[test]
    fn an_info_too_large_for_its_slot_does_not_fit() {
        let long = "m".repeat(SLOT_ALIGN);
        assert!(encode_slot(&info(0, &long), 1, SLOT_ALIGN).is_none());
        let file = encode_file(&info(0, &long));
        assert_eq!(file.len(), 2 * 2 * SLOT_ALIGN);
        assert_eq!(decode(&file).unwrap().info, info(0, &long));
    }

    #[test]
    fn format_one_is_read_and_other_formats_are_not() {
        let one = serde_json::to_vec_pretty(&FormatOne {
            format: 1,
            upload: info(7, "x"),
        })
        .unwrap();
        let read = decode(&one).unwrap();
        assert_eq!((read.info, read.next), (info(7, "x"), None));
        let other = String::from_utf8(one)
            .unwrap()
            .replace("\"format\": 1", "\"format\": 99");
        assert_eq!(
            decode(other.as_bytes()).unwrap_err(),
            DecodeError::OtherFormat(99)
        );
        assert_eq!(decode(b"").unwrap_err(), DecodeError::NoValidSlot);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..9000)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn a_damaged_byte_never_yields_a_wrong_info(
            offsets in proptest::collection::vec(0u64..u64::MAX / 2, 1..6),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let mut file = encode_file(&info(offsets[0], "m"));
            for &o in &offsets[1..] {
                save(&mut file, &info(o, "m"));
            }
            let last = info(*offsets.last().unwrap(), "m");
            let before = offsets.len().checked_sub(2).map(|i| info(offsets[i], "m"));
            let i = at.index(file.len());
            file[i] ^= flip;
            match decode(&file) {
                Ok(read) => prop_assert!(read.info == last || Some(&read.info) == before.as_ref()),
                Err(e) => prop_assert_eq!(e, DecodeError::NoValidSlot),
            }
        }
    }
}
