//! Files opened for reading: downloads, checksums and archive entries.
//!
//! Under WASI a [`ReadFile`] is a `wasi:filesystem` descriptor. A download
//! never enters guest memory: [`ReadFile::send_to`] splices the file's
//! input stream into the response body, so the host reads the file into
//! the very buffer it hands to the socket. Against reading into the guest
//! and writing from there (two copies more), 4 KiB GETs went from ~10,500
//! to ~17,500 requests a second and a 1 GiB download takes ~10% less CPU
//! (`just bench --only W1,W2`). What the guest must see itself (hashing,
//! archives) is read with the positioned `descriptor.read`, whose answer
//! is already a buffer of the guest's own: Rust's `std::fs::File::read`
//! goes through the C library, which copies every answer once more.
//! Natively (unit tests) it is a `std::fs::File`.

use std::io::{self, Read};
use std::path::Path;

use super::{Kind, Meta};
use crate::share_path::SharePath;

fn not_a_file() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "not a regular file")
}

/// A file opened for reading at a running offset.
pub struct ReadFile {
    inner: imp::Inner,
}

impl ReadFile {
    /// Opens the regular file `path` under `root` (symlinks followed,
    /// within the sandbox), with the metadata of what was opened. Anything
    /// else found there, even if it was swapped in after the caller looked,
    /// is `NotFound`.
    pub fn open(root: &Path, path: &SharePath) -> io::Result<(ReadFile, Meta)> {
        let (inner, meta) = imp::Inner::open(&path.under(root))?;
        if meta.kind != Kind::File {
            return Err(not_a_file());
        }
        Ok((ReadFile { inner }, meta))
    }

    /// Moves the offset the next read starts at.
    pub fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.inner.seek_to(offset)
    }

    /// The next at most `max` bytes, in a buffer of their own; empty at
    /// the end of the file. The host may answer with fewer bytes than
    /// asked (wasmtime reads at most 64 KiB at a time).
    pub fn read_chunk(&mut self, max: usize) -> io::Result<Vec<u8>> {
        self.inner.read_chunk(max)
    }
}

#[cfg(target_os = "wasi")]
impl ReadFile {
    /// Sends exactly `len` bytes from the offset into `out` without
    /// passing them through guest memory. A file that ends early is an
    /// `UnexpectedEof` error; a closed `out` (the client left) a
    /// `BrokenPipe` one.
    pub fn send_to(&mut self, out: &wasi::io::streams::OutputStream, len: u64) -> io::Result<()> {
        self.inner.send_to(out, len)
    }
}

impl Read for ReadFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

#[cfg(target_os = "wasi")]
mod imp {
    use std::io;
    use std::path::Path;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use wasi::filesystem::types::{
        Datetime, Descriptor, DescriptorFlags, DescriptorType, OpenFlags, PathFlags,
    };

    use wasi::io::streams::{OutputStream, StreamError};

    use super::super::wasi_file::{preopen_for, to_io};

    use crate::fs::{Kind, Meta};

    /// Why a splice into `out` stopped: the client's side if `out` is
    /// closed, else the file ended before the length it was sent with.
    fn closed_side(out: &OutputStream) -> io::Error {
        match out.check_write() {
            Err(StreamError::Closed) => io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client closed the connection",
            ),
            _ => io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while sent"),
        }
    }

    pub struct Inner {
        descriptor: Descriptor,
        offset: u64,
    }

    impl Inner {
        pub fn open(path: &Path) -> io::Result<(Inner, Meta)> {
            let (preopen, relative) = preopen_for(path)?;
            let descriptor = if relative.is_empty() {
                preopen
            } else {
                // Opening a named pipe waits for a writer, and WASI has no
                // non-blocking open: look right before opening, so the
                // window for swapping one in is as short as it can be
                // (README, "What a local user of the folder can do").
                let found = preopen
                    .stat_at(PathFlags::SYMLINK_FOLLOW, &relative)
                    .map_err(to_io)?;
                if found.type_ != DescriptorType::RegularFile {
                    return Err(super::not_a_file());
                }
                preopen
                    .open_at(
                        PathFlags::SYMLINK_FOLLOW,
                        &relative,
                        OpenFlags::empty(),
                        DescriptorFlags::READ,
                    )
                    .map_err(to_io)?
            };
            let stat = descriptor.stat().map_err(to_io)?;
            let time = |t: Option<Datetime>| {
                t.map(|t| UNIX_EPOCH + Duration::new(t.seconds, t.nanoseconds))
            };
            let kind = match stat.type_ {
                DescriptorType::RegularFile => Kind::File,
                DescriptorType::Directory => Kind::Dir,
                _ => Kind::Other,
            };
            let modified: Option<SystemTime> = time(stat.data_modification_timestamp);
            let meta = Meta {
                kind,
                len: stat.size,
                modified,
                accessed: time(stat.data_access_timestamp),
                created: time(stat.status_change_timestamp).or(modified),
            };
            Ok((
                Inner {
                    descriptor,
                    offset: 0,
                },
                meta,
            ))
        }

        pub fn seek_to(&mut self, offset: u64) -> io::Result<()> {
            self.offset = offset;
            Ok(())
        }

        pub fn read_chunk(&mut self, max: usize) -> io::Result<Vec<u8>> {
            let (chunk, _end) = self
                .descriptor
                .read(max as u64, self.offset)
                .map_err(to_io)?;
            self.offset += chunk.len() as u64;
            Ok(chunk)
        }

        pub fn send_to(&mut self, out: &OutputStream, len: u64) -> io::Result<()> {
            let input = self
                .descriptor
                .read_via_stream(self.offset)
                .map_err(to_io)?;
            let mut left = len;
            while left > 0 {
                // Waits for room in `out`, then moves what one host read
                // gives (at most 64 KiB with wasmtime).
                let moved = match out.blocking_splice(&input, left) {
                    Ok(moved) => moved,
                    // Closed is either side: the file's end or the client's.
                    Err(StreamError::Closed) => return Err(closed_side(out)),
                    Err(StreamError::LastOperationFailed(err)) => {
                        return Err(io::Error::other(err.to_debug_string()));
                    }
                };
                if moved == 0 {
                    return Err(closed_side(out));
                }
                left -= moved.min(left);
                self.offset += moved;
            }
            Ok(())
        }

        pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let chunk = self.read_chunk(buf.len())?;
            buf[..chunk.len()].copy_from_slice(&chunk);
            Ok(chunk.len())
        }
    }
}

#[cfg(not(target_os = "wasi"))]
mod imp {
    use std::fs::File;
    use std::io::{self, Read, Seek, SeekFrom};
    use std::path::Path;

    use crate::fs::Meta;

    pub struct Inner {
        file: File,
    }

    impl Inner {
        pub fn open(path: &Path) -> io::Result<(Inner, Meta)> {
            let file = File::open(path)?;
            let meta = Meta::from_std(&file.metadata()?);
            Ok((Inner { file }, meta))
        }

        pub fn seek_to(&mut self, offset: u64) -> io::Result<()> {
            self.file.seek(SeekFrom::Start(offset)).map(drop)
        }

        pub fn read_chunk(&mut self, max: usize) -> io::Result<Vec<u8>> {
            let mut chunk = vec![0; max];
            let n = self.file.read(&mut chunk)?;
            chunk.truncate(n);
            Ok(chunk)
        }

        pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.file.read(buf)
        }
    }
}
