//! Archives through the real binary (issue 4): `cmd=archive` on a folder
//! as zip or tar.gz, `cmd=compress` on a file as zip, gz or tar.gz.
//!
//! Archives are unpacked by Python's `zipfile` / `tarfile` / `gzip` (which
//! check the CRCs) and compared file by file, by SHA-256, with the tree on
//! disk. Streaming is checked from a raw socket: the body is chunked, its
//! first bytes arrive long before the last, the server's peak memory stays
//! under 64 MiB for a 1 GiB folder, and a file that fails mid-archive
//! leaves the transfer unfinished.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, UNIX_EPOCH};

use integration_tests::inspect::{disposition_filename, encode_path, json_error, sha256_hex};
use integration_tests::rawget::RawGet;
use integration_tests::{HIDDEN_FILES, OUTSIDE_LINKS, OUTSIDE_SECRET, Server, ServerBuilder};
use serde_json::Value;

/// A permissions file that allows every command.
const ALLOW_ALL: &str = "[DEFAULT]\nallow = all\n";

/// Bound on the server's peak resident set size (`VmHWM`), in KiB.
const PEAK_RSS_LIMIT_KIB: u64 = 64 * 1024;

/// The folders of the 45-level path the tree gets.
fn deep_dirs() -> String {
    (0..45)
        .map(|i| format!("level-{i:02}"))
        .collect::<Vec<_>>()
        .join("/")
}

/// A server allowing everything on the fixture tree plus odd names, an
/// empty folder, a 45-level path and a symlink that stays inside the root.
fn odd_tree() -> ServerBuilder {
    let builder = Server::builder().config(ALLOW_ALL);
    let tree = builder.tree();
    tree.write("odd/semi;colon,comma=eq.txt", b"punctuation\n");
    tree.write("odd/quote's \"double\" back\\slash.txt", b"quotes\n");
    tree.write(
        "odd/ünï cødé 🎉/ñ.txt",
        "non-ASCII all the way\n".as_bytes(),
    );
    tree.write(&format!("{}/leaf.txt", deep_dirs()), b"45 levels down\n");
    fs::create_dir_all(tree.root().join("empty dir")).expect("create an empty dir");
    std::os::unix::fs::symlink("../hello.txt", tree.root().join("odd/inside-link.txt"))
        .expect("symlink inside the root");
    builder
}

/// What an archive entry holds: `None` for a directory, else the SHA-256.
type Contents = BTreeMap<String, Option<String>>;

/// Everything below `dir` as an archive of it should hold: hidden names
/// only when `show_hidden`, symlinks leading out of the root never, those
/// inside the root as the file they lead to, `\` in names as `_`.
fn expected(dir: &Path, show_hidden: bool) -> Contents {
    let mut contents = Contents::new();
    let mut todo = vec![(dir.to_owned(), String::new())];
    while let Some((path, prefix)) = todo.pop() {
        for entry in fs::read_dir(&path).expect("read a source dir") {
            let entry = entry.expect("a source entry");
            let name = entry.file_name().into_string().expect("UTF-8 names");
            let full = format!("{prefix}{name}");
            if name.starts_with('.') && !show_hidden || OUTSIDE_LINKS.contains(&full.as_str()) {
                continue;
            }
            // A `\` is stored as `_`: Windows unpackers split on it.
            let full = full.replace('\\', "_");
            if entry.path().is_dir() {
                todo.push((entry.path(), format!("{full}/")));
                contents.insert(full, None);
            } else {
                let body = fs::read(entry.path()).expect("read a source file");
                contents.insert(full, Some(sha256_hex(&body)));
            }
        }
    }
    contents
}

/// Unpacks an archive (`zip`, `tar.gz`, or `gz`) with Python; returns one
/// JSON object per entry: `dir`, `sha256`, `size`, `mode`, `mtime`, and
/// for zip the `utf8` and data `descriptor` flags.
const UNPACK: &str = r#"
import calendar, gzip, hashlib, json, sys, tarfile, zipfile

def digest(reader):
    h, size = hashlib.sha256(), 0
    for chunk in iter(lambda: reader.read(1 << 20), b""):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size

path, kind = sys.argv[1], sys.argv[2]
out = {}
if kind == "zip":
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            entry = {
                "dir": info.is_dir(),
                "mode": (info.external_attr >> 16) & 0o7777,
                "mtime": calendar.timegm(info.date_time + (0, 0, 0)),
                "utf8": bool(info.flag_bits & 0x800),
                "descriptor": bool(info.flag_bits & 0x8),
            }
            if not info.is_dir():
                with z.open(info) as f:
                    entry["sha256"], entry["size"] = digest(f)
            out[info.filename.rstrip("/")] = entry
elif kind == "tar.gz":
    with tarfile.open(path, "r:gz") as t:
        for member in t:
            entry = {"dir": member.isdir(), "mode": member.mode, "mtime": member.mtime}
            if member.isfile():
                entry["sha256"], entry["size"] = digest(t.extractfile(member))
            elif not member.isdir():
                entry["type"] = member.type.decode()
            out[member.name.rstrip("/")] = entry
else:
    with gzip.open(path) as f:
        sha256, size = digest(f)
    out[""] = {"dir": False, "sha256": sha256, "size": size}
print(json.dumps(out))
"#;

/// The entries of `archive` as Python reads them.
fn unpack(archive: &[u8], kind: &str) -> BTreeMap<String, Value> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("archive");
    fs::write(&path, archive).expect("write the archive");
    let output = Command::new("python3")
        .env("PYTHONUTF8", "1")
        .args(["-c", UNPACK])
        .arg(&path)
        .arg(kind)
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "python could not unpack the {kind}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python's JSON")
}

/// The entries' contents: `None` for directories, else the SHA-256.
fn contents(entries: &BTreeMap<String, Value>) -> Contents {
    entries
        .iter()
        .map(|(name, e)| {
            assert!(e.get("type").is_none(), "{name}: an entry of type {e}");
            let sha = e["sha256"].as_str().map(str::to_owned);
            assert_eq!(e["dir"].as_bool(), Some(sha.is_none()), "{name}: {e}");
            (name.clone(), sha)
        })
        .collect()
}

/// The source file an archive entry name came from: each segment as it
/// is, or the one whose `\` the archive stored as `_`.
fn source_path(root: &Path, name: &str) -> std::path::PathBuf {
    let mut path = root.to_owned();
    for segment in name.split('/') {
        let direct = path.join(segment);
        path = if fs::symlink_metadata(&direct).is_ok() {
            direct
        } else {
            fs::read_dir(&path)
                .expect("read a source dir")
                .map(|e| e.expect("an entry").path())
                .find(|p| p.file_name().unwrap().to_string_lossy().replace('\\', "_") == segment)
                .unwrap_or(direct)
        };
    }
    path
}

/// Modification time of `path`, in whole seconds since 1970.
fn mtime(path: &Path) -> i64 {
    let modified = fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime");
    let secs = modified
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("a sane mtime")
}

/// `GET target` that must succeed; the body.
fn fetch(server: &Server, target: &str) -> Vec<u8> {
    let response = server.get(target);
    assert_eq!(response.status, 200, "{target}: {}", response.text());
    response.body
}

#[test]
fn folders_archive_file_by_file_as_zip_and_tar_gz() {
    let server = odd_tree().start();
    let root = server.root();
    let want = expected(&root, false);
    assert!(want.contains_key("empty dir") && want.contains_key(&deep_dirs()));
    assert_eq!(want["odd/inside-link.txt"], want["hello.txt"]);

    for (kind, name) in [("zip", "top.zip"), ("tar.gz", "top.tar.gz")] {
        let response = server.get(&format!("/api/1/?cmd=archive&format={kind}"));
        assert_eq!(response.status, 200, "{kind}: {}", response.text());
        let mime = if kind == "zip" {
            "application/zip"
        } else {
            "application/gzip"
        };
        assert!(
            response.content_type_is(mime),
            "{kind}: {:?}",
            response.headers
        );
        assert_eq!(response.header("content-length"), None, "{kind}");
        let disposition = response
            .header("content-disposition")
            .expect("a disposition");
        assert_eq!(disposition_filename(disposition).as_deref(), Some(name));
        assert!(
            !response
                .body
                .windows(OUTSIDE_SECRET.len())
                .any(|w| w == OUTSIDE_SECRET.as_bytes())
        );

        let entries = unpack(&response.body, kind);
        assert_eq!(contents(&entries), want, "{kind}");
        for (name, entry) in &entries {
            assert!(
                !name.starts_with('/') && !name.split('/').any(|s| s == ".."),
                "{name}"
            );
            // WASI has no permission bits; the server stores the usual ones.
            let mode = if entry["dir"] == true { 0o755 } else { 0o644 };
            assert_eq!(entry["mode"], mode, "{kind} {name}");
            // Zip's DOS time has two-second steps.
            let source = source_path(&root, name);
            let drift = entry["mtime"].as_i64().expect("an mtime") - mtime(&source);
            assert!(
                (-2..=2).contains(&drift),
                "{kind} {name}: mtime off by {drift}s"
            );
            if kind == "zip" {
                assert_eq!(entry["utf8"], !name.is_ascii(), "{name}: the UTF-8 flag");
                assert_eq!(entry["descriptor"], entry["dir"] == false, "{name}");
            }
        }
    }

    let sub = fetch(
        &server,
        &format!("{}?cmd=archive", encode_path("/api/1/odd")),
    );
    assert_eq!(
        contents(&unpack(&sub, "zip")),
        expected(&root.join("odd"), false)
    );
    let stderr = server.stderr();
    assert!(
        stderr.contains("outside-rel.txt"),
        "skipped links are logged:\n{stderr}"
    );
    assert!(
        !stderr.contains(&*root.to_string_lossy()),
        "a host path in the log:\n{stderr}"
    );
}

#[test]
fn hidden_entries_are_archived_only_when_shown() {
    let hidden = |entries: &Contents| {
        HIDDEN_FILES
            .iter()
            .filter(|(name, _)| entries.contains_key(*name))
            .count()
    };
    let server = Server::builder().config(ALLOW_ALL).start();
    let plain = contents(&unpack(&fetch(&server, "/api/1/?cmd=archive"), "zip"));
    assert_eq!(hidden(&plain), 0);
    assert_eq!(plain, expected(&server.root(), false));

    let server = Server::builder().config(ALLOW_ALL).show_hidden().start();
    let shown = contents(&unpack(
        &fetch(&server, "/api/1/?cmd=archive&format=tar.gz"),
        "tar.gz",
    ));
    assert_eq!(hidden(&shown), HIDDEN_FILES.len());
    assert_eq!(shown, expected(&server.root(), true));
}

#[test]
fn compress_round_trips_in_every_format() {
    let server = Server::builder().config(ALLOW_ALL).start();
    for name in ["pattern.bin", "日本語.txt", "empty.txt"] {
        let content = fs::read(server.root().join(name)).expect("read the source");
        let sha = sha256_hex(&content);
        let address = encode_path(&format!("/api/1/{name}"));
        for kind in ["zip", "gz", "tar.gz"] {
            let response = server.get(&format!("{address}?cmd=compress&format={kind}"));
            assert_eq!(response.status, 200, "{name} {kind}: {}", response.text());
            let disposition = response
                .header("content-disposition")
                .expect("a disposition");
            let file_name = disposition_filename(disposition);
            assert_eq!(file_name, Some(format!("{name}.{kind}")));
            assert_eq!(response.header("content-length"), None);
            let entries = unpack(&response.body, kind);
            let entry_name = if kind == "gz" { "" } else { name };
            assert_eq!(entries.len(), 1, "{name} {kind}: {entries:?}");
            assert_eq!(entries[entry_name]["sha256"], sha.as_str(), "{name} {kind}");
            if kind == "gz" {
                assert_eq!(gzip_file_name(&response.body), name.as_bytes());
            }
        }
        let default = fetch(&server, &format!("{address}?cmd=compress"));
        assert_eq!(unpack(&default, "zip")[name]["sha256"], sha.as_str());
    }
}

/// The FNAME field of a gzip header (RFC 1952).
fn gzip_file_name(gz: &[u8]) -> &[u8] {
    assert_eq!(&gz[..3], [0x1f, 0x8b, 8], "a deflate gzip stream");
    assert!(
        gz[3] & 0x08 != 0 && gz[3] & 0x04 == 0,
        "FNAME and no FEXTRA"
    );
    let name = &gz[10..];
    &name[..name
        .iter()
        .position(|b| *b == 0)
        .expect("a NUL-terminated name")]
}

#[test]
fn unknown_formats_are_400_json_naming_format_and_path() {
    let server = Server::builder().config(ALLOW_ALL).start();
    for (target, format, path) in [
        ("/api/1/sub?cmd=archive&format=gz", "gz", "/sub"),
        ("/api/1/sub?cmd=archive&format=rar", "rar", "/sub"),
        (
            "/api/1/hello.txt?cmd=compress&format=7z",
            "7z",
            "/hello.txt",
        ),
        (
            "/api/1/hello.txt?cmd=compress&format=ZIP",
            "ZIP",
            "/hello.txt",
        ),
    ] {
        let extra = json_error(&server.get(target), 400);
        assert!(
            extra.contains(format) && extra.contains(path),
            "{target}: {extra}"
        );
    }
    // And the commands on the wrong kind of target.
    json_error(&server.get("/api/1/hello.txt?cmd=archive"), 400);
    json_error(&server.get("/api/1/sub?cmd=compress"), 400);
    let head = server.head("/api/1/sub?cmd=archive");
    assert_eq!((head.status, head.body.len()), (200, 0));
}

#[test]
fn archive_and_compress_need_their_permission() {
    let server = Server::start();
    json_error(&server.get("/api/1/sub?cmd=archive"), 403);
    json_error(&server.get("/api/1/hello.txt?cmd=compress&format=gz"), 403);

    let server = Server::builder()
        .config("[DEFAULT]\nallow = list, download, archive\n")
        .start();
    fetch(&server, "/api/1/sub?cmd=archive");
    json_error(&server.get("/api/1/hello.txt?cmd=compress"), 403);

    // Files that may not be downloaded stay out; their folders stay in.
    let server = Server::builder()
        .config("[DEFAULT]\nallow = all\n[/sub]\nallow = list, archive\n")
        .start();
    let got = contents(&unpack(&fetch(&server, "/api/1/?cmd=archive"), "zip"));
    let mut want = expected(&server.root(), false);
    want.retain(|name, sha| !name.starts_with("sub/") || sha.is_none());
    assert_eq!(got, want);
    assert!(got.contains_key("sub/deeper"));
    let sub = contents(&unpack(&fetch(&server, "/api/1/sub?cmd=archive"), "zip"));
    assert_eq!(sub.keys().collect::<Vec<_>>(), ["deeper"]);
}

/// Decodes a complete chunked body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size_text = std::str::from_utf8(&raw[..eol]).expect("ASCII size");
        let size = usize::from_str_radix(size_text.trim(), 16).expect("a hex size");
        raw = &raw[eol + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Random-looking bytes that do not compress.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

#[test]
fn a_one_gib_folder_streams_in_constant_memory() {
    let builder = Server::builder().config(ALLOW_ALL);
    builder.tree().write("stream/a-noise.bin", &noise(8 << 20));
    // Sparse: costs no disk, reads back as zeros (which deflate to little,
    // hence the noise file first and the checks on chunking and timing).
    let big = File::create(builder.tree().root().join("stream/big.bin")).expect("create big.bin");
    big.set_len(1 << 30).expect("make big.bin 1 GiB");
    let server = builder.start();

    let started = Instant::now();
    let mut get = RawGet::send(&server, "/api/1/stream?cmd=archive", &[]);
    assert!(get.head.starts_with("http/1.1 200"), "{}", get.head);
    assert!(
        get.head.contains("transfer-encoding: chunked"),
        "{}",
        get.head
    );
    assert!(!get.head.contains("content-length"), "{}", get.head);
    get.read_at_least(1);
    let first = started.elapsed();
    get.read_to_close();
    let total = started.elapsed();
    assert!(get.finished(), "the archive ended without its last chunk");
    assert!(
        first * 4 < total,
        "first body bytes after {first:?} of {total:?}: not streamed"
    );

    let peak = server.peak_rss_kib();
    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "server peak RSS {peak} KiB ≥ {PEAK_RSS_LIMIT_KIB} KiB"
    );
    let entries = contents(&unpack(&dechunk(&get.body), "zip"));
    assert_eq!(entries, expected(&server.root().join("stream"), false));
}

#[test]
fn a_file_that_fails_mid_archive_breaks_the_transfer() {
    let builder = Server::builder().config(ALLOW_ALL);
    let victim = builder.tree().write("cut/a-noise.bin", &noise(64 << 20));
    builder.tree().write("cut/z.txt", b"after the victim\n");
    let server = builder.start();

    for kind in ["zip", "tar.gz"] {
        let mut get = RawGet::send(
            &server,
            &format!("/api/1/cut?cmd=archive&format={kind}"),
            &[],
        );
        assert!(get.head.starts_with("http/1.1 200"), "{}", get.head);
        // The server cannot be more than the socket buffers ahead of us,
        // far less than 64 MiB: shrink the file under it.
        get.read_at_least(64 * 1024);
        File::options()
            .write(true)
            .open(&victim)
            .and_then(|f| f.set_len(1000))
            .expect("truncate the victim");
        get.read_to_close();
        assert!(
            !get.finished(),
            "{kind}: a complete transfer after a failed read"
        );

        let stderr = server.wait_for_stderr(Duration::from_secs(10), |log| {
            log.matches("was cut off").count() >= if kind == "zip" { 1 } else { 2 }
        });
        assert!(stderr.contains("/cut/a-noise.bin"), "{stderr}");
        assert!(
            !stderr.contains(&*server.root().to_string_lossy()),
            "{stderr}"
        );
        fs::write(&victim, noise(64 << 20)).expect("restore the victim");
    }
}
