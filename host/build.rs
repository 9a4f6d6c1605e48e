//! Builds the server component and hands its path to the host crate.
//!
//! The host embeds `httpuploader_component.wasm` with `include_bytes!`, so
//! this script runs a nested `cargo build --target wasm32-wasip2` for the
//! `httpuploader-component` package and exports the resulting file's path as
//! the `HTTPUPLOADER_COMPONENT_WASM` compile-time environment variable.
//!
//! The nested build gets its own target directory (`target/component`): the
//! outer build holds the lock on the main one, and sharing it would deadlock.
//! It also gets a cleaned environment, because the variables cargo sets for
//! build scripts (target, flags, wrappers, jobserver) describe the outer,
//! native build and would confuse a wasm build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The package that holds the server component.
const COMPONENT_PACKAGE: &str = "httpuploader-component";

/// The target the component is built for.
const COMPONENT_TARGET: &str = "wasm32-wasip2";

/// The file name cargo gives the component (`-` becomes `_`).
const COMPONENT_FILE: &str = "httpuploader_component.wasm";

/// Inputs of the component build, relative to the workspace root; a change
/// to any of them reruns this script.
const COMPONENT_INPUTS: &[&str] = &[
    "component/src",
    "component/assets",
    "component/Cargo.toml",
    "wit",
    "Cargo.lock",
    ".cargo/config.toml",
];

/// Exact variables that describe the outer build and must not leak into the
/// nested one.
const REMOVED_VARS: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "TARGET",
    "HOST",
    "OUT_DIR",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "NUM_JOBS",
    "RUSTC_LINKER",
];

/// Prefixes of variables cargo sets for this build script only (cfg values,
/// package metadata, features); the nested cargo sets its own.
const REMOVED_PREFIXES: &[&str] = &[
    "CARGO_CFG_",
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_FEATURE_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_CRATE_",
    "CARGO_BIN_",
    "DEP_",
];

fn main() -> ExitCode {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ sits inside the workspace")
        .to_path_buf();
    for input in COMPONENT_INPUTS {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }

    let target_dir = workspace.join("target").join("component");
    match build_component(&workspace, &target_dir) {
        Ok(()) => {
            let wasm = target_dir
                .join(COMPONENT_TARGET)
                .join("release")
                .join(COMPONENT_FILE);
            println!(
                "cargo:rustc-env=HTTPUPLOADER_COMPONENT_WASM={}",
                wasm.display()
            );
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the nested cargo build; on failure returns a message that includes
/// the child's own output.
fn build_component(workspace: &Path, target_dir: &Path) -> Result<(), String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--target", COMPONENT_TARGET])
        .args(["-p", COMPONENT_PACKAGE])
        .arg("--target-dir")
        .arg(target_dir);
    for (name, _) in env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let outer_only = REMOVED_VARS.contains(&name)
            || REMOVED_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix));
        if outer_only {
            command.env_remove(name);
        }
    }

    let output = command.output().map_err(|err| {
        format!(
            "could not run `{}` to build the component: {err}",
            Path::new(&cargo).display()
        )
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "building the component (`cargo build --release --target {COMPONENT_TARGET} -p \
         {COMPONENT_PACKAGE}`) failed with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    ))
}
