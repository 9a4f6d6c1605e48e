//! The web page's own files (stylesheet, script, icons), embedded at build
//! time from `component/assets/` and served under `/api/assets/`, the only
//! place the contract leaves for them (§1): a file called `app.js` in the
//! shared folder still downloads.
//!
//! Pages link each asset as `/api/assets/<tag>/<name>`, where `<tag>` is a
//! fingerprint of every embedded asset. A new build with changed assets
//! gets new URLs, so an asset fetched under the current tag may be cached
//! for a year. A stale or missing tag still gets the current file, marked
//! `no-cache`, so a page kept open across an upgrade keeps working.

use crate::error::Error;
use crate::http::Response;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// Every asset, by the name that ends its URL.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../assets/index.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../assets/app.js"),
    },
    Asset {
        name: "icons.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../assets/icons.svg"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../assets/favicon.svg"),
    },
];

/// `Cache-Control` for an asset fetched under the current tag.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` for an asset fetched under another tag, or none.
const CACHE_REVALIDATE: &str = "no-cache";

/// FNV-1a over every asset's name and bytes, computed at compile time.
const FINGERPRINT: u64 = fingerprint(ASSETS);

const fn fingerprint(assets: &[Asset]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < assets.len() {
        let parts = [assets[i].name.as_bytes(), assets[i].body];
        let mut p = 0;
        while p < parts.len() {
            let mut j = 0;
            while j < parts[p].len() {
                hash ^= parts[p][j] as u64;
                hash = hash.wrapping_mul(PRIME);
                j += 1;
            }
            // A separator, so that moving bytes between parts changes it.
            hash ^= 0xff;
            hash = hash.wrapping_mul(PRIME);
            p += 1;
        }
        i += 1;
    }
    hash
}

/// The current tag: 16 lower-case hex digits.
pub fn tag() -> String {
    format!("{FINGERPRINT:016x}")
}

/// The address a page uses for asset `name`.
pub fn url(name: &str) -> String {
    format!("/api/assets/{}/{name}", tag())
}

/// Answers `GET /api/assets/[<tag>/]<name>`. `if_none_match` is the
/// request's `If-None-Match` header, answered with 304 when it holds.
pub fn serve(
    tag: Option<&str>,
    name: &str,
    if_none_match: Option<&str>,
) -> Result<Response, Error> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| Error::NotFound(format!("the page has no asset called `{name}`")))?;
    let current = self::tag();
    let cache = if tag == Some(current.as_str()) {
        CACHE_FOREVER
    } else {
        CACHE_REVALIDATE
    };
    let etag = format!("\"{current}\"");
    let fresh =
        if_none_match.is_some_and(|v| v.trim() == "*" || v.split(',').any(|t| t.trim() == etag));
    let response = if fresh {
        Response {
            status: 304,
            headers: Vec::new(),
            body: crate::http::Body::Empty,
        }
    } else {
        Response::bytes(200, asset.content_type, asset.body.to_vec())
    };
    Ok(response
        .with_header("cache-control", cache)
        .with_header("etag", etag)
        .with_header("x-content-type-options", "nosniff"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(tag: Option<&str>, name: &str) -> Response {
        serve(tag, name, None).unwrap()
    }

    #[test]
    fn each_asset_has_its_content_type() {
        let cases = [
            ("index.css", "text/css; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("icons.svg", "image/svg+xml"),
            ("favicon.svg", "image/svg+xml"),
        ];
        for (name, content_type) in cases {
            let response = get(Some(&tag()), name);
            assert_eq!(response.status, 200, "{name}");
            assert_eq!(
                response.header("content-type"),
                Some(content_type),
                "{name}"
            );
            assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
            let len: usize = response.header("content-length").unwrap().parse().unwrap();
            assert!(len > 100, "{name} is only {len} bytes");
        }
    }

    #[test]
    fn the_current_tag_is_cached_for_long_others_revalidate() {
        let current = get(Some(&tag()), "app.js");
        assert_eq!(current.header("cache-control"), Some(CACHE_FOREVER));
        for stale in [Some("0123456789abcdef"), None] {
            let response = get(stale, "app.js");
            assert_eq!(response.status, 200);
            assert_eq!(response.header("cache-control"), Some(CACHE_REVALIDATE));
        }
    }

    #[test]
    fn a_matching_etag_is_not_modified() {
        let etag = format!("\"{}\"", tag());
        let response = serve(Some(&tag()), "index.css", Some(&format!("\"x\", {etag}"))).unwrap();
        assert_eq!(response.status, 304);
        assert!(matches!(response.body, crate::http::Body::Empty));
        let other = serve(Some(&tag()), "index.css", Some("\"x\"")).unwrap();
        assert_eq!(other.status, 200);
    }

    #[test]
    fn unknown_assets_are_404() {
        for name in ["", "nope.js", "../app.js", "APP.JS"] {
            let status = serve(None, name, None).err().map(|e| e.status());
            assert_eq!(status, Some(404), "{name}");
        }
    }

    #[test]
    fn urls_carry_the_tag() {
        let url = url("app.js");
        assert!(url.starts_with("/api/assets/"), "{url}");
        assert!(url.ends_with("/app.js"), "{url}");
        assert_eq!(tag().len(), 16);
        assert!(tag().bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn assets_reach_no_other_host() {
        // No CDN, font service or tracker: the page must work offline.
        // SVG's namespace names look like URLs but are never fetched.
        for asset in ASSETS {
            let text = String::from_utf8_lossy(asset.body).replace("http://www.w3.org/", "");
            for needle in ["http://", "https://", "//cdn", "@import", "url(http"] {
                assert!(!text.contains(needle), "{} mentions {needle}", asset.name);
            }
        }
    }
}
