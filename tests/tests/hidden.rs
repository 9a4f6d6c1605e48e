//! Hidden entries (names starting with `.`): unlisted and unreachable
//! unless the server runs with `-s` (contract §5).

use integration_tests::inspect::{anchor_hrefs, decode, entry_names, json_error};
use integration_tests::{HIDDEN_FILES, Server};

/// Every way to ask for a hidden entry, web and API.
const HIDDEN_TARGETS: &[&str] = &[
    "/.secret",
    "/%2esecret",
    "/.hidden/",
    "/.hidden/inner.txt",
    "/%2Ehidden/inner.txt",
];

/// API commands to try on a hidden file.
const FILE_COMMANDS: &[&str] = &["", "?cmd=download", "?cmd=info", "?cmd=checksum"];

#[test]
fn hidden_files_and_folders_are_404_on_web_paths() {
    let server = Server::start();
    for target in HIDDEN_TARGETS {
        let response = server.raw_request("GET", target);
        assert_eq!(response.status, 404, "{target}");
        assert!(response.is_html(), "{target}");
        assert!(
            !response.text().contains("hidden file"),
            "{target}: content served"
        );
    }
}

#[test]
fn hidden_files_and_folders_are_404_json_on_api_paths() {
    let server = Server::builder().config("[DEFAULT]\nallow = all\n").start();
    for target in ["/.secret", "/%2esecret", "/.hidden/inner.txt"] {
        for command in FILE_COMMANDS {
            let path = format!("/api/1{target}{command}");
            let response = server.raw_request("GET", &path);
            json_error(&response, 404);
            assert!(
                !response.text().contains("a hidden file"),
                "{path}: content served"
            );
        }
    }
    for path in [
        "/api/1/.hidden",
        "/api/1/.hidden?cmd=list",
        "/api/1/.hidden/",
    ] {
        json_error(&server.raw_request("GET", path), 404);
    }
}

#[test]
fn hidden_entries_are_not_listed() {
    let server = Server::start();
    let data = server.json("/api/1/")["data"].clone();
    let mut names = entry_names(&data["files"]);
    names.extend(entry_names(&data["directories"]));
    assert!(
        names.iter().all(|n| !n.starts_with('.') || n == ".."),
        "hidden entries listed: {names:?}"
    );

    let html = server.get("/").text();
    for href in anchor_hrefs(&html) {
        let path = decode(&href).unwrap_or_default();
        assert!(!path.contains("/."), "hidden entry linked: {href}");
    }
    assert!(
        !html.contains(".secret") && !html.contains(".hidden"),
        "hidden names shown"
    );
}

#[test]
fn show_hidden_serves_and_lists_hidden_entries() {
    let server = Server::builder().show_hidden().start();
    for (path, content) in HIDDEN_FILES {
        for address in [format!("/{path}"), format!("/api/1/{path}")] {
            let response = server.get(&address);
            assert_eq!(response.status, 200, "{address}");
            assert_eq!(&response.body, content, "{address}");
        }
    }
    let data = server.json("/api/1/")["data"].clone();
    assert!(
        entry_names(&data["files"]).contains(&".secret".to_owned()),
        "{data}"
    );
    assert!(
        entry_names(&data["directories"]).contains(&".hidden".to_owned()),
        "{data}"
    );
    let data = server.json("/api/1/.hidden")["data"].clone();
    assert_eq!(entry_names(&data["files"]), ["inner.txt"]);

    let response = server.get("/.hidden/");
    assert_eq!(response.status, 200);
    assert!(response.is_html());
    let hrefs: Vec<String> = anchor_hrefs(&server.get("/").text())
        .iter()
        .filter_map(|h| decode(h))
        .collect();
    assert!(hrefs.iter().any(|h| h == "/.secret"), "{hrefs:?}");
    assert!(hrefs.iter().any(|h| h == "/.hidden/"), "{hrefs:?}");
}

#[test]
fn show_hidden_still_never_follows_outside_symlinks() {
    let server = Server::builder().show_hidden().start();
    for target in [
        "/outside-abs.txt",
        "/api/1/outside-rel.txt",
        "/api/1/outside-dir",
    ] {
        let response = server.get(target);
        assert_eq!(response.status, 404, "{target}");
        server.assert_no_leak(&response, target);
    }
}
