#!/usr/bin/env python3
"""Runs the workloads of issue #6 against httpuploader and its peers and
writes the table. Started by bench.sh, which builds and installs first;
standard library only.

Each (workload, server) pair gets a fresh server process on 127.0.0.1 with
its own data folder, so the peak RSS (VmHWM) is that workload's. Every load
is bounded in time, and every server is stopped by its PID (also listed in
WORK/pids for bench.sh's exit trap).
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import zipfile

MiB = 1 << 20
GiB = 1 << 30

# Servers, in table order. "dufs+nodelay" is dufs with TCP_NODELAY set on
# accepted sockets by an LD_PRELOAD shim (dufs has no switch for it).
OURS = "ours"
PEERS = ["dufs", "dufs+nodelay", "miniserve", "http.server", "httpuploader.py"]
OPENSSL = "openssl"

# Workloads whose commands (archive, checksum) our server and the original
# allow only through a permissions file.
PERMS_WORKLOADS = {"W5", "W6"}
PERMS_INI = "[DEFAULT]\nallow = list, download, mkdir, upload, archive, checksum\n"


class Sizes:
    """How big the data and how long the loads are."""

    def __init__(self, big, listing, zip_small, zip_big, zip_big_size, load_s, runs, max_s):
        self.big = big  # W1, W4, W6 file size
        self.listing = listing  # W3 file count
        self.zip_small = zip_small  # W5 small files
        self.zip_big = zip_big  # W5 random files
        self.zip_big_size = zip_big_size
        self.load_s = load_s  # W2/W3 load duration
        self.runs = runs
        self.max_s = max_s  # bound on any single transfer


FULL = Sizes(GiB, 1000, 1000, 10, 10 * MiB, 10, 3, 300)
QUICK = Sizes(8 * MiB, 100, 100, 10, 256 * 1024, 1, 1, 30)


class Failure(Exception):
    """A workload did not complete correctly (non-2xx, wrong bytes, ...)."""


T0 = time.monotonic()


def log(msg):
    print(f"bench: [{time.monotonic() - T0:5.1f} s] {msg}", file=sys.stderr, flush=True)


def human_size(n):
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


# ---------------------------------------------------------------- data


def make_data(root, sizes):
    """The shared read-only data set; servers get hard-linked copies."""
    os.makedirs(root)
    with open("/dev/urandom", "rb") as rnd, open(os.path.join(root, "big.bin"), "wb") as out:
        left = sizes.big
        while left:
            block = rnd.read(min(left, 8 * MiB))
            out.write(block)
            left -= len(block)
    with open(os.path.join(root, "small.bin"), "wb") as out:
        out.write(os.urandom(4096))
    listing = os.path.join(root, "listing")
    os.makedirs(listing)
    for i in range(sizes.listing):
        with open(os.path.join(listing, f"file-{i:04}.txt"), "w") as out:
            out.write(f"file {i}\n")
    zipdir = os.path.join(root, "zipdir")
    os.makedirs(os.path.join(zipdir, "small"))
    line = "the quick brown fox jumps over the lazy dog 0123456789\n"
    for i in range(sizes.zip_small):
        with open(os.path.join(zipdir, "small", f"s{i:04}.txt"), "w") as out:
            out.write(line * (1 + i % 40))
    with open("/dev/urandom", "rb") as rnd:
        for i in range(sizes.zip_big):
            with open(os.path.join(zipdir, f"random-{i:02}.bin"), "wb") as out:
                out.write(rnd.read(sizes.zip_big_size))
    os.makedirs(os.path.join(root, "up"))


def server_tree(work, source, name):
    """A fresh folder for one server: the data hard-linked, an empty up/."""
    dest = os.path.join(work, "srv-" + re.sub(r"[^a-z0-9]+", "-", name.lower()))
    if os.path.exists(dest):
        shutil.rmtree(dest)
    subprocess.run(["cp", "-al", source, dest], check=True)
    return dest


# ---------------------------------------------------------------- servers


def free_port():
    """A free 127.0.0.1 port below the kernel's ephemeral range, so that
    no port the kernel hands out meanwhile (to our server's `-p 0`, to a
    client socket) can take it before the peer binds it."""
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10000, max(low, 10001))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise Failure("no free port below the ephemeral range")


class Running:
    """One server process we started; stopped by its PID."""

    registry = []  # every live one, for the exit handler
    pidfile = None
    started = 0  # numbers the log files

    def __init__(self, name, argv, env, cwd, logdir, port=None):
        self.name = name
        Running.started += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name)
        self.log_path = os.path.join(logdir, f"{Running.started:02}-{slug}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log
        )
        Running.registry.append(self)
        Running.write_pids()
        self.port = port
        self.wait_ready()

    @classmethod
    def write_pids(cls):
        if cls.pidfile:
            with open(cls.pidfile, "w") as f:
                f.writelines(f"{r.proc.pid}\n" for r in cls.registry)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"{self.name} exited at start:\n{self.log_text()[-2000:]}")
            if self.port is None:
                # Our server prints `  http://127.0.0.1:PORT/`.
                m = re.search(r"^  http://127\.0\.0\.1:(\d+)/", self.log_text(), re.M)
                if m:
                    self.port = int(m.group(1))
            if self.port is not None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                except OSError:
                    pass
                else:
                    # Still running: the port is really this server's.
                    time.sleep(0.1)
                    if self.proc.poll() is None:
                        return
            time.sleep(0.05)
        self.stop()
        raise Failure(f"{self.name} did not listen within {timeout} s")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def peak_rss_kib(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()
        if self in Running.registry:
            Running.registry.remove(self)
            Running.write_pids()

    @classmethod
    def stop_all(cls):
        for running in list(cls.registry):
            try:
                running.stop()
            except Exception as e:  # keep stopping the others
                log(f"stopping {running.name}: {e}")


def start_server(name, opts, root, wid):
    """Starts server `name` sharing `root` for workload `wid`. Ours and
    httpuploader.py run with their default permissions, plus a permissions
    file for the workloads whose commands the default does not allow
    (a file that allows more also lists more links per entry, which would
    make W3 measure a bigger answer than a default user gets)."""
    env = dict(os.environ)
    logdir = opts.work
    perms = ["-c", opts.perms] if wid in PERMS_WORKLOADS else []
    if name == OURS:
        argv = [opts.bin, "-b", "127.0.0.1", "-p", "0", "-d", root, *perms]
        return Running(name, argv, env, opts.work, logdir)
    port = free_port()
    if name in ("dufs", "dufs+nodelay"):
        argv = [opts.dufs, "-b", "127.0.0.1", "-p", str(port), "--allow-all", root]
        if name == "dufs+nodelay":
            env["LD_PRELOAD"] = opts.nodelay_shim
    elif name == "miniserve":
        # `-u` last: it takes an optional value and would swallow the path.
        argv = [opts.miniserve, root, "-i", "127.0.0.1", "-p", str(port), "-z", "-u"]
    elif name == "http.server":
        argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", root, str(port)]
    elif name == "httpuploader.py":
        # The console script binds every interface; the same objects, bound
        # to 127.0.0.1.
        code = (
            "import sys, httpuploader as h\n"
            "from wsgiref.simple_server import make_server\n"
            "app = h.WSGIApp(topdir=sys.argv[1], config=h.Config(sys.argv[3] if sys.argv[3:] else None))\n"
            "make_server('127.0.0.1', int(sys.argv[2]), app,"
            " server_class=h.WSGIThreadingServer).serve_forever()\n"
        )
        argv = [opts.venv_python, "-c", code, root, str(port), *perms[1:]]
    else:
        raise ValueError(name)
    return Running(name, argv, env, opts.work, logdir, port)


# ---------------------------------------------------------------- clients


def curl(url, opts, extra=(), output="/dev/null"):
    """One transfer; returns (status, bytes down, bytes up, seconds)."""
    argv = [
        "curl", "-sS", "-g", "--http1.1", "-H", "Expect:", "--max-time", str(opts.sizes.max_s),
        "-o", output, "-w", "%{http_code} %{size_download} %{size_upload} %{time_total}",
        *extra, url,
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=opts.sizes.max_s + 30)
    except subprocess.TimeoutExpired:
        raise Failure(f"curl {url}: no answer within {opts.sizes.max_s} s")
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 4:
        raise Failure(f"curl {url}: exit {done.returncode}: {done.stderr.strip()}")
    status, down, up, secs = int(parts[0]), int(parts[1]), int(parts[2]), float(parts[3])
    return status, down, up, secs


def fetch(url, timeout=60):
    """A small GET: (status, body bytes)."""
    host, _, path = url.removeprefix("http://").partition("/")
    name, port = host.split(":")
    conn = http.client.HTTPConnection(name, int(port), timeout=timeout)
    try:
        conn.request("GET", "/" + path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def expect_2xx(what, status):
    if not 200 <= status < 300:
        raise Failure(f"{what}: HTTP {status}")


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url, opts, strict):
    """A bounded keep-alive load: (2xx req/s, p99 ms, counters). Non-2xx
    answers fail a `strict` (our) server; for a peer they are left out of
    the rate and counted."""
    if not shutil.which("wrk"):
        return py_load(url, opts)
    seconds = opts.sizes.load_s
    argv = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "--timeout", "5s", url]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise Failure(f"wrk {url}: did not finish")
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if done.returncode != 0 or not rate or not p99 or not total:
        raise Failure(f"wrk {url}: exit {done.returncode}\n{out}{done.stderr}")
    rate, total = float(rate.group(1)), int(total.group(1))
    counts = {"answers": total}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        if strict:
            raise Failure(f"wrk {url}: {bad.group(1)} non-2xx/3xx answers")
        counts["non-2xx"] = int(bad.group(1))
        rate *= 1 - int(bad.group(1)) / max(total, 1)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        if strict and (int(errors.group(1)) or int(errors.group(4))):
            raise Failure(f"wrk {url}: socket errors {errors.group(0)}")
        for kind, n in zip(("connect", "read", "write", "timeout"), errors.groups()):
            counts[f"{kind} errors"] = int(n)
    return rate, float(p99.group(1)) * UNITS[p99.group(2)], counts


def py_load(url, opts):
    """Fallback when wrk is missing (quick mode in CI): 4 keep-alive
    threads for the load duration. Slow, but it checks the answers."""
    host, _, path = url.removeprefix("http://").partition("/")
    name, port = host.split(":")
    deadline = time.monotonic() + opts.sizes.load_s
    latencies, errors = [], []
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(name, int(port), timeout=10)
        mine = []
        try:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                conn.request("GET", "/" + path)
                response = conn.getresponse()
                response.read()
                mine.append((time.perf_counter() - start) * 1e3)
                if not 200 <= response.status < 400:
                    errors.append(response.status)
                    return
        except Exception as e:
            errors.append(repr(e))
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=opts.sizes.load_s + 30)
    if errors or not latencies:
        raise Failure(f"load on {url}: {errors[:3] or 'no answers'}")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    counts = {"answers": len(latencies), "runs with the python load (no wrk)": 1}
    return len(latencies) / (time.monotonic() - started), p99, counts


# ---------------------------------------------------------------- workloads
#
# Each workload: which servers support it and how, one measured run, and
# a check of the first run's answer. A run returns a number in the unit of
# its row.


def w1_download(srv, root, opts, run):
    status, down, _, secs = curl(srv.url("/big.bin"), opts)
    expect_2xx("download", status)
    if down != opts.sizes.big:
        raise Failure(f"download: {down} bytes instead of {opts.sizes.big}")
    return {"MB/s": down / secs / 1e6}


def w2_small(srv, root, opts, run):
    if run == 0:
        status, body = fetch(srv.url("/small.bin"))
        expect_2xx("GET 4 KiB", status)
        if len(body) != 4096:
            raise Failure(f"GET 4 KiB: {len(body)} bytes")
    rate, p99, counts = wrk(srv.url("/small.bin"), opts, srv.name == OURS)
    return {"req/s": rate, "p99 ms": p99, "counts": counts}


LIST_PATHS = {
    OURS: "/api/1/listing?cmd=list",
    "httpuploader.py": "/api/1/listing?cmd=list",
    "dufs": "/listing?json",
    "dufs+nodelay": "/listing?json",
}


def w3_listing(srv, root, opts, run):
    path = LIST_PATHS[srv.name]
    if run == 0:
        status, body = fetch(srv.url(path))
        expect_2xx("listing", status)
        doc = json.loads(body)
        names = doc.get("data", {}).get("files") or doc.get("paths") or []
        if len(names) != opts.sizes.listing:
            raise Failure(f"listing: {len(names)} entries instead of {opts.sizes.listing}")
    rate, p99, counts = wrk(srv.url(path), opts, srv.name == OURS)
    return {"req/s": rate, "counts": counts}


def settle_disk():
    """Flushes what earlier runs left dirty (untimed), so no upload run pays
    for the writeback of the one before it."""
    os.sync()


def uploaded(root, name, size):
    """Waits briefly for the uploaded file to be complete on disk, removes it."""
    path = os.path.join(root, "up", name)
    deadline = time.monotonic() + 10
    while True:
        have = os.path.getsize(path) if os.path.exists(path) else None
        if have == size or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if have != size:
        raise Failure(f"upload: {name} has {have} bytes on disk instead of {size}")
    os.remove(path)


RAW_UPLOADS = {
    OURS: ("POST", "/api/1/up/{name}?cmd=upload"),
    "httpuploader.py": ("POST", "/api/1/up/{name}?cmd=upload"),
    "dufs": ("PUT", "/up/{name}"),
}


def w4_raw(srv, root, opts, run):
    method, path = RAW_UPLOADS[srv.name]
    name = f"raw-{run}.bin"
    source = os.path.join(root, "big.bin")
    settle_disk()
    status, _, up, secs = curl(srv.url(path.format(name=name)), opts, ["-X", method, "-T", source])
    expect_2xx("raw upload", status)
    uploaded(root, name, opts.sizes.big)
    return {"MB/s": up / secs / 1e6}


MULTIPART_UPLOADS = {
    OURS: "/api/1/up?cmd=upload",
    "httpuploader.py": "/api/1/up?cmd=upload",
    "miniserve": "/upload?path=/up",
}


def w4_multipart(srv, root, opts, run):
    name = f"form-{run}.bin"
    source = os.path.join(root, "big.bin")
    form = ["-F", f"file=@{source};filename={name};type=application/octet-stream"]
    settle_disk()
    status, _, up, secs = curl(srv.url(MULTIPART_UPLOADS[srv.name]), opts, form)
    # miniserve answers a successful form upload with a redirect.
    if not (200 <= status < 300 or (srv.name == "miniserve" and status in (301, 303))):
        raise Failure(f"multipart upload: HTTP {status}")
    uploaded(root, name, opts.sizes.big)
    return {"MB/s": up / secs / 1e6}


ZIP_PATHS = {
    OURS: "/api/1/zipdir?cmd=archive&format=zip",
    "httpuploader.py": "/api/1/zipdir?cmd=archive&format=zip",
    "dufs": "/zipdir?zip",
    "miniserve": "/zipdir/?download=zip",
}


def w5_zip(srv, root, opts, run):
    out = os.path.join(opts.work, "archive.zip") if run == 0 else "/dev/null"
    status, down, _, secs = curl(srv.url(ZIP_PATHS[srv.name]), opts, output=out)
    expect_2xx("zip", status)
    if run == 0:
        try:
            with zipfile.ZipFile(out) as z:
                files = [i for i in z.infolist() if not i.is_dir()]
                bad = z.testzip()
        except zipfile.BadZipFile as e:
            raise Failure(f"zip: not a zip archive ({e}; {down} bytes)")
        finally:
            os.remove(out)
        want = opts.sizes.zip_small + opts.sizes.zip_big
        if len(files) != want or bad is not None:
            raise Failure(f"zip: {len(files)} files (want {want}), first bad CRC {bad}")
    return {"s": secs}


CHECKSUM_PATHS = {
    OURS: "/api/1/big.bin?cmd=checksum",
    "httpuploader.py": "/api/1/big.bin?cmd=checksum",
    "dufs": "/big.bin?hash",
}


def w6_checksum(srv, root, opts, run):
    started = time.perf_counter()
    status, body = fetch(srv.url(CHECKSUM_PATHS[srv.name]), timeout=opts.sizes.max_s)
    secs = time.perf_counter() - started
    expect_2xx("checksum", status)
    text = body.decode("utf-8", "replace")
    try:
        got = json.loads(text)["data"]["checksum"]
    except (ValueError, KeyError, TypeError):
        got = text.strip()
    if got.lower() != opts.big_sha256:
        raise Failure(f"checksum: got {got[:80]!r}, want {opts.big_sha256}")
    return {"s": secs}


def reference_sha256(path, opts):
    """`openssl dgst -sha256` (or sha256sum) on the file: (seconds, hex)."""
    if shutil.which("openssl"):
        argv, tool = ["openssl", "dgst", "-sha256", "-r", path], "openssl"
    else:
        argv, tool = ["sha256sum", path], "sha256sum"
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=opts.sizes.max_s, check=True)
    return time.perf_counter() - started, done.stdout.split()[0].lower(), tool


ALL_DOWNLOAD = [OURS, "dufs", "miniserve", "http.server", "httpuploader.py"]

# id, title, function, servers, metric rows: (key, label, higher is better)
WORKLOADS = [
    ("W1", "download {big} (curl)", w1_download, ALL_DOWNLOAD, [("MB/s", "MB/s", True)]),
    ("W2", "GET 4 KiB, wrk -t2 -c16 -d{load}s", w2_small, ALL_DOWNLOAD + ["dufs+nodelay"],
     [("req/s", "req/s", True), ("p99 ms", "p99 ms", False)]),
    ("W3", "JSON listing of {listing} files, wrk", w3_listing, list(LIST_PATHS), [("req/s", "req/s", True)]),
    ("W4r", "upload {big}, raw body", w4_raw, list(RAW_UPLOADS), [("MB/s", "MB/s", True)]),
    ("W4m", "upload {big}, multipart", w4_multipart, list(MULTIPART_UPLOADS), [("MB/s", "MB/s", True)]),
    ("W5", "zip of {zip_small} small + {zip_big} × {zip_big_size}", w5_zip, list(ZIP_PATHS), [("s", "s", False)]),
    ("W6", "SHA-256 of {big} via the API", w6_checksum, list(CHECKSUM_PATHS), [("s", "s", False)]),
]


# ---------------------------------------------------------------- running


def run_workload(wid, fn, servers, opts, results):
    """Starts a fresh server of every kind for this workload, then runs
    the measurements round-robin (run 1 on each server, then run 2, ...,
    each round in a rotated order), so that load from elsewhere on the
    machine spreads over all servers rather than spoiling one of them."""
    names = [n for n in servers if n in opts.servers]
    live = {}  # name -> (Running, root)
    for name in names:
        results[(wid, name)] = {"values": {}, "rss": None, "error": None, "counts": {}}
        root = server_tree(opts.work, opts.data, name)
        try:
            live[name] = (start_server(name, opts, root, wid), root)
        except Failure as e:
            fail(wid, name, e, results)
            shutil.rmtree(root, ignore_errors=True)
    try:
        for run in range(opts.sizes.runs):
            shift = run % max(len(names), 1)
            for name in names[shift:] + names[:shift]:
                if name not in live:
                    continue
                srv, root = live[name]
                cell = results[(wid, name)]
                try:
                    measured = fn(srv, root, opts, run)
                    if srv.proc.poll() is not None:
                        raise Failure(f"{name} died during {wid}")
                except (Failure, OSError, http.client.HTTPException, ValueError) as e:
                    if srv.proc.poll() is not None:
                        e = Failure(f"{name} exited during {wid} ({e}): {srv.log_text()[-300:]}")
                    fail(wid, name, e, results)
                    srv.stop()
                    del live[name]
                    shutil.rmtree(root, ignore_errors=True)
                    continue
                for key, value in measured.pop("counts", {}).items():
                    cell["counts"][key] = cell["counts"].get(key, 0) + value
                for key, value in measured.items():
                    cell["values"].setdefault(key, []).append(value)
        for name, (srv, _) in live.items():
            results[(wid, name)]["rss"] = srv.peak_rss_kib()
    finally:
        for srv, root in live.values():
            srv.stop()
            shutil.rmtree(root, ignore_errors=True)
    for name in names:
        cell = results[(wid, name)]
        shown = {k: round(statistics.median(v), 1) for k, v in cell["values"].items()}
        log(f"{wid} {name}: {cell['error'] or shown}, peak RSS {fmt_rss(cell['rss'])}")


def fail(wid, name, error, results):
    results[(wid, name)]["error"] = str(error).splitlines()[0][:160]
    log(f"{wid} {name}: FAILED: {error}")


def fmt_num(x):
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def fmt_rss(kib):
    return "–" if kib is None else f"{kib / 1024:.1f}"


def fmt_cell(values):
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt_num(med)
    return f"{fmt_num(med)} ({fmt_num(min(values))}–{fmt_num(max(values))})"


def median_of(results, wid, name, key):
    cell = results.get((wid, name))
    if not cell or cell["error"] or key not in cell["values"]:
        return None
    return statistics.median(cell["values"][key])


def target_for(wid, key, results, opts):
    """(threshold text, pass?) of the issue's target for this row, or
    None when it has none or the peers are missing."""
    ours = median_of(results, wid, OURS, key)
    med = lambda name: median_of(results, wid, name, key)  # noqa: E731
    if ours is None:
        return None
    best = lambda names, hi: (max if hi else min)([v for v in map(med, names) if v is not None], default=None)  # noqa: E731
    if wid == "W1":
        b = best(PEERS, True)
        return None if b is None else (f"≥ best peer {fmt_num(b)}", ours >= b)
    if wid == "W2" and key == "req/s":
        b = best(["dufs", "dufs+nodelay"], True)
        return None if b is None else (f"≥ dufs {fmt_num(b)}", ours >= b)
    if wid == "W3":
        b = best(["dufs", "dufs+nodelay"], True)
        return None if b is None else (f"≥ 2 × dufs = {fmt_num(2 * b)}", ours >= 2 * b)
    if wid == "W4r":
        b = best(PEERS, True)
        return None if b is None else (f"≥ best peer {fmt_num(b)}", ours >= b)
    if wid == "W4m":
        b = med("miniserve")
        return None if b is None else (f"≥ miniserve {fmt_num(b)}", ours >= b)
    if wid == "W5":
        b = med("dufs")
        return None if b is None else (f"≤ dufs {fmt_num(b)}", ours <= b)
    if wid == "W6":
        b = opts.reference_s
        return None if b is None else (f"≤ 2 × {opts.reference_tool} = {fmt_num(2 * b)}", ours <= 2 * b)
    return None


def table(results, opts):
    columns = [OURS] + [p for p in PEERS if p in opts.servers]
    lines = [
        "| Workload | unit | " + " | ".join(columns) + " | ours / best peer | target | result |",
        "|---" * (len(columns) + 5) + "|",
    ]
    for wid, title, _, servers, metrics in WORKLOADS:
        if wid not in opts.workloads:
            continue
        label = f"{wid[:2]} " + title.format(
            big=human_size(opts.sizes.big), load=opts.sizes.load_s, listing=opts.sizes.listing,
            zip_small=opts.sizes.zip_small, zip_big=opts.sizes.zip_big,
            zip_big_size=human_size(opts.sizes.zip_big_size),
        )
        for key, unit, higher in metrics:
            cells = []
            for name in columns:
                cell = results.get((wid, name))
                if name not in servers or cell is None:
                    cells.append("N/A")
                elif cell["error"]:
                    cells.append("error")
                else:
                    cells.append(fmt_cell(cell["values"].get(key, [])))
            ours = median_of(results, wid, OURS, key)
            peers = [median_of(results, wid, p, key) for p in PEERS if p in servers]
            peers = [p for p in peers if p is not None]
            best = (max if higher else min)(peers) if peers else None
            ratio = f"{ours / best:.2f}" if ours is not None and best else "–"
            target = target_for(wid, key, results, opts)
            if target is None:
                verdict, threshold = ("–", "–") if ours is not None else ("error", "–")
            else:
                threshold, ok = target
                verdict = "pass" if ok else "**FAIL**"
            arrow = "↑" if higher else "↓"
            lines.append(f"| {label} | {unit} {arrow} | " + " | ".join(cells) + f" | {ratio} | {threshold} | {verdict} |")
    notes = []
    for (wid, name), cell in results.items():
        counts = {k: v for k, v in cell["counts"].items() if k != "answers" and v}
        if counts:
            told = ", ".join(f"{k} {v}" for k, v in counts.items())
            notes.append(f"{wid} {name}: {told} (of {cell['counts'].get('answers', 0)} answers)")
    errors = [f"{wid} {name}: {c['error']}" for (wid, name), c in results.items() if c["error"]]
    if notes:
        lines.append("\nLoad notes (non-2xx answers are left out of req/s):\n" + "\n".join(f"- {n}" for n in notes))
    if errors:
        lines.append("\nErrors:\n" + "\n".join(f"- {e}" for e in errors))
    if OPENSSL in opts.servers and opts.reference_s is not None:
        lines.append(f"\nW6 reference: `{opts.reference_tool}` on the same file: {fmt_num(opts.reference_s)} s.")
    return "\n".join(lines)


def rss_table(results, opts):
    columns = [OURS] + [p for p in PEERS if p in opts.servers]
    lines = [
        "| Peak RSS (MiB) | " + " | ".join(columns) + " | ours < 64 MiB |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for wid, title, _, servers, _ in WORKLOADS:
        if wid not in opts.workloads:
            continue
        cells = []
        for name in columns:
            cell = results.get((wid, name))
            cells.append("N/A" if name not in servers or cell is None else fmt_rss(cell["rss"]))
        ours = results.get((wid, OURS))
        rss = ours and ours["rss"]
        verdict = "–" if not rss else ("pass" if rss < 64 * 1024 else "**FAIL**")
        lines.append(f"| {wid} | " + " | ".join(cells) + f" | {verdict} |")
    if opts.cold_start_rss:
        lines.append(
            f"\nOur first start of the run (compiling the component unless wasmtime's cache "
            f"already had it) peaked at {fmt_rss(opts.cold_start_rss)} MiB; it is not counted above."
        )
    return "\n".join(lines)


def command_output(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "not found"


def machine(opts):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    rev = command_output(["git", "-C", opts.repo, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", opts.repo, "status", "--porcelain"], capture_output=True, text=True).stdout
    items = [
        ("finished", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, {mem} RAM"),
        ("kernel", platform.release()),
        ("load average (1/5/15 min) at start / end", f"{opts.loadavg} / {' '.join(open('/proc/loadavg').read().split()[:3])}"),
        ("httpuploader", f"{rev}{' + uncommitted changes' if dirty.strip() else ''}"),
    ]
    peers = [
        ("dufs", opts.dufs, [opts.dufs, "--version"]),
        ("miniserve", opts.miniserve, [opts.miniserve, "--version"]),
        ("httpuploader.py", opts.venv_python,
         [opts.venv_python, "-c", "import httpuploader as h; print('httpuploader.py', h.MODULE_VERSION)"]),
    ]
    items += [(name, command_output(argv)) for name, path, argv in peers if path and name in opts.servers]
    items += [
        ("python", platform.python_version()),
        ("wrk", command_output(["wrk", "-v"]).split(" [")[0] if shutil.which("wrk") else "missing (python load)"),
        ("curl", command_output(["curl", "--version"]).split(" (")[0]),
        (opts.reference_tool or "sha256", command_output(["openssl", "version"]) if opts.reference_tool == "openssl" else ""),
    ]
    return "\n".join(f"- {k}: {v}" for k, v in items)


def report(results, opts, elapsed):
    mode = "quick (our server only, small files)" if opts.quick else "full"
    return f"""# Benchmark: httpuploader and its peers

Written by `just bench` (`tests/bench/bench.sh`), mode: {mode}; took {elapsed:.0f} s.
Each cell: median (min–max) of {opts.sizes.runs} run(s); MB = 10^6 bytes. ↑ higher is better, ↓ lower.
All servers on 127.0.0.1, each workload against a fresh process of every
server, the runs interleaved across servers (so noise from elsewhere on the
machine spreads over all of them), the load generator on the same
{os.cpu_count()} CPUs. Data from the page cache; uploads go to the page cache
too (ours also fsyncs before its atomic rename; the peers do not).
`dufs+nodelay` is dufs with TCP_NODELAY set on accepted sockets (an LD_PRELOAD
shim, `tests/bench/nodelay.c`; dufs has no option for it); our host sets it itself.

{machine(opts)}

{table(results, opts)}

{rss_table(results, opts)}
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="our server only, small files, 1 s loads, 1 run")
    p.add_argument("--runs", type=int, help="runs per workload (default 3, quick 1)")
    p.add_argument("--bin", required=True, help="the httpuploader binary")
    p.add_argument("--work", required=True, help="scratch folder (removed by bench.sh)")
    p.add_argument("--repo", required=True)
    p.add_argument("--out", help="write the Markdown report here")
    p.add_argument("--dufs")
    p.add_argument("--miniserve")
    p.add_argument("--venv-python")
    p.add_argument("--nodelay-shim")
    p.add_argument("--only", help="comma-separated workloads to run (W1,W2,W3,W4r,W4m,W5,W6)")
    p.add_argument("--servers", help="comma-separated servers (ours,dufs,dufs+nodelay,miniserve,http.server,httpuploader.py,openssl)")
    return p.parse_args()


def main():
    opts = parse_args()
    started = time.monotonic()
    for attr in ("bin", "work", "repo", "out", "dufs", "miniserve", "venv_python", "nodelay_shim"):
        if getattr(opts, attr):
            setattr(opts, attr, os.path.abspath(getattr(opts, attr)))
    opts.sizes = QUICK if opts.quick else FULL
    if opts.runs:
        opts.sizes.runs = opts.runs
    every = [OURS] + PEERS + [OPENSSL]
    opts.servers = opts.servers.split(",") if opts.servers else ([OURS, OPENSSL] if opts.quick else every)
    if set(opts.servers) - set(every):
        sys.exit(f"bench: unknown servers {set(opts.servers) - set(every)}")
    all_ids = [w[0] for w in WORKLOADS]
    opts.workloads = opts.only.split(",") if opts.only else all_ids
    if set(opts.workloads) - set(all_ids):
        sys.exit(f"bench: unknown workloads {set(opts.workloads) - set(all_ids)}")
    missing = [p for p, path in [("dufs", opts.dufs), ("miniserve", opts.miniserve),
                                 ("httpuploader.py", opts.venv_python), ("dufs+nodelay", opts.nodelay_shim)]
               if p in opts.servers and not path]
    if missing:
        sys.exit(f"bench: no path given for {missing}")
    opts.loadavg = " ".join(open("/proc/loadavg").read().split()[:3])

    Running.pidfile = os.path.join(opts.work, "pids")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    opts.perms = os.path.join(opts.work, "perms.ini")
    with open(opts.perms, "w") as f:
        f.write(PERMS_INI)
    opts.data = os.path.join(opts.work, "data")
    log(f"making data ({human_size(opts.sizes.big)} file, {opts.sizes.listing} + {opts.sizes.zip_small} small files)")
    make_data(opts.data, opts.sizes)

    opts.reference_s, opts.big_sha256, opts.reference_tool = None, None, None
    times = []
    for _ in range(max(1, opts.sizes.runs)):
        secs, digest, tool = reference_sha256(os.path.join(opts.data, "big.bin"), opts)
        times.append(secs)
    opts.reference_s, opts.big_sha256, opts.reference_tool = statistics.median(times), digest, tool
    log(f"{tool} sha256: {opts.reference_s:.2f} s")

    # A first start compiles the component (wasmtime caches the result), so
    # that no workload's peak RSS includes the compiler; its own peak is
    # reported apart.
    opts.cold_start_rss = None
    if OURS in opts.servers:
        root = server_tree(opts.work, opts.data, "warm-up")
        try:
            warm = start_server(OURS, opts, root, "warm-up")
            opts.cold_start_rss = warm.peak_rss_kib()
            warm.stop()
        except Failure as e:
            log(f"warm-up start of our server failed: {e}")
        shutil.rmtree(root, ignore_errors=True)

    results = {}
    try:
        for wid, _, fn, servers, _ in WORKLOADS:
            if wid in opts.workloads:
                run_workload(wid, fn, servers, opts, results)
    finally:
        Running.stop_all()

    text = report(results, opts, time.monotonic() - started)
    print(text)
    if opts.out:
        os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
        with open(opts.out, "w") as f:
            f.write(text)
        log(f"wrote {opts.out}")
    ours_failed = [wid for (wid, name), cell in results.items() if name == OURS and cell["error"]]
    if ours_failed:
        log(f"our server failed: {', '.join(ours_failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
