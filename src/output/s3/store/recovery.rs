//! Start-up recovery of a store directory: its lock, the scan of what a previous run left, and
//! the repair of files it did not seal.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{LOCK_FILE, RecoveryReport, SealedFile, Store, sync_dir, unix_ms};
use crate::event::EventTime;
use crate::output::s3::journal::{
    self, FileName, Found, Meta, ORPHAN_TAG, Sealed, data_name, meta_name,
};
use crate::output::s3::stage;

impl Store {
    /// Repairs the stream of an unsealed file (crash or failed write) and seals it.
    pub(super) fn repair_and_seal(
        &mut self,
        id: u64,
        mut meta: Meta,
        report: &mut RecoveryReport,
    ) -> io::Result<SealedFile> {
        let data = self.dir.join(data_name(id));
        let repaired = self.dir.join(format!("{id}.data.repaired"));
        let recovered = stage::recover(&data, &repaired, meta.compression)?;
        fs::rename(&repaired, &data)?;
        sync_dir(&self.dir)?;
        report.repaired += 1;
        report.dropped_tail_bytes += recovered.dropped_tail_bytes;
        let key = self.render_key(&meta)?;
        meta.sealed = Some(Sealed {
            key,
            disk_bytes: recovered.finished.disk_bytes,
            raw_bytes: recovered.finished.raw_bytes,
            records: recovered.lines,
        });
        journal::write_meta(&self.dir, id, &meta)?;
        self.staged_bytes
            .fetch_add(recovered.finished.disk_bytes, Ordering::Relaxed);
        Ok(SealedFile { id, meta })
    }

    /// Metadata for data whose metadata is gone (see [`Recovery::AdoptOrphanData`]).
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
        journal::write_meta(&self.dir, id, &meta)?;
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
