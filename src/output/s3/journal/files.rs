//! The blocking file helpers of the store directory: atomic replacement, the index file, the
//! parts journal's durable appends, and removal in the order recovery relies on.
//!
//! Each call is durable when it returns: file data fsync'd, and the directory too whenever an
//! entry was created, renamed or removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::{
    INDEX_FILE, MAX_PARTS, Meta, TMP_SUFFIX, data_name, meta_name, parse_canonical_u64, part_line,
    parts_name, valid_etag,
};

/// Replaces `dir/name` with `bytes` atomically and durably: write `name.tmp`, fsync, rename,
/// fsync the directory. A failed call removes its temporary file (best effort).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(name))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `N.meta` with [`write_atomic`].
pub fn write_meta(dir: &Path, id: u64, meta: &Meta) -> io::Result<()> {
    write_atomic(dir, &meta_name(id), &meta.to_json())
}

/// The next `$INDEX` value from the `index` file; 0 when there is none yet.
pub fn read_index(dir: &Path) -> io::Result<u64> {
    let text = match fs::read_to_string(dir.join(INDEX_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    parse_canonical_u64(text.trim_end()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{INDEX_FILE} file does not hold a decimal number: {text:?}"),
        )
    })
}

/// Records the next `$INDEX` value (decimal and a newline), with [`write_atomic`].
pub fn write_index(dir: &Path, next: u64) -> io::Result<()> {
    write_atomic(dir, INDEX_FILE, format!("{next}\n").as_bytes())
}

/// Appends `<number> <etag>\n` to `N.parts` and fdatasyncs it (and the directory when the
/// file is new). A torn last line left by a crash is cut off first, so it can neither swallow
/// this line nor be completed into a wrong ETag.
pub fn append_part(dir: &Path, id: u64, number: u32, etag: &str) -> io::Result<()> {
    if !(1..=MAX_PARTS).contains(&number) || !valid_etag(etag) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("cannot journal part {number} with ETag {etag:?}"),
        ));
    }
    let path = dir.join(parts_name(id));
    let mut options = OpenOptions::new();
    options.read(true).append(true);
    let (mut file, created) = match options.clone().create_new(true).open(&path) {
        Ok(file) => (file, true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => (options.open(&path)?, false),
        Err(e) => return Err(e),
    };
    if !created {
        cut_torn_tail(&mut file)?;
    }
    file.write_all(part_line(number, etag).as_bytes())?;
    file.sync_data()?;
    if created {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Truncates the file after its last `\n` when it does not end with one.
fn cut_torn_tail(file: &mut File) -> io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut contents = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut contents)?;
    let keep = contents
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    file.set_len(keep as u64)?;
    file.sync_data()
}

/// Deletes every file of staging id N (missing ones are fine): data first, metadata last, so
/// an interrupted removal leaves a leftover, never orphan data. Then fsyncs the directory.
pub fn remove_files(dir: &Path, id: u64) -> io::Result<()> {
    let names = [
        data_name(id),
        parts_name(id),
        format!("{}{TMP_SUFFIX}", meta_name(id)),
        meta_name(id),
    ];
    for name in names {
        match fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
