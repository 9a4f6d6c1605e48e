//! `Context`: what every handler needs to know about the server (settings
//! and permission rules), with the two checks every request passes:
//! hidden names and permissions.

use crate::command::{Allow, Command};
use crate::config::Config;
use crate::error::Error;
use crate::fs::{self, Kind};
use crate::permissions::Permissions;
use crate::share_path::SharePath;

/// Settings and rules for one request.
pub struct Context {
    pub config: Config,
    pub permissions: Permissions,
}

impl Context {
    /// Loads the permission rules named by `config`. A file that cannot be
    /// read or parsed fails closed: every request gets a 500 that says so.
    pub fn load(config: Config) -> Result<Context, Error> {
        let permissions = match &config.permissions_file {
            None => Permissions::default_rules(),
            Some(file) => {
                let invalid = |detail: String| Error::Internal {
                    extra: "the server's permissions file is invalid".into(),
                    detail: format!("permissions file `{}`: {detail}", file.display()),
                };
                let text = fs::read_text(file).map_err(|e| invalid(e.to_string()))?;
                Permissions::parse(&text).map_err(|e| invalid(e.to_string()))?
            }
        };
        Ok(Context {
            config,
            permissions,
        })
    }

    /// The commands allowed on `path`.
    pub fn allowed(&self, path: &SharePath) -> Allow {
        self.permissions.allowed(path)
    }

    /// Fails with 403 unless `command` is allowed on `path`.
    pub fn require(&self, command: Command, path: &SharePath) -> Result<(), Error> {
        if self.allowed(path).contains(command) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "`{command}` is not allowed on `{path}`"
            )))
        }
    }

    /// Fails with 403 when a tree operation on `path` would reach a
    /// section below it that does not allow `command`.
    pub fn require_tree(&self, command: Command, path: &SharePath) -> Result<(), Error> {
        match self.permissions.denied_below(path, command) {
            None => Ok(()),
            Some(inner) => Err(Error::Forbidden(format!(
                "`{command}` of `{path}` is not allowed: `{inner}` inside it does not allow `{command}`"
            ))),
        }
    }

    /// Fails with 404 when `path` is or lies under a hidden name and hidden
    /// names are not shown, or under an upload temporary's name: to the
    /// client such entries do not exist.
    pub fn require_visible(&self, path: &SharePath) -> Result<(), Error> {
        // Upload temporaries are never listed, served or written by name,
        // even with hidden names shown.
        if path.segments().iter().any(|s| fs::is_temp_name(s)) {
            return Err(Error::NotFound(format!(
                "`{path}` does not exist: names like `{}*{}` are kept for uploads in progress",
                fs::TEMP_PREFIX,
                fs::TEMP_SUFFIX
            )));
        }
        if path.is_hidden() && !self.config.show_hidden {
            Err(Error::NotFound(format!("`{path}` does not exist")))
        } else {
            Ok(())
        }
    }

    /// What `path` is, or `None` when nothing is there.
    pub fn kind(&self, path: &SharePath) -> Result<Option<Kind>, Error> {
        match fs::stat(&self.config.root, path) {
            Ok(meta) => Ok(Some(meta.kind)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&e, "read", path)),
        }
    }

    /// Where `path` really lives: every symlink in it resolved, inside the
    /// root. A path that does not exist (yet) resolves through its nearest
    /// existing parent. A link leading out of the root, dangling or looping
    /// reads as missing (404), as everywhere else; so nothing is ever
    /// created or written in a dangling link's place.
    pub fn real(&self, path: &SharePath) -> Result<SharePath, Error> {
        let unreachable =
            || Error::NotFound(format!("`{path}` does not exist or cannot be reached"));
        match fs::resolve_new(&self.config.root, path) {
            Ok(Some(real)) => Ok(real),
            Ok(None) => Err(unreachable()),
            // A dangling link on the way.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(unreachable()),
            Err(e) => Err(Error::io(&e, "read", path)),
        }
    }

    /// Checks `command` on `path` both as asked and where it really lives,
    /// visibility included, and returns the real path: its symlinks
    /// resolved, all of them when `follow_last` ([`Context::real`]), else
    /// all but the entry itself, which is then acted on as a link
    /// ([`Context::real_entry`]). So a symlink cannot carry a request — nor
    /// a name inside one, such as a multipart file name or `dir=` — into a
    /// stricter or hidden folder.
    pub fn require_resolved(
        &self,
        command: Command,
        path: &SharePath,
        follow_last: bool,
    ) -> Result<SharePath, Error> {
        self.require_visible(path)?;
        self.require(command, path)?;
        let real = if follow_last {
            self.real(path)?
        } else {
            self.real_entry(path)?
        };
        if real != *path {
            self.require_visible(&real)?;
            self.require(command, &real)?;
        }
        Ok(real)
    }

    /// Where the entry `path` itself lives: its parent resolved, its own
    /// name kept (a symlink is deleted or moved as a link).
    pub fn real_entry(&self, path: &SharePath) -> Result<SharePath, Error> {
        if path.is_root() {
            return Ok(SharePath::root());
        }
        Ok(self.real(&path.parent())?.child(path.name()))
    }
}
