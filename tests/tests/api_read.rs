//! The read side of API v1: the envelope, versions, `list`, `info`,
//! `checksum` (contract §2, §3, §6).

use integration_tests::inspect::{
    Kind, encode_path, entry, entry_names, envelope_data, find_link, href_path, is_percent_encoded,
    is_utc_timestamp, json_error, link_command, link_commands, sha256_hex,
};
use integration_tests::{API_VERSION, ROOT_DIRS, ROOT_FILES, Server, visible_files};
use serde_json::Value;

/// A permissions file that allows every command everywhere.
const ALLOW_ALL: &str = "[DEFAULT]\nallow = all\n";

/// `GET path` as a 200 JSON envelope; returns its `data`.
fn ok_data(server: &Server, path: &str) -> Value {
    let response = server.get(path);
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    assert!(response.is_json(), "{path}: headers {:?}", response.headers);
    envelope_data(&response.json(), 200).clone()
}

/// Whether `names` is sorted by name.
fn is_sorted(names: &[String]) -> bool {
    names.windows(2).all(|w| w[0] <= w[1])
}

#[test]
fn envelope_carries_version_api_version_rc_msg_and_data() {
    let server = Server::start();
    let response = server.get("/api/1/");
    assert!(response.is_json());
    let value = response.json();
    envelope_data(&value, 200);
    assert_eq!(value["msg"], "OK");
    assert_eq!(value["version"], API_VERSION);
    assert_eq!(value["api_version"], value["version"]);
}

#[test]
fn every_v1_spelling_answers_the_same_listing() {
    let server = Server::start();
    let reference = ok_data(&server, "/api/1.0.0/sub");
    for prefix in ["/api/1", "/api/1.0"] {
        assert_eq!(
            ok_data(&server, &format!("{prefix}/sub")),
            reference,
            "{prefix}"
        );
        assert_eq!(
            ok_data(&server, &format!("{prefix}/sub?cmd=list")),
            reference,
            "{prefix}"
        );
    }
}

#[test]
fn unknown_major_version_is_404_json() {
    let server = Server::start();
    for path in [
        "/api/2/",
        "/api/2.0.0/hello.txt",
        "/api/0/sub",
        "/api/3.1/sub?cmd=list",
    ] {
        let response = server.get(path);
        json_error(&response, 404);
        server.assert_no_leak(&response, path);
    }
}

#[test]
fn root_listing_names_the_visible_entries_sorted() {
    let server = Server::start();
    let data = ok_data(&server, "/api/1/");
    assert_eq!(data["name"], "/");
    let files = entry_names(&data["files"]);
    let dirs = entry_names(&data["directories"]);
    assert!(is_sorted(&files), "files not sorted: {files:?}");
    assert!(is_sorted(&dirs), "directories not sorted: {dirs:?}");
    assert_eq!(files, ROOT_FILES, "the root's files");
    assert_eq!(
        dirs, ROOT_DIRS,
        "the root's directories (no `..` at the root)"
    );
}

#[test]
fn file_entries_carry_name_size_bytes_mtime_and_links() {
    let server = Server::start();
    let data = ok_data(&server, "/api/1/");
    for (path, content) in visible_files()
        .into_iter()
        .filter(|(p, _)| !p.contains('/'))
    {
        let file = entry(&data["files"], path);
        assert_eq!(file["bytes"], content.len(), "{path}");
        assert!(
            file["size"].as_str().is_some_and(|s| !s.is_empty()),
            "{path}: {file}"
        );
        assert!(
            file["mtime"].as_str().is_some_and(is_utc_timestamp),
            "{path}: {file}"
        );
        assert!(file["links"].is_array(), "{path}: {file}");
    }
    assert_eq!(entry(&data["files"], "hello.txt")["size"], "12.00 bytes");
    assert_eq!(entry(&data["files"], "empty.txt")["size"], "0.00 bytes");
    assert_eq!(entry(&data["files"], "pattern.bin")["size"], "292.97 KB");
    for dir in ROOT_DIRS {
        assert!(
            entry(&data["directories"], dir)["links"].is_array(),
            "{dir}"
        );
    }
}

#[test]
fn subfolder_listing_starts_with_a_parent_entry_that_only_lists() {
    let server = Server::start();
    for (path, parent) in [
        ("/api/1/sub", "/api/1.0.0"),
        ("/api/1/sub/deeper", "/api/1.0.0/sub"),
    ] {
        let data = ok_data(&server, path);
        let dirs = data["directories"].as_array().expect("directories");
        assert_eq!(dirs[0]["name"], "..", "{path}: {}", data["directories"]);
        let links = &dirs[0]["links"];
        assert_eq!(link_commands(links, Kind::Dir), ["list"], "{path}: {links}");
        let href = links[0]["href"].as_str().expect("href");
        assert_eq!(
            href_path(href).trim_end_matches('/'),
            parent,
            "{path}: parent link {href}"
        );
        let rest: Vec<String> = entry_names(&data["directories"])
            .into_iter()
            .skip(1)
            .collect();
        assert!(is_sorted(&rest), "{path}: {rest:?}");
    }
    assert_eq!(ok_data(&server, "/api/1/sub")["name"], "/sub");
    assert_eq!(
        entry_names(&ok_data(&server, "/api/1/sub")["files"]),
        ["readme.txt"]
    );
}

#[test]
fn default_links_offer_only_the_default_permissions() {
    // Without -c: list, download, mkdir, upload.
    let server = Server::start();
    let data = ok_data(&server, "/api/1/");
    let file_links = link_commands(&entry(&data["files"], "hello.txt")["links"], Kind::File);
    assert!(
        file_links.contains(&"download".to_owned()),
        "{file_links:?}"
    );
    for denied in ["delete", "info", "checksum", "copy", "move", "compress"] {
        assert!(
            !file_links.iter().any(|c| c == denied),
            "{denied} offered: {file_links:?}"
        );
    }
    let dir_links = link_commands(&entry(&data["directories"], "sub")["links"], Kind::Dir);
    assert!(dir_links.contains(&"list".to_owned()), "{dir_links:?}");
    for denied in ["delete", "archive", "copy", "move"] {
        assert!(
            !dir_links.iter().any(|c| c == denied),
            "{denied} offered: {dir_links:?}"
        );
    }
    let own = link_commands(&data["links"], Kind::Dir);
    assert!(
        own.contains(&"list".to_owned()),
        "the root's own links: {own:?}"
    );
}

#[test]
fn link_hrefs_are_prefixed_percent_encoded_and_work() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let data = ok_data(&server, "/api/1/");
    let files = data["files"].as_array().expect("files");
    for file in files {
        let name = file["name"].as_str().expect("name");
        for link in file["links"].as_array().expect("links") {
            let href = link["href"].as_str().expect("href");
            assert!(href.starts_with("/api/1.0.0/"), "{name}: {href}");
            let plain = href.replace("{0}", "");
            assert!(
                is_percent_encoded(&plain),
                "{name}: {href} is not percent-encoded"
            );
            assert_eq!(
                href_path(href),
                format!("/api/1.0.0/{name}"),
                "{name}: {href}"
            );
        }
        let download = find_link(&file["links"], Kind::File, "download").expect("a download link");
        let response = server.get(download["href"].as_str().expect("href"));
        assert_eq!(response.status, 200, "{name}");
        assert_eq!(
            response.body,
            std::fs::read(server.root().join(name)).expect("read"),
            "{name}"
        );
    }
}

#[test]
fn links_that_take_arguments_carry_placeholders() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let data = ok_data(&server, "/api/1/");
    let links = &entry(&data["files"], "hello.txt")["links"];
    for command in ["copy", "move"] {
        let link = find_link(links, Kind::File, command)
            .unwrap_or_else(|| panic!("no {command}: {links}"));
        assert_eq!(link["method"], "POST", "{link}");
        assert!(
            link["href"].as_str().is_some_and(|h| h.contains("{0}")),
            "{link}"
        );
        assert_eq!(link["args"], serde_json::json!(["dest"]), "{link}");
    }
    let info = find_link(links, Kind::File, "info").expect("an info link");
    assert_eq!(info["args"], serde_json::json!([]), "{info}");
    for link in links.as_array().expect("links") {
        let method = link["method"].as_str().expect("method");
        let expected = match link_command(link, Kind::File).as_str() {
            "delete" => "DELETE",
            "copy" | "move" | "upload" | "mkdir" => "POST",
            _ => "GET",
        };
        assert_eq!(method, expected, "{link}");
    }
}

#[test]
fn list_on_a_file_is_400_json() {
    let server = Server::start();
    json_error(&server.get("/api/1/hello.txt?cmd=list"), 400);
}

#[test]
fn list_of_a_missing_folder_is_404_json_naming_it() {
    let server = Server::start();
    let response = server.get("/api/1/sub/nowhere?cmd=list");
    let extra = json_error(&response, 404);
    assert!(
        extra.contains("sub/nowhere"),
        "extra names the path: {extra}"
    );
    server.assert_no_leak(&response, "missing folder");
}

#[test]
fn list_not_permitted_is_403_json() {
    let server = Server::builder()
        .config("[DEFAULT]\nallow = download\n")
        .start();
    json_error(&server.get("/api/1/sub"), 403);
    json_error(&server.get("/api/1/?cmd=list"), 403);
}

#[test]
fn unknown_command_is_400_json() {
    let server = Server::start();
    for path in [
        "/api/1/?cmd=frobnicate",
        "/api/1/hello.txt?cmd=LIST",
        "/api/1/sub?cmd=",
    ] {
        json_error(&server.get(path), 400);
    }
}

#[test]
fn command_with_the_wrong_method_is_400_json() {
    let server = Server::builder().config(ALLOW_ALL).start();
    json_error(
        &server.request("POST", "/api/1/sub?cmd=list", Some(b"")),
        400,
    );
    json_error(
        &server.request("POST", "/api/1/hello.txt?cmd=info", Some(b"")),
        400,
    );
    json_error(
        &server.request("DELETE", "/api/1/hello.txt?cmd=checksum", None),
        400,
    );
    json_error(&server.get("/api/1/sub?cmd=mkdir"), 400);
    assert!(server.root().join("hello.txt").is_file());
}

#[test]
fn info_reports_the_file_in_detail() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let data = ok_data(&server, "/api/1/hello.txt?cmd=info");
    assert_eq!(data["name"], "hello.txt");
    assert_eq!(data["size"], 12);
    assert_eq!(data["human_size"], "12.00 bytes");
    assert_eq!(data["path"], "/");
    assert_eq!(data["checksum"], sha256_hex(b"hello world\n"));
    for time in ["atime", "mtime", "ctime"] {
        assert!(
            data[time].as_str().is_some_and(is_utc_timestamp),
            "{time}: {data}"
        );
    }

    let data = ok_data(
        &server,
        &format!("{}?cmd=info", encode_path("/api/1/sub/deeper/file.txt")),
    );
    assert_eq!(data["path"], "/sub/deeper");
    let data = ok_data(
        &server,
        &format!("{}?cmd=info", encode_path("/api/1/café/menu.txt")),
    );
    assert_eq!(data["name"], "menu.txt");
    assert_eq!(data["path"], "/café");
}

#[test]
fn info_errors_are_json() {
    let server = Server::builder().config(ALLOW_ALL).start();
    json_error(&server.get("/api/1/sub?cmd=info"), 400);
    json_error(&server.get("/api/1/missing.txt?cmd=info"), 404);
    let server = Server::start();
    json_error(&server.get("/api/1/hello.txt?cmd=info"), 403);
}

#[test]
fn checksum_is_the_lower_case_sha256() {
    let server = Server::builder().config(ALLOW_ALL).start();
    for (path, content) in visible_files() {
        let address = encode_path(&format!("/api/1/{path}")) + "?cmd=checksum";
        let data = ok_data(&server, &address);
        assert_eq!(data["checksum"], sha256_hex(&content), "{path}");
        assert_eq!(
            data["filename"],
            path.rsplit('/').next().expect("name"),
            "{path}"
        );
        assert!(
            data.get("match").is_none(),
            "{path}: no `match` without the argument"
        );
    }
}

#[test]
fn checksum_match_ignores_case_and_accepts_check() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let sum = sha256_hex(b"hello world\n");
    let other = sha256_hex(b"something else");
    let cases = [
        (format!("match={sum}"), true),
        (format!("match={}", sum.to_ascii_uppercase()), true),
        (format!("check={sum}"), true),
        (format!("check={}", sum.to_ascii_uppercase()), true),
        (format!("match={other}"), false),
        (format!("check={other}"), false),
    ];
    for (query, expected) in cases {
        let data = ok_data(&server, &format!("/api/1/hello.txt?cmd=checksum&{query}"));
        assert_eq!(data["match"], expected, "{query}");
        assert_eq!(data["checksum"], sum, "{query}");
    }
}

#[test]
fn checksum_errors_are_json() {
    let server = Server::builder().config(ALLOW_ALL).start();
    json_error(&server.get("/api/1/sub?cmd=checksum"), 400);
    json_error(&server.get("/api/1/missing.bin?cmd=checksum"), 404);
    let server = Server::start();
    json_error(&server.get("/api/1/hello.txt?cmd=checksum"), 403);
}

#[test]
fn errors_name_the_path_from_the_root_and_never_a_host_path() {
    let server = Server::builder().config(ALLOW_ALL).start();
    let root = server.root().to_string_lossy().into_owned();
    let response = server.get("/api/1/sub/deeper/gone.txt?cmd=info");
    let extra = json_error(&response, 404);
    assert!(extra.contains("sub/deeper/gone.txt"), "{extra}");
    assert!(!extra.contains(&root), "{extra}");
    server.assert_no_leak(&response, "info on a missing file");
}
