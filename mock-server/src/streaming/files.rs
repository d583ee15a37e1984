//! The server's directory: for each upload `<id>` (its bytes) and `<id>.info` (its
//! [`UploadInfo`], saved after every change in one of two slots that take turns:
//! [`info_file`](super::info_file)).
//!
//! At start every `<id>.info` is read back; the data file is cut to the offset the info
//! records (a request cut short by a crash or a shutdown leaves bytes past it), or the info
//! to the bytes present when fewer survived. Expired uploads are removed then.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::info_file;
use crate::tus::body::UploadBytes;
use crate::tus::info::UploadInfo;
use crate::tus::upload_id::is_random_id;

/// Where uploads live on disk.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout in `dir`, created if missing.
    pub(crate) fn create(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Layout {
            dir: dir.to_path_buf(),
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bytes of upload `id` (an id made by [`random_id`](crate::tus::upload_id::random_id),
    /// so a plain file name).
    pub(crate) fn data_path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn info_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.info"))
    }

    /// Saves `info` in `<id>.info`: one positional write into the slot that does not hold
    /// the current info (see [`info_file`](super::info_file) for why a killed process or a
    /// torn write leaves the info before it); a new file, through a temporary file and a
    /// rename, when there is none yet or the info outgrew its slot.
    pub(crate) fn save_info(&self, info: &UploadInfo) -> io::Result<()> {
        let path = self.info_path(&info.id);
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return self.replace_info(info),
            Err(e) => return Err(e),
        };
        let mut current = Vec::new();
        file.read_to_end(&mut current)?;
        let next = info_file::decode(&current).ok().and_then(|d| d.next);
        let slot = next.and_then(|n| Some((n, info_file::encode_slot(info, n.seq, n.slot_size)?)));
        match slot {
            Some((next, bytes)) => file.write_all_at(&bytes, next.position()),
            None => self.replace_info(info),
        }
    }

    /// Writes a new `<id>.info` holding `info` through a temporary file and a rename, so a
    /// reader (or a restart) sees the old file or the new one, never a mix.
    fn replace_info(&self, info: &UploadInfo) -> io::Result<()> {
        let path = self.info_path(&info.id);
        let tmp = self.dir.join(format!("{}.info.tmp", info.id));
        {
            let mut file = File::create(&tmp)?;
            file.write_all(&info_file::encode_file(info))?;
        }
        fs::rename(&tmp, &path)
    }

    /// Removes upload `id`'s files (missing ones are fine).
    pub(crate) fn remove(&self, id: &str) -> io::Result<()> {
        for path in [self.info_path(id), self.data_path(id)] {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Every upload in the directory, its data file cut to its offset; expired ones (at
    /// `now`) and infos without data are removed. Files that are not an upload's are left
    /// alone; an unreadable info is skipped with a warning.
    pub(crate) fn load(&self, now: SystemTime) -> io::Result<Vec<UploadInfo>> {
        let mut uploads = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".info")) else {
                continue;
            };
            if !is_random_id(id) {
                continue;
            }
            match self.load_one(id, now) {
                Ok(Some(info)) => uploads.push(info),
                Ok(None) => {}
                Err(e) => tracing::warn!(id, error = %e, "skipping an upload that cannot be read"),
            }
        }
        Ok(uploads)
    }

    fn load_one(&self, id: &str, now: SystemTime) -> io::Result<Option<UploadInfo>> {
        let text = fs::read(self.info_path(id))?;
        let mut info = info_file::decode(&text).map_err(io::Error::other)?.info;
        if info.id != id {
            return Err(io::Error::other(format!(
                "the info of {id} names upload {:?}",
                info.id
            )));
        }
        if info.terminated || info.is_expired(now) {
            self.remove(id)?;
            return Ok(None);
        }
        let mut data = match DataFile::open(&self.data_path(id)) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.remove(id)?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if data.stored() < info.offset {
            info.offset = data.stored();
            self.save_info(&info)?;
        }
        data.truncate_to(info.offset)?;
        Ok(Some(info))
    }
}

/// An upload's data file, written at its end.
#[derive(Debug)]
pub(crate) struct DataFile {
    file: File,
    len: u64,
}

impl DataFile {
    /// Creates an empty data file (an existing one is emptied).
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(DataFile { file, len: 0 })
    }

    /// Opens an existing data file; writes go to its end.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        Ok(DataFile { file, len })
    }

    /// Appends every byte `source` gives (a partial upload's file, for a final upload: a copy
    /// in the kernel, `copy_file_range`, for a file); returns how many.
    pub(crate) fn append_from(&mut self, source: &mut impl Read) -> io::Result<u64> {
        self.seek_end()?;
        let copied = io::copy(source, &mut self.file)?;
        self.len += copied;
        Ok(copied)
    }

    fn seek_end(&mut self) -> io::Result<()> {
        use std::io::Seek;
        self.file.seek(io::SeekFrom::Start(self.len)).map(|_| ())
    }
}

impl UploadBytes for DataFile {
    fn stored(&self) -> u64 {
        self.len
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all_at(bytes, self.len)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn truncate_to(&mut self, len: u64) -> io::Result<()> {
        if len < self.len {
            self.file.set_len(len)?;
            self.len = len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::tus::info::blank;
    use crate::tus::upload_id::random_id;

    fn upload(layout: &Layout, offset: u64, bytes: &[u8]) -> UploadInfo {
        let mut info = blank(Some(10));
        info.id = random_id();
        info.offset = offset;
        layout.save_info(&info).unwrap();
        let mut data = DataFile::create(&layout.data_path(&info.id)).unwrap();
        data.append(bytes).unwrap();
        info
    }

    #[test]
    fn uploads_come_back_cut_to_what_both_files_agree_on() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let layout = Layout::create(dir).unwrap();
        let exact = upload(&layout, 3, b"abc");
        let longer = upload(&layout, 2, b"abcdef");
        let shorter = upload(&layout, 5, b"ab");
        let mut expired = upload(&layout, 1, b"a");
        expired.expires = Some(SystemTime::now() - Duration::from_secs(1));
        layout.save_info(&expired).unwrap();
        let orphan = upload(&layout, 0, b"");
        fs::remove_file(layout.data_path(&orphan.id)).unwrap();
        fs::write(dir.join("notes.txt"), b"not an upload").unwrap();

        let loaded = layout.load(SystemTime::now()).unwrap();
        let mut offsets: Vec<(String, u64)> =
            loaded.iter().map(|i| (i.id.clone(), i.offset)).collect();
        offsets.sort();
        let mut expected = vec![
            (longer.id.clone(), 2),
            (shorter.id.clone(), 2),
            (exact.id.clone(), 3),
        ];
        expected.sort();
        assert_eq!(offsets, expected);
        assert_eq!(fs::read(layout.data_path(&longer.id)).unwrap(), b"ab");
        assert!(!layout.data_path(&expired.id).exists());
        assert!(!dir.join(format!("{}.info", orphan.id)).exists());
        assert!(dir.join("notes.txt").exists());
        // The shorter one's info was brought down to its bytes for good.
        let again = layout.load(SystemTime::now()).unwrap();
        assert!(again.iter().any(|i| i.id == shorter.id && i.offset == 2));
    }

    /// An `.info` as the server wrote it before the slots (format 1), or of `format`.
    fn write_json_info(layout: &Layout, info: &UploadInfo, format: u32) {
        let text = serde_json::json!({ "format": format, "upload": info });
        fs::write(layout.info_path(&info.id), text.to_string()).unwrap();
    }

    #[test]
    fn an_info_of_another_format_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::create(tmp.path()).unwrap();
        let info = upload(&layout, 0, b"");
        write_json_info(&layout, &info, 99);
        assert!(layout.load(SystemTime::now()).unwrap().is_empty());
    }

    #[test]
    fn an_info_of_format_one_is_read_then_saved_in_slots() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::create(tmp.path()).unwrap();
        let mut info = upload(&layout, 2, b"ab");
        write_json_info(&layout, &info, 1);
        assert_eq!(layout.load(SystemTime::now()).unwrap(), vec![info.clone()]);
        info.offset = 1;
        layout.save_info(&info).unwrap();
        let text = fs::read(layout.info_path(&info.id)).unwrap();
        assert!(text.starts_with(b"tusky-upload-info 2 "));
        assert_eq!(layout.load(SystemTime::now()).unwrap(), vec![info]);
    }

    #[test]
    fn saves_after_the_first_write_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::create(tmp.path()).unwrap();
        let mut info = upload(&layout, 0, b"abc");
        let path = layout.info_path(&info.id);
        let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&fs::metadata(p).unwrap());
        let first = inode(&path);
        for offset in 1..=3 {
            info.offset = offset;
            layout.save_info(&info).unwrap();
            assert_eq!(inode(&path), first, "the same file, written in place");
        }
        assert_eq!(layout.load(SystemTime::now()).unwrap()[0].offset, 3);
        // An info that outgrows its slot gets a new file.
        info.metadata_header = Some("m".repeat(2 * info_file::SLOT_ALIGN));
        layout.save_info(&info).unwrap();
        assert_ne!(inode(&path), first);
        assert_eq!(layout.load(SystemTime::now()).unwrap(), vec![info]);
    }
}
