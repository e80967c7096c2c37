#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The command line (shared/spec/config.md "Command line"): --check-config,
--version, --help, commands not implemented yet, usage errors, and the
storage.dir lock that keeps a second daemon out."""

import os
import re
import shutil
import socket
import tempfile

from nightjar_harness import Daemon, check, check_eq, run, run_cli, to_yaml, wait_until


def tmpdir():
    return tempfile.mkdtemp(prefix="nightjar-cli-")


def test_check_config():
    d = tmpdir()
    try:
        good = os.path.join(d, "good.yaml")
        with open(good, "w") as f:
            f.write(to_yaml({"http.listen": "127.0.0.1:1", "log.level": "debug",
                             "storage.dir": os.path.join(d, "data")}))
        code, out, err = run_cli(["--check-config", "--config", good])
        check_eq(code, 0, "valid config exit status (stderr %r)" % err)
        check("config OK" in out + err, "valid config prints 'config OK': %r" % (out + err))
        check(not os.path.exists(os.path.join(d, "data")), "--check-config creates no data dir")

        bad = os.path.join(d, "bad.yaml")
        with open(bad, "w") as f:
            f.write("http:\n  listen: \"127.0.0.1:1\"\n  lisen: \"x\"\n")
        code, out, err = run_cli(["--check-config", "--config=" + bad])
        check(code != 0, "misspelt key must fail --check-config")
        check("lisen" in err, "error names the misspelt key: %r" % err)
        check(re.search(re.escape(bad) + r":3:\d+:", err),
              "error has file:line:col (line 3): %r" % err)
        check("config OK" not in out + err, "no 'config OK' on error")

        code, out, err = run_cli(["--check-config", "--config", os.path.join(d, "missing.yaml")])
        check(code != 0, "explicit missing config file must fail")
        check("missing.yaml" in err, "error names the missing file: %r" % err)

        # No --config and no conf/nightjar.yaml in the working directory:
        # the defaults are a valid configuration.
        code, out, err = run_cli(["--check-config"], cwd=d)
        check_eq(code, 0, "defaults without a config file (stderr %r)" % err)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_version_and_help():
    code, out, err = run_cli(["--version"])
    check_eq(code, 0, "--version exit status")
    check(re.search(r"^nightjar \d+\.\d+\.\d+", out, re.M), "--version output %r" % out)
    check("1.8.10" in out, "--version names the InfluxDB version reported: %r" % out)

    code, out, err = run_cli(["--help"])
    check_eq(code, 0, "--help exit status")
    for word in ("--config", "--check-config", "--version", "--help", "--repair",
                 "--debug.fake-clock", "--debug.test-endpoints", "check-alerting", "dump",
                 "backup", "restore"):
        check(word in out, "--help documents %s" % word)
    check("not yet implemented" in out, "--help marks unimplemented commands")


def test_not_implemented_and_usage_errors():
    for args in (["backup", "--to", "/x"],
                 ["restore", "--from", "/x", "--data", "/y"], ["check-alerting", "a.yaml"]):
        code, out, err = run_cli(args)
        check_eq(code, 2, "%s exit status" % args)
        check("not yet implemented" in err, "%s says it is not implemented: %r" % (args, err))

    # dump is implemented: a data dir that does not exist is a runtime error.
    code, out, err = run_cli(["dump", "--data", "/nonexistent"])
    check_eq(code, 1, "dump --data /nonexistent exit status (stderr %r)" % err)
    check("/nonexistent" in err and "not a data directory" in err,
          "dump names the missing data dir: %r" % err)

    for args in (["--no-such-flag"], ["--config"], ["frobnicate"], ["--version", "extra"],
                 ["dump"], ["dump", "--data"], ["dump", "--data", "/x", "--start", "yesterday"],
                 ["--debug.fault=nothing:1"], ["--debug.fault=fsync:0"]):
        code, out, err = run_cli(args)
        check_eq(code, 2, "usage error %s exit status (stderr %r)" % (args, err))
        check("usage" in err or "--help" in err, "usage error %s points to --help: %r" %
              (args, err))


def test_bad_config_refuses_to_start():
    d = tmpdir()
    try:
        bad = os.path.join(d, "bad.yaml")
        with open(bad, "w") as f:
            f.write("shutdown_grace: forever\n")
        code, out, err = run_cli(["--config", bad])
        check_eq(code, 1, "daemon with a bad config exit status")
        check("shutdown_grace" in err and "bad.yaml:1:" in err,
              "start error names the key and position: %r" % err)

        # TLS is configurable but not implemented: refuse rather than serve
        # plain HTTP where the operator asked for TLS.
        for name in ("c.pem", "k.pem"):
            open(os.path.join(d, name), "w").close()
        tls = os.path.join(d, "tls.yaml")
        with open(tls, "w") as f:
            f.write(to_yaml({"http.listen": "127.0.0.1:1", "storage.dir": "data",
                             "http.tls": {"cert_file": "c.pem", "key_file": "k.pem"}}))
        code, out, err = run_cli(["--config", tls])
        check_eq(code, 1, "daemon with http.tls exit status")
        check("http.tls" in err and "not implemented" in err, "TLS refusal message: %r" % err)
        check(not os.path.exists(os.path.join(d, "data")), "refused before creating storage.dir")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_storage_dir_lock():
    work = tmpdir()
    try:
        storage_dir_lock(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def storage_dir_lock(work):
    with Daemon(name="first", workdir=work) as a:
        b = Daemon({"storage.dir": a.data_dir}, name="second", check_exit=False)
        b.spawn()
        code = b.wait_exit(15)
        check(code is not None, "second daemon on the same storage.dir is still running")
        check_eq(code, 1, "second daemon exit status")
        log = b.log_text()
        check(re.search(r"locked by another nightjar process \(pid %d" % a.pid, log),
              "lock error names the holder's pid %d: %s" % (a.pid, log[-800:]))
        check_eq(a.http("GET", "/ping").status, 204, "first daemon still serves")
        check(os.path.exists(os.path.join(a.data_dir, "LOCK")), "LOCK file exists")
    # Once the first has exited, the dir is free again.
    check(os.path.isdir(a.data_dir), "data dir kept")
    c = Daemon({"storage.dir": a.data_dir}, name="third")
    with c:
        check_eq(c.http("GET", "/ping").status, 204, "a new daemon takes over the dir")


def test_port_in_use_fails_cleanly():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        d = Daemon({"http.listen": "127.0.0.1:%d" % port}, check_exit=False)
        d.spawn()
        code = d.wait_exit(15)
        check(code is not None, "daemon still running with its port taken")
        # 1, not a sanitizer abort: the failed start frees what it made.
        check_eq(code, 1, "exit status when the port is taken")
        log = d.log_text()
        check("127.0.0.1:%d" % port in log and 'msg="cannot start"' in log,
              "error names the address: %s" % log[-600:])
        check("ERROR: " not in log and "LeakSanitizer" not in log, "sanitizer report:\n" + log)


def test_kill9_releases_lock_and_restart():
    with Daemon() as d:
        first_pid = d.pid
        d.kill9()
        mark = d.log_mark()
        d.start()
        d.wait_log(r'msg="storage dir locked"', since=mark)
        check_eq(len(d.log_lines(r'msg="ready"')), 2, "ready lines over both runs")
        check_eq(len(d.log_lines(r'msg="ready"', since=mark)), 1, "ready lines since the mark")
        check(d.pid != first_pid, "restarted")
        check_eq(d.http("GET", "/ping").status, 204, "restart after kill -9 on the same dir")
        d.restart()
        wait_until(lambda: d.http("GET", "/ping").status == 204, 5, "ping after restart()")


if __name__ == "__main__":
    run(globals())
