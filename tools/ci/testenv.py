"""One Python's test environment for CI: made once, reused while the test extra is the same.

    PYTHON tools/ci/testenv.py VENV SRC [PYTEST ARGS...]

Run by the Python under test (a pyenv one, or one inside the sid root); SRC is
a copy of the checkout.  Three steps, under an exclusive lock on VENV.lock (two
CI runs at once take turns):

1. The environment.  VENV is reused when its stamp (VENV/shanxi-ci.json,
   written last) names this interpreter's version and the same requirements
   of pyproject.toml's test extra.  When only the requirements changed, it is
   updated in place (pip installs what is new or no longer satisfied, and
   keeps the rest).  Otherwise it is made anew: a venv, pip upgraded, the
   test tools (pytest, pytest-xdist, hypothesis: they must install), then
   each other requirement (the optional peers: pandas, pyarrow, polars,
   duckdb, dask...) on its own, from wheels only and within PEER_TIMEOUT
   seconds (a peer with no wheel for this Python, or whose resolver
   backtracks, is recorded as unavailable and its tests skip themselves).
   Installing the peers is most of a fresh environment's time (one to four
   minutes each Python); the cache is what makes the per-Python lanes cheap.
2. shanxi itself, always built afresh from SRC (pip install --no-deps
   --force-reinstall --verbose): with SHANXI_STRICT=1 (the default) the C is
   compiled with -Werror and the build log must show it.
3. python -m pytest -q -p no:cacheprovider PYTEST ARGS, from SRC, under this
   environment (SHANXI_SLOW and the like pass through).  Exit 5 (no test ran)
   is a failure.

The last line printed is the summary the lane scripts collect:
    RESULT <PASS|FAIL> <python version> | <pytest counts or the failure> |
        unavailable here: <peers> | install <s>s, tests <s>s [| failed: <test ids>]
Exit status: 0 if every step passed.  SHANXI_CI_FRESH=1 makes the
environment anew even when the stamp matches.  Standard library only, and
Python 3.9 syntax: it runs on every supported Python.
"""
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import venv

TOOLS = ("pytest", "pytest-xdist", "hypothesis")  # the test extra's requirements that must install


def test_extra(src):
    """The test extra's requirement strings (markers kept: pip applies them)."""
    try:
        import tomllib
    except ImportError:             # 3.9, 3.10: the copy pip carries
        from pip._vendor import tomli as tomllib
    with open(os.path.join(src, "pyproject.toml"), "rb") as f:
        return list(tomllib.load(f)["project"]["optional-dependencies"]["test"])


def name_of(req):
    return re.match(r"[A-Za-z0-9_.-]+", req).group(0).lower().replace("_", "-")


def run(cmd, log, timeout=None, env=None):
    """Run cmd with its output appended to the file log; True when it exits 0."""
    with open(log, "ab") as out:
        try:
            return subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, env=env).returncode == 0
        except subprocess.TimeoutExpired:
            out.write(b"\n(timed out after %d s)\n" % timeout)
            return False


def make_env(path, reqs, key, log, fresh=True):
    """A new environment at path (or, fresh=False, the one there brought up to
    reqs); returns the requirements left out, or raises."""
    py = os.path.join(path, "bin", "python")
    # --no-compile: byte-compiling every module of the peers is most of an
    # install's CPU time; the modules the tests import compile on first use.
    pip = [py, "-m", "pip", "install", "--quiet", "--no-compile"]
    if fresh:
        shutil.rmtree(path, ignore_errors=True)
        venv.create(path, with_pip=True)
        if not run(pip + ["--upgrade", "pip"], log):
            print("   (pip not upgraded: the venv's own is used)")
    tools = [r for r in reqs if name_of(r) in TOOLS] or list(TOOLS)
    if not run(pip + tools, log):
        raise RuntimeError("could not install %s" % " ".join(tools))
    missing = []
    timeout = int(os.environ.get("PEER_TIMEOUT", "180"))
    for req in reqs:
        if name_of(req) not in TOOLS and not run(pip + ["--only-binary=:all:", req], log, timeout):
            missing.append(req)
    stamp = {"key": key, "python": sys.version, "reqs": reqs, "missing": missing,
             "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with open(os.path.join(path, "shanxi-ci.json.tmp"), "w") as f:
        json.dump(stamp, f)
    os.replace(os.path.join(path, "shanxi-ci.json.tmp"), os.path.join(path, "shanxi-ci.json"))
    return missing


def reuse_env(path, key):
    """("reuse", the requirements left out) for a matching environment at path,
    ("update", None) for one of this interpreter made for other requirements,
    or ("make", None)."""
    if os.environ.get("SHANXI_CI_FRESH") == "1":
        return "make", None
    try:
        with open(os.path.join(path, "shanxi-ci.json")) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return "make", None
    if not os.access(os.path.join(path, "bin", "python"), os.X_OK):
        return "make", None
    if stamp.get("key") == key:
        return "reuse", stamp.get("missing", [])
    return ("update" if stamp.get("python") == sys.version else "make"), None


def counts_of(output):
    lines = [ln for ln in output.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
    return re.sub(r"^=+ | =+$", "", lines[-1]) if lines else ""


def failures_of(output):
    """The test ids of pytest's short summary (-ra): FAILED and ERROR lines."""
    ids = re.findall(r"^(?:FAILED|ERROR) (\S+)", output, re.M)
    return " ".join(dict.fromkeys(ids))


def main(argv):
    if len(argv) < 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    path, src, pytest_args = os.path.abspath(argv[1]), os.path.abspath(argv[2]), argv[3:]
    strict = os.environ.setdefault("SHANXI_STRICT", "1") == "1"
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    log = path + ".log"
    t0 = time.monotonic()
    missing, result, counts, failed = [], "", "", ""
    lock = open(path + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        open(log, "w").close()
        reqs = test_extra(src)
        key = hashlib.sha256("\n".join([sys.version] + reqs).encode()).hexdigest()
        how, missing = reuse_env(path, key)
        if how == "reuse":
            print("   reusing the environment %s" % path)
        else:
            print("   %s the environment %s" % ("updating" if how == "update" else "making", path))
            try:
                missing = make_env(path, reqs, key, log, fresh=how == "make")
            except RuntimeError as e:
                result = "FAIL (%s)" % e
        py = os.path.join(path, "bin", "python")
        if not result:
            build = path + ".build"
            open(build, "w").close()
            # (CCACHE_BASEDIR: CI's ccache, if any, hashes the copy's paths
            # relative to it, so that a copy made elsewhere hits)
            ok = run([py, "-m", "pip", "install", "--verbose", "--no-deps", "--force-reinstall",
                      src], build, env=dict(os.environ, CCACHE_BASEDIR=src))
            with open(build, errors="replace") as f:
                text = f.read()
            if not ok:
                result = "FAIL (shanxi did not build or install)"
            elif strict and "-Werror" not in text:
                # the guard on the guard: a build without -Werror proves nothing
                result = "FAIL (the C was not compiled with -Werror)"
            else:
                print("   built with -Werror: %d compiler commands" % text.count("-Werror"))
            if result:
                print(text[-6000:])
        t1 = time.monotonic()
        if not result:
            # -n 0: one process; the CI lanes already keep every core busy
            proc = subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"]
                                  + pytest_args, cwd=src, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
            output = proc.stdout.decode(errors="replace")
            counts = counts_of(output)
            failed = failures_of(output)
            if proc.returncode == 0:
                result = "PASS"
            else:
                print(output[-20000:])
                result = ("FAIL (no tests ran)" if proc.returncode == 5
                          else "FAIL (pytest exit %d)" % proc.returncode)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    t2 = time.monotonic()
    if result != "PASS" and os.path.exists(log):
        with open(log, errors="replace") as f:
            print("--- the environment's log (last lines):\n" + "".join(f.readlines()[-40:]))
    print("RESULT %-4s %-8s %s | unavailable here: %s | install %ds, tests %ds%s" % (
        result.split()[0], platform.python_version(), counts or result.partition(" ")[2],
        " ".join(missing) or "none", t1 - t0, t2 - t1, " | failed: " + failed if failed else ""))
    return 0 if result == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
