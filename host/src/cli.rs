//! The command line (contract §7) and its validation into [`Settings`].
//!
//! [`Args`] is what clap parses; its `///` docs are the `--help` text.
//! [`Settings::from_args`] checks what clap cannot (the root directory
//! exists, the permissions file parses) so that everything after it works
//! with validated values. Its errors are usage errors: the binary reports
//! them and exits with status 2, like clap's own.

use crate::permissions::PermissionsFile;
use anyhow::{Context, Result, bail};
use clap::{ArgAction, Parser};
use std::net::IpAddr;
use std::path::PathBuf;

/// The port used when `--port` is not given.
pub const DEFAULT_PORT: u16 = 8018;

/// Share a directory over HTTP: browse, download, upload, and a JSON API.
///
/// Prints the addresses it can be reached at, then one line per request.
/// Ctrl-C stops it.
#[derive(Debug, Parser)]
#[command(name = "httpuploader", version, disable_version_flag = true)]
pub struct Args {
    /// Port to listen on; 0 picks a free port and prints it.
    #[arg(short, long, value_name = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// Directory to share.
    #[arg(short = 'd', long, value_name = "DIR", default_value = ".")]
    pub rootdir: PathBuf,

    /// Also list and serve hidden files (names starting with `.`).
    #[arg(short, long)]
    pub show_hidden: bool,

    /// Permissions file (INI) saying which commands are allowed where.
    /// Edits are picked up while running.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on [default: all interfaces, IPv6 and IPv4].
    #[arg(short, long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,

    /// Print the version and exit.
    #[arg(short = 'v', long, action = ArgAction::Version)]
    version: (),
}

/// The validated command line.
#[derive(Debug)]
pub struct Settings {
    /// Absolute, canonical path of the shared directory.
    pub root: PathBuf,
    /// Whether hidden names are listed and served.
    pub show_hidden: bool,
    /// The permissions file, read and parsed once already.
    pub permissions: Option<PermissionsFile>,
    /// The address to bind; `None` means all interfaces.
    pub bind: Option<IpAddr>,
    /// The port to bind; 0 lets the system choose.
    pub port: u16,
}

impl Settings {
    /// Checks the root directory and loads the permissions file.
    pub fn from_args(args: Args) -> Result<Settings> {
        let root = std::fs::canonicalize(&args.rootdir)
            .with_context(|| format!("root directory `{}`", args.rootdir.display()))?;
        if !root.is_dir() {
            bail!(
                "root directory `{}` is not a directory",
                args.rootdir.display()
            );
        }
        let permissions = args.config.map(PermissionsFile::load).transpose()?;
        Ok(Settings {
            root,
            show_hidden: args.show_hidden,
            permissions,
            bind: args.bind,
            port: args.port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_follow_the_contract() {
        let args = Args::try_parse_from(["httpuploader"]).unwrap();
        assert_eq!(args.port, 8018);
        assert_eq!(args.rootdir, PathBuf::from("."));
        assert!(!args.show_hidden);
        assert!(args.config.is_none());
        assert!(args.bind.is_none());
    }

    #[test]
    fn short_flags_parse() {
        let args = Args::try_parse_from([
            "httpuploader",
            "-p",
            "0",
            "-d",
            "/tmp",
            "-s",
            "-c",
            "p.ini",
            "-b",
            "::1",
        ])
        .unwrap();
        assert_eq!(args.port, 0);
        assert!(args.show_hidden);
        assert_eq!(args.config, Some(PathBuf::from("p.ini")));
        assert_eq!(args.bind, Some("::1".parse().unwrap()));
    }

    #[test]
    fn lowercase_v_prints_the_version() {
        let err = Args::try_parse_from(["httpuploader", "-v"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
    }
}
