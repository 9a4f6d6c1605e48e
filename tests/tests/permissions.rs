//! The permissions file (`-c`): the nearest section up the path decides,
//! DEFAULT is the fallback, interpolation works, listings offer only
//! permitted links, and a bad file stops the server (contract §4).

use std::ffi::OsStr;
use std::time::Duration;

use integration_tests::inspect::{Kind, entry, json_error, link_commands};
use integration_tests::{Server, Tree, run_httpuploader};
use serde_json::Value;

/// Sections that restrict and open folders and a single file, with both
/// kinds of interpolation.
const RULES: &str = "\
[DEFAULT]
readonly = list, download
allow = ${readonly}, info, checksum

[/sub]
allow = list

[/sub/deeper]
allow = all

[/café]
allow = none

[/api]
note = a section without its own allow inherits DEFAULT's

[/hello.txt]
allow = ${DEFAULT:readonly},delete
";

/// How long a server with a bad permissions file may take to give up.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// The commands of the links of entry `name` in `data[list]`.
fn entry_commands(data: &Value, list: &str, name: &str, kind: Kind) -> Vec<String> {
    let mut commands = link_commands(&entry(&data[list], name)["links"], kind);
    commands.sort();
    commands
}

/// `GET path` as a 200 JSON envelope; returns its `data`.
fn ok_data(server: &Server, path: &str) -> Value {
    let response = server.get(path);
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response.json()["data"].clone()
}

#[test]
fn restricted_folder_forbids_what_it_does_not_allow() {
    let server = Server::builder().config(RULES).start();
    ok_data(&server, "/api/1/sub");
    let extra = json_error(&server.get("/api/1/sub/readme.txt"), 403);
    assert!(
        extra.contains("sub/readme.txt"),
        "extra names the path: {extra}"
    );
    json_error(&server.get("/api/1/sub/readme.txt?cmd=info"), 403);
    assert_eq!(
        server.get("/sub/readme.txt").status,
        403,
        "the web download obeys it too"
    );
}

#[test]
fn none_forbids_even_listing() {
    let server = Server::builder().config(RULES).start();
    json_error(&server.get("/api/1/caf%C3%A9"), 403);
    json_error(&server.get("/api/1/caf%C3%A9/menu.txt"), 403);
    let web = server.get("/caf%C3%A9/");
    assert_eq!(web.status, 403);
    assert!(web.is_html(), "a web path answers HTML: {:?}", web.headers);
    assert!(
        !web.text().contains("menu.txt"),
        "the forbidden folder was listed"
    );
}

#[test]
fn nearest_section_decides() {
    let server = Server::builder().config(RULES).start();
    // /sub/deeper (all) overrides /sub (list).
    assert_eq!(
        server.get("/api/1/sub/deeper/file.txt").body,
        b"two levels down\n"
    );
    ok_data(&server, "/api/1/sub/deeper/file.txt?cmd=info");
    // A file's own section overrides DEFAULT.
    assert_eq!(server.get("/api/1/hello.txt").status, 200);
    json_error(&server.get("/api/1/hello.txt?cmd=info"), 403);
    // No section on the way up: DEFAULT, with its interpolated value.
    ok_data(&server, "/api/1/empty.txt?cmd=info");
    ok_data(&server, "/api/1/pattern.bin?cmd=checksum");
    json_error(&server.request("DELETE", "/api/1/empty.txt", None), 403);
    assert!(server.root().join("empty.txt").is_file());
}

#[test]
fn section_without_allow_inherits_default() {
    let server = Server::builder().config(RULES).start();
    ok_data(&server, "/api/1/api/inside.txt?cmd=checksum");
    ok_data(&server, "/api/1/api");
}

#[test]
fn listing_links_reflect_the_permissions() {
    let server = Server::builder().config(RULES).start();
    let root = ok_data(&server, "/api/1/");
    assert_eq!(
        entry_commands(&root, "directories", "sub", Kind::Dir),
        ["list"]
    );
    assert!(entry_commands(&root, "directories", "café", Kind::Dir).is_empty());
    assert_eq!(
        entry_commands(&root, "files", "empty.txt", Kind::File),
        ["checksum", "download", "info"]
    );
    assert_eq!(
        entry_commands(&root, "files", "hello.txt", Kind::File),
        ["delete", "download"]
    );
    let own = link_commands(&root["links"], Kind::Dir);
    assert!(own.contains(&"list".to_owned()), "{own:?}");
    assert!(
        !own.iter()
            .any(|c| c == "mkdir" || c == "upload" || c == "archive"),
        "{own:?}"
    );

    let sub = ok_data(&server, "/api/1/sub");
    assert!(entry_commands(&sub, "files", "readme.txt", Kind::File).is_empty());
    assert_eq!(link_commands(&sub["links"], Kind::Dir), ["list"]);

    let deeper = ok_data(&server, "/api/1/sub/deeper");
    let commands = entry_commands(&deeper, "files", "file.txt", Kind::File);
    for wanted in [
        "checksum", "compress", "copy", "delete", "download", "info", "move",
    ] {
        assert!(
            commands.iter().any(|c| c == wanted),
            "{wanted} missing: {commands:?}"
        );
    }
    assert_eq!(
        link_commands(&deeper["directories"][0]["links"], Kind::Dir),
        ["list"]
    );
}

#[test]
fn forbidden_commands_answer_403_before_anything_else() {
    let server = Server::builder().config(RULES).start();
    let attempts: [(&str, &str, Option<&[u8]>); 6] = [
        ("POST", "/api/1/sub?cmd=mkdir&dir=new", Some(b"")),
        ("POST", "/api/1/sub/new?cmd=mkdir", Some(b"")),
        ("POST", "/api/1/sub/new.txt?cmd=upload", Some(b"data")),
        ("DELETE", "/api/1/sub/readme.txt", None),
        ("GET", "/api/1/sub?cmd=archive", None),
        (
            "POST",
            "/api/1/sub/readme.txt?cmd=move&dest=/moved.txt",
            Some(b""),
        ),
    ];
    for (method, path, body) in attempts {
        let extra = json_error(&server.request(method, path, body), 403);
        assert!(
            extra.contains("sub"),
            "{method} {path}: extra names the path: {extra}"
        );
    }
    assert!(server.root().join("sub/readme.txt").is_file());
    assert!(!server.root().join("sub/new").exists() && !server.root().join("sub/new.txt").exists());
    assert!(!server.root().join("moved.txt").exists());
}

/// Starts the binary with `ini` as its permissions file and expects it to
/// refuse: non-zero exit, stderr naming the file (and `line` if given).
fn assert_refused(ini: Option<&str>, line: Option<usize>) {
    let tree = Tree::new();
    let path = match ini {
        Some(text) => tree.write_config(text),
        None => tree.config_dir().join("missing.ini"),
    };
    let root = tree.root();
    let args = ["-b", "127.0.0.1", "-p", "0", "-d"].map(OsStr::new);
    let args = args
        .into_iter()
        .chain([root.as_os_str(), OsStr::new("-c"), path.as_os_str()]);
    let outcome = run_httpuploader(args, EXIT_TIMEOUT);
    let status = outcome
        .status
        .unwrap_or_else(|| panic!("it started despite {ini:?}:\n{outcome:?}"));
    assert!(!status.success(), "exit status {status} for {ini:?}");
    let file_name = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        outcome.stderr.contains(&file_name),
        "stderr does not name {file_name}:\n{}",
        outcome.stderr
    );
    if let Some(line) = line {
        let lower = outcome.stderr.to_ascii_lowercase();
        let named = lower.contains(&format!("line {line}"))
            || lower.contains(&format!("{file_name}:{line}"));
        assert!(
            named,
            "stderr does not name line {line}:\n{}",
            outcome.stderr
        );
    }
}

#[test]
fn missing_permissions_file_stops_the_server() {
    assert_refused(None, None);
}

#[test]
fn unparsable_permissions_file_stops_the_server_naming_the_line() {
    assert_refused(
        Some("[DEFAULT]\nallow = list\n[/unclosed\nallow = all\n"),
        Some(3),
    );
}

#[test]
fn interpolation_of_a_missing_key_stops_the_server_naming_the_line() {
    assert_refused(
        Some("[DEFAULT]\nallow = list\n\n[/sub]\nallow = ${nope}\n"),
        Some(5),
    );
    assert_refused(Some("[DEFAULT]\nallow = ${/nowhere:allow}\n"), Some(2));
}

#[test]
fn interpolation_loop_stops_the_server() {
    assert_refused(Some("[DEFAULT]\na = ${b}\nb = ${a}\nallow = ${a}\n"), None);
}
