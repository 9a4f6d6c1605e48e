//! A directory as a zip or tar.gz archive (`cmd=archive`), a file as a zip,
//! gz or tar.gz (`cmd=compress`), streamed while they are produced.
//!
//! The head is settled up front (no `Content-Length`: the body goes out
//! chunked) and leaves with the first bytes of the body. The walk of
//! [`fs::walk`] feeds one entry at a time through the encoder into a
//! fixed-size buffer in front of the response stream, which is sent
//! whenever it is full or has waited 200 ms. Zip entries carry their sizes
//! and CRC in data descriptors after the data, so nothing is ever seeked
//! back to. Memory stays flat whatever the size: one read chunk, one output
//! buffer, the deflate state, one name list per open directory, and (zip
//! only) the central directory's record of each entry, about 300 bytes
//! with its name (measured: 31 MB for 100,000 entries).
//!
//! A failure half-way (a file that vanishes or cannot be read) must not
//! leave a valid-looking archive: the producer then cuts the output off
//! for good before the encoders are dropped (their `Drop` would otherwise
//! finish the archive), logs why, and returns the error, so the glue leaves
//! the chunked transfer unfinished and the client sees a broken download
//! (or, if nothing was sent yet, a connection closed without an answer).

use std::cell::Cell;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
/// Deflate level for every format. Level 1 is miniz_oxide's fast path:
/// measured natively, 4 to 7 times the speed of levels 2 to 6 on text and
/// on data that does not compress, for archives about 15% larger on text.
const LEVEL: u32 = 1;
/// Longest time produced bytes wait in the buffer before they are sent,
/// so the client sees steady progress even while a large file compresses
/// to little.
const FLUSH_AFTER: Duration = Duration::from_millis(200);
/// Files this large or larger get zip64 records. A little under 4 GiB, so
/// that deflate's few bytes of overhead on data that does not compress can
/// never push a 32-bit field over the edge.
const ZIP64_FROM: u64 = u32::MAX as u64 - (16 << 20);
/// The name GNU tar gives the entry that carries a long name.
const GNU_LONG_NAME: &[u8] = b"././@LongLink";

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
    let show_hidden = ctx.config.show_hidden;
    // Judged where each entry really lives too: a symlink inside the
    // folder must not carry a stricter folder's files out.
    let entries = walk.filter(move |entry| match entry {
        Ok(entry) if !show_hidden && entry.real.is_hidden() => false,
        Ok(entry) => {
            entry.kind == Kind::Dir
                || (may_download(&permissions, &entry.path)
                    && may_download(&permissions, &entry.real))
        }
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
            flushed: Instant::now(),
        };
        let result = match format {
            Format::Zip => write_zip(sink, sources, &cut),
            Format::TarGz => write_tar_gz(sink, sources, &cut),
            Format::Gz => write_gz(sink, sources, &cut),
        };
        if let Err(err) = &result {
            crate::format::log(&format!(
                "the {} of `{path}` was cut off: {err}",
                format.extension()
            ));
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

/// The response stream as the encoders see it: buffered (sent when full
/// or after [`FLUSH_AFTER`]), and closed for good once [`Cut`].
struct Sink<'a> {
    out: BufWriter<&'a mut dyn Write>,
    cut: Cut,
    /// When the buffer was last sent on by time.
    flushed: Instant,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cut.0.get() {
            return Err(io::Error::other("the archive was cut off"));
        }
        let n = self.out.write(buf)?;
        if !self.out.buffer().is_empty() && self.flushed.elapsed() >= FLUSH_AFTER {
            self.out.flush()?;
            self.flushed = Instant::now();
        }
        Ok(n)
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
        cut.cut();
        // Dropping `zip` would try to finish the archive, which the cut
        // refuses, and print a complaint without a newline into the log.
        // Its memory goes with the instance at the end of the request.
        std::mem::forget(zip);
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
        if entry.kind == Kind::Dir {
            let name = format!("{}/", entry.name);
            append_tar(tar, tar_header(&entry), &name, io::empty())?;
        } else {
            append_tar(
                tar,
                tar_header(&entry),
                &entry.name,
                open(&sources.root, &entry)?,
            )?;
        }
    }
    Ok(())
}

/// Appends one entry named `name`, exactly as given: a name longer than
/// the header's field first goes out in a GNU long-name entry, as GNU tar
/// does. (The tar crate's own path handling takes `\` for a separator
/// when built for wasm32, so it would refuse such names.)
fn append_tar(
    tar: &mut tar::Builder<impl Write>,
    mut header: Header,
    name: &str,
    data: impl Read,
) -> io::Result<()> {
    let field_len = header.as_old().name.len();
    let name = name.as_bytes();
    if name.len() > field_len {
        let mut long = Header::new_gnu();
        long.as_old_mut().name[..GNU_LONG_NAME.len()].copy_from_slice(GNU_LONG_NAME);
        long.set_entry_type(EntryType::GNULongName);
        long.set_mode(0o644);
        long.set_mtime(0);
        long.set_size(name.len() as u64 + 1);
        long.set_cksum();
        tar.append(&long, [name, b"\0"].concat().as_slice())?;
    }
    let kept = name.len().min(field_len);
    header.as_old_mut().name[..kept].copy_from_slice(&name[..kept]);
    header.set_cksum();
    tar.append(&header, data)
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
    let (file, _) = fs::ReadFile::open(root, &entry.path).map_err(|e| in_entry(e, entry))?;
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
    file: fs::ReadFile,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fs::File;
    use std::io::Cursor;
    use std::sync::atomic::{AtomicU32, Ordering};

    use flate2::read::GzDecoder;

    use super::*;
    use crate::config::Config;

    /// A fresh tree under the temp dir, removed on drop.
    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Tree {
            // Tests run in parallel threads of one process: one dir each.
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let unique = format!("hu-archive-{tag}-{}-{n}", std::process::id());
            let dir = std::env::temp_dir().join(unique);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Tree(dir)
        }

        fn file(&self, rel: &str, body: &[u8]) {
            let path = self.0.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }

        fn dir(&self, rel: &str) {
            std::fs::create_dir_all(self.0.join(rel)).unwrap();
        }

        fn context(&self, show_hidden: bool) -> Context {
            let config = Config {
                root: self.0.clone(),
                permissions_file: None,
                show_hidden,
            };
            Context::load(config).unwrap()
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn share(path: &str) -> SharePath {
        SharePath::from_decoded(path).unwrap()
    }

    /// Runs a response's producer into `out`.
    fn produce(response: Response, out: &mut dyn Write) -> io::Result<()> {
        match response.body {
            Body::Stream(producer) => producer(out),
            _ => panic!("an archive must be streamed"),
        }
    }

    fn body(response: Response) -> Vec<u8> {
        let mut out = Vec::new();
        produce(response, &mut out).unwrap();
        out
    }

    /// An unpacked archive: name → content (`None` for a directory).
    type Unpacked = BTreeMap<String, Option<Vec<u8>>>;

    fn unzip(bytes: Vec<u8>) -> Unpacked {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut out = Unpacked::new();
        for i in 0..zip.len() {
            let mut file = zip.by_index(i).unwrap();
            let name = file.name().unwrap().into_owned();
            if file.is_dir() {
                out.insert(name.trim_end_matches('/').to_owned(), None);
            } else {
                let mut content = Vec::new();
                file.read_to_end(&mut content).unwrap();
                out.insert(name, Some(content));
            }
        }
        out
    }

    fn untar_gz(bytes: Vec<u8>) -> Unpacked {
        let mut tar = tar::Archive::new(GzDecoder::new(Cursor::new(bytes)));
        let mut out = Unpacked::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry
                .path()
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
            if entry.header().entry_type() == EntryType::Directory {
                out.insert(name, None);
            } else {
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                out.insert(name, Some(content));
            }
        }
        out
    }

    fn expected(entries: &[(&str, Option<&[u8]>)]) -> Unpacked {
        entries
            .iter()
            .map(|(name, body)| (name.to_string(), body.map(<[u8]>::to_vec)))
            .collect()
    }

    /// A tree with odd names, an empty directory and a hidden file.
    fn sample() -> Tree {
        let tree = Tree::new("sample");
        tree.file("top/a.txt", b"alpha");
        tree.file("top/sub/b b #%.txt", b"beta");
        tree.file("top/日本/ünï €.txt", "gamma".as_bytes());
        tree.file("top/.hidden", b"secret");
        tree.file("top/.hdir/x.txt", b"x");
        tree.file("top/zero.bin", b"");
        tree.file("top/back\\slash \"quoted\".txt", b"odd");
        tree.dir("top/empty");
        tree
    }

    fn sample_expected() -> Unpacked {
        expected(&[
            ("a.txt", Some(b"alpha")),
            // `\` is a separator to Windows unpackers: stored as `_`.
            ("back_slash \"quoted\".txt", Some(b"odd")),
            ("empty", None),
            ("sub", None),
            ("sub/b b #%.txt", Some(b"beta")),
            ("zero.bin", Some(b"")),
            ("日本", None),
            ("日本/ünï €.txt", Some("gamma".as_bytes())),
        ])
    }

    #[test]
    fn zip_holds_the_tree_with_empty_dirs_and_without_hidden_names() {
        let tree = sample();
        let response = archive(&tree.context(false), &share("/top"), None).unwrap();
        assert_eq!(response.header("content-type"), Some("application/zip"));
        assert_eq!(
            response.header("content-disposition"),
            Some("attachment; filename=\"top.zip\"")
        );
        assert_eq!(response.header("content-length"), None);
        assert_eq!(unzip(body(response)), sample_expected());
    }

    #[test]
    fn tar_gz_holds_the_same_tree() {
        let tree = sample();
        let response = archive(&tree.context(false), &share("/top"), Some("tar.gz")).unwrap();
        assert_eq!(response.header("content-type"), Some("application/gzip"));
        assert_eq!(
            response.header("content-disposition"),
            Some("attachment; filename=\"top.tar.gz\"")
        );
        assert_eq!(untar_gz(body(response)), sample_expected());
    }

    #[test]
    fn hidden_names_are_archived_when_shown() {
        let tree = sample();
        for format in ["zip", "tar.gz"] {
            let response = archive(&tree.context(true), &share("/top"), Some(format)).unwrap();
            let bytes = body(response);
            let unpacked = if format == "zip" {
                unzip(bytes)
            } else {
                untar_gz(bytes)
            };
            assert_eq!(unpacked[".hidden"], Some(b"secret".to_vec()), "{format}");
            assert_eq!(unpacked[".hdir/x.txt"], Some(b"x".to_vec()), "{format}");
        }
    }

    #[test]
    fn the_root_is_called_top() {
        let tree = sample();
        let response = archive(&tree.context(false), &SharePath::root(), Some("tar.gz")).unwrap();
        assert_eq!(
            response.header("content-disposition"),
            Some("attachment; filename=\"top.tar.gz\"")
        );
        let unpacked = untar_gz(body(response));
        assert_eq!(unpacked["top/a.txt"], Some(b"alpha".to_vec()));
        let unicode = archive(&tree.context(false), &share("/top/日本"), None).unwrap();
        assert_eq!(
            unicode.header("content-disposition"),
            Some("attachment; filename=\"__.zip\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.zip")
        );
    }

    #[test]
    fn entries_not_allowed_download_are_left_out() {
        let tree = sample();
        tree.file("top/private/p.txt", b"private");
        tree.file("top/private/deeper/q.txt", b"private too");
        let mut ctx = tree.context(false);
        ctx.permissions =
            Permissions::parse("[DEFAULT]\nallow = all\n[/top/private]\nallow = list, archive\n")
                .unwrap();
        let unpacked = unzip(body(archive(&ctx, &share("/top"), None).unwrap()));
        let mut want = sample_expected();
        want.insert("private".into(), None);
        want.insert("private/deeper".into(), None);
        assert_eq!(unpacked, want);
    }

    #[test]
    fn modes_and_mtimes_are_kept() {
        let tree = Tree::new("meta");
        tree.file("d/run.sh", b"#!/bin/sh\n");
        let mtime = UNIX_EPOCH + std::time::Duration::from_secs(1_433_817_478);
        let file = File::options()
            .write(true)
            .open(tree.0.join("d/run.sh"))
            .unwrap();
        file.set_modified(mtime).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::Permissions::from_mode(0o750);
            std::fs::set_permissions(tree.0.join("d/run.sh"), perms).unwrap();
        }
        let ctx = tree.context(false);

        let bytes = body(archive(&ctx, &SharePath::root(), None).unwrap());
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let entry = zip.by_name("d/run.sh").unwrap();
        #[cfg(unix)]
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o750));
        let time = entry.last_modified().unwrap();
        let got = (
            time.year(),
            time.month(),
            time.day(),
            time.hour(),
            time.minute(),
            time.second(),
        );
        assert_eq!(got, (2015, 6, 9, 2, 37, 58));

        let bytes = body(archive(&ctx, &SharePath::root(), Some("tar.gz")).unwrap());
        let mut tar = tar::Archive::new(GzDecoder::new(Cursor::new(bytes)));
        let entries: Vec<Header> = tar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().header().clone())
            .collect();
        let header = &entries[1];
        assert_eq!(header.path().unwrap().to_str(), Some("d/run.sh"));
        assert_eq!(header.mtime().unwrap(), 1_433_817_478);
        #[cfg(unix)]
        assert_eq!(header.mode().unwrap(), 0o750);
    }

    #[test]
    fn a_path_forty_levels_deep_is_archived() {
        let tree = Tree::new("deep");
        let deep: Vec<String> = (0..45).map(|i| format!("level-{i:02}")).collect();
        let name = format!("{}/leaf.txt", deep.join("/"));
        tree.file(&name, b"leaf");
        let ctx = tree.context(false);
        let zipped = unzip(body(archive(&ctx, &SharePath::root(), None).unwrap()));
        assert_eq!(zipped[&name], Some(b"leaf".to_vec()));
        assert_eq!(zipped.len(), 46);
        // Past 100 bytes, tar needs the GNU long-name extension.
        let tarred = untar_gz(body(
            archive(&ctx, &SharePath::root(), Some("tar.gz")).unwrap(),
        ));
        assert_eq!(tarred, zipped);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_left_out() {
        use std::os::unix::fs::symlink;
        let tree = Tree::new("links");
        let outside = Tree::new("links-outside");
        outside.file("secret.txt", b"outside secret");
        outside.file("dir/s.txt", b"outside dir");
        tree.file("d/real.txt", b"real");
        symlink(outside.0.join("secret.txt"), tree.0.join("d/abs.txt")).unwrap();
        symlink(outside.0.join("dir"), tree.0.join("d/absdir")).unwrap();
        let up = outside.0.file_name().unwrap().to_str().unwrap().to_owned();
        symlink(format!("../../{up}/secret.txt"), tree.0.join("d/rel.txt")).unwrap();
        symlink("real.txt", tree.0.join("d/inside.txt")).unwrap();
        let ctx = tree.context(false);
        for format in ["zip", "tar.gz"] {
            let bytes = body(archive(&ctx, &share("/d"), Some(format)).unwrap());
            assert!(!bytes.windows(7).any(|w| w == b"outside"));
            let unpacked = if format == "zip" {
                unzip(bytes)
            } else {
                untar_gz(bytes)
            };
            let want = expected(&[("inside.txt", Some(b"real")), ("real.txt", Some(b"real"))]);
            assert_eq!(unpacked, want, "{format}");
        }
    }

    #[test]
    fn compress_round_trips_in_every_format() {
        let tree = Tree::new("compress");
        let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        tree.file("d/data ü.bin", &content);
        let ctx = tree.context(false);
        let path = share("/d/data ü.bin");

        let response = compress(&ctx, &path, None).unwrap();
        assert!(
            response
                .header("content-disposition")
                .unwrap()
                .ends_with("data%20%C3%BC.bin.zip")
        );
        let want = expected(&[("data ü.bin", Some(&content))]);
        assert_eq!(unzip(body(response)), want);

        let response = compress(&ctx, &path, Some("tar.gz")).unwrap();
        assert!(
            response
                .header("content-disposition")
                .unwrap()
                .ends_with(".bin.tar.gz")
        );
        assert_eq!(untar_gz(body(response)), want);

        let response = compress(&ctx, &path, Some("gz")).unwrap();
        assert_eq!(response.header("content-type"), Some("application/gzip"));
        assert!(
            response
                .header("content-disposition")
                .unwrap()
                .ends_with(".bin.gz")
        );
        let mut gz = GzDecoder::new(Cursor::new(body(response)));
        let mut unpacked = Vec::new();
        gz.read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, content);
        assert_eq!(
            gz.header().unwrap().filename(),
            Some("data ü.bin".as_bytes())
        );
    }

    #[test]
    fn unknown_formats_are_400_naming_format_and_path() {
        let tree = sample();
        let ctx = tree.context(false);
        let err = archive(&ctx, &share("/top"), Some("gz")).err().unwrap();
        assert_eq!(err.status(), 400);
        assert!(
            err.extra().contains("`gz`") && err.extra().contains("`/top`"),
            "{}",
            err.extra()
        );
        let err = compress(&ctx, &share("/top/a.txt"), Some("rar"))
            .err()
            .unwrap();
        assert_eq!(err.status(), 400);
        assert!(err.extra().contains("`rar`") && err.extra().contains("`/top/a.txt`"));
        assert!(
            archive(&ctx, &share("/top"), Some("")).is_ok(),
            "an empty format means zip"
        );
    }

    /// Collects output, and runs `hook` once the first bytes arrive.
    struct Hooked<F: FnMut()> {
        out: Vec<u8>,
        hook: Option<F>,
    }

    impl<F: FnMut()> Write for Hooked<F> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.out.extend_from_slice(buf);
            if let Some(mut hook) = self.hook.take() {
                hook();
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Random-looking bytes that do not compress.
    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Produces `response` while `hook` changes the tree after the first
    /// output; returns the error and what the client got.
    fn produce_failing(response: Response, hook: impl FnMut()) -> (io::Error, Vec<u8>) {
        let mut out = Hooked {
            out: Vec::new(),
            hook: Some(hook),
        };
        let err = produce(response, &mut out).unwrap_err();
        (err, out.out)
    }

    #[test]
    fn a_file_that_shrinks_mid_archive_breaks_every_format() {
        let tree = Tree::new("shrink");
        tree.file("d/big.bin", &noise(4 << 20));
        tree.file("d/z.txt", b"after");
        let ctx = tree.context(false);
        let big = tree.0.join("d/big.bin");
        let shrink = || {
            File::options()
                .write(true)
                .open(&big)
                .unwrap()
                .set_len(1000)
                .unwrap()
        };

        let (err, bytes) = produce_failing(archive(&ctx, &share("/d"), None).unwrap(), shrink);
        assert!(err.to_string().contains("`/d/big.bin`"), "{err}");
        assert!(
            !err.to_string().contains(tree.0.to_str().unwrap()),
            "host path leaked: {err}"
        );
        assert!(
            zip::ZipArchive::new(Cursor::new(bytes)).is_err(),
            "a valid zip after a failure"
        );

        tree.file("d/big.bin", &noise(4 << 20));
        let (_, bytes) =
            produce_failing(archive(&ctx, &share("/d"), Some("tar.gz")).unwrap(), shrink);
        let mut unpacked = Vec::new();
        assert!(
            GzDecoder::new(Cursor::new(bytes))
                .read_to_end(&mut unpacked)
                .is_err()
        );

        tree.file("d/big.bin", &noise(4 << 20));
        let (_, bytes) = produce_failing(
            compress(&ctx, &share("/d/big.bin"), Some("gz")).unwrap(),
            shrink,
        );
        assert!(
            GzDecoder::new(Cursor::new(bytes))
                .read_to_end(&mut unpacked)
                .is_err()
        );
    }

    #[test]
    fn a_file_that_vanishes_mid_archive_breaks_it() {
        let tree = Tree::new("vanish");
        tree.file("d/big.bin", &noise(1 << 20));
        tree.file("d/z.txt", b"after");
        let ctx = tree.context(false);
        let gone = tree.0.join("d/z.txt");
        let remove = || std::fs::remove_file(&gone).unwrap();
        let (err, bytes) = produce_failing(archive(&ctx, &share("/d"), None).unwrap(), remove);
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert!(
            zip::ZipArchive::new(Cursor::new(bytes)).is_err(),
            "a valid zip after a failure"
        );
    }

    /// Slow (a 4.5 GiB sparse file): `cargo test --release -- --ignored`.
    #[test]
    #[ignore = "deflates and inflates 4.5 GiB"]
    fn files_over_4_gib_get_zip64() {
        let tree = Tree::new("zip64");
        let len = (4 << 30) + (512 << 20);
        tree.file("d/small.txt", b"small");
        let big = File::create(tree.0.join("d/big.bin")).unwrap();
        big.set_len(len).unwrap();
        let bytes = body(archive(&tree.context(false), &share("/d"), None).unwrap());
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut entry = zip.by_name("big.bin").unwrap();
        assert_eq!(entry.size(), len);
        // Reading to the end checks the CRC.
        assert_eq!(io::copy(&mut entry, &mut io::sink()).unwrap(), len);
        drop(entry);
        let mut small = String::new();
        zip.by_name("small.txt")
            .unwrap()
            .read_to_string(&mut small)
            .unwrap();
        assert_eq!(small, "small");
    }

    #[test]
    fn dos_times_are_utc_calendar_dates() {
        let at = |secs| dos_time(Some(UNIX_EPOCH + std::time::Duration::from_secs(secs)));
        let fields = |t: DateTime| {
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
        };
        assert_eq!(fields(at(1_573_860_836)), (2019, 11, 15, 23, 33, 56));
        assert_eq!(fields(at(951_782_400)), (2000, 2, 29, 0, 0, 0));
        assert_eq!(fields(at(0)), (1980, 1, 1, 0, 0, 0));
        assert_eq!(
            fields(at(5_000_000_000)),
            (1980, 1, 1, 0, 0, 0),
            "2128 does not fit"
        );
    }
}
