//! Small parsers and checks that the assertions share: URL encoding,
//! hrefs in HTML, `Content-Disposition`, timestamps, the JSON envelope and
//! the links of a listing.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{API_VERSION, Response};

/// Bytes left as they are in a path: RFC 3986 unreserved characters and `/`.
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a `/`-separated path for a request: every byte but the
/// unreserved ones and `/`, so `#`, `?`, `%`, spaces and non-ASCII survive.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| utf8_percent_encode(s, PATH_KEEP).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Percent-decodes `text` once; `None` if the result is not UTF-8.
pub fn decode(text: &str) -> Option<String> {
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Whether `href` is fully percent-encoded: only printable ASCII, no space,
/// `#`, `[`, `]`, quote or backslash, and every `%` starts an escape.
pub fn is_percent_encoded(href: &str) -> bool {
    let bytes = href.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => bytes
            .get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
        b' ' | b'#' | b'[' | b']' | b'"' | b'\\' | b'<' | b'>' | b'^' | b'`' | b'|' => false,
        _ => b.is_ascii_graphic(),
    })
}

/// The `href` of every `<a>` element of `html`, in order, with the HTML
/// character references `&amp;`, `&quot;`, `&#39;`, `&lt;`, `&gt;` undone.
pub fn anchor_hrefs(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut hrefs = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<a").map(|i| from + i) {
        let after = lower.as_bytes().get(start + 2).copied().unwrap_or(b'>');
        let end = lower[start..].find('>').map_or(lower.len(), |i| start + i);
        from = end.max(start + 2);
        if !after.is_ascii_whitespace() {
            continue;
        }
        if let Some(href) = attribute(&html[start..end], &lower[start..end], "href") {
            hrefs.push(unescape_html(&href));
        }
    }
    hrefs
}

/// The value of attribute `name` in one tag (`lower` is the tag lower-cased).
fn attribute(tag: &str, lower: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| from + i) {
        from = i + name.len();
        let before_ok = lower
            .as_bytes()
            .get(i.wrapping_sub(1))
            .is_some_and(u8::is_ascii_whitespace);
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        let quote = value.chars().next()?;
        return Some(if quote == '"' || quote == '\'' {
            value[1..]
                .split(quote)
                .next()
                .unwrap_or_default()
                .to_owned()
        } else {
            value
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_owned()
        });
    }
    None
}

/// Undoes the character references an HTML writer uses in attributes.
fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The file name a `Content-Disposition` value gives: `filename*`
/// (RFC 5987, UTF-8, percent-decoded) if present, else `filename`.
pub fn disposition_filename(header: &str) -> Option<String> {
    let params: Vec<&str> = header.split(';').map(str::trim).collect();
    for param in &params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("filename*") {
            let value = value.trim();
            let encoded = value
                .get(..7)
                .filter(|p| p.eq_ignore_ascii_case("utf-8''"))?;
            return decode(&value[encoded.len()..]);
        }
    }
    for param in &params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("filename") {
            let value = value.trim();
            let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
            return Some(
                unquoted
                    .unwrap_or(value)
                    .replace("\\\"", "\"")
                    .replace("\\\\", "\\"),
            );
        }
    }
    None
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `text` is a contract §6 time: `YYYY-MM-DDTHH:MM:SS`, optional
/// `.ffffff` (exactly six digits), then `+00:00`.
pub fn is_utc_timestamp(text: &str) -> bool {
    let Some(stamp) = text.strip_suffix("+00:00") else {
        return false;
    };
    let (seconds, fraction) = match stamp.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (stamp, None),
    };
    let shape_ok = seconds.len() == 19
        && seconds.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        });
    let fraction_ok = fraction
        .is_none_or(|f| f.len() == 6 && f.bytes().all(|b| b.is_ascii_digit()) && f != "000000");
    shape_ok && fraction_ok
}

/// Checks the contract §2 envelope of `value` for status `rc` and returns
/// its `data`.
pub fn envelope_data(value: &Value, rc: u16) -> &Value {
    assert_eq!(
        value["version"], API_VERSION,
        "envelope `version` in {value}"
    );
    assert_eq!(
        value["api_version"], API_VERSION,
        "envelope `api_version` in {value}"
    );
    assert_eq!(value["rc"], rc, "envelope `rc` in {value}");
    assert!(
        value["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "envelope `msg` in {value}"
    );
    assert!(
        value.get("data").is_some_and(Value::is_object),
        "envelope `data` in {value}"
    );
    &value["data"]
}

/// Checks that `response` is a JSON error envelope with status `status` and
/// returns its `data.extra` sentence.
pub fn json_error(response: &Response, status: u16) -> String {
    assert_eq!(
        response.status,
        status,
        "status; body:\n{}",
        response.text()
    );
    assert!(
        response.is_json(),
        "JSON content type; headers {:?}",
        response.headers
    );
    let value = response.json();
    let extra = envelope_data(&value, status)["extra"]
        .as_str()
        .map(str::to_owned);
    extra
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| panic!("no data.extra in {value}"))
}

/// The kind of listing entry a link belongs to, which decides what an href
/// without `cmd=` means (the default command of that kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory: `GET` defaults to `list`.
    Dir,
    /// A file: `GET` defaults to `download`.
    File,
}

/// The command each link of a listing's `links` array stands for.
pub fn link_commands(links: &Value, kind: Kind) -> Vec<String> {
    let links = links
        .as_array()
        .unwrap_or_else(|| panic!("`links` is an array: {links}"));
    links.iter().map(|link| link_command(link, kind)).collect()
}

/// The command of one link: its `cmd=` argument, or the default for its
/// method and `kind`.
pub fn link_command(link: &Value, kind: Kind) -> String {
    let href = link["href"]
        .as_str()
        .unwrap_or_else(|| panic!("link without href: {link}"));
    let method = link["method"]
        .as_str()
        .unwrap_or_else(|| panic!("link without method: {link}"));
    let query = href.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let cmd = query.split('&').find_map(|pair| pair.strip_prefix("cmd="));
    match (cmd, method, kind) {
        (Some(cmd), _, _) => cmd.to_owned(),
        (None, "DELETE", _) => "delete".to_owned(),
        (None, "GET", Kind::Dir) => "list".to_owned(),
        (None, "GET", Kind::File) => "download".to_owned(),
        (None, _, _) => panic!("link names no command: {link}"),
    }
}

/// The link for `command` in `links`, if listed.
pub fn find_link<'a>(links: &'a Value, kind: Kind, command: &str) -> Option<&'a Value> {
    links
        .as_array()?
        .iter()
        .find(|link| link_command(link, kind) == command)
}

/// The path part of an href, percent-decoded (`/api/1.0.0/a%20b?x` →
/// `/api/1.0.0/a b`).
pub fn href_path(href: &str) -> String {
    let path = href.split(['?', '#']).next().unwrap_or_default();
    decode(path).unwrap_or_else(|| panic!("href is not UTF-8 once decoded: {href}"))
}

/// The `name` of every entry of a listing array (`files` or
/// `directories`).
pub fn entry_names(entries: &Value) -> Vec<String> {
    let entries = entries
        .as_array()
        .unwrap_or_else(|| panic!("entries are an array: {entries}"));
    entries
        .iter()
        .map(|e| {
            e["name"]
                .as_str()
                .unwrap_or_else(|| panic!("entry without name: {e}"))
                .to_owned()
        })
        .collect()
}

/// The entry called `name` in a listing array.
pub fn entry<'a>(entries: &'a Value, name: &str) -> &'a Value {
    entries
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no entry {name:?} in {entries}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_url_metacharacter() {
        assert_eq!(
            encode_path("/a b#c%d+e[1].txt"),
            "/a%20b%23c%25d%2Be%5B1%5D.txt"
        );
        assert_eq!(encode_path("/café/"), "/caf%C3%A9/");
        assert!(is_percent_encoded(&encode_path("/日本語.txt")));
        assert!(!is_percent_encoded("/a b"));
        assert!(!is_percent_encoded("/100%"));
    }

    #[test]
    fn finds_anchor_hrefs_only() {
        let html = r#"<link href="/x.css"><A class=e HREF="/a%20b?x=1&amp;y=2">a</A>
                      <abbr href="/no">x</abbr><a href='/sub/'>s</a>"#;
        assert_eq!(anchor_hrefs(html), ["/a%20b?x=1&y=2", "/sub/"]);
    }

    #[test]
    fn reads_both_disposition_forms() {
        let h = "attachment; filename=\"na?ve.txt\"; filename*=UTF-8''na%C3%AFve.txt";
        assert_eq!(disposition_filename(h).as_deref(), Some("naïve.txt"));
        assert_eq!(
            disposition_filename("attachment; filename=\"a b.txt\"").as_deref(),
            Some("a b.txt")
        );
        assert_eq!(disposition_filename("inline"), None);
    }

    #[test]
    fn recognizes_contract_timestamps() {
        assert!(is_utc_timestamp("2019-11-15T23:33:56.430384+00:00"));
        assert!(is_utc_timestamp("2015-06-09T02:37:58+00:00"));
        assert!(!is_utc_timestamp("2015-06-09T02:37:58Z"));
        assert!(!is_utc_timestamp("2015-06-09T02:37:58.000000+00:00"));
        assert!(!is_utc_timestamp("2015-06-09 02:37:58+00:00"));
    }

    #[test]
    fn names_link_commands_with_defaults() {
        let links = serde_json::json!([
            {"method": "GET", "href": "/api/1.0.0/a?cmd=info", "args": []},
            {"method": "GET", "href": "/api/1.0.0/a", "args": []},
            {"method": "DELETE", "href": "/api/1.0.0/a", "args": []},
        ]);
        assert_eq!(
            link_commands(&links, Kind::File),
            ["info", "download", "delete"]
        );
        assert_eq!(href_path("/api/1.0.0/a%20b?cmd=x"), "/api/1.0.0/a b");
    }
}
