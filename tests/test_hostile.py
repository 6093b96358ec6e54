"""load() under hostile conditions (issue 14): a file that shrinks while it is
read, streams that never end, Ctrl-C, a row-count guess that a crafted file
inflates, files whose size reads 0.

Every case that could kill, hang or starve the interpreter runs the load in a
child process with a timeout and checks that the child survived and said what
it should.  Timings are printed (run with -s to see them) and asserted only
with generous bounds.  The multi-second versions are marked slow
(SHANXI_SLOW=1); each has a small fast version in the default run.
"""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import shanxi

HEADER = "project,metric,value,unit,as_of\n"
ROW = "1,m,1,u,2022-01-01\n"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /dev, /proc, FIFOs and POSIX signals"
)

# Run in the child before the case: resource limits, and a marker the parent
# waits for before it sends a signal.
PRELUDE = textwrap.dedent(
    """
    import os, resource, sys, time
    import shanxi

    def limit_address_space(extra):
        # what this interpreter already maps, plus `extra` bytes
        with open("/proc/self/status") as f:
            vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + extra, vm + extra))

    def ready():
        print("ready", flush=True)

    def open_fds():
        return len(os.listdir("/proc/self/fd"))

    def threads():
        return len(os.listdir("/proc/self/task"))
    """
)


def run_child(code, timeout=60, args=()):
    """Run PRELUDE + code in a new interpreter: (returncode, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr


def write_rows(path, nrows, head=""):
    with open(path, "w") as f:
        f.write(HEADER + head)
        chunk = ROW * 100_000
        for _ in range(nrows // 100_000):
            f.write(chunk)
        f.write(ROW * (nrows % 100_000))


# ------------------------------------------------------------ 1. shrinking file


SHRINK_CHILD = """
path, rows, by = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import subprocess, threading
text = b"project,metric,value,unit,as_of\\n" + b"1,m,1,u,2022-01-01\\n" * rows
def fill():
    with open(path, "wb") as f:
        f.write(text)
outcomes = []
for delay in (0.0, 0.005, 0.02, 0.05, 0.1):
    for size in (0, 100, 4096 * 3 + 7):
        fill()
        if by == "thread":
            cut = threading.Timer(delay, os.truncate, (path, size))
            cut.start()
        else:
            command = "sleep %s; truncate -s %d %s" % (delay, size, path)
            cut = subprocess.Popen(["sh", "-c", command])
        try:
            shanxi.load(path)
            outcomes.append("loaded")
        except OSError as e:
            assert "became shorter while it was read" in str(e), e
            assert e.filename == path
            outcomes.append("OSError")
        except shanxi.ParseError as e:
            outcomes.append("ParseError")
        if by == "thread":
            cut.join()
        else:
            cut.wait()
print(" ".join(outcomes))
"""


def shrink_case(tmp_path, rows, by):
    path = tmp_path / "shrinks.csv"
    rc, out, err = run_child(SHRINK_CHILD, timeout=300, args=(path, rows, by))
    # on the mapped reader: killed by SIGBUS (-7), nothing catchable
    assert rc == 0, (rc, err)
    outcomes = out.split()
    print("shrinking file (%s, %d rows): %s" % (by, rows, outcomes))
    assert len(outcomes) == 15
    assert "OSError" in outcomes  # at least one truncation landed mid-read


def test_file_truncated_while_loading_from_a_thread(tmp_path):
    shrink_case(tmp_path, 2_000_000, "thread")


@pytest.mark.slow
def test_file_truncated_while_loading_from_another_process(tmp_path):
    # 114 MB: a load long enough (about 0.3 s) that the truncating process,
    # started after each delay, lands mid-read
    shrink_case(tmp_path, 6_000_000, "process")


# ------------------------------------------------------------ 2. endless streams


def test_dev_urandom_fails_at_once():
    rc, out, err = run_child(
        """
        limit_address_space(512 << 20)  # the old reader read ~2 GB first
        t = time.monotonic()
        try:
            shanxi.load("/dev/urandom")
        except shanxi.ParseError as e:
            print(e.line, e.source, time.monotonic() - t)
        """,
        timeout=60,
    )
    assert rc == 0, err
    line, source, elapsed = out.split()
    print("load('/dev/urandom') failed after %.3f s" % float(elapsed))
    assert (line, source) == ("1", "/dev/urandom")
    assert float(elapsed) < 5


def test_dev_zero_fails_at_the_first_nul():
    rc, out, err = run_child(
        """
        limit_address_space(512 << 20)  # the old reader grew until ENOMEM
        try:
            shanxi.load("/dev/zero")
        except shanxi.ParseError as e:
            print(repr((e.line, e.column, e.reason)))
        """,
        timeout=60,
    )
    assert rc == 0, err
    assert out.strip() == repr((1, 1, "expected a header row of column names, found a NUL byte"))


def test_nul_in_a_header_is_an_error():
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.loads(b"project,metric\x00,value,unit,as_of\n1,m,1,u,2022-01-01\n")
    assert (info.value.line, info.value.column) == (1, 15)
    assert info.value.reason == "expected a header row of column names, found a NUL byte"
    # in a field of a row a NUL is text, as before
    ds = shanxi.loads(b"project,metric,value,unit,as_of\n1,m\x00,1,u,2022-01-01\n")
    assert len(ds) == 1


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "stream"
    os.mkfifo(path)
    return path


def feed_forever(path, head, body, stop):
    """Write head, then body again and again to the FIFO until stop is set."""
    try:
        with open(path, "wb") as f:
            f.write(head)
            while not stop.is_set():
                f.write(body)
    except (BrokenPipeError, OSError):
        pass


def test_endless_garbage_on_a_fifo_fails_at_the_first_bad_byte(fifo):
    stop = threading.Event()
    writer = threading.Thread(
        target=feed_forever, args=(fifo, (HEADER + ROW * 10).encode(), b"1,\xff" * 4096, stop)
    )
    writer.start()
    try:
        rc, out, err = run_child(
            """
            try:
                shanxi.load(sys.argv[1])
            except shanxi.ParseError as e:
                print(e.line, e.column, e.reason)
            """,
            timeout=60,
            args=(fifo,),
        )
    finally:
        stop.set()
        writer.join(10)
    assert rc == 0, err
    assert out.strip() == "12 3 expected UTF-8 text, found the invalid byte FF"


def long_field_csv(size):
    """One quoted field of `size` bytes (a line break near its start, so
    lines count across it), then a row with a bad value: the error's line
    and column say where it is."""
    field = "x" * 1023 + "\n" + "x" * (size - 1024)
    return (HEADER + '1,"' + field + '",1,u,2022-01-01\n1,m,oops,u,2022-01-01\n').encode()


def load_through_fifo(fifo, data):
    """The seconds load() takes to fail on data written to the FIFO (64 KiB
    a read), and its ParseError."""
    writer = threading.Thread(target=lambda: open(fifo, "wb").write(data))
    writer.start()
    start = time.monotonic()
    try:
        with pytest.raises(shanxi.ParseError) as caught:
            shanxi.load(fifo)
        return time.monotonic() - start, caught.value
    finally:
        writer.join(30)


def test_a_record_longer_than_a_chunk_loads_in_linear_time(fifo):
    # each read of the FIFO used to scan the unfinished record again from
    # its start: 0.43 / 2.5 / 11.2 s for 8 / 16 / 32 MiB (quadratic)
    times = {}
    for mib in (8, 32):
        data = long_field_csv(mib << 20)
        with pytest.raises(shanxi.ParseError) as whole:
            shanxi.loads(data)
        runs = [load_through_fifo(fifo, data) for _ in range(2)]
        for _, e in runs:  # exactly where one buffer says
            assert (e.line, e.column, e.reason) == (whole.value.line, whole.value.column,
                                                    whole.value.reason)
        times[mib] = min(t for t, _ in runs)
    print("a long record through a FIFO: %.3f s for 8 MiB, %.3f s for 32 MiB"
          % (times[8], times[32]))
    # linear: 4 times as long; quadratic: 16 times (26 measured)
    assert times[32] < 10 * times[8] + 0.2


# ------------------------------------------------------------ 3. Ctrl-C

INTERRUPTED_CHILD = """
# Python's handler, as an interactive session has it: a shell's background
# job (CI) may hand the child SIGINT ignored, and Python keeps it ignored.
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
fds, tasks = open_fds(), threads()
ready()
try:
    shanxi.load(sys.argv[1] if len(sys.argv) == 2 else sys.argv[1:])
    print("loaded")
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
# healthy afterwards: no file or thread left behind, and loads work
assert open_fds() == fds, (open_fds(), fds)
assert threads() == tasks, (threads(), tasks)
assert len(shanxi.loads("project,metric,value,unit,as_of\\n1,m,1,u,2022-01-01\\n")) == 1
print("healthy")
"""


def interrupt(path, after, timeout=30, also=(), late_ok=False):
    """Load path (with the files `also`, as one dataset) in a child, SIGINT
    it `after` s into the load: the delay from the signal to its
    KeyboardInterrupt (late_ok: None when the load ended first)."""
    child = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + INTERRUPTED_CHILD, str(path), *map(str, also)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(after)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail("no KeyboardInterrupt within %s s of SIGINT" % timeout)
    assert child.returncode == 0, err
    words = out.split()
    if words == ["loaded", "healthy"] and late_ok:
        return None
    assert words[0] == "interrupted" and words[-1] == "healthy", out
    return float(words[1]) - sent


def test_ctrl_c_on_a_silent_fifo(fifo):
    # a writer that keeps the FIFO open and writes nothing
    keep = os.open(fifo, os.O_RDWR)
    try:
        delay = interrupt(fifo, 0.3, timeout=10)
    finally:
        os.close(keep)
    print("silent FIFO: KeyboardInterrupt %.1f ms after SIGINT" % (delay * 1e3))
    assert delay < 5


def test_ctrl_c_on_a_silent_fifo_among_many_files(fifo, tmp_path):
    # each file of a many-file load is read on the core's pool, not on the
    # thread the signal interrupts: the pool is told to stop
    other = tmp_path / "a.csv"
    other.write_text(HEADER + ROW)
    keep = os.open(fifo, os.O_RDWR)
    try:
        delay = interrupt(fifo, 0.3, timeout=10, also=(other,))
    finally:
        os.close(keep)
    print("silent FIFO among files: KeyboardInterrupt %.1f ms after SIGINT" % (delay * 1e3))
    assert delay < 5


def test_ctrl_c_on_an_endless_stream(fifo):
    stop = threading.Event()
    writer = threading.Thread(
        target=feed_forever, args=(fifo, HEADER.encode(), ROW.encode() * 4096, stop)
    )
    writer.start()
    try:
        delay = interrupt(fifo, 0.5, timeout=10)
    finally:
        stop.set()
        writer.join(10)
    print("endless stream: KeyboardInterrupt %.1f ms after SIGINT" % (delay * 1e3))
    assert delay < 5


def whole_load_time(path):
    rc, out, err = run_child(
        "t = time.monotonic(); shanxi.load(sys.argv[1]); print(time.monotonic() - t)",
        timeout=300,
        args=(path,),
    )
    assert rc == 0, err
    return float(out)


def ctrl_c_during_parse(tmp_path, rows):
    path = tmp_path / "long.csv"
    write_rows(path, rows)
    whole = whole_load_time(path)
    delays = []
    for f in (0.1, 0.25, 0.4):
        # The signal is meant for the middle of the load; on a busy machine
        # (other tests on the other core) a load may end before it comes:
        # then again, earlier.
        for _ in range(4):
            delay = interrupt(path, whole * f, late_ok=True)
            if delay is not None:
                break
            f /= 2
        else:
            pytest.fail("every load of %d rows ended before its SIGINT" % rows)
        delays.append(delay)
    print(
        "%d rows (load %.2f s): KeyboardInterrupt %s ms after SIGINT"
        % (rows, whole, ", ".join("%.1f" % (d * 1e3) for d in delays))
    )
    # the old reader raised it only after the whole parse (60-90% of `whole`)
    assert max(delays) < 5 and max(delays) < whole / 2


def test_ctrl_c_during_a_long_parse(tmp_path):
    ctrl_c_during_parse(tmp_path, 5_000_000)  # 95 MB


@pytest.mark.slow
def test_ctrl_c_during_a_very_long_parse(tmp_path):
    ctrl_c_during_parse(tmp_path, 100_000_000)  # 1.9 GB, two parsing threads


# ------------------------------------------------------------ 5. the row-count guess


def guess_case(tmp_path, rows, extra):
    """A valid file whose first 64 KiB are one quoted field of line breaks,
    loaded with `extra` bytes of address space to spare: the old guess
    reserved the column arrays for a row per line break of that sample."""
    path = tmp_path / "inflated.csv"
    write_rows(path, rows, head='1,"' + "\n" * (80 << 10) + '",1,u,2022-01-01\n')
    rc, out, err = run_child(
        """
        limit_address_space(int(sys.argv[2]))
        print(len(shanxi.load(sys.argv[1])))
        """,
        timeout=300,
        args=(path, extra),
    )
    assert rc == 0, err
    assert int(out) == rows + 1


def test_row_guess_bounded_by_what_the_bytes_hold(tmp_path):
    # 19 MB: the old guess reserved about 20M rows (400 MB)
    guess_case(tmp_path, 1_000_000, 160 << 20)


@pytest.mark.slow
def test_row_guess_under_a_4_gib_address_space(tmp_path):
    # the case: 400 MiB under `prlimit --as=4GiB`
    guess_case(tmp_path, 22_000_000, 4 << 30)


# ------------------------------------------------------------ 6. size 0, content


def test_proc_file_is_read_although_its_size_is_0():
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(shanxi.ParseError) as info:
        shanxi.load("/proc/self/status")
    # the content ("Name:\t...") was read: not "found an empty input"
    assert (info.value.line, info.value.column) == (1, 1)
    assert info.value.reason.startswith("expected a header with the columns project")
    assert "found an empty input" not in str(info.value)

