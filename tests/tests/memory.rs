//! Downloads stream: a 1 GiB file leaves the server's peak resident memory
//! under 64 MiB (issue 2; a bound measured from /proc, not a timing).

use std::fs::File;

use integration_tests::Server;

/// Size of the file to download.
const ONE_GIB: u64 = 1 << 30;

/// Bound on the server's peak resident set size (`VmHWM`), in KiB.
const PEAK_RSS_LIMIT_KIB: u64 = 64 * 1024;

#[test]
fn one_gib_download_stays_under_64_mib_of_server_memory() {
    let server = Server::start();
    // Sparse: costs no disk, reads back as zeros.
    let file = File::create(server.root().join("big.bin")).expect("create big.bin");
    file.set_len(ONE_GIB).expect("make big.bin 1 GiB");

    for path in ["/big.bin", "/api/1/big.bin"] {
        let (head, received) = server.get_counting(path);
        assert_eq!(head.status, 200, "{path}");
        assert_eq!(
            head.header("content-length"),
            Some(ONE_GIB.to_string().as_str()),
            "{path}"
        );
        assert_eq!(received, ONE_GIB, "{path}: body bytes");
    }

    let peak = server.peak_rss_kib();
    eprintln!("server peak RSS after 2 GiB of downloads: {peak} KiB");
    assert!(
        peak < PEAK_RSS_LIMIT_KIB,
        "server peak RSS {peak} KiB ≥ {PEAK_RSS_LIMIT_KIB} KiB"
    );
    assert_eq!(server.get("/api/health").status, 200, "the server survived");
}
