# SPDX-License-Identifier: MIT
"""Integration-test harness for the nightjar daemon (Python 3 stdlib only).

Each tests/integration/test_*.py is one ctest test.  It imports this module,
defines functions named test_*, and ends with `run(globals())`.

What the harness provides:
  * BIN, the daemon binary, from $NIGHTJAR_BIN;  MULT, the timeout multiplier
    from $TEST_TIMEOUT_MULT (3 under sanitizers): every deadline here is
    multiplied by it.
  * free_port(), to_yaml(dict) (a config dict -> YAML text; dotted keys such
    as "http.listen" expand into nested maps).
  * Influxd: the same for a real InfluxDB 1.x peer (differential tests).
  * Daemon.metrics() -> Metrics, a parsed /metrics exposition;
    Daemon.write() / .query() for the InfluxDB API (Daemon and Influxd).
  * WebhookSink (a recording HTTP receiver), send_udp().
  * Daemon: a context manager that writes the config into a temp dir (with
    storage.dir there), starts the binary with stdout+stderr in a log file,
    polls GET /ping until 204 and on exit stops it by pid (SIGTERM, then
    SIGKILL at a deadline) even when the test failed.  Also kill9(),
    restart(), signal(), log_text(), wait_log(), http(), conn(), rss().
  * Conn: a raw HTTP/1.1 client socket (send bytes, read one full response
    framed by Content-Length, chunked encoding or close), for framing tests.
  * wait_until(): polling with a deadline (never a fixed sleep).
  * run(globals()): runs every test_* in file order, prints PASS/FAIL with the
    traceback and the log tail of every daemon the failing test started, and
    exits 1 if anything failed.  Arguments on the command line select tests
    by substring.

A daemon that exits with a non-zero status when stopped (a sanitizer report,
a crash during shutdown) fails the test, unless the test says it expects
that (Daemon(..., check_exit=False) or after kill9()).
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

BIN = os.environ.get("NIGHTJAR_BIN", "")
MULT = float(os.environ.get("TEST_TIMEOUT_MULT", "1") or "1")
HOST = "127.0.0.1"

# Daemons started by the current test (for log tails on failure) and all
# still-running ones (killed at exit whatever happens).
_current = []
_alive = set()


class TestFailure(AssertionError):
    pass


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    """Fails with msg (a string or a callable returning one) unless cond."""
    if not cond:
        fail(msg() if callable(msg) else msg)


def check_eq(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def deadline(seconds):
    """A monotonic deadline seconds * MULT from now."""
    return time.monotonic() + seconds * MULT


def wait_until(fn, timeout, what, interval=0.02):
    """Calls fn until it returns a truthy value, which is returned; fails
    naming `what` after timeout * MULT seconds."""
    end = deadline(timeout)
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= end:
            fail("timed out after %.1fs waiting for %s" % (timeout * MULT, what))
        time.sleep(interval)


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def require_bin():
    if not BIN or not os.access(BIN, os.X_OK):
        fail("NIGHTJAR_BIN is not set to an executable daemon binary (got %r)" % BIN)
    return BIN


# ---------------------------------------------------------------- YAML

def _expand_dotted(d):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            v = _expand_dotted(v)
        parts = k.split(".") if isinstance(k, str) and not k.startswith("=") else [k]
        cur = out
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        last = parts[-1]
        if isinstance(v, dict) and isinstance(cur.get(last), dict):
            cur[last] = deep_merge(cur[last], v)
        else:
            cur[last] = v
    return out


def deep_merge(a, b):
    """a updated by b, recursively for nested dicts (new dict)."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, Raw):
        return v.text
    # JSON string syntax is valid YAML double-quoted syntax.
    return json.dumps(str(v))


class Raw:
    """A YAML scalar written verbatim (to test what the loader does with
    unquoted text)."""

    def __init__(self, text):
        self.text = text


def to_yaml(d, indent=0):
    """Config dict -> YAML text.  Dotted keys expand ({"http.listen": x} is
    http: {listen: x}); values are dicts, lists, str, int, float, bool,
    None or Raw."""
    if indent == 0:
        d = _expand_dotted(d)
    pad = "  " * indent
    lines = []
    for k, v in d.items():
        if isinstance(v, dict):
            if not v:
                lines.append("%s%s: {}" % (pad, k))
            else:
                lines.append("%s%s:" % (pad, k))
                lines.append(to_yaml(v, indent + 1))
        elif isinstance(v, (list, tuple)):
            if not v:
                lines.append("%s%s: []" % (pad, k))
            else:
                lines.append("%s%s:" % (pad, k))
                for item in v:
                    if isinstance(item, dict):
                        body = to_yaml(item, indent + 2).lstrip()
                        lines.append("%s  - %s" % (pad, body))
                    else:
                        lines.append("%s  - %s" % (pad, _scalar(item)))
        else:
            lines.append("%s%s: %s" % (pad, k, _scalar(v)))
    return "\n".join(lines) + ("\n" if indent == 0 else "")


# ---------------------------------------------------------------- HTTP

class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers      # list of (name, value) in order
        self.body = body            # bytes, de-chunked
        self.version = version      # "HTTP/1.1"

    def header(self, name, default=None):
        """First value of a header (case-insensitive name), or default."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has_header(self, name):
        return self.header(name) is not None

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as e:
            fail("response body is not JSON (%s): %r" % (e, self.body[:300]))

    def __iter__(self):
        """status, headers (dict, lower-case names, last value wins), body:
        `status, headers, body = d.http("GET", "/ping")`."""
        return iter((self.status, {k.lower(): v for k, v in self.headers}, self.body))

    def __repr__(self):
        return "<Response %d %s headers=%r body=%r>" % (
            self.status, self.reason, self.headers, self.body[:200])


class ConnectionClosed(Exception):
    pass


class Conn:
    """One client connection with its own read buffer, so pipelined
    responses can be read one after another."""

    def __init__(self, port, host=HOST, timeout=10.0):
        self.timeout = timeout * MULT
        self.sock = socket.create_connection((host, port), timeout=self.timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def settimeout(self, seconds):
        self.sock.settimeout(seconds)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed("connection closed by the server")
        self.buf += chunk

    def _read_line(self, limit=1 << 20):
        while b"\r\n" not in self.buf:
            if len(self.buf) > limit:
                fail("response line/header longer than %d bytes" % limit)
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def is_closed(self, timeout=0.0):
        """True when the server has closed the connection (EOF or reset)
        within timeout seconds (not multiplied); data arriving instead is
        kept in the buffer and gives False."""
        self.sock.settimeout(timeout if timeout > 0 else 0.0001)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except BlockingIOError:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        finally:
            self.sock.settimeout(self.timeout)
        if not chunk:
            return True
        self.buf += chunk
        return False

    def read_response(self, method="GET"):
        """Reads one complete response.  method matters for HEAD (no
        body).  Raises ConnectionClosed when the server closed before a
        status line arrived."""
        line = self._read_line()
        m = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", line)
        if not m:
            fail("bad status line %r" % line)
        version, status = m.group(1).decode(), int(m.group(2))
        reason = (m.group(3) or b"").decode("latin-1")
        headers = []
        while True:
            h = self._read_line()
            if h == b"":
                break
            if b":" not in h:
                fail("bad header line %r" % h)
            k, v = h.split(b":", 1)
            headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
        resp = Response(status, reason, headers, b"", version)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if "chunked" in te:
            body = b""
            while True:
                size_line = self._read_line()
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while self._read_line() != b"":
                        pass
                    break
                body += self._read_exact(size)
                check_eq(self._read_exact(2), b"\r\n", "chunk terminator")
            resp.body = body
        elif cl is not None:
            resp.body = self._read_exact(int(cl))
        else:
            # Body until close.
            try:
                while True:
                    self._fill()
            except ConnectionClosed:
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def request(self, method, path, body=None, headers=None):
        """Sends one request and reads its response."""
        self.send(build_request(method, path, body, headers))
        return self.read_response(method)


def build_request(method, path, body=None, headers=None, host="127.0.0.1"):
    """Request bytes.  headers: dict or list of pairs; Host and
    Content-Length are added unless given.  body: bytes or str."""
    if isinstance(body, str):
        body = body.encode()
    hs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in hs}
    if "host" not in names:
        hs.insert(0, ("Host", host))
    if body is not None and "content-length" not in names and \
            "transfer-encoding" not in names:
        hs.append(("Content-Length", str(len(body))))
    out = ("%s %s HTTP/1.1\r\n" % (method, path)).encode()
    for k, v in hs:
        out += ("%s: %s\r\n" % (k, v)).encode("latin-1")
    out += b"\r\n"
    if body is not None:
        out += body
    return out


def send_in_background(conn, data):
    """Sends data on conn from a thread (for requests the server may answer
    before it has read them all).  Returns the thread; join() it; its
    .error is the exception that ended the send, if any."""
    def run():
        try:
            conn.sock.sendall(data)
        except OSError as e:
            t.error = e
    t = threading.Thread(target=run, daemon=True)
    t.error = None
    t.start()
    return t


# ---------------------------------------------------------------- daemon

try:
    import ctypes
    _libc = ctypes.CDLL(None, use_errno=True)
except (ImportError, OSError):
    _libc = None


def _die_with_parent():
    """In the child before exec: ask Linux to SIGKILL it when the test
    process dies, so a test killed by ctest's timeout leaves no daemon
    holding ports and data dirs."""
    if _libc is not None:
        PR_SET_PDEATHSIG = 1
        _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


class Daemon:
    """One nightjar process.

        with Daemon({"log.level": "debug"}, args=["--debug.test-endpoints"]) as d:
            r = d.http("GET", "/ping")

    config: dict merged over the defaults (http.listen on a free port,
    storage.dir in the temp dir).  args: extra command-line flags.
    check_exit: fail on a non-zero exit status when stopped.
    """

    def __init__(self, config=None, args=(), name="nightjar", check_exit=True,
                 start_timeout=15.0, workdir=None, env=None):
        self.port = free_port()
        self.env = env  # extra environment variables for the process
        self.name = name
        self.args = list(args)
        self.check_exit = check_exit
        self.start_timeout = start_timeout
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="nightjar-%s-" % name)
        self.config_path = os.path.join(self.workdir, self.CONFIG_NAME)
        self.log_path = os.path.join(self.workdir, "daemon.log")
        self.data_dir = os.path.join(self.workdir, "data")
        self.config = deep_merge(self.base_config(), _expand_dotted(config or {}))
        self.proc = None
        self.exit_codes = []
        self._log_fh = None
        _current.append(self)

    CONFIG_NAME = "nightjar.yaml"

    # -- what a subclass for another server overrides

    def base_config(self):
        return {"http": {"listen": "%s:%d" % (HOST, self.port)},
                "storage": {"dir": self.data_dir}}

    def render_config(self):
        return to_yaml(self.config)

    def command(self):
        return [require_bin(), "--config", self.config_path] + self.args

    # -- life cycle

    def write_config(self, config=None, text=None):
        """Writes the config file: text verbatim, or the given dict (merged
        over the defaults), or the current self.config."""
        if text is None:
            if config is not None:
                self.config = deep_merge(self.base_config(), _expand_dotted(config))
            text = self.render_config()
        with open(self.config_path, "w") as f:
            f.write(text)

    def spawn(self):
        """Starts the process without waiting for it to be ready."""
        if self.proc is not None and self.proc.poll() is None:
            fail("%s is already running (pid %d)" % (self.name, self.proc.pid))
        if not os.path.exists(self.config_path):
            self.write_config()
        self._log_fh = open(self.log_path, "ab")
        self._log_fh.write(("=== start %s\n" % " ".join(self.command())).encode())
        self._log_fh.flush()
        env = None
        if self.env:
            env = dict(os.environ)
            env.update(self.env)
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_fh, stderr=subprocess.STDOUT,
                                     cwd=self.workdir, env=env, preexec_fn=_die_with_parent)
        _alive.add(self)
        return self.proc

    def _repick_port(self):
        """After a lost free_port() race: moves the harness-chosen listen
        address to a new free port and rewrites the config."""
        old = "%s:%d" % (HOST, self.port)
        self.port = free_port()
        new = "%s:%d" % (HOST, self.port)
        if self.render_config().count(old) != 1:
            return False  # the test chose the address; leave it alone

        def swap(v):
            if isinstance(v, dict):
                return {k: swap(x) for k, x in v.items()}
            if isinstance(v, list):
                return [swap(x) for x in v]
            return new if v == old else v
        self.config = swap(self.config)
        self.write_config()
        return True

    def start(self, attempts=3):
        """Starts the daemon and waits until GET /ping answers 204.  When
        another process grabbed the free port first, retries on another
        one (up to attempts times)."""
        self.spawn()
        end = deadline(self.start_timeout)
        last = None
        while True:
            code = self.proc.poll()
            if code is not None:
                self._reap(code)
                if attempts > 1 and "address already in use" in self.log_tail(5) and \
                        self._repick_port():
                    return self.start(attempts - 1)
                fail("%s exited with status %d during startup" % (self.name, code))
            try:
                r = self.http("GET", "/ping", timeout=2.0)
                if r.status == 204:
                    return self
                last = "status %d" % r.status
            except (OSError, ConnectionClosed) as e:
                last = repr(e)
            if time.monotonic() >= end:
                fail("%s not ready after %.1fs (last /ping: %s)" %
                     (self.name, self.start_timeout * MULT, last))
            time.sleep(0.02)

    def _reap(self, code):
        self.exit_codes.append(code)
        _alive.discard(self)
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        check(self.running(), "%s is not running" % self.name)
        os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout):
        """Waits up to timeout * MULT seconds; returns the exit status or
        None when still running."""
        try:
            code = self.proc.wait(timeout=timeout * MULT)
        except subprocess.TimeoutExpired:
            return None
        self._reap(code)
        return code

    def stop(self, timeout=20.0):
        """SIGTERM, wait, then SIGKILL.  Returns the exit status (negative
        signal number if killed).  Fails on a non-zero status when
        check_exit is set."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            code = self.proc.returncode
            if self in _alive:
                self._reap(code)
            return code
        os.kill(self.proc.pid, signal.SIGTERM)
        code = self.wait_exit(timeout)
        if code is None:
            self.kill9()
            fail("%s did not exit within %.1fs of SIGTERM; killed" %
                 (self.name, timeout * MULT))
        if self.check_exit and code != 0:
            fail("%s exited with status %d after SIGTERM (sanitizer report or "
                 "crash? see its log)" % (self.name, code))
        return code

    def kill9(self):
        """SIGKILL and reap (crash simulation)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait(timeout=30)
            self._reap(code)
        return self.proc.returncode if self.proc else None

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self, failed=False):
        if self.running():
            self.kill9()
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None
        if self.own_workdir and not failed:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.running():
                if exc_type is None:
                    self.stop()
                else:
                    self.kill9()
        finally:
            # A failing test keeps the directory for inspection.
            self.cleanup(failed=exc_type is not None)
        return False

    # -- logs

    def log_text(self, since=0):
        """The log of every run of this daemon (restarts append, after a
        "=== start" line), from byte offset since (see log_mark)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_mark(self):
        """The current end of the log, for log_lines/wait_log(since=)."""
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    def log_lines(self, pattern, since=0):
        rx = re.compile(pattern)
        return [l for l in self.log_text(since).splitlines() if rx.search(l)]

    def wait_log(self, pattern, timeout=10.0, count=1, since=0):
        """Waits until at least count log lines (after byte offset since)
        match the regex; returns them."""
        def found():
            ls = self.log_lines(pattern, since)
            if len(ls) >= count:
                return ls
            if not self.running():
                fail("%s exited while waiting for log /%s/" % (self.name, pattern))
            return None
        return wait_until(found, timeout, "log line /%s/ from %s" % (pattern, self.name))

    # -- HTTP

    def conn(self, timeout=10.0):
        return Conn(self.port, timeout=timeout)

    def http(self, method, path, body=None, headers=None, timeout=10.0, params=None):
        """One request on a fresh connection.  Returns a Response (also
        unpackable as status, headers, body via .tuple())."""
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params)
        with Conn(self.port, timeout=timeout) as c:
            return c.request(method, path, body, headers)

    # -- InfluxDB API shortcuts (work on Daemon and Influxd alike)

    def write(self, lines, db="db", precision=None, rp=None, headers=None, gzip=False):
        """POST /write with line protocol (str, bytes or a list of lines).
        Returns the Response; 204 is success."""
        if isinstance(lines, (list, tuple)):
            lines = "\n".join(lines)
        body = lines.encode() if isinstance(lines, str) else lines
        params = {"db": db}
        if precision:
            params["precision"] = precision
        if rp:
            params["rp"] = rp
        hs = dict(headers or {})
        if gzip:
            import zlib
            c = zlib.compressobj(6, zlib.DEFLATED, 31)
            body = c.compress(body) + c.flush()
            hs["Content-Encoding"] = "gzip"
        return self.http("POST", "/write", body, hs, params=params)

    def query(self, q, db=None, method="POST", epoch=None, check_ok=True, **params):
        """/query with q; returns the decoded JSON.  POST sends a form body
        (as Grafana does), GET puts q in the URL.  check_ok fails unless the
        status is 200."""
        p = {"q": q}
        if db:
            p["db"] = db
        if epoch:
            p["epoch"] = epoch
        p.update(params)
        enc = urllib.parse.urlencode(p)
        if method == "GET":
            r = self.http("GET", "/query?" + enc)
        else:
            r = self.http("POST", "/query", enc,
                          {"Content-Type": "application/x-www-form-urlencoded"})
        if check_ok:
            check_eq(r.status, 200, "%s /query %r (body %r)" % (method, q, r.body[:300]))
        return r.json()

    def metrics(self):
        """GET /metrics, parsed (fails unless 200)."""
        r = self.http("GET", "/metrics")
        check_eq(r.status, 200, "GET /metrics status")
        return Metrics(r.body.decode("utf-8"))

    # -- process

    def rss(self, field="VmRSS"):
        """Resident memory in bytes (VmRSS, or VmHWM for the peak)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        fail("no %s in /proc/%d/status" % (field, self.proc.pid))


# ---------------------------------------------------------------- metrics

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """A parsed Prometheus text exposition: samples[(name, labels)] = value
    with labels a frozenset of (name, value) pairs; types[family] = type."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                parts = line.split(" ")
                check(len(parts) == 4, "bad TYPE line %r" % line)
                self.types[parts[2]] = parts[3]
                continue
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                fail("unparsable metrics line %r" % line)
            labels = frozenset(_LABEL.findall(m.group(2) or ""))
            self.samples[(m.group(1), labels)] = float(m.group(3))

    def get(self, name, default=None, **labels):
        """The value of the sample with exactly these labels, or default."""
        return self.samples.get((name, frozenset(labels.items())), default)

    def series(self, name):
        """[(labels dict, value)] of every sample called name."""
        return [(dict(l), v) for (n, l), v in self.samples.items() if n == name]

    def names(self):
        return {n for n, _ in self.samples}


# ---------------------------------------------------------------- influxd

INFLUXD_BIN = os.environ.get("INFLUXD_BIN", "") or shutil.which("influxd") or ""


def _toml_value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))


def to_toml(d):
    """{"section": {"key": value}, "top-level-key": value} -> TOML text (one
    level of tables, scalar values)."""
    lines = ["%s = %s" % (k, _toml_value(v)) for k, v in d.items() if not isinstance(v, dict)]
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append("")
            lines.append("[%s]" % k)
            lines.extend("  %s = %s" % (kk, _toml_value(vv)) for kk, vv in v.items())
    return "\n".join(lines) + "\n"


class Influxd(Daemon):
    """A real InfluxDB 1.x (influxd, $INFLUXD_BIN or on PATH) as a peer for
    differential tests: same life cycle, http() and logs as Daemon, with a
    TOML config whose every listener is on 127.0.0.1 (HTTP on .port, the
    RPC bind address on .rpc_port) and every directory in the temp dir.

        with Influxd({"http": {"auth-enabled": True}}) as ref: ...
    """

    CONFIG_NAME = "influxd.toml"

    def __init__(self, config=None, name="influxd", **kw):
        self.rpc_port = free_port()
        kw.setdefault("check_exit", False)
        kw.setdefault("start_timeout", 30.0)
        Daemon.__init__(self, None, name=name, **kw)
        for k, v in (config or {}).items():
            if isinstance(v, dict):
                self.config.setdefault(k, {}).update(v)
            else:
                self.config[k] = v

    def base_config(self):
        w = self.workdir
        return {
            "reporting-disabled": True,
            "bind-address": "%s:%d" % (HOST, self.rpc_port),
            "meta": {"dir": os.path.join(w, "meta")},
            "data": {"dir": os.path.join(w, "data"), "wal-dir": os.path.join(w, "wal"),
                     "query-log-enabled": False},
            "http": {"bind-address": "%s:%d" % (HOST, self.port), "log-enabled": False},
            "monitor": {"store-enabled": False},
        }

    def render_config(self):
        return to_toml(self.config)

    def command(self):
        if not INFLUXD_BIN:
            fail("influxd not found (set INFLUXD_BIN)")
        return [INFLUXD_BIN, "-config", self.config_path]


# ---------------------------------------------------------------- sinks

class WebhookSink:
    """An HTTP server on 127.0.0.1 (own thread) that records every request,
    for alert notifications and other outgoing calls.

        with WebhookSink() as sink:
            ... configure sink.url ...
            reqs = sink.wait_for(1, timeout=10)   # [Request]

    status: the answer it gives (change .status at any time to simulate a
    failing receiver)."""

    class Request:
        def __init__(self, method, path, headers, body):
            self.method, self.path, self.headers, self.body = method, path, headers, body

        def json(self):
            return json.loads(self.body.decode("utf-8"))

        def __repr__(self):
            return "<Request %s %s %r>" % (self.method, self.path, self.body[:200])

    def __init__(self, status=200):
        import http.server
        self.status = status
        self.requests = []
        self.cond = threading.Condition()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with sink.cond:
                    sink.requests.append(WebhookSink.Request(
                        self.command, self.path, dict(self.headers.items()), body))
                    sink.cond.notify_all()
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_GET = do_DELETE = _any

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://%s:%d" % (HOST, self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, n, timeout=10.0):
        """Waits until at least n requests arrived; returns a copy of the
        list."""
        end = deadline(timeout)
        with self.cond:
            while len(self.requests) < n:
                left = end - time.monotonic()
                if left <= 0:
                    fail("webhook sink got %d requests, wanted %d within %.1fs" %
                         (len(self.requests), n, timeout * MULT))
                self.cond.wait(left)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def send_udp(port, data, host=HOST):
    """One UDP datagram (line protocol listeners)."""
    if isinstance(data, str):
        data = data.encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(data, (host, port))


def run_cli(args, timeout=30.0, cwd=None):
    """Runs the binary with args to completion; returns (status, stdout,
    stderr) as text."""
    p = subprocess.run([require_bin()] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout * MULT, cwd=cwd)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


@atexit.register
def _kill_leftovers():
    for d in list(_alive):
        try:
            d.kill9()
        except Exception:
            pass


# ---------------------------------------------------------------- runner

def run(ns):
    """Runs every test_* function of the calling module in definition order
    and exits with 0 (all passed) or 1."""
    require_bin()
    # SIGTERM (ctest, a user) ends the run through exit, so atexit still
    # kills the daemons.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    selected = sys.argv[1:]
    tests = [(k, v) for k, v in ns.items() if k.startswith("test_") and callable(v)]
    if selected:
        tests = [(k, v) for k, v in tests if any(s in k for s in selected)]
    failed = []
    for name, fn in tests:
        del _current[:]
        t0 = time.monotonic()
        try:
            fn()
        except BaseException as e:  # noqa: B902 - report everything
            if isinstance(e, KeyboardInterrupt):
                raise
            failed.append(name)
            print("FAIL %s (%.2fs)" % (name, time.monotonic() - t0))
            traceback.print_exc(file=sys.stdout)
            for d in _current:
                print("---- log tail of %s (pid %s, dir %s) ----" % (d.name, d.pid, d.workdir))
                print(d.log_tail())
                print("---- end of log ----")
        else:
            print("PASS %s (%.2fs)" % (name, time.monotonic() - t0))
        finally:
            for d in _current:
                d.cleanup(failed=name in failed)
        sys.stdout.flush()
    print("%d passed, %d failed%s" % (len(tests) - len(failed), len(failed),
                                       (": " + ", ".join(failed)) if failed else ""))
    sys.exit(1 if failed else 0)
