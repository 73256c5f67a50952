//! The store directory of one S3 output: one open staging file per tag, sealing on size, age or
//! shutdown, and start-up recovery of what a previous run left. Blocking I/O: the output task
//! calls it from a blocking thread.
//!
//! Invariants:
//! - `N.meta` is written before `N.data` is created, so data never exists without metadata
//!   (files are deleted data first, metadata last, for the same reason).
//! - A record is acknowledged only after [`Store::commit`] returned for its file: it is then in
//!   the file's compressed stream up to a flush point, fsync'd, and [`stage::recover`] gets it back
//!   after any crash.
//! - A sealed file never changes again; its key is rendered once, at sealing, and kept in its
//!   metadata, so an upload retried after a restart writes the same object.
//! - `$INDEX` is persisted (the next value) before a key using it is recorded, so no index is
//!   used twice.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::journal::{self, Meta, Recovery, Sealed, data_name};
use super::stage::{Compression, StageWriter};
use crate::config::output::s3::sizes::UploadPlan;
use crate::event::EventTime;
use crate::rng::Rng;
use crate::template::s3_key::{KeyContext, KeyTemplate, random_uuid};

/// What sealing a file needs to know.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub compression: Compression,
    pub key: KeyTemplate,
    /// When a file is due by size or age.
    pub plan: UploadPlan,
}

/// A sealed file waiting for (or in) its upload.
#[derive(Debug, Clone)]
pub struct SealedFile {
    pub id: u64,
    pub meta: Meta,
}

impl SealedFile {
    /// The sealing facts; always present on a sealed file.
    pub fn sealed(&self) -> Option<&Sealed> {
        self.meta.sealed.as_ref()
    }
}

/// An open staging file.
#[derive(Debug)]
struct Active {
    id: u64,
    writer: StageWriter,
    meta: Meta,
    opened: Instant,
    /// When it reached `upload_chunk_size` (multipart): its `upload_timeout` counts from then.
    multipart_since: Option<Instant>,
    records: u64,
    /// Disk bytes last counted into `staged_bytes`.
    counted_bytes: u64,
    dirty: bool,
}

/// Name of the lock file that keeps a second process out of a store directory.
pub const LOCK_FILE: &str = ".lock";
/// Disk held back for the repair of a file cut by a full disk: sealing it writes metadata and a
/// stream end, and when everything staged is in that one file, no upload can free the room.
pub const RESERVE_FILE: &str = ".reserve";
pub const RESERVE_BYTES: usize = 64 << 10;

/// The store of one output.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    /// Held (exclusive `flock`) for as long as the store is open: two processes staging into
    /// and recovering from one directory would upload and delete each other's files.
    _lock: fs::File,
    settings: StoreSettings,
    next_id: u64,
    active: HashMap<Arc<str>, Active>,
    /// Bytes on disk of every file not yet uploaded (shared with the uploads, which subtract).
    staged_bytes: Arc<AtomicU64>,
    rng: Rng,
    /// Renders that hit a missing `$TAG[n]` or the key length limit.
    pub key_problems: u64,
    /// Files to repair and seal (a write, a seal or a start-up repair failed, e.g. on a full
    /// disk), oldest first: [`Store::repair_pending`] tries again.
    to_repair: Vec<(u64, Meta)>,
    /// [`RESERVE_FILE`] is in place.
    reserve_held: bool,
}

impl Store {
    /// Opens (creating) `dir`, recovers what a previous run left, and returns the sealed files
    /// to upload.
    pub fn open(
        dir: &Path,
        settings: StoreSettings,
    ) -> io::Result<(Self, Vec<SealedFile>, RecoveryReport)> {
        fs::create_dir_all(dir)?;
        let lock = recovery::lock_dir(dir)?;
        let found = recovery::scan(dir)?;
        let mut store = Self {
            dir: dir.to_owned(),
            _lock: lock,
            settings,
            next_id: journal::next_id(found.keys().copied()),
            active: HashMap::new(),
            staged_bytes: Arc::new(AtomicU64::new(0)),
            rng: Rng::from_entropy(),
            key_problems: 0,
            to_repair: Vec::new(),
            reserve_held: false,
        };
        let mut report = RecoveryReport::default();
        let mut sealed = Vec::new();
        for (id, action) in journal::plan_recovery(&found) {
            let meta = found
                .get(&id)
                .and_then(|f| f.meta.as_ref())
                .and_then(|m| m.as_ref().ok())
                .cloned();
            match (action, meta) {
                (Recovery::Upload | Recovery::ResumeMultipart { .. }, Some(meta)) => {
                    sealed.push(SealedFile { id, meta });
                }
                (Recovery::RepairAndSeal, Some(meta)) => store.to_repair.push((id, meta)),
                (Recovery::AdoptOrphanData, _) => match store.adopt_orphan(id) {
                    Ok(meta) => {
                        tracing::warn!(id, dir = %dir.display(),
                            "staged data without metadata: uploading it with the tag `unknown`");
                        store.to_repair.push((id, meta));
                    }
                    Err(e) => report.unreadable.push((id, e.to_string())),
                },
                (Recovery::AbortThenDelete { upload_id }, Some(meta)) => {
                    let key = meta.sealed.map(|s| s.key).unwrap_or_default();
                    report.to_abort.push((id, key, upload_id));
                }
                (Recovery::DeleteLeftovers, _) => journal::remove_files(dir, id)?,
                (Recovery::Unreadable { reason }, _) => report.unreadable.push((id, reason)),
                (_, None) => {
                    report.unreadable.push((id, "metadata vanished".to_owned()));
                }
            }
        }
        // On a full disk a repair can fail (it may need a few bytes): the file waits for a retry
        // while the sealed files upload and free space.
        if let Err(e) = store.repair_pending(&mut sealed, &mut report) {
            report.repair_failed = Some(e.to_string());
        }
        let staged: u64 = sealed
            .iter()
            .filter_map(|f| f.sealed().map(|s| s.disk_bytes))
            .sum();
        store.staged_bytes.store(staged, Ordering::Relaxed);
        report.to_upload = sealed.len() as u64;
        report.key_problems = store.key_problems;
        Ok((store, sealed, report))
    }

    /// The directory of this store.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk not yet uploaded; the uploads subtract what they finish.
    pub fn staged_bytes(&self) -> Arc<AtomicU64> {
        self.staged_bytes.clone()
    }

    /// Files wait for [`Store::repair_pending`].
    pub fn needs_repair(&self) -> bool {
        !self.to_repair.is_empty()
    }

    /// Files currently open for writing.
    pub fn open_files(&self) -> usize {
        self.active.len()
    }

    /// Appends whole lines (`records` of them) for `tag`; opens its file first if needed, with
    /// `first_event` as the time its key shows. Nothing is durable before [`Store::commit`].
    pub fn append(
        &mut self,
        tag: &Arc<str>,
        first_event: EventTime,
        lines: &[u8],
        records: u64,
    ) -> io::Result<()> {
        if !self.active.contains_key(tag) {
            let active = self.create(tag, first_event)?;
            self.active.insert(tag.clone(), active);
        }
        let Some(active) = self.active.get_mut(tag) else {
            return Ok(()); // inserted just above
        };
        active.writer.append(lines)?;
        active.records += records;
        active.dirty = true;
        Ok(())
    }

    /// Makes every line appended to `tag`'s file durable.
    pub fn commit(&mut self, tag: &str) -> io::Result<()> {
        let Some(active) = self.active.get_mut(tag) else {
            return Ok(());
        };
        if !active.dirty {
            return Ok(());
        }
        active.writer.commit()?;
        active.dirty = false;
        let disk = active.writer.disk_bytes();
        active.multipart_since = self.settings.plan.multipart_since(
            active.opened,
            active.multipart_since,
            disk,
            Instant::now(),
        );
        self.staged_bytes
            .fetch_add(disk.saturating_sub(active.counted_bytes), Ordering::Relaxed);
        active.counted_bytes = disk;
        Ok(())
    }

    /// Seals every file that reached the size limit or the age limit ([`UploadPlan`]).
    pub fn seal_due(&mut self, now: Instant, out: &mut Vec<SealedFile>) -> io::Result<()> {
        let plan = self.settings.plan;
        let due: Vec<Arc<str>> = self
            .active
            .iter()
            .filter(|(_, a)| {
                !a.dirty
                    && (plan.size_reached(a.writer.raw_bytes(), a.counted_bytes)
                        || now >= plan.deadline(a.opened, a.multipart_since))
            })
            .map(|(tag, _)| tag.clone())
            .collect();
        for tag in due {
            self.seal(&tag, out)?;
        }
        Ok(())
    }

    /// Seals every open file (shutdown); one that fails waits for [`Store::repair_pending`].
    /// Returns the first error.
    pub fn seal_all(&mut self, out: &mut Vec<SealedFile>) -> io::Result<()> {
        let tags: Vec<Arc<str>> = self.active.keys().cloned().collect();
        let mut first_error = None;
        for tag in tags {
            let sealed = match self.commit(&tag) {
                Ok(()) => self.seal(&tag, out),
                Err(e) => self.abandon(&tag, out).and(Err(e)),
            };
            first_error = first_error.or(sealed.err());
        }
        first_error.map_or(Ok(()), Err)
    }

    /// When the first open file reaches its `upload_timeout`.
    pub fn next_deadline(&self) -> Option<Instant> {
        let plan = self.settings.plan;
        self.active
            .values()
            .map(|a| plan.deadline(a.opened, a.multipart_since))
            .min()
    }

    /// Ends `tag`'s stream and seals the file; if that fails it waits for a repair.
    fn seal(&mut self, tag: &str, out: &mut Vec<SealedFile>) -> io::Result<()> {
        let Some(active) = self.active.remove(tag) else {
            return Ok(());
        };
        let Active {
            id,
            writer,
            mut meta,
            records,
            counted_bytes,
            ..
        } = active;
        self.uncount(counted_bytes);
        let committed = writer.committed_disk_bytes();
        let sealed = writer
            .finish()
            .inspect_err(|_| self.cut_to_commit(id, committed));
        let sealed = sealed.and_then(|finished| {
            let key = self.render_key(&meta)?;
            Ok(Sealed {
                key,
                disk_bytes: finished.disk_bytes,
                raw_bytes: finished.raw_bytes,
                records,
            })
        });
        let sealed = match sealed {
            Ok(sealed) => sealed,
            Err(e) => {
                self.to_repair.push((id, meta));
                return Err(e);
            }
        };
        self.staged_bytes
            .fetch_add(sealed.disk_bytes, Ordering::Relaxed);
        meta.sealed = Some(sealed);
        self.persist_sealed(id, &meta);
        out.push(SealedFile { id, meta });
        Ok(())
    }

    fn create(&mut self, tag: &Arc<str>, first_event: EventTime) -> io::Result<Active> {
        let id = self.next_id;
        self.next_id += 1;
        let meta = Meta::unsealed(
            tag.to_string(),
            self.settings.compression,
            unix_ms(SystemTime::now()),
            first_event,
        );
        journal::write_meta(&self.dir, id, &meta)?;
        let writer = StageWriter::create(&self.dir.join(data_name(id)), self.settings.compression)
            .inspect_err(|_| {
                // Metadata without data: the next start deletes it if this cannot.
                if let Err(e) = journal::remove_files(&self.dir, id) {
                    tracing::warn!(dir = %self.dir.display(), id, error = %e,
                        "could not remove the metadata of a staging file that was not created");
                }
            })?;
        Ok(Active {
            id,
            writer,
            meta,
            opened: Instant::now(),
            multipart_since: None,
            records: 0,
            counted_bytes: 0,
            dirty: false,
        })
    }

    /// Renders the key of a file being sealed; persists the next `$INDEX` first.
    fn render_key(&mut self, meta: &Meta) -> io::Result<String> {
        let template = &self.settings.key;
        let index = if template.uses_index() {
            let index = journal::read_index(&self.dir)?;
            journal::write_index(&self.dir, index + 1)?;
            index
        } else {
            0
        };
        let uuid = if template.needs_uuid() {
            random_uuid(&mut self.rng)
        } else {
            String::new()
        };
        let mut key = String::new();
        let info = template.render(
            &KeyContext {
                tag: &meta.tag,
                unix_secs: meta.first_event.secs,
                index,
                uuid: &uuid,
            },
            &mut key,
        );
        if info.missing_tag_part || info.truncated {
            self.key_problems += 1;
        }
        Ok(key)
    }

    fn uncount(&self, bytes: u64) {
        let _ = self
            .staged_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(bytes))
            });
    }
}

/// Deletes an uploaded file and subtracts its bytes from the staged total.
pub fn forget(dir: &Path, file: &SealedFile, staged_bytes: &AtomicU64) -> io::Result<()> {
    journal::remove_files(dir, file.id)?;
    let bytes = file.sealed().map_or(0, |s| s.disk_bytes);
    let _ = staged_bytes.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_sub(bytes))
    });
    Ok(())
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Start-up recovery: scanning the directory, repairing and adopting files, the lock.
mod recovery;

pub use recovery::RecoveryReport;

#[cfg(test)]
mod tests;
