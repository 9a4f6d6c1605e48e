//! The command line (contract §7) and its validation into [`Settings`].
//!
//! [`Args`] is what clap parses; its `///` docs are the `--help` text.
//! [`Settings::from_args`] checks what clap cannot (the root directory
//! exists, the permissions file parses) so that everything after it works
//! with validated values. Its errors are usage errors: the binary reports
//! them and exits with status 2, like clap's own.

use crate::limits::Limits;
use crate::permissions::PermissionsFile;
use anyhow::{Context, Result, bail};
use clap::{ArgAction, Parser};
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

/// The port used when `--port` is not given.
pub const DEFAULT_PORT: u16 = 8018;

/// What `--max-requests` and `--max-per-client` accept. The pool reserves
/// address space (not memory) for every request slot up front.
const REQUEST_CAPS: RangeInclusive<i64> = 1..=1024;

/// What `--header-timeout` and `--idle-timeout` accept.
const TIMEOUTS: RangeInclusive<Duration> = Duration::from_millis(100)..=Duration::from_secs(86_400);

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

    /// Requests handled at once (1-1024); more wait their turn.
    #[arg(long, value_name = "N", default_value_t = Limits::MAX_REQUESTS,
          value_parser = clap::value_parser!(u32).range(REQUEST_CAPS), help_heading = "Limits", allow_hyphen_values = true)]
    pub max_requests: u32,

    /// Requests one client address may have running or waiting at once
    /// (1-1024); its others wait behind them, not in everyone's queue.
    #[arg(long, value_name = "N", default_value_t = Limits::MAX_PER_CLIENT,
          value_parser = clap::value_parser!(u32).range(REQUEST_CAPS), help_heading = "Limits", allow_hyphen_values = true)]
    pub max_per_client: u32,

    /// Time a client has to send a request's headers; a connection that
    /// sends none for this long, idle keep-alive ones too, is closed
    /// (e.g. 30s, 2m; 100ms-24h).
    #[arg(long, value_name = "DURATION", default_value = "30s",
          value_parser = parse_timeout, help_heading = "Limits", allow_hyphen_values = true)]
    pub header_timeout: Duration,

    /// Time an upload or a download may go without moving a byte (the
    /// client not sending, or not reading) before it is ended; nothing of
    /// such an upload is kept (e.g. 30s, 2m; 100ms-24h).
    #[arg(long, value_name = "DURATION", default_value = "30s",
          value_parser = parse_timeout, help_heading = "Limits", allow_hyphen_values = true)]
    pub idle_timeout: Duration,

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
    /// Caps and timeouts.
    pub limits: Limits,
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
            limits: Limits {
                max_requests: args.max_requests,
                max_per_client: args.max_per_client,
                header_timeout: args.header_timeout,
                body_idle_timeout: args.idle_timeout,
            },
        })
    }
}

/// A duration such as `30s`, `2m` or `1h 30m`, within [`TIMEOUTS`].
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|err| format!("{err}; write a number with a unit, such as `30s` or `2m`"))?;
    if TIMEOUTS.contains(&duration) {
        Ok(duration)
    } else {
        Err(format!(
            "must be between {} and {}",
            humantime::format_duration(*TIMEOUTS.start()),
            humantime::format_duration(*TIMEOUTS.end())
        ))
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
        let defaults = Limits::default();
        assert_eq!(args.max_requests, defaults.max_requests);
        assert_eq!(args.max_per_client, defaults.max_per_client);
        assert_eq!(args.header_timeout, defaults.header_timeout);
        assert_eq!(args.idle_timeout, defaults.body_idle_timeout);
    }

    #[test]
    fn limits_parse() {
        let args = Args::try_parse_from([
            "httpuploader",
            "--max-requests",
            "8",
            "--max-per-client",
            "2",
            "--header-timeout",
            "1m 30s",
            "--idle-timeout",
            "500ms",
        ])
        .unwrap();
        assert_eq!(args.max_requests, 8);
        assert_eq!(args.max_per_client, 2);
        assert_eq!(args.header_timeout, Duration::from_secs(90));
        assert_eq!(args.idle_timeout, Duration::from_millis(500));
    }

    #[test]
    fn limits_out_of_range_are_usage_errors() {
        for bad in [
            ["--max-requests", "0"],
            ["--max-requests", "1025"],
            ["--max-per-client", "1025"],
            ["--header-timeout", "0s"],
            ["--header-timeout", "30"],
            ["--idle-timeout", "2days"],
            ["--idle-timeout", "fast"],
            ["--max-requests", "-5"],
            ["--header-timeout", "-5s"],
        ] {
            let err = Args::try_parse_from(["httpuploader", bad[0], bad[1]]).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{bad:?}"
            );
        }
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
