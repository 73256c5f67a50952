//! A tmpfs of a given size, mounted on a fresh directory and unmounted on drop: a disk that fills
//! up. `None`, with the reason on stderr, where this process may not mount (not root): the test
//! is then skipped, as the image tests are where they cannot chroot.

use std::path::Path;
use std::process::Command;

pub struct TinyFs(tempfile::TempDir);

impl TinyFs {
    pub fn mount(bytes: usize) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Self(dir)),
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr);
                eprintln!("SKIPPED: cannot mount a tmpfs: {}", why.trim());
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Fills what space is left with a file named `name` (the write ends in ENOSPC).
    pub fn fill(&self, name: &str) {
        use std::io::Write as _;
        let mut f = std::fs::File::create(self.path().join(name)).unwrap();
        let block = vec![0u8; 64 << 10];
        loop {
            if let Err(e) = f.write_all(&block) {
                assert_eq!(e.raw_os_error(), Some(28), "only ENOSPC is expected: {e}");
                return;
            }
        }
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.0.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            eprintln!(
                "could not unmount the test tmpfs at {}",
                self.0.path().display()
            );
        }
    }
}
