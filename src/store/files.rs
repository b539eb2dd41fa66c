//! The bytes of shared files, content-addressed: each file is kept once, as
//! `<dir>/<first two hex digits>/<sha256>`, however often it is sent. An
//! upload is streamed into a temporary file under `<dir>/tmp/` and hashed as
//! it comes; only a whole, synced file is renamed into place, so a crash
//! (`kill -9`) leaves at most a stray temporary file, removed at the next
//! start, and never a half file under a name. File names and metadata are not
//! here: they are the dispatcher's, in the [`Store`](super::Store).

use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The folder of temporary files, inside the store's directory.
const TMP: &str = "tmp";

/// A directory of content-addressed files.
#[derive(Debug)]
pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    /// Opens (creating it, private) the store in `dir`, and removes the
    /// temporary files a killed server left behind.
    ///
    /// # Errors
    /// The directory cannot be made or read.
    pub fn open(dir: &Path) -> io::Result<Blobs> {
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        builder.create(dir.join(TMP))?;
        for entry in fs::read_dir(dir.join(TMP))? {
            let _ = fs::remove_file(entry?.path());
        }
        Ok(Blobs {
            dir: dir.to_path_buf(),
        })
    }

    /// A new temporary file to stream an upload into.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn incoming(&self) -> io::Result<Incoming> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(|e| io::Error::other(e.to_string()))?;
        let name: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(TMP).join(format!("{name}.part"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(Incoming {
            file,
            path,
            hasher: Sha256::new(),
            len: 0,
            done: false,
        })
    }

    /// Where the file of digest `sha` lives (whether or not it is there).
    /// `None` for anything but 64 lower-case hex digits, so no name read
    /// from elsewhere can point outside the store.
    pub fn path(&self, sha: &str) -> Option<PathBuf> {
        let good = sha.len() == 64 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        good.then(|| self.dir.join(&sha[..2]).join(sha))
    }

    /// Opens the file of digest `sha` for reading.
    ///
    /// # Errors
    /// It is not there.
    pub fn open_file(&self, sha: &str) -> io::Result<File> {
        let path = self.path(sha).ok_or(io::ErrorKind::NotFound)?;
        File::open(path)
    }

    /// Removes the file of digest `sha`, if it is there.
    pub fn remove(&self, sha: &str) {
        if let Some(path) = self.path(sha) {
            let _ = fs::remove_file(path);
        }
    }

    /// Removes every file whose digest is not in `keep` (files whose record
    /// a crash lost before it was committed); returns how many went.
    pub fn sweep(&self, keep: &HashSet<String>) -> usize {
        let mut gone = 0;
        let Ok(folders) = fs::read_dir(&self.dir) else {
            return 0;
        };
        for folder in folders.flatten() {
            let name = folder.file_name();
            if name.len() != 2 || name == TMP {
                continue;
            }
            let Ok(files) = fs::read_dir(folder.path()) else {
                continue;
            };
            for file in files.flatten() {
                let sha = file.file_name().to_string_lossy().into_owned();
                if !keep.contains(&sha) && fs::remove_file(file.path()).is_ok() {
                    gone += 1;
                }
            }
        }
        gone
    }
}

/// An upload on its way in: written to a temporary file and hashed as it
/// comes. Dropped before [`Incoming::keep`], its file is removed.
#[derive(Debug)]
pub struct Incoming {
    file: File,
    path: PathBuf,
    hasher: Sha256,
    len: u64,
    done: bool,
}

impl Incoming {
    /// Appends `bytes`.
    ///
    /// # Errors
    /// The disk refused them (full, say).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before the first byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The upload is whole: syncs it and moves it to its digest's name (or
    /// drops it if that file is there already); returns the digest and length.
    ///
    /// # Errors
    /// The file cannot be synced or renamed.
    pub fn keep(mut self, blobs: &Blobs) -> io::Result<(String, u64)> {
        self.file.sync_all()?;
        let sha: String = std::mem::take(&mut self.hasher)
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let target = blobs.path(&sha).ok_or(io::ErrorKind::InvalidData)?;
        if target.exists() {
            // The same bytes are kept already: one copy is enough.
            let _ = fs::remove_file(&self.path);
        } else {
            let folder = target.parent().ok_or(io::ErrorKind::InvalidData)?;
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(folder)?;
            // rename(2) is atomic: the file appears whole or not at all.
            fs::rename(&self.path, &target)?;
            if let Ok(dir) = File::open(folder) {
                let _ = dir.sync_all();
            }
        }
        self.done = true;
        Ok((sha, self.len))
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_kept_once_by_digest_and_temporaries_go() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let mut a = blobs.incoming().unwrap();
        a.write(b"hello ").unwrap();
        a.write(b"world").unwrap();
        let (sha, len) = a.keep(&blobs).unwrap();
        assert_eq!(len, 11);
        assert_eq!(
            sha,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        let mut b = blobs.incoming().unwrap();
        b.write(b"hello world").unwrap();
        assert_eq!(b.keep(&blobs).unwrap().0, sha);
        assert_eq!(fs::read(blobs.path(&sha).unwrap()).unwrap(), b"hello world");
        // An upload dropped half way leaves nothing.
        let mut c = blobs.incoming().unwrap();
        c.write(b"half").unwrap();
        drop(c);
        assert_eq!(fs::read_dir(dir.path().join(TMP)).unwrap().count(), 0);
        // A temporary a killed server left is removed at the next open.
        fs::write(dir.path().join(TMP).join("x.part"), b"stale").unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path().join(TMP)).unwrap().count(), 0);
        assert_eq!(blobs.sweep(&HashSet::from([sha.clone()])), 0);
        assert_eq!(blobs.sweep(&HashSet::new()), 1);
        assert!(blobs.open_file(&sha).is_err());
    }

    #[test]
    fn only_digests_name_files() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        for bad in [
            "../../etc/passwd",
            "",
            "ab",
            &"A".repeat(64),
            &"g".repeat(64),
        ] {
            assert!(blobs.path(bad).is_none(), "{bad}");
        }
    }
}
