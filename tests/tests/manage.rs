//! The file-manager commands (contract §3, issue 3): `mkdir`, `delete`,
//! `copy` and `move`, each success checked against the whole tree on disk
//! (what changed is exactly what should have), and every error leaving the
//! tree as it was.

use std::fs;
use std::os::unix::fs::symlink;

use integration_tests::Server;
use integration_tests::inspect::{encode_path, json_error};
use integration_tests::snapshot::{Entry, Snapshot, assert_same, snapshot, temp_files};

/// Every command allowed everywhere.
const ALL: &str = "[DEFAULT]\nallow = all\n";

fn open_server() -> Server {
    Server::builder().config(ALL).start()
}

/// The tree on disk: the root, the outside folder and the config, keyed
/// by path from the temp base (`share/...`).
fn disk(server: &Server) -> Snapshot {
    snapshot(server.tree().base())
}

/// `POST target` with an empty body.
fn post(server: &Server, target: &str) -> integration_tests::Response {
    server.request("POST", target, Some(b""))
}

/// Asserts a 204 with nothing left half-done (no temp files).
fn assert_204(server: &Server, response: &integration_tests::Response, what: &str) {
    assert_eq!(response.status, 204, "{what}: {}", response.text());
    assert!(response.body.is_empty(), "{what}: a 204 has no body");
    let left = temp_files(&server.root());
    assert!(left.is_empty(), "{what}: temp files left: {left:?}");
}

/// Asserts a JSON error that is 400 or 404: for a path under a file,
/// either "bad request" or "no such directory" is a fair answer.
fn assert_400_or_404(response: &integration_tests::Response, what: &str) {
    assert!(
        response.status == 400 || response.status == 404,
        "{what}: expected 400 or 404, got {} {}",
        response.status,
        response.text()
    );
    json_error(response, response.status);
}

/// `snap` without `path` (from the root) and everything under it.
fn without(snap: &Snapshot, path: &str) -> Snapshot {
    let key = format!("share/{path}");
    let under = format!("{key}/");
    snap.iter()
        .filter(|(k, _)| **k != key && !k.starts_with(&under))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `snap` with `from` and everything under it also present at `to`
/// (paths from the root); symlinks under `from` are not carried over.
fn with_copy(snap: &Snapshot, from: &str, to: &str) -> Snapshot {
    let (from_key, to_key) = (format!("share/{from}"), format!("share/{to}"));
    let mut out = snap.clone();
    for (k, v) in snap {
        if matches!(v, Entry::Link(_)) {
            continue;
        }
        let rest = if *k == from_key {
            Some("")
        } else {
            k.strip_prefix(&format!("{from_key}/"))
        };
        if let Some(rest) = rest {
            let new_key = if rest.is_empty() {
                to_key.clone()
            } else {
                format!("{to_key}/{rest}")
            };
            out.insert(new_key, v.clone());
        }
    }
    out
}

/// `snap` with `path` (from the root) as a directory.
fn with_dir(snap: &Snapshot, path: &str) -> Snapshot {
    let mut out = snap.clone();
    out.insert(format!("share/{path}"), Entry::Dir);
    out
}

// ---------------------------------------------------------------- mkdir

#[test]
fn mkdir_creates_a_directory_with_its_missing_parents() {
    let server = Server::start();
    let before = disk(&server);
    assert_204(
        &server,
        &post(&server, "/api/1/new/a/b?cmd=mkdir"),
        "mkdir -p",
    );
    let expected = with_dir(&with_dir(&with_dir(&before, "new"), "new/a"), "new/a/b");
    assert_same(&expected, &disk(&server), "mkdir new/a/b");

    let name = encode_path("/sub/dossier é #1");
    assert_204(
        &server,
        &post(&server, &format!("/api/1{name}?cmd=mkdir")),
        "odd name",
    );
    assert!(server.root().join("sub/dossier é #1").is_dir());
}

#[test]
fn mkdir_with_dir_creates_a_folder_under_an_existing_directory() {
    let server = Server::start();
    let before = disk(&server);
    assert_204(
        &server,
        &post(&server, "/api/1/sub?cmd=mkdir&dir=made"),
        "dir=made",
    );
    assert_204(
        &server,
        &post(&server, "/api/1/?cmd=mkdir&dir=top"),
        "dir= at root",
    );
    assert_204(
        &server,
        &post(&server, "/api/1/sub?cmd=mkdir&dir=x%20y%2Fz"),
        "nested dir=",
    );
    let mut expected = with_dir(&with_dir(&before, "sub/made"), "top");
    expected = with_dir(&with_dir(&expected, "sub/x y"), "sub/x y/z");
    assert_same(&expected, &disk(&server), "mkdir with dir=");
}

#[test]
fn mkdir_on_an_existing_path_is_400_and_changes_nothing() {
    let server = Server::start();
    let before = disk(&server);
    for target in [
        "/api/1/sub?cmd=mkdir",
        "/api/1/sub/deeper?cmd=mkdir",
        "/api/1/hello.txt?cmd=mkdir",
        "/api/1/?cmd=mkdir",
        "/api/1/sub?cmd=mkdir&dir=deeper",
        "/api/1/sub?cmd=mkdir&dir=readme.txt",
        "/api/1/?cmd=mkdir&dir=sub",
    ] {
        let extra = json_error(&post(&server, target), 400);
        assert!(extra.contains("exists"), "{target}: {extra}");
    }
    assert_same(&before, &disk(&server), "mkdir on existing paths");
}

#[test]
fn mkdir_refuses_bad_places_and_names_without_creating_anything() {
    let server = Server::start();
    let before = disk(&server);
    // Under a missing directory with dir=: that directory must exist.
    json_error(&post(&server, "/api/1/nowhere?cmd=mkdir&dir=x"), 404);
    // Under a file: "no such directory" (404) and "a file is in the way"
    // (400) are both fair answers; creating something is not.
    for target in [
        "/api/1/hello.txt/x?cmd=mkdir",
        "/api/1/hello.txt?cmd=mkdir&dir=x",
    ] {
        assert_400_or_404(&post(&server, target), target);
    }
    // `..` in dir=, in any position.
    for dir in ["..", "../x", "a/../../x", "%2E%2E/x"] {
        json_error(
            &post(&server, &format!("/api/1/sub?cmd=mkdir&dir={dir}")),
            403,
        );
    }
    // A dir= that names nothing.
    for dir in ["", "/", ".", "./"] {
        json_error(
            &post(&server, &format!("/api/1/sub?cmd=mkdir&dir={dir}")),
            400,
        );
    }
    // `..` in the path itself, sent verbatim.
    let raw = server.raw_request("POST", "/api/1/sub/%2e%2e/escaped?cmd=mkdir");
    json_error(&raw, 403);
    // The wrong method.
    json_error(&server.get("/api/1/newdir?cmd=mkdir"), 400);
    assert_same(&before, &disk(&server), "refused mkdirs");
}

#[test]
fn mkdir_of_hidden_names_is_404_without_show_hidden() {
    let server = Server::start();
    let before = disk(&server);
    json_error(&post(&server, "/api/1/.newdir?cmd=mkdir"), 404);
    json_error(&post(&server, "/api/1/sub/.x/y?cmd=mkdir"), 404);
    json_error(&post(&server, "/api/1/sub?cmd=mkdir&dir=.x"), 404);
    json_error(&post(&server, "/api/1/.hidden?cmd=mkdir&dir=x"), 404);
    assert_same(&before, &disk(&server), "hidden mkdirs");

    let shown = Server::builder().show_hidden().start();
    assert_204(
        &shown,
        &post(&shown, "/api/1/sub?cmd=mkdir&dir=.x"),
        "shown",
    );
    assert!(shown.root().join("sub/.x").is_dir());
}

#[test]
fn mkdir_where_it_is_not_allowed_is_403() {
    let server = Server::builder()
        .config("[DEFAULT]\nallow = all\n\n[/sub]\nallow = list, upload\n")
        .start();
    let before = disk(&server);
    json_error(&post(&server, "/api/1/sub/x?cmd=mkdir"), 403);
    json_error(&post(&server, "/api/1/sub/x/y?cmd=mkdir"), 403);
    json_error(&post(&server, "/api/1/sub?cmd=mkdir&dir=x"), 403);
    json_error(&post(&server, "/api/1/?cmd=mkdir&dir=sub%2Fx"), 403);
    assert_same(&before, &disk(&server), "forbidden mkdirs");
    assert_204(
        &server,
        &post(&server, "/api/1/other?cmd=mkdir"),
        "allowed elsewhere",
    );
}

// ---------------------------------------------------------------- delete

#[test]
fn delete_removes_a_file_and_nothing_else() {
    let server = open_server();
    let before = disk(&server);
    assert_204(
        &server,
        &server.request("DELETE", "/api/1/sub/readme.txt", None),
        "file",
    );
    assert_same(
        &without(&before, "sub/readme.txt"),
        &disk(&server),
        "delete file",
    );
    let name = encode_path("/a b#c%d+e[1].txt");
    let response = server.request("DELETE", &format!("/api/1{name}?cmd=delete"), None);
    assert_204(&server, &response, "odd name, explicit cmd");
    assert!(!server.root().join("a b#c%d+e[1].txt").exists());
}

#[test]
fn delete_removes_a_whole_tree() {
    let server = open_server();
    let before = disk(&server);
    assert_204(
        &server,
        &server.request("DELETE", "/api/1/sub", None),
        "tree",
    );
    assert_same(&without(&before, "sub"), &disk(&server), "delete sub");
    server.tree().write("empty-dir/.keep", b"");
    fs::remove_file(server.root().join("empty-dir/.keep")).unwrap();
    assert_204(
        &server,
        &server.request("DELETE", "/api/1/empty-dir/", None),
        "empty dir",
    );
    assert!(!server.root().join("empty-dir").exists());
}

#[test]
fn delete_removes_symlinks_as_links_never_their_targets() {
    let server = open_server();
    let root = server.root();
    fs::create_dir(root.join("links")).unwrap();
    fs::write(root.join("links/own.txt"), b"own").unwrap();
    symlink("../hello.txt", root.join("links/to-file")).unwrap();
    symlink("../sub", root.join("links/to-dir")).unwrap();
    symlink(server.tree().outside(), root.join("links/to-outside")).unwrap();
    symlink("hello.txt", root.join("top-link.txt")).unwrap();
    let before = disk(&server);

    assert_204(
        &server,
        &server.request("DELETE", "/api/1/links", None),
        "tree of links",
    );
    assert_204(
        &server,
        &server.request("DELETE", "/api/1/top-link.txt", None),
        "a link",
    );
    let expected = without(&without(&before, "links"), "top-link.txt");
    assert_same(&expected, &disk(&server), "targets kept");

    // A link that leads out of the root is removed as a link; its target
    // is never touched.
    let outward = server.request("DELETE", "/api/1/outside-abs.txt", None);
    assert_eq!(outward.status, 204, "outward link: {}", outward.text());
    assert!(fs::symlink_metadata(root.join("outside-abs.txt")).is_err());
    assert_eq!(
        fs::read_to_string(server.tree().outside().join("secret.txt")).unwrap(),
        integration_tests::OUTSIDE_SECRET
    );
    server.assert_no_leak(&outward, "DELETE of an outward link");
}

#[test]
fn delete_of_a_missing_path_is_404() {
    let server = open_server();
    let before = disk(&server);
    json_error(&server.request("DELETE", "/api/1/nowhere.txt", None), 404);
    json_error(&server.request("DELETE", "/api/1/sub/nowhere/x", None), 404);
    assert_same(&before, &disk(&server), "delete missing");
}

#[test]
fn delete_of_the_root_or_through_dotdot_is_403() {
    let server = open_server();
    let before = disk(&server);
    for target in ["/api/1/", "/api/1", "/api/1.0.0/?cmd=delete", "/api/1//"] {
        let extra = json_error(&server.request("DELETE", target, None), 403);
        assert!(!extra.is_empty());
    }
    for target in [
        "/api/1/sub/%2e%2e",
        "/api/1/sub/%2E%2E/",
        "/api/1/sub/..",
        "/api/1/%2e%2e",
        "/api/1/sub/deeper/%2e%2e/%2e%2e",
        "/api/1/sub/%2e%2e/hello.txt",
    ] {
        json_error(&server.raw_request("DELETE", target), 403);
    }
    assert_same(&before, &disk(&server), "refused root deletes");
}

#[test]
fn delete_without_permission_or_of_hidden_names_changes_nothing() {
    // The default rules do not allow delete.
    let server = Server::start();
    let before = disk(&server);
    json_error(&server.request("DELETE", "/api/1/hello.txt", None), 403);
    json_error(&server.request("DELETE", "/api/1/sub", None), 403);
    // Hidden names do not exist for the client.
    let open = open_server();
    let open_before = disk(&open);
    json_error(&open.request("DELETE", "/api/1/.secret", None), 404);
    json_error(&open.request("DELETE", "/api/1/.hidden", None), 404);
    json_error(
        &open.request("DELETE", "/api/1/.hidden/inner.txt", None),
        404,
    );
    // delete is DELETE only; a web address deletes nothing.
    json_error(
        &open.request("POST", "/api/1/hello.txt?cmd=delete", Some(b"")),
        400,
    );
    assert_eq!(open.request("DELETE", "/hello.txt", None).status, 400);
    assert_same(&before, &disk(&server), "forbidden deletes");
    assert_same(&open_before, &disk(&open), "hidden deletes");

    let rules = "[DEFAULT]\nallow = all\n\n[/sub/deeper]\nallow = list\n";
    let server = Server::builder().config(rules).start();
    let before = disk(&server);
    json_error(&server.request("DELETE", "/api/1/sub/deeper", None), 403);
    json_error(
        &server.request("DELETE", "/api/1/sub/deeper/file.txt", None),
        403,
    );
    assert_same(&before, &disk(&server), "section forbids delete");
}

// ---------------------------------------------------------------- copy

#[test]
fn copy_a_file_to_a_new_name_in_every_dest_spelling() {
    let server = open_server();
    let before = disk(&server);
    for dest in [
        "/sub/c1.txt",
        "sub/c2.txt",
        "//sub//c3.txt",
        "/./sub/c4.txt",
    ] {
        let target = format!("/api/1/hello.txt?cmd=copy&dest={dest}");
        assert_204(&server, &post(&server, &target), dest);
    }
    let mut expected = before.clone();
    for n in 1..=4 {
        expected = with_copy(&expected, "hello.txt", &format!("sub/c{n}.txt"));
    }
    assert_same(&expected, &disk(&server), "copies");

    let dest = encode_path("/sub/copie é #2.txt").replace('/', "%2F");
    let target = format!("/api/1/hello.txt?cmd=copy&dest={dest}");
    assert_204(&server, &post(&server, &target), "encoded dest");
    assert_eq!(
        fs::read(server.root().join("sub/copie é #2.txt")).unwrap(),
        b"hello world\n"
    );
}

#[test]
fn copy_into_an_existing_directory_keeps_the_name() {
    let server = open_server();
    let before = disk(&server);
    assert_204(
        &server,
        &post(&server, "/api/1/hello.txt?cmd=copy&dest=/sub"),
        "into sub",
    );
    assert_204(
        &server,
        &post(&server, "/api/1/sub/deeper?cmd=copy&dest=/api/"),
        "dir into api",
    );
    let expected = with_copy(
        &with_copy(&before, "hello.txt", "sub/hello.txt"),
        "sub/deeper",
        "api/deeper",
    );
    assert_same(&expected, &disk(&server), "copy into dirs");
}

#[test]
fn copy_a_tree_copies_every_file_and_skips_symlinks() {
    let server = open_server();
    let root = server.root();
    fs::create_dir_all(root.join("sub/empty-folder")).unwrap();
    symlink("../hello.txt", root.join("sub/link-file")).unwrap();
    symlink(server.tree().outside(), root.join("sub/deeper/link-out")).unwrap();
    let before = disk(&server);
    assert_204(
        &server,
        &post(&server, "/api/1/sub?cmd=copy&dest=/copied"),
        "tree",
    );
    assert_same(
        &with_copy(&before, "sub", "copied"),
        &disk(&server),
        "copied tree",
    );
    assert!(
        !root.join("copied/link-file").exists() && !root.join("copied/deeper/link-out").exists()
    );
}

#[test]
fn copy_replaces_an_existing_file_but_not_a_directory() {
    let server = open_server();
    assert_204(
        &server,
        &post(&server, "/api/1/hello.txt?cmd=copy&dest=/sub/readme.txt"),
        "over a file",
    );
    assert_eq!(
        fs::read(server.root().join("sub/readme.txt")).unwrap(),
        b"hello world\n"
    );

    // A directory where the copy would land.
    fs::create_dir_all(server.root().join("api/hello.txt")).unwrap();
    fs::create_dir_all(server.root().join("deeper")).unwrap();
    let before = disk(&server);
    json_error(&post(&server, "/api/1/hello.txt?cmd=copy&dest=/api"), 400);
    json_error(&post(&server, "/api/1/sub/deeper?cmd=copy&dest=/"), 400);
    assert_same(&before, &disk(&server), "copies onto directories");
}

#[test]
fn copy_onto_itself_or_into_itself_is_400() {
    let server = open_server();
    let before = disk(&server);
    for target in [
        "/api/1/hello.txt?cmd=copy&dest=/hello.txt",
        "/api/1/hello.txt?cmd=copy&dest=/",
        "/api/1/sub/readme.txt?cmd=copy&dest=sub",
        "/api/1/sub?cmd=copy&dest=/sub",
        "/api/1/sub?cmd=copy&dest=/sub/deeper",
        "/api/1/sub?cmd=copy&dest=/sub/new-name",
        "/api/1/sub?cmd=copy&dest=/sub/deeper/new-name",
    ] {
        json_error(&post(&server, target), 400);
    }
    assert_same(&before, &disk(&server), "copy onto/into itself");
}

#[test]
fn copy_refuses_bad_sources_and_dests() {
    let server = open_server();
    let before = disk(&server);
    // No dest, or an empty one.
    json_error(&post(&server, "/api/1/hello.txt?cmd=copy"), 400);
    json_error(&post(&server, "/api/1/hello.txt?cmd=copy&dest="), 400);
    // `..` in dest.
    for dest in ["..", "../x.txt", "/sub/../../x.txt", "sub/%2e%2e/x"] {
        json_error(
            &post(&server, &format!("/api/1/hello.txt?cmd=copy&dest={dest}")),
            403,
        );
    }
    // dest's directory does not exist.
    json_error(
        &post(&server, "/api/1/hello.txt?cmd=copy&dest=/nowhere/x.txt"),
        404,
    );
    // dest under a file.
    let target = "/api/1/sub/readme.txt?cmd=copy&dest=/hello.txt/x";
    assert_400_or_404(&post(&server, target), target);
    // The root as source; a missing source.
    json_error(&post(&server, "/api/1/?cmd=copy&dest=/rootcopy"), 403);
    json_error(
        &post(&server, "/api/1/nowhere.txt?cmd=copy&dest=/x.txt"),
        404,
    );
    // The wrong method.
    json_error(&server.get("/api/1/hello.txt?cmd=copy&dest=/x.txt"), 400);
    // Hidden source or dest.
    json_error(&post(&server, "/api/1/.secret?cmd=copy&dest=/x.txt"), 404);
    json_error(
        &post(&server, "/api/1/hello.txt?cmd=copy&dest=/.x.txt"),
        404,
    );
    json_error(
        &post(&server, "/api/1/hello.txt?cmd=copy&dest=/.hidden"),
        404,
    );
    assert_same(&before, &disk(&server), "refused copies");
}

/// Rules for the permission checks of copy and move: `/ro` may only be
/// listed, `/in` may receive uploads but not give copies or moves.
const TRANSFER_RULES: &str = "\
[DEFAULT]
allow = all

[/ro]
allow = list

[/in]
allow = list, upload
";

#[test]
fn copy_and_move_need_permission_at_both_ends() {
    let builder = Server::builder().config(TRANSFER_RULES);
    builder.tree().write("ro/kept.txt", b"read only");
    builder.tree().write("in/inbox.txt", b"inbox");
    let server = builder.start();
    let before = disk(&server);
    for cmd in ["copy", "move"] {
        // Into a directory whose section only allows `list`.
        json_error(
            &post(&server, &format!("/api/1/hello.txt?cmd={cmd}&dest=/ro")),
            403,
        );
        json_error(
            &post(
                &server,
                &format!("/api/1/hello.txt?cmd={cmd}&dest=/ro/new.txt"),
            ),
            403,
        );
        json_error(
            &post(&server, &format!("/api/1/sub?cmd={cmd}&dest=/ro/sub2")),
            403,
        );
        // Out of directories that do not allow it.
        json_error(
            &post(
                &server,
                &format!("/api/1/ro/kept.txt?cmd={cmd}&dest=/x.txt"),
            ),
            403,
        );
        json_error(
            &post(
                &server,
                &format!("/api/1/in/inbox.txt?cmd={cmd}&dest=/x.txt"),
            ),
            403,
        );
    }
    assert_same(&before, &disk(&server), "forbidden copies and moves");

    // `upload` at the destination is enough to receive.
    assert_204(
        &server,
        &post(&server, "/api/1/hello.txt?cmd=copy&dest=/in"),
        "copy into in",
    );
    assert_204(
        &server,
        &post(&server, "/api/1/app.js?cmd=move&dest=/in"),
        "move into in",
    );
    assert!(
        server.root().join("in/hello.txt").is_file() && server.root().join("in/app.js").is_file()
    );
}

#[test]
fn tree_operations_refuse_to_reach_into_stricter_sections() {
    let rules = "[DEFAULT]\nallow = all\n[/sub/deeper]\nallow = list, download\n";
    let server = Server::builder().config(rules).start();
    let before = disk(&server);
    for (method, target) in [
        ("DELETE", "/api/1/sub"),
        ("POST", "/api/1/sub?cmd=move&dest=/moved"),
        ("POST", "/api/1/sub?cmd=copy&dest=/copied"),
    ] {
        let response = server.request(method, target, Some(b""));
        let extra = json_error(&response, 403);
        assert!(extra.contains("/sub/deeper"), "{target}: {extra}");
    }
    assert_same(&before, &disk(&server), "refused tree operations");
    // The stricter folder's neighbours are still free to go.
    assert_204(
        &server,
        &server.request("DELETE", "/api/1/sub/readme.txt", None),
        "a file beside it",
    );
}

// ---------------------------------------------------------------- move

#[test]
fn move_renames_files_and_trees() {
    let server = open_server();
    let before = disk(&server);
    assert_204(
        &server,
        &post(&server, "/api/1/hello.txt?cmd=move&dest=/renamed.txt"),
        "file",
    );
    assert_204(
        &server,
        &post(&server, "/api/1/sub?cmd=move&dest=moved-sub"),
        "tree",
    );
    let expected = without(
        &without(
            &with_copy(
                &with_copy(&before, "hello.txt", "renamed.txt"),
                "sub",
                "moved-sub",
            ),
            "hello.txt",
        ),
        "sub",
    );
    assert_same(&expected, &disk(&server), "moves");
}

#[test]
fn move_into_an_existing_directory_keeps_the_name() {
    let server = open_server();
    let before = disk(&server);
    assert_204(
        &server,
        &post(&server, "/api/1/hello.txt?cmd=move&dest=/sub/"),
        "file",
    );
    let cafe = encode_path("/café");
    assert_204(
        &server,
        &post(&server, &format!("/api/1{cafe}?cmd=move&dest=/sub/deeper")),
        "dir",
    );
    let expected = without(
        &without(
            &with_copy(
                &with_copy(&before, "hello.txt", "sub/hello.txt"),
                "café",
                "sub/deeper/café",
            ),
            "hello.txt",
        ),
        "café",
    );
    assert_same(&expected, &disk(&server), "moves into dirs");
}

#[test]
fn move_replaces_an_existing_file_but_not_a_directory() {
    let server = open_server();
    assert_204(
        &server,
        &post(&server, "/api/1/hello.txt?cmd=move&dest=/sub/readme.txt"),
        "over a file",
    );
    assert_eq!(
        fs::read(server.root().join("sub/readme.txt")).unwrap(),
        b"hello world\n"
    );
    assert!(!server.root().join("hello.txt").exists());

    fs::create_dir_all(server.root().join("api/app.js")).unwrap();
    let before = disk(&server);
    json_error(&post(&server, "/api/1/app.js?cmd=move&dest=/api"), 400);
    json_error(&post(&server, "/api/1/sub?cmd=move&dest=/"), 400);
    // A directory does not replace a file either.
    json_error(
        &post(&server, "/api/1/sub/deeper?cmd=move&dest=/app.js"),
        400,
    );
    json_error(
        &post(&server, "/api/1/sub/deeper?cmd=copy&dest=/app.js"),
        400,
    );
    assert_same(&before, &disk(&server), "moves onto directories");
}

#[test]
fn move_refuses_itself_the_root_and_bad_dests() {
    let server = open_server();
    let before = disk(&server);
    for (target, status) in [
        ("/api/1/hello.txt?cmd=move&dest=/hello.txt", 400),
        ("/api/1/hello.txt?cmd=move&dest=/", 400),
        ("/api/1/sub?cmd=move&dest=/sub", 400),
        ("/api/1/sub?cmd=move&dest=/sub/deeper", 400),
        ("/api/1/sub?cmd=move&dest=/sub/deeper/inner", 400),
        ("/api/1/hello.txt?cmd=move", 400),
        ("/api/1/hello.txt?cmd=move&dest=", 400),
        ("/api/1/hello.txt?cmd=move&dest=../x.txt", 403),
        ("/api/1/hello.txt?cmd=move&dest=/sub/../../x.txt", 403),
        ("/api/1/?cmd=move&dest=/elsewhere", 403),
        ("/api/1/nowhere.txt?cmd=move&dest=/x.txt", 404),
        ("/api/1/hello.txt?cmd=move&dest=/nowhere/x.txt", 404),
        ("/api/1/.secret?cmd=move&dest=/x.txt", 404),
        ("/api/1/hello.txt?cmd=move&dest=/.x.txt", 404),
    ] {
        json_error(&post(&server, target), status);
    }
    json_error(&server.get("/api/1/hello.txt?cmd=move&dest=/x.txt"), 400);
    assert_same(&before, &disk(&server), "refused moves");
}
