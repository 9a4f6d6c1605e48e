//! The permissions file, as the host sees it: load, snapshot, watch.
//!
//! The component reads the rules itself, but only from a private snapshot:
//! the host copies the validated text into a directory of its own and
//! preopens that directory read-only at [`GUEST_DIR`]. The guest therefore
//! never sees the folder the real file lives in, and never sees a half-edited
//! or broken file:
//!
//! 1. at start, [`PermissionsFile::load`] reads and parses the file; any
//!    error (including a file over [`MAX_PERMISSIONS_FILE_BYTES`]) stops the
//!    server with the line and reason;
//! 2. [`Snapshot::create`] writes the text to `<tmp>/httpuploader-XXXX/`
//!    (mode 0700, removed when the snapshot is dropped);
//! 3. [`Snapshot::watch`] polls the real file and, when it changed and still
//!    parses, replaces the snapshot atomically (write a temporary file, then
//!    rename); when it no longer parses or has grown too large, it logs why
//!    and keeps the last good rules.

use anyhow::{Context, Result};
use httpuploader_component::permissions::Permissions;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tempfile::{NamedTempFile, TempDir};

/// Where the snapshot directory appears inside the guest.
pub const GUEST_DIR: &str = "/etc/httpuploader";

/// The snapshot's file name, inside [`GUEST_DIR`] and the host directory.
const SNAPSHOT_FILE: &str = "permissions.ini";

/// Name prefix of the snapshot directory in the system's temporary folder.
const SNAPSHOT_DIR_PREFIX: &str = "httpuploader-";

/// The largest permissions file accepted, at start (exit 2) or on reload
/// (warning, the last good rules stay): the guest reads the whole file on
/// every request, so a huge one would exhaust its memory.
pub const MAX_PERMISSIONS_FILE_BYTES: u64 = 1 << 20;

/// How often the real file is checked for changes.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The guest path of the snapshot file, for the component's environment.
pub fn guest_file() -> String {
    format!("{GUEST_DIR}/{SNAPSHOT_FILE}")
}

/// A permissions file that was read and parsed successfully.
#[derive(Debug)]
pub struct PermissionsFile {
    /// The file as given on the command line.
    path: PathBuf,
    /// Its text, which [`Permissions::parse`] accepted.
    text: String,
    /// Modification time and length when it was read.
    stamp: Option<Stamp>,
}

/// What identifies a version of the file without reading it.
type Stamp = (SystemTime, u64);

impl PermissionsFile {
    /// Reads and validates the file; the error names the file, then the
    /// line and reason (or the I/O error).
    pub fn load(path: PathBuf) -> Result<PermissionsFile> {
        let stamp = stamp(&path);
        let text =
            read_valid(&path).with_context(|| format!("permissions file `{}`", path.display()))?;
        Ok(PermissionsFile { path, text, stamp })
    }
}

/// Reads `path`, if it is not larger than [`MAX_PERMISSIONS_FILE_BYTES`],
/// and checks that it parses.
fn read_valid(path: &Path) -> Result<String> {
    let too_large = || {
        anyhow::anyhow!(
            "larger than {} KiB; a permissions file is a few lines of rules",
            MAX_PERMISSIONS_FILE_BYTES >> 10
        )
    };
    if fs::metadata(path)?.len() > MAX_PERMISSIONS_FILE_BYTES {
        return Err(too_large());
    }
    // Read at most one byte past the limit, in case the file grew since.
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_PERMISSIONS_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PERMISSIONS_FILE_BYTES {
        return Err(too_large());
    }
    let text = String::from_utf8(bytes).context("not UTF-8 text")?;
    Permissions::parse(&text)?;
    Ok(text)
}

/// The modification time and length of `path`, if it can be read.
fn stamp(path: &Path) -> Option<Stamp> {
    let meta = fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The host directory holding the copy of the rules the guest reads.
#[derive(Debug)]
pub struct Snapshot {
    /// Removed, with its content, on drop.
    dir: TempDir,
    /// The real file the rules come from.
    source: PathBuf,
    /// The real file's stamp when the snapshot was last written or refused.
    stamp: Option<Stamp>,
}

impl Snapshot {
    /// Creates the private directory and writes the validated text to it.
    pub fn create(file: PermissionsFile) -> Result<Snapshot> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(SNAPSHOT_DIR_PREFIX);
        // Only this user may read the rules or swap them.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o700));
        }
        let dir = builder
            .tempdir()
            .context("cannot create the permissions snapshot directory")?;
        let snapshot = Snapshot {
            dir,
            source: file.path,
            stamp: file.stamp,
        };
        snapshot.replace(&file.text)?;
        Ok(snapshot)
    }

    /// The host directory to preopen at [`GUEST_DIR`].
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Checks the real file every [`POLL_INTERVAL`] and reloads it when it
    /// changed; runs until the task is dropped.
    pub async fn watch(mut self) {
        let mut ticks = tokio::time::interval(POLL_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            self.reload_if_changed();
        }
    }

    /// One poll: compare the stamp, then re-read, validate and swap.
    fn reload_if_changed(&mut self) {
        let now = stamp(&self.source);
        if now == self.stamp {
            return;
        }
        // Remember the new stamp even on failure, so a broken file is
        // reported once and not every poll.
        self.stamp = now;
        let source = self.source.display();
        match read_valid(&self.source) {
            Ok(text) => match self.replace(&text) {
                Ok(()) => tracing::info!("permissions reloaded from `{source}`"),
                Err(err) => tracing::error!("permissions file `{source}`: {err:#}"),
            },
            Err(err) => {
                tracing::warn!("permissions file `{source}`: {err:#}; keeping the last good rules")
            }
        }
    }

    /// Writes `text` next to the snapshot file, then renames it over it, so
    /// a guest always reads a whole file.
    fn replace(&self, text: &str) -> Result<()> {
        let mut temp = NamedTempFile::new_in(self.dir.path())
            .context("cannot write the permissions snapshot")?;
        temp.write_all(text.as_bytes())
            .context("cannot write the permissions snapshot")?;
        temp.persist(self.dir.path().join(SNAPSHOT_FILE))
            .context("cannot replace the permissions snapshot")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.ini");
        let comment = "# padding\n".repeat((MAX_PERMISSIONS_FILE_BYTES as usize / 10) + 1);
        fs::write(&path, comment).unwrap();
        let err = PermissionsFile::load(path).unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("huge.ini"), "{message}");
        assert!(message.contains("larger than 1024 KiB"), "{message}");
    }

    #[test]
    fn a_file_at_the_limit_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.ini");
        let mut text = "# padding\n".repeat(MAX_PERMISSIONS_FILE_BYTES as usize / 10);
        text.push_str(&"#".repeat(MAX_PERMISSIONS_FILE_BYTES as usize - text.len()));
        fs::write(&path, text).unwrap();
        assert!(PermissionsFile::load(path).is_ok());
    }

    #[test]
    fn a_reload_over_the_limit_keeps_the_last_good_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.ini");
        fs::write(&path, "# good\n").unwrap();
        let mut snapshot = Snapshot::create(PermissionsFile::load(path.clone()).unwrap()).unwrap();
        let huge = "#".repeat(MAX_PERMISSIONS_FILE_BYTES as usize + 1);
        fs::write(&path, huge).unwrap();
        // Force a change of stamp even on coarse timestamps.
        snapshot.stamp = None;
        snapshot.reload_if_changed();
        let kept = fs::read_to_string(snapshot.dir().join(SNAPSHOT_FILE)).unwrap();
        assert_eq!(kept, "# good\n");
    }
}
