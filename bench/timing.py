"""What every row module of the benchmark shares: timing, formatting, the
table of result rows, peak memory of a fresh process, the machine and the
versions measured.  See bench/README.md ("How the timing works")."""
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO / "tools") not in sys.path:
    sys.path.insert(0, str(REPO / "tools"))

UNROLL = 10                  # calls per loop iteration for microsecond-scale timings

# ---------------------------------------------------------------- small tools


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def have(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def version_of(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return None


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns < 1e3:
        return "%.1f ns" % ns
    if ns < 1e6:
        return "%.2f us" % (ns / 1e3)
    if ns < 1e9:
        return "%.2f ms" % (ns / 1e6)
    return "%.3f s" % (ns / 1e9)


def fmt_rows(n):
    if n is None:
        return "33"
    for div, suf in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % div == 0:
            return "%d%s" % (n // div, suf)
    return str(n)


def median(xs):
    return statistics.median(xs) if xs else None


def proc_status():
    """VmRSS and VmHWM of this process in KiB (None where unknown)."""
    out = {"VmRSS": None, "VmHWM": None, "RssAnon": None, "RssFile": None}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in out:
                    out[key] = int(line.split()[1])
    except OSError:
        import resource
        out["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


# ---------------------------------------------------------------- timing


class Timed:
    """A callable timed per call: loops of `number` calls (unrolled by UNROLL
    when it is a statement) so one sample lasts at least the budget."""

    def __init__(self, name, stmt=None, env=None, func=None, after=None):
        self.name = name
        self.after = after          # run outside the timing after each sample
        if stmt is not None:
            code = "; ".join([stmt] * UNROLL)
            self.timer = timeit.Timer(code, globals=env, timer=time.perf_counter_ns)
            self.per = UNROLL
        else:
            self.func = func
            self.timer = None
            self.per = 1
        self.number = 1
        self.samples = []
        self.error = None

    def _run(self, number):
        if self.timer is not None:
            return self.timer.timeit(number)
        func = self.func
        gcold = gc.isenabled()
        gc.disable()
        try:
            t0 = time.perf_counter_ns()
            for _ in range(number):
                r = func()
            t1 = time.perf_counter_ns()
            del r       # the last result is freed outside the timing
        finally:
            if gcold:
                gc.enable()
        return t1 - t0

    def calibrate(self, budget_ns):
        """Warm up and pick how many calls one sample makes."""
        number = 1
        while True:
            t = self._run(number)
            if t >= budget_ns or number >= 1 << 24:
                break
            number = min(number * 10, max(number * 2, int(number * budget_ns * 1.2 / max(t, 1))))
        self.number = number
        if self.after:
            self.after()

    def sample(self):
        t = self._run(self.number)
        self.samples.append(t / (self.number * self.per))
        if self.after:
            self.after()

    @property
    def median(self):
        return median(self.samples)


def interleave(timeds, repeat, budget_ns):
    """Calibrate, then sample every Timed once per repeat, flipping the order
    on every repeat: ours, peer, ... then ..., peer, ours.  A Timed whose
    call raises is dropped, with the exception in its .error."""
    for t in timeds:
        try:
            t.calibrate(budget_ns)
        except Exception as exc:
            t.error = exc
    for r in range(repeat):
        order = timeds if r % 2 == 0 else list(reversed(timeds))
        for t in order:
            if t.error is None:
                try:
                    t.sample()
                except Exception as exc:
                    t.error = exc
    for t in timeds:
        if t.name == "shanxi" and t.error is not None:
            raise t.error


# ---------------------------------------------------------------- result rows

# kind -> how the ratio reads.  `speedup` is always "how many times better
# ours is" (peer time / our time, budget / ours, ...) so the chart can use it.
ROWS = []


def add_row(section, what, size, ours, peer, peer_value, speedup, result, target, status,
            **extra):
    row = {"section": section, "measurement": what, "rows": size, "ours": ours,
           "peer": peer, "peer_value": peer_value, "speedup": speedup, "result": result,
           "target": target, "status": status}
    row.update(extra)
    if extra.get("ours_samples") and extra.get("peer_samples"):
        row["ratio_range"] = spread(extra["ours_samples"], extra["peer_samples"],
                                    invert=section in (1, 4))
    ROWS.append(row)
    return row


def status_of(ok, judged):
    if not judged:
        return "-"
    return "MET" if ok else "MISSED"


def times_text(x, better="faster"):
    if x is None:
        return "-"
    if x >= 1:
        return "%.2fx %s" % (x, better)
    return "%.2fx slower" % (1 / x) if better == "faster" else "%.2fx %s" % (x, better)


def spread(ours, peer, invert=False):
    """The lowest and highest per-repeat ratio (peer/ours, or ours/peer when
    invert): samples of one repeat were taken next to each other."""
    pairs = [(o, q) for o, q in zip(ours or (), peer or ()) if o and q]
    if len(pairs) < 2:
        return None
    r = sorted((o / q) if invert else (q / o) for o, q in pairs)
    return [r[0], r[-1]]


def spread_text(rng):
    return " [%.2f-%.2f]" % tuple(rng) if rng else ""


def not_installed(section, what, size, peer, target):
    add_row(section, what, size, None, peer, None, None, "not installed", target,
            "not installed")


def failed(section, what, size, peer, target, exc):
    msg = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:80] if str(exc) else "")
    log("%s / %s failed: %s" % (what, peer, msg))
    add_row(section, what, size, None, peer, None, None, "error", target, "ERROR", error=msg)


# ---------------------------------------------------------------- fresh processes


def run_child(args, cwd):
    """Run `python bench/run.py ARGS...` in a fresh interpreter; its last
    line of output, as JSON."""
    proc = subprocess.run([sys.executable, str(HERE / "run.py")] + [str(a) for a in args],
                          cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip()
                           else "exit %d" % proc.returncode)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_growth_kib(before, after):
    """Peak RSS growth of this process: VmHWM now over VmRSS before (a fresh
    process's VmHWM is its own, where ru_maxrss can carry a parent's)."""
    base = before["VmRSS"] if before["VmRSS"] is not None else before["VmHWM"]
    return after["VmHWM"] - base


# ---------------------------------------------------------------- machine


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    load = None
    if hasattr(os, "getloadavg"):
        load = "%.2f %.2f %.2f" % os.getloadavg()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem,
            "platform": platform.platform(), "load_average_at_start": load}


def versions():
    v = {"python": platform.python_version()}
    try:
        import shanxi
        v["shanxi"] = shanxi.__version__
    except ImportError:
        v["shanxi"] = None
    for dist in ("pandas", "pyarrow", "polars", "duckdb", "numpy", "matplotlib"):
        v[dist] = version_of(dist) if have(dist) else None
    try:
        out = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10, check=False)
        if out.returncode == 0:
            v["shanxi_git"] = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return v

