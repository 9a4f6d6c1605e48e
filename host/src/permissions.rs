//! The permissions file, as the host sees it: load, snapshot, watch.
//!
//! The component reads the rules itself, but only from a private snapshot:
//! the host copies the validated text into a directory of its own and
//! preopens that directory read-only at [`GUEST_DIR`]. The guest therefore
//! never sees the folder the real file lives in, and never sees a half-edited
//! or broken file:
//!
//! 1. at start, [`PermissionsFile::load`] reads and parses the file; any
//!    error stops the server with the line and reason;
//! 2. [`Snapshot::create`] writes the text to `<tmp>/httpuploader-XXXX/`
//!    (mode 0700, removed when the snapshot is dropped);
//! 3. [`Snapshot::watch`] polls the real file and, when it changed and still
//!    parses, replaces the snapshot atomically (write a temporary file, then
//!    rename); when it no longer parses, it logs why and keeps the last good
//!    rules.

use anyhow::{Context, Result};
use httpuploader_component::permissions::Permissions;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tempfile::{NamedTempFile, TempDir};

/// Where the snapshot directory appears inside the guest.
pub const GUEST_DIR: &str = "/etc/httpuploader";

/// The snapshot's file name, inside [`GUEST_DIR`] and the host directory.
const SNAPSHOT_FILE: &str = "permissions.ini";

/// Name prefix of the snapshot directory in the system's temporary folder.
const SNAPSHOT_DIR_PREFIX: &str = "httpuploader-";

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

/// Reads `path` and checks that it parses.
fn read_valid(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path)?;
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
