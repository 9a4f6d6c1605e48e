//! `httpuploader`: share a directory over HTTP, for a classroom or a LAN.
//!
//! The server logic is a WebAssembly component (crate
//! `httpuploader-component`) embedded in this binary; this crate is its
//! native host. `main` only parses the command line, sets up logging and
//! hands over to [`server::run`]. The modules follow a request: [`server`]
//! accepts it, [`guest`] runs it in a fresh component instance,
//! [`access_log`] logs it, [`limits`] keeps one client from holding the
//! server; [`cli`] and [`permissions`] prepare what the guest is given.

mod access_log;
mod cli;
mod guest;
mod limits;
mod permissions;
mod server;
mod write_deadline;

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Exit status for a bad command line, root directory or permissions file
/// (clap uses the same for its own errors).
const EXIT_USAGE: u8 = 2;

/// Log filter when `RUST_LOG` is not set: our lines, others' warnings.
const DEFAULT_LOG_FILTER: &str = "warn,httpuploader=info,access=info";

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let settings = match cli::Settings::from_args(args) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("httpuploader: {err:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match server::run(settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("httpuploader: {err:#}");
            ExitCode::FAILURE
        }
    }
}
