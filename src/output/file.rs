//! File output: lines in the configured `format` (see [`super::format`]) appended to
//! `<path>/<file>`, or one file per tag (`<path>/<tag>`) when `file` is not set (Fluent Bit's
//! `Path` and `File`).
//!
//! Per round of ready batches: encode every event into a buffer per destination file, then one
//! `write` per file on a blocking thread, then release the batches. A file whose write fails (a
//! full disk, an I/O error, a removed directory) is reopened and written again from the first
//! byte not written, after a backoff, while the round is held ([`super::local_write`]); the other
//! files' lines are not written twice. "Delivered" means handed to the
//! OS (`write(2)` returned); files are fsync'd only at shutdown (and closed without fsync when
//! evicted). Files are opened in append mode and kept open (at most [`MAX_OPEN_FILES`], least
//! recently used closed first), so rotate them with copy-and-truncate, not rename. Tags are made
//! safe as file names: `/` and NUL become `_`, and `""`, `.`, `..` get a `_` prefix, so a tag can
//! never name a file outside `path`; a tag longer than a file name can be is cut, with its hash
//! appended ([`safe_file_name`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::Receiver;

use super::format::RecordFormat;
use super::local_write::{Retrying, Unwritten, write_from};
use super::{MAX_ROUND_BYTES, OutputError, Reporter, recv_round};
use crate::config::model::FileOutputConfig;
use crate::event::Batch;
use crate::health::ComponentHealth;
use crate::msgpack::json::TranscodeStats;

/// Open file handles kept between writes; beyond this the least recently used is closed.
pub const MAX_OPEN_FILES: usize = 64;

/// Capacity a per-file buffer keeps between rounds (larger ones are shrunk back).
const KEPT_BUFFER_CAPACITY_BYTES: usize = 256 << 10;

pub struct FileOutput {
    format: RecordFormat,
    /// The configured `file`: every event goes there. `None`: one file per tag.
    fixed_name: Option<Arc<str>>,
    /// Moved into the blocking writer for each round; `None` only while it is there.
    sink: Option<FileSink>,
    dir: PathBuf,
    reporter: Reporter,
}

/// Lines bound for one file within a round, and who they came from.
#[derive(Debug, Default)]
struct Pending {
    buf: Vec<u8>,
    records: u64,
    /// How much of `buf` the file took.
    written: usize,
    /// Whether this round's lines were counted as delivered (by the attempt that finished them).
    counted: bool,
    error: Option<io::Error>,
}

impl Pending {
    fn is_written(&self) -> bool {
        self.written == self.buf.len()
    }
}

type PendingByFile = HashMap<Arc<str>, Pending>;

impl FileOutput {
    /// Creates the directory `path` (default: the working directory) if missing.
    pub fn new(
        cfg: &FileOutputConfig,
        name: Arc<str>,
        health: ComponentHealth,
    ) -> Result<Self, OutputError> {
        let dir = PathBuf::from(cfg.path.as_deref().unwrap_or("."));
        std::fs::create_dir_all(&dir).map_err(|source| OutputError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let fixed_name: Option<Arc<str>> = cfg.file.as_deref().map(Arc::from);
        Ok(Self {
            format: RecordFormat::from_file(cfg),
            sink: Some(FileSink::new(dir.clone(), fixed_name.is_none())),
            fixed_name,
            dir,
            reporter: Reporter::new(name, health),
        })
    }

    /// Writes until the channel is closed and drained, then fsyncs and closes every file.
    pub async fn run(mut self, mut rx: Receiver<Arc<Batch>>) {
        let mut round = Vec::new();
        let mut pending = PendingByFile::new();
        while recv_round(&mut rx, &mut round, MAX_ROUND_BYTES).await {
            self.encode_round(&round, &mut pending);
            pending = self.write_round(&round, pending).await;
            // Only now: releasing the batches resolves their acks.
            round.clear();
            pending.retain(|_, p| p.records > 0);
            for p in pending.values_mut() {
                p.buf.clear();
                p.buf.shrink_to(KEPT_BUFFER_CAPACITY_BYTES);
                p.records = 0;
                p.written = 0;
                p.counted = false;
            }
        }
        self.close().await;
    }

    fn encode_round(&mut self, round: &[Arc<Batch>], pending: &mut PendingByFile) {
        let mut stats = TranscodeStats::default();
        for batch in round {
            for ev in &batch.events {
                let key = self.fixed_name.as_ref().unwrap_or(&ev.tag);
                let p = pending.entry(key.clone()).or_default();
                // The file formats are one line per event: no batch framing, no sequence number.
                match self.format.write_event(ev, 0, &mut p.buf, &mut stats) {
                    Ok(()) => p.records += 1,
                    Err(e) => self.reporter.encode_failed(batch, &ev.tag, &e),
                }
            }
        }
        self.reporter
            .metrics
            .invalid_utf8
            .increment(stats.invalid_utf8_sequences);
    }

    /// Writes every pending buffer (one write per file), trying the files that failed again
    /// until every byte is written.
    async fn write_round(
        &mut self,
        round: &[Arc<Batch>],
        mut pending: PendingByFile,
    ) -> PendingByFile {
        let total_records: u64 = pending.values().map(|p| p.records).sum();
        if total_records == 0 {
            return pending; // every event failed to encode: nothing to write
        }
        let unwritten = Unwritten::new(&self.reporter, round, total_records);
        let mut retrying = Retrying::new();
        loop {
            let mut sink = self.take_sink();
            let job = tokio::task::spawn_blocking(move || {
                sink.write_all(&mut pending);
                (sink, pending)
            });
            let Ok((sink, returned)) = job.await else {
                // The writer thread panicked with the buffers: `unwritten` reports the round.
                tracing::error!(component = %self.reporter.name, "file writer task failed");
                return PendingByFile::new();
            };
            self.sink = Some(sink);
            pending = returned;
            let mut failed = None;
            let mut held = 0;
            for p in pending.values_mut() {
                match p.error.take() {
                    None if p.is_written() && !p.counted => {
                        self.reporter.delivered(p.records, p.buf.len() as u64);
                        p.counted = true;
                    }
                    None => {}
                    Some(e) => {
                        held += p.records;
                        failed = Some(e);
                    }
                }
            }
            match failed {
                None => {
                    unwritten.written();
                    return pending;
                }
                Some(e) => retrying.after_failure(&self.reporter, held, &e).await,
            }
        }
    }

    async fn close(&mut self) {
        let mut sink = self.take_sink();
        let errors = tokio::task::spawn_blocking(move || sink.sync_and_close())
            .await
            .unwrap_or_else(|e| vec![io::Error::other(format!("file sync task failed: {e}"))]);
        for e in errors {
            self.reporter.metrics.errors.increment(1);
            self.reporter
                .health
                .record_error(Instant::now(), format!("fsync failed: {e}"));
            tracing::error!(component = %self.reporter.name, error = %e, "fsync at shutdown failed");
        }
    }

    fn take_sink(&mut self) -> FileSink {
        self.sink
            .take()
            .unwrap_or_else(|| FileSink::new(self.dir.clone(), self.fixed_name.is_none()))
    }
}

/// Open files and the blocking writes (runs on a blocking thread).
#[derive(Debug)]
struct FileSink {
    dir: PathBuf,
    /// Keys are tags (made safe as file names) rather than a configured file name.
    keys_are_tags: bool,
    open: HashMap<Arc<str>, OpenFile>,
    use_clock: u64,
}

#[derive(Debug)]
struct OpenFile {
    file: File,
    last_use: u64,
}

impl FileSink {
    fn new(dir: PathBuf, keys_are_tags: bool) -> Self {
        Self {
            dir,
            keys_are_tags,
            open: HashMap::new(),
            use_clock: 0,
        }
    }

    /// Writes what each pending buffer still holds.
    fn write_all(&mut self, pending: &mut PendingByFile) {
        for (key, p) in pending.iter_mut() {
            if !p.is_written() {
                p.error = self.write(key, &p.buf, &mut p.written).err();
            }
        }
    }

    /// Writes `data[*done..]`, adding to `*done` what the file took.
    fn write(&mut self, key: &Arc<str>, data: &[u8], done: &mut usize) -> io::Result<()> {
        self.use_clock += 1;
        let result = match self.open.get_mut(&**key) {
            Some(open) => {
                open.last_use = self.use_clock;
                write_from(&mut open.file, data, done)
            }
            None => self.open_file(key).and_then(|mut file| {
                let written = write_from(&mut file, data, done);
                let open = OpenFile {
                    file,
                    last_use: self.use_clock,
                };
                self.open.insert(key.clone(), open);
                written
            }),
        };
        result.map_err(|e| {
            // Reopen next time: the file may have been removed or the disk freed up.
            self.open.remove(&**key);
            io::Error::new(e.kind(), format!("{}: {e}", self.path_of(key).display()))
        })
    }

    fn open_file(&mut self, key: &str) -> io::Result<File> {
        if self.open.len() >= MAX_OPEN_FILES {
            let lru = self
                .open
                .iter()
                .min_by_key(|(_, f)| f.last_use)
                .map(|(k, _)| k.clone());
            if let Some(k) = lru {
                self.open.remove(&k);
            }
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path_of(key))
    }

    fn path_of(&self, key: &str) -> PathBuf {
        if self.keys_are_tags {
            self.dir.join(&*safe_file_name(key))
        } else {
            self.dir.join(key)
        }
    }

    fn sync_and_close(&mut self) -> Vec<io::Error> {
        let mut errors = Vec::new();
        for (key, open) in std::mem::take(&mut self.open) {
            if let Err(e) = open.file.sync_all() {
                let path = self.path_of(&key);
                errors.push(io::Error::new(e.kind(), format!("{}: {e}", path.display())));
            }
        }
        errors
    }
}

/// The longest file name Linux filesystems take (`NAME_MAX`), in bytes.
const NAME_MAX_BYTES: usize = 255;

/// A tag as a single path component inside the output directory. A tag longer than a file name
/// can be keeps its first bytes and gets `-` and the CRC32C of the whole tag (8 hex digits), so
/// that a long tag never makes every write to its file fail (Fluent Bit retries such a chunk and
/// then drops it).
fn safe_file_name(tag: &str) -> Cow<'_, str> {
    let name = if tag.is_empty() || tag == "." || tag == ".." {
        Cow::Owned(format!("_{tag}"))
    } else if tag.contains(['/', '\0']) {
        Cow::Owned(tag.replace(['/', '\0'], "_"))
    } else {
        Cow::Borrowed(tag)
    };
    if name.len() <= NAME_MAX_BYTES {
        return name;
    }
    let mut keep = NAME_MAX_BYTES - 9;
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    Cow::Owned(format!(
        "{}-{:08x}",
        &name[..keep],
        crc32c::crc32c(tag.as_bytes())
    ))
}

impl crate::output::Output for FileOutput {
    type Options = crate::config::model::FileOutputConfig;

    async fn build(
        options: &Self::Options,
        ctx: crate::output::Context<'_>,
    ) -> Result<Self, String> {
        Self::new(options, ctx.name, ctx.health).map_err(|e| e.to_string())
    }

    fn run(self, rx: Receiver<Arc<Batch>>) -> impl std::future::Future<Output = ()> + Send {
        FileOutput::run(self, rx)
    }
}

#[cfg(test)]
mod tests;
