//! Start-up recovery of a store directory: its lock, the scan of what a previous run left, and
//! the repair of files it did not seal.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Active, LOCK_FILE, RESERVE_BYTES, RESERVE_FILE, SealedFile, Store, unix_ms};
use crate::event::EventTime;
use crate::output::s3::journal::{
    self, FileName, Found, Meta, ORPHAN_TAG, Sealed, data_name, meta_name,
};
use crate::output::s3::stage;

/// What start-up recovery found (for logs and metrics).
#[derive(Debug, Default)]
pub struct RecoveryReport {
    /// Files left unsealed by a crash, repaired and sealed.
    pub repaired: u64,
    /// Bytes dropped from the tails of repaired files (never acknowledged records).
    pub dropped_tail_bytes: u64,
    /// Sealed files found (including repaired ones) to upload.
    pub to_upload: u64,
    /// Multipart uploads to abort (their data was already gone): `(key, upload id)`.
    pub to_abort: Vec<(u64, String, String)>,
    /// Ids whose metadata could not be used, with the reason: left alone.
    pub unreadable: Vec<(u64, String)>,
    /// Key renders that hit a missing `$TAG[n]` or the key length limit.
    pub key_problems: u64,
    /// Why repairing left files failed (they are tried again while the output runs).
    pub repair_failed: Option<String>,
}

impl Store {
    /// A file whose write or commit failed: its stream may be inconsistent, so it is closed,
    /// repaired in place (keeping every committed line) and sealed into `out`; if the repair
    /// fails too, it waits for [`Store::repair_pending`].
    pub fn abandon(&mut self, tag: &str, out: &mut Vec<SealedFile>) -> io::Result<()> {
        let Some(active) = self.active.remove(tag) else {
            return Ok(());
        };
        let Active {
            id,
            writer,
            meta,
            counted_bytes,
            ..
        } = active;
        let committed = writer.committed_disk_bytes();
        drop(writer);
        self.uncount(counted_bytes);
        self.cut_to_commit(id, committed);
        self.to_repair.push((id, meta));
        self.repair_pending(out, &mut RecoveryReport::default())
    }

    /// Cuts file `id`'s data at its last commit (nothing uncommitted is kept by its repair, so
    /// lines written again are not duplicated). Best effort: cutting needs no disk space.
    pub(super) fn cut_to_commit(&self, id: u64, committed: u64) {
        let path = self.dir.join(data_name(id));
        let cut = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(committed));
        if let Err(e) = cut {
            tracing::warn!(file = %path.display(), error = %e,
                "could not cut a failed staging file at its last commit; its repair may keep lines written again (duplicates)");
        }
    }

    /// Repairs, in place, the stream of an unsealed file (crash or failed write) and seals it;
    /// a file left with no line is deleted instead (`None`).
    pub(super) fn repair_and_seal(
        &mut self,
        id: u64,
        mut meta: Meta,
        report: &mut RecoveryReport,
    ) -> io::Result<Option<SealedFile>> {
        let data = self.dir.join(data_name(id));
        let recovered = match stage::recover(&data, meta.compression) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => None, // its creation failed
            other => Some(other?),
        };
        report.dropped_tail_bytes += recovered.map_or(0, |r| r.dropped_tail_bytes);
        let Some(recovered) = recovered.filter(|r| r.lines > 0) else {
            journal::remove_files(&self.dir, id)?;
            return Ok(None);
        };
        let key = self.render_key(&meta)?;
        meta.sealed = Some(Sealed {
            key,
            disk_bytes: recovered.finished.disk_bytes,
            raw_bytes: recovered.finished.raw_bytes,
            records: recovered.lines,
        });
        self.persist_sealed(id, &meta);
        report.repaired += 1;
        self.staged_bytes
            .fetch_add(recovered.finished.disk_bytes, Ordering::Relaxed);
        Ok(Some(SealedFile { id, meta }))
    }

    /// Repairs and seals the files waiting for it ([`Store::needs_repair`]), oldest first,
    /// stopping at the first that fails again (a full disk): it stays first in line.
    /// On a full disk the reserve is given up to make room for it (see [`RESERVE_BYTES`]).
    pub fn repair_pending(
        &mut self,
        out: &mut Vec<SealedFile>,
        report: &mut RecoveryReport,
    ) -> io::Result<()> {
        while let Some((id, meta)) = self.to_repair.first().cloned() {
            let sealed = match self.repair_and_seal(id, meta.clone(), report) {
                Err(e) if is_disk_full(&e) && self.release_reserve() => {
                    self.repair_and_seal(id, meta, report)?
                }
                other => other?,
            };
            self.to_repair.remove(0);
            out.extend(sealed);
        }
        self.hold_reserve();
        Ok(())
    }

    /// Writes a sealed file's metadata; if that fails (a full disk) the file is uploaded anyway,
    /// from the metadata in memory: a crash before its upload repairs it again at the next start.
    pub(super) fn persist_sealed(&self, id: u64, meta: &Meta) {
        if let Err(e) = journal::write_meta(&self.dir, id, meta) {
            tracing::warn!(dir = %self.dir.display(), id, error = %e,
                "could not write a sealed file's metadata; uploading it anyway (if firelane stops first, it is repaired again at the next start)");
        }
    }

    /// Takes [`RESERVE_BYTES`] of disk in [`RESERVE_FILE`], if it is not held and there is room.
    pub(super) fn hold_reserve(&mut self) {
        if self.reserve_held {
            return;
        }
        let path = self.dir.join(RESERVE_FILE);
        match fs::write(&path, vec![0u8; RESERVE_BYTES]) {
            Ok(()) => self.reserve_held = true,
            Err(_) => {
                let _ = fs::remove_file(&path);
            }
        }
    }

    /// Gives the reserve up; whether there was one.
    fn release_reserve(&mut self) -> bool {
        let held = std::mem::take(&mut self.reserve_held);
        held && fs::remove_file(self.dir.join(RESERVE_FILE)).is_ok()
    }

    /// Metadata for data whose metadata is gone (see [`Recovery::AdoptOrphanData`]); written
    /// when the file is sealed.
    pub(super) fn adopt_orphan(&mut self, id: u64) -> io::Result<Meta> {
        let data = self.dir.join(data_name(id));
        let mut head = [0u8; 4];
        let n = {
            use std::io::Read as _;
            fs::File::open(&data)?.read(&mut head)?
        };
        let modified = fs::metadata(&data)?
            .modified()
            .unwrap_or_else(|_| SystemTime::now());
        let first = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
        let meta = Meta::unsealed(
            ORPHAN_TAG.to_owned(),
            journal::sniff_compression(&head[..n]),
            unix_ms(SystemTime::now()),
            EventTime {
                secs: i64::try_from(first.as_secs()).unwrap_or(0),
                nanos: first.subsec_nanos(),
            },
        );
        Ok(meta)
    }
}

/// Takes the directory's lock file, or fails naming the reason (another process has it).
pub(super) fn lock_dir(dir: &Path) -> io::Result<fs::File> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "another process is using this store directory (give each firelane its own store_dir)",
        )),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The files of every staging id in `dir`, with metadata parsed.
pub(super) fn scan(dir: &Path) -> io::Result<BTreeMap<u64, Found>> {
    let mut found: BTreeMap<u64, Found> = BTreeMap::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        match journal::classify_name(name) {
            FileName::Data(id) => found.entry(id).or_default().data = true,
            FileName::MetaTmp(id) => found.entry(id).or_default().meta_tmp = true,
            FileName::Parts(id) => found.entry(id).or_default().parts = true,
            FileName::Meta(id) => {
                let parsed = fs::read(dir.join(meta_name(id)))
                    .map_err(|e| journal::JournalError::Json(e.to_string()))
                    .and_then(|bytes| Meta::from_json(&bytes));
                found.entry(id).or_default().meta = Some(parsed);
            }
            FileName::Index | FileName::Other => {}
        }
    }
    // Leftover repair outputs of an interrupted recovery are rebuilt from the data file.
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if name.to_str().is_some_and(|n| n.ends_with(".data.repaired")) {
            fs::remove_file(dir.join(name))?;
        }
    }
    Ok(found)
}

/// ENOSPC (or a quota's EDQUOT).
fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}
