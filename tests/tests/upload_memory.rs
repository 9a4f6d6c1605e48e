//! Uploads stream to disk (issue 3): a 1 GiB raw body and a 1 GiB
//! multipart file, each produced by a generator while it is sent (never
//! held in memory by the test either), leave the server's peak resident
//! memory (`VmHWM`, from /proc) under 64 MiB, and are stored whole: the
//! size and SHA-256 on disk are those of the bytes sent.

use std::fs;
use std::io::{self, Write};

use integration_tests::Server;
use integration_tests::multipart;
use integration_tests::payload::{Generator, file_sha256};
use integration_tests::rawclient;
use integration_tests::snapshot::temp_files;

/// Size of each upload.
const ONE_GIB: u64 = 1 << 30;

/// Bound on the server's peak resident set size (`VmHWM`), in KiB.
const PEAK_RSS_LIMIT_KIB: u64 = 64 * 1024;

/// The boundary of the form.
const BOUNDARY: &str = "----memoryBoundaryQ8xZ3k";

/// Checks what was stored at `path` (from the root) and the server's
/// memory, then removes the file to give the disk back.
fn assert_stored_and_small(server: &Server, path: &str, sent_digest: &str) {
    let stored = server.root().join(path);
    let len = fs::metadata(&stored)
        .unwrap_or_else(|e| panic!("{path} was not stored: {e}"))
        .len();
    assert_eq!(len, ONE_GIB, "{path}: stored size");
    assert_eq!(
        file_sha256(&stored).expect("hash the stored file"),
        sent_digest,
        "{path}: stored bytes"
    );
    assert!(temp_files(&server.root()).is_empty(), "temp files left");
    let peak = server.peak_rss_kib();
    println!("{path}: server peak RSS {peak} KiB");
    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "server peak RSS {peak} KiB ≥ {PEAK_RSS_LIMIT_KIB} KiB after a 1 GiB upload"
    );
    assert_eq!(server.get("/api/health").status, 200, "the server survived");
    fs::remove_file(stored).expect("remove the big file");
}

#[test]
fn one_gib_raw_upload_streams_to_disk_under_64_mib() {
    let server = Server::start();
    // The digest first (the generator is deterministic), so that the
    // server also checks it while streaming.
    let expected = Generator::new(21, ONE_GIB)
        .write_all_to(&mut io::sink())
        .expect("hash the body");
    let target = format!("/api/1/sub/big-raw.bin?cmd=upload&checksum={expected}");
    let length = ONE_GIB.to_string();
    let (response, sent) = rawclient::send_streamed(
        server.addr(),
        "POST",
        &target,
        &[
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", &length),
        ],
        |out| Generator::new(21, ONE_GIB).write_all_to(out),
    );
    assert_eq!(response.status, 204, "{}", response.text());
    let sent = sent.expect("the whole body was sent");
    assert_eq!(sent, expected, "the generator repeats itself");
    assert_stored_and_small(&server, "sub/big-raw.bin", &sent);
}

#[test]
fn one_gib_multipart_upload_streams_to_disk_under_64_mib() {
    let server = Server::start();
    let head = multipart::streamed_file_head(BOUNDARY, "file", "big-form.bin");
    let tail = multipart::streamed_tail(BOUNDARY);
    let length = (head.len() as u64 + ONE_GIB + tail.len() as u64).to_string();
    let content_type = multipart::content_type(BOUNDARY);
    let (response, sent) = rawclient::send_streamed(
        server.addr(),
        "POST",
        "/api/1/sub?cmd=upload",
        &[("Content-Type", &content_type), ("Content-Length", &length)],
        move |out: &mut dyn Write| {
            out.write_all(&head)?;
            let digest = Generator::new(22, ONE_GIB).write_all_to(out)?;
            out.write_all(&tail)?;
            Ok(digest)
        },
    );
    assert_eq!(response.status, 204, "{}", response.text());
    let sent = sent.expect("the whole body was sent");
    assert_stored_and_small(&server, "sub/big-form.bin", &sent);
}
