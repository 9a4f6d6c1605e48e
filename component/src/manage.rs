//! The file-manager commands: `mkdir`, `delete`, `copy` and `move`. Each
//! stays inside the served root: targets are [`SharePath`]s (so `..` and
//! absolute paths were refused at parsing) and every file system call goes
//! through [`crate::fs`] under the sandbox.

use crate::command::Command;
use crate::context::Context;
use crate::error::Error;
use crate::fs::{self, Kind};
use crate::http::Response;
use crate::share_path::{MAX_PATH_BYTES, SharePath};

/// `cmd=mkdir`: creates `path` with its parents, or with `&dir=NAME`
/// creates `NAME` under the existing directory `path`.
pub fn mkdir(ctx: &Context, path: &SharePath, name: Option<&str>) -> Result<Response, Error> {
    let target = match name {
        None => path.clone(),
        Some(name) => {
            if ctx.kind(path)? != Some(Kind::Dir) {
                return Err(Error::NotFound(format!(
                    "the directory `{path}` does not exist"
                )));
            }
            let relative = SharePath::from_decoded(name)?;
            if relative.is_root() {
                return Err(Error::BadRequest(format!(
                    "`dir` names no folder under `{path}`"
                )));
            }
            relative
                .segments()
                .iter()
                .fold(path.clone(), |p, s| p.child(s))
        }
    };
    // A `dir` may lead through a symlink: judged, and made, where it leads.
    let target = if name.is_some() {
        ctx.require_resolved(Command::Mkdir, &target, true)?
    } else {
        ctx.require_visible(&target)?;
        target
    };
    if ctx.kind(&target)?.is_some() {
        return Err(Error::BadRequest(format!("`{target}` already exists")));
    }
    fs::create_dir_all(&ctx.config.root, &target).map_err(|e| Error::io(&e, "create", &target))?;
    Ok(Response::no_content())
}

/// `delete`: a file, a symlink, or a whole tree; never the root.
pub fn delete(ctx: &Context, path: &SharePath) -> Result<Response, Error> {
    if path.is_root() {
        return Err(Error::Forbidden(
            "the shared folder itself cannot be deleted".into(),
        ));
    }
    fs::remove(&ctx.config.root, path).map_err(|e| Error::io(&e, "delete", path))?;
    Ok(Response::no_content())
}

/// `copy` or `move` of `source` to `dest` (a path from the root). An
/// existing directory as `dest` receives the source under its own name.
pub fn transfer(
    ctx: &Context,
    command: Command,
    source: &SharePath,
    dest: Option<&str>,
) -> Result<Response, Error> {
    let Some(dest) = dest.filter(|d| !d.trim().is_empty()) else {
        return Err(Error::BadRequest(format!(
            "`{command}` of `{source}` needs a `dest`"
        )));
    };
    if source.is_root() {
        return Err(Error::Forbidden(format!(
            "the shared folder itself cannot be {}",
            done(command)
        )));
    }
    // The destination is judged where it really lives (symlinks resolved),
    // and both its folder and the target itself must allow `upload`.
    let dest = ctx.real(&SharePath::from_decoded(dest)?)?;
    let target = destination(ctx, source, &dest)?;
    ctx.require_visible(&target)?;
    ctx.require(Command::Upload, &target.parent())?;
    ctx.require(Command::Upload, &target)?;
    if target == *source {
        return Err(Error::BadRequest(format!(
            "`{source}` cannot be {} onto itself",
            done(command)
        )));
    }
    let source_kind = ctx.kind(source)?.unwrap_or(Kind::Other);
    if source_kind == Kind::Dir && target.starts_with(source) {
        return Err(Error::BadRequest(format!(
            "`{source}` cannot be {} into itself (`{target}`)",
            done(command)
        )));
    }
    if command == Command::Move && source_kind == Kind::Dir {
        fits_when_moved(ctx, source, &target)?;
    }
    let root = &ctx.config.root;
    let result = match (command, source_kind) {
        (Command::Move, _) => fs::rename(root, source, &target),
        (_, Kind::Dir) => fs::copy_tree(root, source, &target),
        _ => fs::copy_file(root, source, &target),
    };
    result.map_err(|e| Error::io(&e, command.name(), &target))?;
    Ok(Response::no_content())
}

/// Refuses to move folder `source` to `target` when a path inside it would
/// grow past [`MAX_PATH_BYTES`]: such a tree could no longer be opened,
/// archived or deleted (every other way of making a path is bounded by
/// that length already).
fn fits_when_moved(ctx: &Context, source: &SharePath, target: &SharePath) -> Result<(), Error> {
    let read_error = |e: std::io::Error| Error::io(&e, "read", source);
    let base = source.to_string().len();
    let mut deepest = 0;
    for entry in fs::walk(&ctx.config.root, source, true).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        deepest = deepest.max(entry.path.to_string().len().saturating_sub(base));
    }
    if target.to_string().len() + deepest > MAX_PATH_BYTES {
        return Err(Error::BadRequest(format!(
            "`{source}` cannot be moved to `{target}`: paths inside it would grow past {MAX_PATH_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The past participle of `copy` or `move`, for messages.
fn done(command: Command) -> &'static str {
    if command == Command::Move {
        "moved"
    } else {
        "copied"
    }
}

/// Where a copy or move lands: inside `dest` when it is a directory, else
/// at `dest`, whose parent must be an existing directory. An existing
/// file there is replaced; an existing directory is not.
fn destination(ctx: &Context, source: &SharePath, dest: &SharePath) -> Result<SharePath, Error> {
    let target = match ctx.kind(dest)? {
        Some(Kind::Dir) => dest.child(source.name()),
        _ => dest.clone(),
    };
    match ctx.kind(&target.parent())? {
        Some(Kind::Dir) => {}
        Some(_) => {
            return Err(Error::BadRequest(format!(
                "`{}` is not a directory",
                target.parent()
            )));
        }
        None => {
            return Err(Error::NotFound(format!(
                "the directory `{}` does not exist",
                target.parent()
            )));
        }
    }
    if ctx.kind(&target)? == Some(Kind::Dir) && target != *source {
        return Err(Error::BadRequest(format!(
            "`{target}` already exists as a directory"
        )));
    }
    Ok(target)
}
