//! The server-rendered pages: a directory listing that works without
//! JavaScript, and the small page shown for an error on a web address.

use std::fmt::Write as _;

use crate::format::{human_size, iso_time};
use crate::listing::Listing;
use crate::share_path::SharePath;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The href of a directory page: encoded, with a trailing `/`.
fn dir_href(path: &SharePath) -> String {
    if path.is_root() {
        "/".into()
    } else {
        format!("{}/", path.encoded())
    }
}

/// The page frame around `main`.
fn page(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n{main}\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// Links from the root down to `path`, the last one marked current.
fn breadcrumbs(path: &SharePath) -> String {
    let mut out = String::from("<nav aria-label=\"Breadcrumbs\"><ol class=\"crumbs\">");
    let mut crumbs: Vec<SharePath> = path.ancestors().collect();
    crumbs.reverse();
    for (i, crumb) in crumbs.iter().enumerate() {
        let label = if crumb.is_root() {
            "Home"
        } else {
            crumb.name()
        };
        if i + 1 == crumbs.len() {
            let _ = write!(out, "<li aria-current=\"page\">{}</li>", escape(label));
        } else {
            let _ = write!(
                out,
                "<li><a href=\"{}\">{}</a></li>",
                dir_href(crumb),
                escape(label)
            );
        }
    }
    out.push_str("</ol></nav>");
    out
}

/// The listing page of a directory.
pub fn listing_page(listing: &Listing) -> String {
    let mut rows = String::new();
    if !listing.path.is_root() {
        let _ = writeln!(
            rows,
            "<tr class=\"dir\"><td><a href=\"{}\">..</a></td><td></td><td></td></tr>",
            dir_href(&listing.path.parent())
        );
    }
    for dir in &listing.dirs {
        let _ = writeln!(
            rows,
            "<tr class=\"dir\"><td><a href=\"{}\">{}/</a></td><td data-bytes=\"-1\">—</td><td>{}</td></tr>",
            dir_href(&dir.path),
            escape(&dir.name),
            dir.modified.map(iso_time).unwrap_or_default(),
        );
    }
    for file in &listing.files {
        let _ = writeln!(
            rows,
            "<tr class=\"file\"><td><a href=\"{}\" download>{}</a></td><td data-bytes=\"{}\">{}</td><td>{}</td></tr>",
            file.path.encoded(),
            escape(&file.name),
            file.bytes,
            human_size(file.bytes),
            file.modified.map(iso_time).unwrap_or_default(),
        );
    }
    let main = format!(
        "<header><h1>{title}</h1>{crumbs}</header>\n<main>\n<table class=\"listing\">\n\
         <thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Size</th><th scope=\"col\">Modified</th></tr></thead>\n\
         <tbody>\n{rows}</tbody>\n</table>\n{empty}</main>",
        title = escape(&listing.path.to_string()),
        crumbs = breadcrumbs(&listing.path),
        empty = if listing.dirs.is_empty() && listing.files.is_empty() {
            "<p class=\"empty\">This folder is empty.</p>\n"
        } else {
            ""
        },
    );
    page(&format!("{} — httpuploader", listing.path), &main)
}

/// The page shown for an error on a web address.
pub fn error_page(status: u16, reason: &str, message: &str) -> String {
    let main = format!(
        "<main><h1>{status} {reason}</h1>\n<p>{message}</p>\n<p><a href=\"/\">Back to the shared folder</a></p></main>",
        reason = escape(reason),
        message = escape(message),
    );
    page(&format!("{status} {reason}"), &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn breadcrumbs_link_every_ancestor() {
        let path = SharePath::from_decoded("/a b/c#d").unwrap();
        let html = breadcrumbs(&path);
        assert!(html.contains("<a href=\"/\">Home</a>"));
        assert!(html.contains("<a href=\"/a%20b/\">a b</a>"));
        assert!(html.contains("<li aria-current=\"page\">c#d</li>"));
    }
}
