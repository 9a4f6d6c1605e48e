//! The same component under stock `wasmtime serve -Scli --dir ROOT::/srv`:
//! list, download and a 403 from a permissions file (issue 2).

use integration_tests::inspect::{encode_path, entry_names, json_error};
use integration_tests::{OUTSIDE_LINKS, ROOT_FILES, Server, visible_files};

#[test]
fn serves_the_first_preopen_with_default_settings() {
    let server = Server::builder().start_wasmtime_serve();
    let response = server.get("/api/1/");
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(entry_names(&response.json()["data"]["files"]), ROOT_FILES);

    for (path, content) in visible_files() {
        // Files under the root folder `api` are reached through a version.
        let prefix = if path.starts_with("api/") {
            "/api/1/"
        } else {
            "/"
        };
        let address = encode_path(&format!("{prefix}{path}"));
        let response = server.get(&address);
        assert_eq!(response.status, 200, "{address}");
        assert!(response.body == content, "{address}: other bytes");
    }
    let page = server.get("/sub/");
    assert_eq!(page.status, 200);
    assert!(page.is_html());
}

#[test]
fn keeps_hidden_and_outside_entries_out() {
    let server = Server::builder().start_wasmtime_serve();
    assert_eq!(server.get("/.secret").status, 404);
    json_error(
        &server.raw_request("GET", "/api/1/%2e%2e/outside/secret.txt"),
        403,
    );
    for link in OUTSIDE_LINKS {
        let response = server.get(&format!("/api/1/{link}"));
        json_error(&response, 404);
        server.assert_no_leak(&response, link);
    }
}

#[test]
fn permissions_file_forbids_with_403() {
    let ini = "[DEFAULT]\nallow = list, download\n\n[/sub]\nallow = none\n";
    let server = Server::builder().config(ini).start_wasmtime_serve();
    json_error(&server.get("/api/1/sub"), 403);
    json_error(&server.get("/api/1/hello.txt?cmd=info"), 403);
    assert_eq!(server.get("/sub/readme.txt").status, 403);
    assert_eq!(server.get("/hello.txt").body, b"hello world\n");
}

#[test]
fn show_hidden_variable_shows_hidden_files() {
    let server = Server::builder().show_hidden().start_wasmtime_serve();
    assert_eq!(server.get("/.secret").body, b"a hidden file\n");
}

#[test]
fn answers_many_requests_alike() {
    // A host may reuse one instance for several requests.
    let server = Server::builder().start_wasmtime_serve();
    let first = server.get("/api/1/sub").json();
    for round in 0..20 {
        assert_eq!(server.get("/api/1/sub").json(), first, "round {round}");
        assert_eq!(
            server.get("/hello.txt").body,
            b"hello world\n",
            "round {round}"
        );
        assert_eq!(server.get("/api/1/missing").status, 404, "round {round}");
    }
}

#[test]
fn an_invalid_permissions_file_is_500_as_json_or_as_a_page() {
    let ini = "[DEFAULT]\nallow = list, uplaod\n";
    let server = Server::builder().config(ini).start_wasmtime_serve();
    let extra = json_error(&server.get("/api/1/"), 500);
    assert!(extra.contains("permissions file"), "{extra}");
    let page = server.get("/hello.txt");
    assert_eq!(page.status, 500);
    let kind = page.header("content-type").unwrap_or_default();
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(page.text().contains("permissions file"), "{}", page.text());
}
