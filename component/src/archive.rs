//! A directory as a zip or tar.gz archive (`cmd=archive`), a file as a zip,
//! gz or tar.gz (`cmd=compress`), streamed while they are produced.
//!
//! The head goes out first (no `Content-Length`: the glue sends the body
//! chunked); then the walk of [`fs::walk`] feeds one entry at a time
//! through the encoder into a fixed-size buffer in front of the response
//! stream. Zip entries carry their sizes and CRC in data descriptors after
//! the data, so nothing is ever seeked back to. Memory stays flat whatever
//! the size: one read chunk, one output buffer, the deflate state, one
//! name list per open directory, and (zip only) the central directory's
//! record of each entry, a name and a few dozen bytes.
//!
//! A failure half-way (a file that vanishes or cannot be read) must not
//! leave a valid-looking archive: the producer then cuts the output off
//! for good before the encoders are dropped (their `Drop` would otherwise
//! finish the archive), logs why, and returns the error, so the glue leaves
//! the chunked transfer unfinished and the client sees a broken download.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::{Compression, GzBuilder};
use tar::{EntryType, Header};
use zip::write::{FullFileOptions, SimpleFileOptions, ZipWriter};
use zip::{CompressionMethod, DateTime};

use crate::command::Command;
use crate::context::Context;
use crate::error::Error;
use crate::format::content_disposition;
use crate::fs::{self, ArchiveEntry, CHUNK, Kind};
use crate::http::{Body, Producer, Response};
use crate::permissions::Permissions;
use crate::share_path::SharePath;

/// Bytes gathered before each write to the response stream, so that the
/// WASI stream gets few, large writes.
const OUT_BUFFER: usize = 256 * 1024;
/// Deflate level for every format: zlib's default, a fair trade of speed
/// for size.
const LEVEL: u32 = 6;
/// Files this large or larger get zip64 records. A little under 4 GiB, so
/// that deflate's few bytes of overhead on data that does not compress can
/// never push a 32-bit field over the edge.
const ZIP64_FROM: u64 = u32::MAX as u64 - (16 << 20);

/// An archive or compression format of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Zip,
    TarGz,
    Gz,
}

impl Format {
    /// Parses `format=`; absent or empty means zip. `allowed` lists the
    /// formats the command takes.
    fn parse(
        raw: Option<&str>,
        allowed: &[Format],
        command: Command,
        path: &SharePath,
    ) -> Result<Format, Error> {
        let format = match raw.unwrap_or("") {
            "" | "zip" => Some(Format::Zip),
            "tar.gz" => Some(Format::TarGz),
            "gz" => Some(Format::Gz),
            _ => None,
        };
        match format {
            Some(format) if allowed.contains(&format) => Ok(format),
            _ => {
                let names: Vec<&str> = allowed.iter().map(|f| f.extension()).collect();
                Err(Error::BadRequest(format!(
                    "`{}` is not a format for `{command}` on `{path}`; use {}",
                    raw.unwrap_or(""),
                    names.join(", ")
                )))
            }
        }
    }

    /// The file name extension, which is also the format's name in the API.
    fn extension(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::TarGz => "tar.gz",
            Format::Gz => "gz",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Zip => "application/zip",
            Format::TarGz | Format::Gz => "application/gzip",
        }
    }
}

/// The response for `cmd=archive` on directory `path` (already checked to
/// be a visible directory the client may archive).
pub fn archive(ctx: &Context, path: &SharePath, format: Option<&str>) -> Result<Response, Error> {
    let format = Format::parse(
        format,
        &[Format::Zip, Format::TarGz],
        Command::Archive,
        path,
    )?;
    let root = ctx.config.root.clone();
    // Open the walk now, so a directory that cannot be read is an error
    // response rather than a broken stream.
    let walk = fs::walk(&root, path, ctx.config.show_hidden)
        .map_err(|e| Error::io(&e, "archive", path))?;
    let permissions = ctx.permissions.clone();
    let entries = walk.filter(move |entry| match entry {
        Ok(entry) => entry.kind == Kind::Dir || may_download(&permissions, &entry.path),
        Err(_) => true,
    });
    let sources = Sources {
        root,
        entries: Box::new(entries),
    };
    let name = if path.is_root() { "top" } else { path.name() };
    Ok(streamed(format, name, path.clone(), sources))
}

/// The response for `cmd=compress` on file `path` (already checked to be a
/// visible file the client may compress).
pub fn compress(ctx: &Context, path: &SharePath, format: Option<&str>) -> Result<Response, Error> {
    let allowed = [Format::Zip, Format::Gz, Format::TarGz];
    let format = Format::parse(format, &allowed, Command::Compress, path)?;
    let root = ctx.config.root.clone();
    let entry = fs::archive_entry(&root, path).map_err(|e| Error::io(&e, "compress", path))?;
    let sources = Sources {
        root,
        entries: Box::new(std::iter::once(Ok(entry))),
    };
    Ok(streamed(format, path.name(), path.clone(), sources))
}

fn may_download(permissions: &Permissions, path: &SharePath) -> bool {
    permissions.allowed(path).contains(Command::Download)
}

/// What goes into an archive: entries, and the root to open files under.
struct Sources {
    root: PathBuf,
    entries: Box<dyn Iterator<Item = io::Result<ArchiveEntry>>>,
}

/// A `200` whose body is the archive, produced while it is sent.
fn streamed(format: Format, name: &str, path: SharePath, sources: Sources) -> Response {
    let file_name = format!("{name}.{}", format.extension());
    let producer: Producer = Box::new(move |out: &mut dyn Write| {
        let cut = Cut::default();
        let sink = Sink {
            out: BufWriter::with_capacity(OUT_BUFFER, out),
            cut: cut.clone(),
        };
        let result = match format {
            Format::Zip => write_zip(sink, sources, &cut),
            Format::TarGz => write_tar_gz(sink, sources, &cut),
            Format::Gz => write_gz(sink, sources, &cut),
        };
        if let Err(err) = &result {
            eprintln!(
                "httpuploader: the {} of `{path}` was cut off: {err}",
                format.extension()
            );
        }
        result
    });
    Response {
        status: 200,
        headers: vec![
            ("content-type".into(), format.content_type().into()),
            (
                "content-disposition".into(),
                content_disposition(&file_name),
            ),
        ],
        body: Body::Stream(producer),
    }
}

/// Set once an archive has failed: from then on its [`Sink`] takes no
/// more bytes, so no encoder can finish the archive on drop.
#[derive(Clone, Default)]
struct Cut(Rc<Cell<bool>>);

impl Cut {
    fn cut(&self) {
        self.0.set(true);
    }
}

/// The response stream as the encoders see it: buffered, and closed for
/// good once [`Cut`].
struct Sink<'a> {
    out: BufWriter<&'a mut dyn Write>,
    cut: Cut,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cut.0.get() {
            return Err(io::Error::other("the archive was cut off"));
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.cut.0.get() {
            return Err(io::Error::other("the archive was cut off"));
        }
        self.out.flush()
    }
}

fn write_zip(sink: Sink<'_>, sources: Sources, cut: &Cut) -> io::Result<()> {
    let mut zip = ZipWriter::new_stream(sink);
    let added = add_to_zip(&mut zip, sources);
    if added.is_err() {
        // Before `zip` is dropped, which would finish the archive.
        cut.cut();
        return added;
    }
    zip.finish()?.into_inner().flush()
}

fn add_to_zip(zip: &mut ZipWriter<impl Write + io::Seek>, sources: Sources) -> io::Result<()> {
    for entry in sources.entries {
        let entry = entry?;
        let options = zip_options(&entry);
        if entry.kind == Kind::Dir {
            zip.add_directory(entry.name.as_str(), options)?;
        } else {
            zip.start_file(entry.name.as_str(), options)?;
            copy_file(&sources.root, &entry, zip)?;
        }
    }
    Ok(())
}

fn write_tar_gz(sink: Sink<'_>, sources: Sources, cut: &Cut) -> io::Result<()> {
    let gz = GzBuilder::new().write(sink, Compression::new(LEVEL));
    let mut tar = tar::Builder::new(gz);
    let added = add_to_tar(&mut tar, sources);
    if added.is_err() {
        // Before `tar` and the gzip encoder are dropped, which would
        // finish them.
        cut.cut();
        return added;
    }
    tar.into_inner()?.finish()?.flush()
}

fn add_to_tar(tar: &mut tar::Builder<impl Write>, sources: Sources) -> io::Result<()> {
    for entry in sources.entries {
        let entry = entry?;
        let mut header = tar_header(&entry);
        if entry.kind == Kind::Dir {
            tar.append_data(&mut header, format!("{}/", entry.name), io::empty())?;
        } else {
            tar.append_data(&mut header, &entry.name, open(&sources.root, &entry)?)?;
        }
    }
    Ok(())
}

fn write_gz(sink: Sink<'_>, mut sources: Sources, cut: &Cut) -> io::Result<()> {
    let entry = match sources.entries.next() {
        Some(entry) => entry?,
        None => return Err(io::Error::other("nothing to compress")),
    };
    let mut gz = GzBuilder::new()
        .filename(entry.name.as_str())
        .mtime(unix_secs(entry.modified).unwrap_or(0))
        .write(sink, Compression::new(LEVEL));
    let copied = copy_file(&sources.root, &entry, &mut gz);
    if copied.is_err() {
        // Before `gz` is dropped, which would finish it.
        cut.cut();
        return copied;
    }
    gz.finish()?.flush()
}

/// Opens the file of `entry` for reading exactly its recorded length, in
/// [`CHUNK`]-sized reads.
fn open(root: &Path, entry: &ArchiveEntry) -> io::Result<impl Read> {
    let (file, _) = fs::open_file(root, &entry.path).map_err(|e| in_entry(e, entry))?;
    let exact = Exact {
        file,
        left: entry.len,
        entry,
    };
    Ok(BufReader::with_capacity(CHUNK, exact))
}

/// Copies the file of `entry` into `out`.
fn copy_file(root: &Path, entry: &ArchiveEntry, out: &mut impl Write) -> io::Result<()> {
    let mut reader = open(root, entry)?;
    io::copy(&mut reader, out)?;
    Ok(())
}

/// Reads exactly the length an entry was recorded with: a file that
/// shrinks is an error, a file that grows is taken as it was.
struct Exact<'a> {
    file: File,
    left: u64,
    entry: &'a ArchiveEntry,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self
            .file
            .read(&mut buf[..want])
            .map_err(|e| in_entry(e, self.entry))?;
        if n == 0 {
            let shrunk = io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while read");
            return Err(in_entry(shrunk, self.entry));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Names the entry (by its share path, never a host path) in an error.
fn in_entry(err: io::Error, entry: &ArchiveEntry) -> io::Error {
    io::Error::new(err.kind(), format!("`{}`: {err}", entry.path))
}

fn zip_options(entry: &ArchiveEntry) -> FullFileOptions<'static, 'static> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(i64::from(LEVEL)))
        .unix_permissions(entry.mode)
        .large_file(entry.len >= ZIP64_FROM)
        .last_modified_time(dos_time(entry.modified));
    // The DOS time above has two-second steps and no time zone (we write
    // UTC); the extended timestamp field carries the exact second.
    let exact = unix_secs(entry.modified)
        .and_then(|secs| options.with_extended_timestamp(Some(secs), None, None).ok());
    exact.unwrap_or_else(|| options.into_full_options())
}

fn tar_header(entry: &ArchiveEntry) -> Header {
    let mut header = Header::new_gnu();
    let kind = if entry.kind == Kind::Dir {
        EntryType::Directory
    } else {
        EntryType::Regular
    };
    header.set_entry_type(kind);
    header.set_size(entry.len);
    header.set_mode(entry.mode);
    header.set_mtime(unix_secs(entry.modified).map_or(0, u64::from));
    header
}

/// Whole seconds since 1970, when they fit the 32 bits gzip and zip have.
fn unix_secs(time: Option<SystemTime>) -> Option<u32> {
    let secs = time?.duration_since(UNIX_EPOCH).ok()?.as_secs();
    u32::try_from(secs).ok()
}

/// A time as the DOS date and time of zip headers, in UTC; times the
/// format cannot hold (before 1980, after 2107) become 1980-01-01.
fn dos_time(time: Option<SystemTime>) -> DateTime {
    let Some(secs) = time
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
    else {
        return DateTime::DEFAULT;
    };
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let (hour, minute, second) = (of_day / 3600, of_day % 3600 / 60, of_day % 60);
    let fields = (
        u16::try_from(year),
        u8::try_from(hour),
        u8::try_from(minute),
        u8::try_from(second),
    );
    let (Ok(year), Ok(hour), Ok(minute), Ok(second)) = fields else {
        return DateTime::DEFAULT;
    };
    DateTime::from_date_and_time(year, month, day, hour, minute, second)
        .unwrap_or(DateTime::DEFAULT)
}

/// The Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}
