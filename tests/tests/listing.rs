//! The web listing: `GET /<dir>/` answers a server-rendered HTML page whose
//! `<a href>`s are absolute, percent-encoded, and each fetch what they name
//! (contract §1, issue 2 "Behaviour").

use std::collections::BTreeSet;
use std::fs;

use integration_tests::inspect::{anchor_hrefs, decode, encode_path, is_percent_encoded};
use integration_tests::{ROOT_DIRS, ROOT_FILES, Server, VISIBLE_DIRS, visible_files};

/// Web folders to crawl. The `api` folder is left out: on the web side
/// `/api/` belongs to the server, so that folder is only reached through
/// `/api/1/api/` (contract §1).
const WEB_DIRS: &[&str] = &["/", "/café/", "/sub/", "/sub/deeper/"];

/// The entries a listing of `dir` (web form, ending in `/`) must link to:
/// `/path` for files and `/path/` for folders.
fn children(dir: &str) -> BTreeSet<String> {
    let files = visible_files()
        .into_iter()
        .map(|(path, _)| format!("/{path}"));
    let dirs = VISIBLE_DIRS.iter().map(|path| format!("/{path}/"));
    files
        .chain(dirs)
        .filter(|path| {
            let rest = path.strip_prefix(dir).unwrap_or_default();
            !rest.is_empty() && !rest.trim_end_matches('/').contains('/')
        })
        .filter(|path| path != "/api/")
        .collect()
}

/// The decoded paths (no query) of the absolute hrefs of `html`.
fn linked_paths(html: &str) -> BTreeSet<String> {
    anchor_hrefs(html)
        .iter()
        .filter(|href| href.starts_with('/'))
        .map(|href| {
            let path = href.split(['?', '#']).next().unwrap_or_default();
            decode(path).unwrap_or_else(|| panic!("href {href} is not UTF-8 once decoded"))
        })
        .collect()
}

/// `text` as it appears in HTML (the characters a name can bring).
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn root_listing_is_an_html_page_naming_every_visible_entry() {
    let server = Server::start();
    let response = server.get("/");
    assert_eq!(response.status, 200);
    assert!(response.is_html(), "headers: {:?}", response.headers);
    let html = response.text();
    for name in ROOT_FILES.iter().chain(ROOT_DIRS) {
        assert!(
            html.contains(&html_escaped(name)),
            "{name} not shown in:\n{html}"
        );
    }
}

#[test]
fn every_visible_entry_has_a_link() {
    let server = Server::start();
    for dir in WEB_DIRS {
        let html = server.get(&encode_path(dir)).text();
        let linked = linked_paths(&html);
        for child in children(dir) {
            assert!(
                linked.contains(&child),
                "{dir} has no link to {child}; links: {linked:?}"
            );
        }
    }
}

#[test]
fn listing_hrefs_are_absolute_and_percent_encoded() {
    let server = Server::start();
    for dir in WEB_DIRS {
        let html = server.get(&encode_path(dir)).text();
        let hrefs = anchor_hrefs(&html);
        assert!(!hrefs.is_empty(), "no links in {dir}");
        for href in hrefs.iter().filter(|h| h.starts_with('/')) {
            assert!(
                is_percent_encoded(href),
                "href {href:?} in {dir} is not percent-encoded"
            );
        }
    }
    // The name with every URL metacharacter must be escaped, not just
    // passed through: `#` would cut the URL, `%` would be decoded.
    let html = server.get("/").text();
    let odd = anchor_hrefs(&html)
        .into_iter()
        .find(|h| {
            decode(h.split('?').next().unwrap_or_default()).as_deref() == Some("/a b#c%d+e[1].txt")
        })
        .unwrap_or_else(|| panic!("no href for the odd name in:\n{html}"));
    assert!(
        odd.contains("%23") && odd.contains("%25") && odd.contains("%20"),
        "{odd}"
    );
}

#[test]
fn every_listed_href_fetches_its_own_entry() {
    let server = Server::start();
    let mut fetched = 0;
    for dir in WEB_DIRS {
        let html = server.get(&encode_path(dir)).text();
        for href in anchor_hrefs(&html)
            .iter()
            .filter(|h| h.starts_with('/') && !h.starts_with("/api/"))
        {
            let path =
                decode(href.split(['?', '#']).next().unwrap_or_default()).expect("UTF-8 href");
            let on_disk = server.root().join(path.trim_start_matches('/'));
            let response = server.get(href);
            server.assert_no_leak(&response, href);
            if path.ends_with('/') {
                assert!(on_disk.is_dir(), "{href} (in {dir}) names no folder");
                assert_eq!(response.status, 200, "folder link {href} in {dir}");
                assert!(
                    response.is_html(),
                    "folder link {href} in {dir} is not HTML"
                );
            } else {
                let expected =
                    fs::read(&on_disk).unwrap_or_else(|e| panic!("{href} in {dir}: {e}"));
                assert_eq!(response.status, 200, "file link {href} in {dir}");
                assert!(
                    response.body == expected,
                    "{href} in {dir} fetched other bytes"
                );
            }
            fetched += 1;
        }
    }
    assert!(fetched >= 15, "only {fetched} links were followed");
}

#[test]
fn every_link_on_a_page_answers_200() {
    // Including links into `/api/`: the root folder called `api` must be
    // linked to an address that shows it, not to the server's namespace.
    let server = Server::start();
    for dir in WEB_DIRS {
        let html = server.get(&encode_path(dir)).text();
        for href in anchor_hrefs(&html).iter().filter(|h| h.starts_with('/')) {
            let response = server.get(href);
            assert_eq!(
                response.status,
                200,
                "link {href} in {dir}: {}",
                response.text()
            );
        }
    }
}

#[test]
fn nested_listing_links_back_to_its_parents() {
    let server = Server::start();
    let linked = linked_paths(&server.get("/sub/deeper/").text());
    assert!(
        linked.contains("/sub/"),
        "no link to the parent: {linked:?}"
    );
    assert!(linked.contains("/"), "no link to the root: {linked:?}");
}

#[test]
fn unicode_folder_lists_its_files() {
    let server = Server::start();
    let response = server.get("/caf%C3%A9/");
    assert_eq!(response.status, 200);
    assert!(linked_paths(&response.text()).contains("/café/menu.txt"));
}

#[test]
fn folder_without_trailing_slash_is_shown_or_redirected() {
    let server = Server::start();
    let response = server.get("/sub");
    match response.status {
        200 => assert!(response.is_html()),
        301 | 302 | 303 | 307 | 308 => {
            let location = response.header("location").unwrap_or_default();
            assert!(location.ends_with("/sub/"), "redirect to {location:?}");
        }
        other => panic!("GET /sub answered {other}"),
    }
}

#[test]
fn missing_path_is_a_404_html_page() {
    let server = Server::start();
    for path in ["/no-such-file.txt", "/sub/no-such-dir/", "/nope/deeper/x"] {
        let response = server.get(path);
        assert_eq!(response.status, 404, "{path}");
        assert!(response.is_html(), "{path}: headers {:?}", response.headers);
        server.assert_no_leak(&response, path);
    }
}

#[test]
fn query_string_on_a_web_path_never_selects_a_command() {
    let server = Server::start();
    let response = server.get("/hello.txt?cmd=info");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.body, b"hello world\n",
        "the query selected something else"
    );

    let response = server.get("/?cmd=list");
    assert_eq!(response.status, 200);
    assert!(
        response.is_html(),
        "a web path answered {:?}",
        response.header("content-type")
    );

    let response = server.get("/sub/?cmd=delete");
    assert_eq!(response.status, 200);
    assert!(
        server.root().join("sub/readme.txt").is_file(),
        "a web query deleted files"
    );
}
