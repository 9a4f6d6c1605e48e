//! The server-rendered pages: a directory listing that works without
//! JavaScript, and the small page shown for an error on a web address.
//!
//! The listing is complete on its own: every entry is a plain link, and a
//! folder that allows `upload` carries an ordinary multipart form that
//! posts back to the folder's own address. `assets/app.js` then improves
//! the same markup in place (sorting, filtering, uploads with progress,
//! the file-manager commands), so the classes and `data-` attributes
//! written here are shared with that script and with `assets/index.css`.

use std::fmt::Write as _;

use crate::assets;
use crate::command::{Allow, Command};
use crate::format::iso_time;
use crate::listing::{Entry, LINK_PREFIX, Listing};
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

/// The href of an entry shown in a listing. `/api/` belongs to the server
/// (contract §1), so an entry under a top-level `api` is reached through
/// the API instead: a folder's JSON listing, a file's download.
fn entry_href(path: &SharePath, is_dir: bool) -> String {
    let under_api = path.segments().first().is_some_and(|s| s == "api");
    match (under_api, is_dir) {
        (true, true) => format!("{LINK_PREFIX}{}/", path.encoded()),
        (true, false) => format!("{LINK_PREFIX}{}", path.encoded()),
        (false, true) => dir_href(path),
        (false, false) => path.encoded(),
    }
}

/// The page frame around `main`; `body_attrs` go on `<body>`.
fn page(title: &str, body_attrs: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{title}</title>\n\
         <link rel=\"icon\" href=\"{favicon}\" type=\"image/svg+xml\">\n\
         <link rel=\"stylesheet\" href=\"{css}\">\n\
         <script src=\"{js}\" defer></script>\n\
         </head>\n<body{body_attrs}>\n\
         <a class=\"skip-link\" href=\"#main\">Skip to the content</a>\n\
         <header class=\"topbar\"><a class=\"brand\" href=\"/\">{logo}<span>httpuploader</span></a></header>\n\
         {main}\n</body>\n</html>\n",
        title = escape(title),
        favicon = assets::url("favicon.svg"),
        css = assets::url("index.css"),
        js = assets::url("app.js"),
        logo = icon("logo"),
    )
}

/// An icon from the sprite, hidden from screen readers (its text is
/// always next to it or in an `aria-label`).
fn icon(name: &str) -> String {
    format!(
        "<svg class=\"icon icon-{name}\" aria-hidden=\"true\" focusable=\"false\"><use href=\"{}#{name}\"></use></svg>",
        assets::url("icons.svg")
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

/// The kind of a file as its icon shows it, from its extension. The same
/// table is in `assets/app.js` (`kindOf`), for rows the script renders.
pub fn kind_of(name: &str) -> &'static str {
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return "file",
    };
    const KINDS: &[(&str, &[&str])] = &[
        (
            "image",
            &[
                "png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "ico", "tif", "tiff", "heic",
                "avif",
            ],
        ),
        (
            "audio",
            &[
                "mp3", "wav", "ogg", "oga", "flac", "m4a", "aac", "opus", "mid", "midi",
            ],
        ),
        (
            "video",
            &["mp4", "mkv", "webm", "mov", "avi", "m4v", "ogv", "wmv"],
        ),
        (
            "archive",
            &["zip", "tar", "gz", "tgz", "bz2", "xz", "7z", "rar", "zst"],
        ),
        (
            "code",
            &[
                "rs", "py", "js", "mjs", "ts", "jsx", "tsx", "c", "h", "cpp", "hpp", "cc", "java",
                "kt", "go", "rb", "php", "sh", "html", "htm", "css", "json", "xml", "yaml", "yml",
                "toml", "ini", "sql", "ipynb", "lua", "swift", "cs",
            ],
        ),
        ("sheet", &["xls", "xlsx", "ods", "csv", "tsv"]),
        ("slides", &["ppt", "pptx", "odp", "key"]),
        (
            "text",
            &[
                "txt", "md", "rst", "log", "tex", "pdf", "doc", "docx", "odt", "rtf", "epub",
            ],
        ),
    ];
    KINDS
        .iter()
        .find(|(_, exts)| exts.contains(&ext.as_str()))
        .map_or("file", |(kind, _)| kind)
}

/// A size for people: whole bytes, then one decimal in 1024 steps
/// (`3 bytes`, `1 byte`, `3.2 KB`, `140 MB`). `assets/app.js` has the
/// same rule (`sizeText`). The API keeps its own format (contract §6).
pub fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes == 1 {
        return "1 byte".into();
    }
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The modified-time cell: machine time in `datetime`, UTC for people
/// (the script rewrites it in the reader's own time zone).
fn time_cell(entry: &Entry) -> String {
    let Some(iso) = entry.modified.map(iso_time) else {
        return "<td class=\"modified\"></td>".into();
    };
    let shown = format!("{} {} UTC", &iso[..10], &iso[11..16]);
    format!("<td class=\"modified\"><time datetime=\"{iso}\">{shown}</time></td>")
}

fn dir_row(dir: &Entry) -> String {
    format!(
        "<tr class=\"entry dir\" data-name=\"{name}\" data-bytes=\"-1\">\
         <td class=\"name\"><a href=\"{href}\">{icon}<span class=\"label\">{name}</span></a></td>\
         <td class=\"size\"><span class=\"kind-word\">Folder</span></td>{time}\
         <td class=\"actions\"></td></tr>\n",
        name = escape(&dir.name),
        href = entry_href(&dir.path, true),
        icon = icon("folder"),
        time = time_cell(dir),
    )
}

fn file_row(file: &Entry) -> String {
    let name = escape(&file.name);
    let href = entry_href(&file.path, false);
    let download = if file.allow.contains(Command::Download) {
        format!(
            "<a class=\"icon-btn\" href=\"{href}\" download aria-label=\"Download {name}\" title=\"Download\">{}</a>",
            icon("download")
        )
    } else {
        String::new()
    };
    format!(
        "<tr class=\"entry file\" data-name=\"{name}\" data-bytes=\"{bytes}\">\
         <td class=\"name\"><a href=\"{href}\" download>{icon}<span class=\"label\">{name}</span></a></td>\
         <td class=\"size\">{size}</td>{time}\
         <td class=\"actions\">{download}</td></tr>\n",
        bytes = file.bytes,
        icon = icon(kind_of(&file.name)),
        size = size_text(file.bytes),
        time = time_cell(file),
    )
}

/// "Download this folder" as a zip or tar.gz, when `archive` is allowed.
fn archive_links(path: &SharePath, allow: Allow) -> String {
    if !allow.contains(Command::Archive) {
        return String::new();
    }
    let base = format!("{LINK_PREFIX}{}?cmd=archive&format=", path.encoded());
    let mut out = String::from(
        "<div class=\"archive\" role=\"group\" aria-labelledby=\"archive-label\">\
         <span id=\"archive-label\" class=\"archive-label\">Download folder</span>",
    );
    for (format, label) in [("zip", ".zip"), ("tar.gz", ".tar.gz")] {
        let _ = write!(
            out,
            "<a class=\"btn\" href=\"{}\" download>{}<span>{label}</span></a>",
            escape(&format!("{base}{format}")),
            icon("download"),
        );
    }
    out.push_str("</div>");
    out
}

/// The upload form: a plain multipart form that works without script;
/// the script turns it into a drop zone with per-file progress.
fn upload_form(path: &SharePath, allow: Allow) -> String {
    if !allow.contains(Command::Upload) {
        return String::new();
    }
    let folder_button = if allow.contains(Command::Mkdir) {
        "<button type=\"button\" class=\"btn js-only\" id=\"pick-folder\">Choose a folder</button>\
         <input type=\"file\" id=\"folder-input\" class=\"visually-hidden\" webkitdirectory multiple tabindex=\"-1\" aria-hidden=\"true\">"
    } else {
        ""
    };
    format!(
        "<form id=\"upload\" class=\"dropzone\" method=\"post\" enctype=\"multipart/form-data\" action=\"{action}\">\
         {icon}<div class=\"drop-text\"><h2 id=\"upload-title\">Upload files</h2>\
         <p class=\"js-only drop-hint\">Drop files or folders here, or choose them.</p></div>\
         <div class=\"pickers\">\
         <input type=\"file\" id=\"file-input\" name=\"file\" multiple aria-describedby=\"upload-title\">\
         <label class=\"btn primary\" for=\"file-input\">Choose files</label>\
         {folder_button}\
         <button type=\"submit\" class=\"btn primary no-js-only\">Upload</button>\
         </div></form>\n",
        action = dir_href(path),
        icon = icon("upload"),
    )
}

/// The listing page of a directory.
pub fn listing_page(listing: &Listing) -> String {
    let path = &listing.path;
    let mut rows = String::new();
    if !path.is_root() {
        let _ = writeln!(
            rows,
            "<tr class=\"parent\"><td class=\"name\"><a href=\"{}\">{}<span class=\"label\">..</span>\
             <span class=\"hint\">Parent folder</span></a></td>\
             <td class=\"size\"></td><td class=\"modified\"></td><td class=\"actions\"></td></tr>",
            dir_href(&path.parent()),
            icon("parent"),
        );
    }
    for dir in &listing.dirs {
        rows.push_str(&dir_row(dir));
    }
    for file in &listing.files {
        rows.push_str(&file_row(file));
    }
    let heading = if path.is_root() { "Home" } else { path.name() };
    let new_folder = if listing.allow.contains(Command::Mkdir) {
        format!(
            "<button type=\"button\" class=\"btn js-only\" id=\"new-folder\">{}<span>New folder</span></button>",
            icon("folder-plus")
        )
    } else {
        String::new()
    };
    let empty = listing.dirs.is_empty() && listing.files.is_empty();
    let main = format!(
        "<main id=\"main\" class=\"page\">\n\
         <div class=\"folder-head\">{crumbs}<h1>{heading}</h1></div>\n\
         <div class=\"toolbar\">\
         <div class=\"filter js-only\">{search}<input type=\"search\" id=\"filter\" \
         placeholder=\"Filter by name\" aria-label=\"Filter this folder by name\" autocomplete=\"off\" spellcheck=\"false\"></div>\
         <div class=\"tools\">{new_folder}{archive}</div></div>\n\
         {upload}\
         <div id=\"notices\" class=\"notices\"></div>\n\
         <section id=\"uploads\" class=\"uploads\" aria-label=\"Uploads\" hidden></section>\n\
         <div class=\"table-card\">\n<table class=\"listing\" id=\"files\">\n\
         <caption class=\"visually-hidden\">Contents of {title}</caption>\n\
         <thead><tr><th scope=\"col\" class=\"name\" data-sort=\"name\">Name</th>\
         <th scope=\"col\" class=\"size\" data-sort=\"size\">Size</th>\
         <th scope=\"col\" class=\"modified\" data-sort=\"modified\">Modified</th>\
         <th scope=\"col\" class=\"actions\"><span class=\"visually-hidden\">Actions</span></th></tr></thead>\n\
         <tbody>\n{rows}</tbody>\n</table>\n\
         <p class=\"empty\"{empty_hidden}>This folder is empty.</p>\n\
         <p class=\"no-match\" hidden></p>\n</div>\n</main>",
        crumbs = if path.is_root() {
            String::new()
        } else {
            breadcrumbs(path)
        },
        heading = escape(heading),
        search = icon("search"),
        archive = archive_links(path, listing.allow),
        upload = upload_form(path, listing.allow),
        title = escape(&path.to_string()),
        empty_hidden = if empty { "" } else { " hidden" },
    );
    let body_attrs = format!(" data-dir=\"{}\"", escape(&path.to_string()));
    page(&format!("{path} — httpuploader"), &body_attrs, &main)
}

/// A server message as a sentence of HTML: escaped, its `quoted` paths
/// set as code, a full stop at the end (as `assets/app.js` shows them).
fn sentence(message: &str) -> String {
    let mut out = String::new();
    for (i, part) in message.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            out.push_str(&escape(part));
        }
    }
    if !message.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The page shown for an error on a web address.
pub fn error_page(status: u16, reason: &str, message: &str) -> String {
    let main = format!(
        "<main id=\"main\" class=\"page error-page\"><h1>{status} {reason}</h1>\n<p>{message}</p>\n<p><a class=\"btn\" href=\"/\">Back to the shared folder</a></p></main>",
        reason = escape(reason),
        message = sentence(message),
    );
    page(&format!("{status} {reason}"), "", &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, bytes: u64, allow: Allow) -> Entry {
        let path = SharePath::from_decoded(path).unwrap();
        Entry {
            name: path.name().to_owned(),
            path,
            bytes,
            modified: Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)),
            allow,
        }
    }

    fn listing(path: &str, allow: Allow, dirs: Vec<Entry>, files: Vec<Entry>) -> Listing {
        Listing {
            path: SharePath::from_decoded(path).unwrap(),
            allow,
            dirs,
            files,
        }
    }

    /// The `href`s of every `<a>` in `html`, still HTML-escaped.
    fn hrefs(html: &str) -> Vec<&str> {
        html.split("<a ")
            .skip(1)
            .filter_map(|a| a.split_once("href=\"")?.1.split_once('"'))
            .map(|(href, _)| href)
            .collect()
    }

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

    #[test]
    fn entries_link_with_encoded_absolute_hrefs() {
        let page = listing_page(&listing(
            "/a b",
            Allow::ALL,
            vec![entry("/a b/sub #1", 0, Allow::ALL)],
            vec![entry("/a b/<x>&\"y\".txt", 5, Allow::ALL)],
        ));
        let links = hrefs(&page);
        assert!(links.contains(&"/a%20b/sub%20%231/"), "{links:?}");
        assert!(links.contains(&"/a%20b/%3Cx%3E%26%22y%22.txt"), "{links:?}");
        assert!(links.contains(&"/"), "parent or home link: {links:?}");
        assert!(page.contains("&lt;x&gt;&amp;&quot;y&quot;.txt"));
        assert!(!page.contains("<x>"), "a name was not escaped");
        for href in links {
            assert!(href.starts_with('/') || href.starts_with('#'), "{href}");
            assert!(!href.contains(' '), "{href}");
        }
    }

    #[test]
    fn a_top_level_api_entry_is_linked_through_the_api() {
        let page = listing_page(&listing(
            "/",
            Allow::ALL,
            vec![entry("/api", 0, Allow::ALL), entry("/apis", 0, Allow::ALL)],
            vec![entry("/api.txt", 1, Allow::ALL)],
        ));
        let links = hrefs(&page);
        assert!(links.contains(&"/api/1.0.0/api/"), "{links:?}");
        assert!(links.contains(&"/apis/"), "{links:?}");
        assert!(links.contains(&"/api.txt"), "{links:?}");
        assert!(!links.contains(&"/api/"), "{links:?}");
        let file = entry_href(&SharePath::from_decoded("/api").unwrap(), false);
        assert_eq!(file, "/api/1.0.0/api");
    }

    #[test]
    fn upload_form_only_where_upload_is_allowed() {
        let writable = listing_page(&listing("/in", Allow::ALL, vec![], vec![]));
        assert!(writable.contains(
            "<form id=\"upload\" class=\"dropzone\" method=\"post\" enctype=\"multipart/form-data\" action=\"/in/\">"
        ));
        assert!(writable.contains("type=\"file\" id=\"file-input\" name=\"file\" multiple"));
        assert!(writable.contains("id=\"new-folder\""));
        assert!(writable.contains("webkitdirectory"));

        let read_only: Allow = [Command::List, Command::Download].into_iter().collect();
        let page = listing_page(&listing(
            "/ro",
            read_only,
            vec![],
            vec![entry("/ro/a.txt", 1, read_only)],
        ));
        for absent in ["<form", "type=\"file\"", "new-folder", "cmd=archive"] {
            assert!(
                !page.contains(absent),
                "{absent} shown on a read-only folder"
            );
        }
        assert!(page.contains("aria-label=\"Download a.txt\""));
    }

    #[test]
    fn archive_links_when_allowed() {
        let page = listing_page(&listing("/", Allow::ALL, vec![], vec![]));
        assert!(page.contains("href=\"/api/1.0.0/?cmd=archive&amp;format=zip\""));
        assert!(page.contains("href=\"/api/1.0.0/?cmd=archive&amp;format=tar.gz\""));
        let page = listing_page(&listing("/a b", Allow::ALL, vec![], vec![]));
        assert!(page.contains("href=\"/api/1.0.0/a%20b?cmd=archive&amp;format=zip\""));
    }

    #[test]
    fn pages_load_their_assets_from_the_api_namespace() {
        let page = listing_page(&listing("/", Allow::ALL, vec![], vec![]));
        for name in ["index.css", "app.js", "favicon.svg", "icons.svg"] {
            assert!(page.contains(&assets::url(name)), "{name}");
        }
        assert!(page.contains("This folder is empty."));
        let error = error_page(404, "Not Found", "`/x<y>` does not exist");
        assert!(error.contains(&assets::url("index.css")));
        assert!(error.contains("<p><code>/x&lt;y&gt;</code> does not exist.</p>"));
        assert_eq!(sentence("a `b` c `d"), "a <code>b</code> c <code>d</code>.");
        assert_eq!(sentence("done!"), "done!");
    }

    #[test]
    fn kinds_and_sizes() {
        assert_eq!(kind_of("photo.JPG"), "image");
        assert_eq!(kind_of("main.rs"), "code");
        assert_eq!(kind_of("notes.pdf"), "text");
        assert_eq!(kind_of("data.tar.gz"), "archive");
        assert_eq!(kind_of(".bashrc"), "file");
        assert_eq!(kind_of("README"), "file");
        assert_eq!(size_text(0), "0 bytes");
        assert_eq!(size_text(1), "1 byte");
        assert_eq!(size_text(1023), "1023 bytes");
        assert_eq!(size_text(1024), "1.0 KB");
        assert_eq!(size_text(3245), "3.2 KB");
        assert_eq!(size_text(150 * 1024 * 1024), "150 MB");
    }
}
