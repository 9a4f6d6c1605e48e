//! The bundled host's command line (contract §7).

use std::ffi::OsStr;
use std::net::TcpListener;
use std::time::Duration;

use integration_tests::{Server, Tree, VERSION, run_httpuploader};

/// How long a run that should exit at once may take.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn version_flag_prints_the_version() {
    for flag in ["-v", "--version"] {
        let outcome = run_httpuploader([flag], EXIT_TIMEOUT);
        assert!(
            outcome.status.is_some_and(|s| s.success()),
            "{flag}: {outcome:?}"
        );
        assert!(
            outcome.stdout.contains(VERSION),
            "{flag} printed {:?}",
            outcome.stdout
        );
    }
}

#[test]
fn help_mentions_every_flag() {
    let outcome = run_httpuploader(["--help"], EXIT_TIMEOUT);
    assert!(outcome.status.is_some_and(|s| s.success()), "{outcome:?}");
    let help = outcome.stdout;
    let flags = [
        "-p",
        "--port",
        "-d",
        "--rootdir",
        "-s",
        "--show-hidden",
        "-c",
        "--config",
        "-b",
        "--bind",
        "-v",
        "--version",
    ];
    for flag in flags {
        let shown = help
            .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
            .any(|w| w == flag);
        assert!(shown, "--help does not mention {flag}:\n{help}");
    }
    assert!(
        help.contains("8018"),
        "--help does not give the default port:\n{help}"
    );
}

#[test]
fn unknown_flag_is_refused() {
    let outcome = run_httpuploader(["--frobnicate"], EXIT_TIMEOUT);
    let status = outcome.status.expect("exits");
    assert!(!status.success(), "{outcome:?}");
    assert!(outcome.stderr.contains("--frobnicate"), "{outcome:?}");
}

#[test]
fn missing_root_folder_is_refused() {
    let tree = Tree::new();
    let missing = tree.base().join("no-such-folder");
    let args = ["-b", "127.0.0.1", "-p", "0", "-d"].map(OsStr::new);
    let outcome = run_httpuploader(args.into_iter().chain([missing.as_os_str()]), EXIT_TIMEOUT);
    let status = outcome
        .status
        .unwrap_or_else(|| panic!("it served a missing folder: {outcome:?}"));
    assert!(!status.success(), "{outcome:?}");
    assert!(
        outcome.stderr.contains("no-such-folder"),
        "stderr does not name it: {outcome:?}"
    );
}

#[test]
fn prints_the_url_it_listens_on() {
    let server = Server::start();
    let line = format!("  http://{}/", server.addr());
    assert!(
        server.stdout().lines().any(|l| l == line),
        "no {line:?} in:\n{}",
        server.stdout()
    );
}

#[test]
fn long_flags_and_an_explicit_port_work() {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let server = Server::builder()
        .long_flags()
        .port(port)
        .show_hidden()
        .config("[DEFAULT]\nallow = list, download, info\n")
        .start();
    assert_eq!(server.addr().port(), port);
    assert_eq!(server.get("/.secret").status, 200, "--show-hidden");
    assert_eq!(
        server.get("/api/1/hello.txt?cmd=info").status,
        200,
        "--config"
    );
    assert_eq!(
        server.get("/api/1/hello.txt?cmd=checksum").status,
        403,
        "--config"
    );
}
