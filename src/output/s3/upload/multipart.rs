//! Multipart uploads of one sealed file: started (its upload id saved in the metadata), parts
//! uploaded in the planned ranges and journaled, resumed from the journal after a restart,
//! completed. A journal that cannot be written (a full disk) does not stop the upload.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Stop, Uploader};
use crate::output::aws::CallError;
use crate::output::aws::errors::ErrorClass;
use crate::output::s3::client::BodyRange;
use crate::output::s3::journal::{self, MultipartUpload, parts_name};
use crate::output::s3::parts::plan_parts;
use crate::output::s3::store::SealedFile;

impl Uploader {
    pub(super) async fn multipart(
        &self,
        file: &mut SealedFile,
        path: &Path,
        len: u64,
    ) -> Result<(), Stop> {
        let key = file.sealed().map(|s| s.key.clone()).unwrap_or_default();
        for _attempt in 0..2 {
            match self.multipart_once(file, &key, path, len).await {
                Err(Stop::UploadGone) => {
                    tracing::warn!(component = %self.name, key,
                        "S3 no longer knows the multipart upload; starting it again");
                    file.meta.multipart = None;
                    self.save(file, true).await.map_err(local)?;
                }
                other => return other,
            }
        }
        Err(Stop::UploadGone)
    }

    async fn multipart_once(
        &self,
        file: &mut SealedFile,
        key: &str,
        path: &Path,
        len: u64,
    ) -> Result<(), Stop> {
        // Parts are journaled only under an upload id that is itself in the metadata: a journal
        // of an upload the metadata does not name would be resumed against the wrong upload.
        let mut journaling = true;
        let upload = match &file.meta.multipart {
            Some(m) => m.clone(),
            None => {
                let upload_id = self.retrying(|| self.client.create_multipart(key)).await?;
                let m = MultipartUpload {
                    upload_id,
                    upload_chunk_bytes: self.upload_chunk_bytes,
                };
                file.meta.multipart = Some(m.clone());
                if let Err(e) = self.save(file, false).await {
                    self.journal_failed(key, &e);
                    journaling = false;
                }
                m
            }
        };
        let (dir, id) = (self.dir.clone(), file.id);
        let journaled = tokio::task::spawn_blocking(move || read_parts(&dir, id))
            .await
            .map_err(|e| local(std::io::Error::other(e)))?
            .map_err(local)?;
        let mut etags: BTreeMap<u32, String> = journaled.into_iter().collect();
        for part in plan_parts(len, upload.upload_chunk_bytes) {
            if etags.contains_key(&part.number) {
                continue;
            }
            let body = BodyRange {
                path,
                offset: part.offset,
                len: part.len,
            };
            let etag = self
                .retrying(|| {
                    self.client
                        .upload_part(key, &upload.upload_id, part.number, body)
                })
                .await?;
            let (dir, tag) = (self.dir.clone(), etag.clone());
            let journaled = if !journaling {
                Ok(())
            } else {
                tokio::task::spawn_blocking(move || {
                    journal::append_part(&dir, id, part.number, &tag)
                })
                .await
                .map_err(std::io::Error::other)
                .and_then(|r| r)
            };
            if let Err(e) = journaled {
                self.journal_failed(key, &e);
            }
            self.metrics.parts.increment(1);
            etags.insert(part.number, etag);
        }
        let parts: Vec<(u32, String)> = etags.into_iter().collect();
        self.retrying(|| {
            self.client
                .complete_multipart(key, &upload.upload_id, &parts)
        })
        .await
    }

    /// The journal of a multipart upload could not be written (a full disk): the upload goes on,
    /// its progress kept in memory only. A crash before it completes uploads again what the
    /// journal lacks (parts are overwritten by number, the object is written once), and may leave
    /// an upload S3 holds until a lifecycle rule aborts it.
    fn journal_failed(&self, key: &str, e: &std::io::Error) {
        if let Some(suppressed) = self.log.allow() {
            tracing::warn!(component = %self.name, key, error = %e, suppressed,
                "could not journal multipart progress; uploading on without it");
        }
    }

    /// Writes the file's metadata (and, when restarting an upload, deletes its parts journal).
    async fn save(&self, file: &SealedFile, drop_parts: bool) -> std::io::Result<()> {
        let (dir, id, meta) = (self.dir.clone(), file.id, file.meta.clone());
        tokio::task::spawn_blocking(move || {
            if drop_parts {
                match std::fs::remove_file(dir.join(parts_name(id))) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            journal::write_meta(&dir, id, &meta)
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// The journaled parts of file `id`; none when there is no journal.
fn read_parts(dir: &Path, id: u64) -> std::io::Result<Vec<(u32, String)>> {
    match std::fs::read(dir.join(parts_name(id))) {
        Ok(bytes) => Ok(journal::parse_parts(&bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// A local disk failure while uploading: the file is set aside.
fn local(e: std::io::Error) -> Stop {
    Stop::GiveUp(
        "local_io_error",
        CallError {
            class: ErrorClass::Permanent,
            code: None,
            detail: format!("store_dir: {e}"),
        },
    )
}
