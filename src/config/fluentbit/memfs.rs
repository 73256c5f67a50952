//! An in-memory [`Files`] for the readers' tests: paths map to texts; a directory lists the
//! names of the files and directories under it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::doc::Files;

#[derive(Debug, Default)]
pub struct MemFiles(pub BTreeMap<PathBuf, String>);

impl MemFiles {
    pub fn new(files: &[(&str, &str)]) -> Self {
        Self(
            files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), (*t).to_owned()))
                .collect(),
        )
    }
}

impl Files for MemFiles {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = self
            .0
            .keys()
            .filter_map(|p| p.strip_prefix(dir).ok())
            .filter_map(|rest| rest.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        names.dedup();
        if names.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"));
        }
        Ok(names)
    }
}
