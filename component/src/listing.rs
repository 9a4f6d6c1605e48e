//! A directory's contents as the client sees them: visible entries sorted
//! by name, each with the operations the permissions file allows on it.
//! The API renders a [`Listing`] as JSON (`to_json`), the web page as HTML.

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::command::{Allow, Command};
use crate::context::Context;
use crate::error::Error;
use crate::format::{human_size, iso_time};
use crate::fs::{self, Kind};
use crate::share_path::SharePath;

/// The API prefix that links carry: the full version this server has.
pub const LINK_PREFIX: &str = "/api/1.0.0";

/// One file or directory in a listing.
pub struct Entry {
    pub name: String,
    pub path: SharePath,
    pub bytes: u64,
    pub modified: Option<SystemTime>,
    pub allow: Allow,
}

/// A directory's visible contents, each kind sorted by name.
pub struct Listing {
    pub path: SharePath,
    pub allow: Allow,
    pub dirs: Vec<Entry>,
    pub files: Vec<Entry>,
}

impl Listing {
    /// Reads directory `path` (which the caller has checked exists).
    pub fn read(ctx: &Context, path: &SharePath) -> Result<Listing, Error> {
        let root = &ctx.config.root;
        let entries = fs::read_dir(root, path, ctx.config.show_hidden)
            .map_err(|e| Error::io(&e, "list", path))?;
        let (mut dirs, mut files) = (Vec::new(), Vec::new());
        for entry in entries {
            let child = path.child(&entry.name);
            let item = Entry {
                allow: ctx.allowed(&child),
                path: child,
                name: entry.name,
                bytes: entry.meta.len,
                modified: entry.meta.modified,
            };
            match entry.meta.kind {
                Kind::Dir => dirs.push(item),
                _ => files.push(item),
            }
        }
        dirs.sort_by(|a, b| a.name.cmp(&b.name));
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Listing {
            allow: ctx.allowed(path),
            path: path.clone(),
            dirs,
            files,
        })
    }

    /// The `data` of a `list` answer (contract §3).
    pub fn to_json(&self) -> Value {
        let mut directories = Vec::new();
        if !self.path.is_root() {
            let parent = self.path.parent();
            directories.push(json!({"name": "..", "links": [link(&parent, Command::List)]}));
        }
        for dir in &self.dirs {
            directories.push(json!({
                "name": dir.name,
                "mtime": dir.modified.map(iso_time),
                "links": links(dir, Kind::Dir),
            }));
        }
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|file| {
                json!({
                    "name": file.name,
                    "size": human_size(file.bytes),
                    "bytes": file.bytes,
                    "mtime": file.modified.map(iso_time),
                    "links": links(file, Kind::File),
                })
            })
            .collect();
        json!({
            "name": self.path.to_string(),
            "links": dir_links(&self.path, self.allow),
            "files": files,
            "directories": directories,
        })
    }
}

/// The commands that apply to a directory or to a file, in link order.
pub fn commands_for(kind: Kind) -> &'static [Command] {
    match kind {
        Kind::Dir => &[
            Command::List,
            Command::Archive,
            Command::Mkdir,
            Command::Upload,
            Command::Delete,
            Command::Copy,
            Command::Move,
        ],
        _ => &[
            Command::Download,
            Command::Info,
            Command::Checksum,
            Command::Compress,
            Command::Delete,
            Command::Copy,
            Command::Move,
        ],
    }
}

fn links(entry: &Entry, kind: Kind) -> Vec<Value> {
    commands_for(kind)
        .iter()
        .filter(|c| entry.allow.contains(**c))
        .map(|c| link(&entry.path, *c))
        .collect()
}

fn dir_links(path: &SharePath, allow: Allow) -> Vec<Value> {
    commands_for(Kind::Dir)
        .iter()
        .filter(|c| allow.contains(**c))
        // The root can be neither deleted, copied nor moved.
        .filter(|c| {
            !path.is_root() || !matches!(c, Command::Delete | Command::Copy | Command::Move)
        })
        .map(|c| link(path, *c))
        .collect()
}

/// One link: method, percent-encoded href, and the names of its `{n}`
/// placeholders.
pub fn link(path: &SharePath, command: Command) -> Value {
    let (method, args): (&str, &[&str]) = match command {
        Command::List | Command::Download | Command::Info | Command::Checksum => ("GET", &[]),
        Command::Archive | Command::Compress => ("GET", &["format"]),
        Command::Mkdir => ("POST", &["dir"]),
        Command::Upload => ("POST", &[]),
        Command::Delete => ("DELETE", &[]),
        Command::Copy | Command::Move => ("POST", &["dest"]),
    };
    let mut href = format!("{LINK_PREFIX}{}?cmd={command}", path.encoded());
    for (i, arg) in args.iter().enumerate() {
        href.push_str(&format!("&{arg}={{{i}}}"));
    }
    json!({"method": method, "href": href, "args": args})
}
