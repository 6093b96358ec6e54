"""Hash flooding (issue 14.4): labels crafted to collide in the dictionary.

Until the dictionary's hash was keyed, it was a fixed, invertible chain of
multiply-xorshift steps over 8-byte words, so an attacker could compute
labels that all share one hash: 160,000 such 16-byte labels (a 5.8 MB file)
took 97 s to load against 0.04 s for random ones.  ``unkeyed_collisions``
makes them exactly as an attacker would from that published algorithm; the
load now runs in a child process under a timeout that is generous for the
linear time it takes and far below the quadratic time it took.  (The
collisions against the keyed hash, made for a known key by brute force on
its low bits, are tests/c/test_hashflood.c, measured in probes.)
"""

import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

M64 = (1 << 64) - 1
K = 0x9E3779B97F4A7C15
START = 0x243F6A8885A308D3


def _mix(h):
    """One word step of the old hash, after the XOR of the word (numpy)."""
    h = h * np.uint64(K)
    return h ^ (h >> np.uint64(29))


def _old_hash(label: bytes) -> int:
    """The old dictionary hash (dict.c before it was keyed), for checking."""
    h = START ^ (len(label) * K & M64)
    for i in range(0, len(label) - len(label) % 8, 8):
        h = ((h ^ int.from_bytes(label[i:i + 8], "little")) * K) & M64
        h ^= h >> 29
    if len(label) % 8:
        h = ((h ^ int.from_bytes(label[len(label) - len(label) % 8:], "little")) * K) & M64
        h ^= h >> 29
    h = (h * 0xBF58476D1CE4E5B9) & M64
    h ^= h >> 32
    return h & 0xFFFFFFFF


def unkeyed_collisions(n: int) -> list:
    """n distinct 16-byte ASCII labels that all hashed alike.

    For any first word w0 the second is forced: w1 = mix(h0 ^ w0) ^ Y makes
    the state after both words mix(Y) for every label.  Counting w0 up
    (seven bits of the counter per byte), keep those whose forced w1 is
    ASCII too (one in 256); a quoted field holds any of it."""
    h0 = np.uint64(START ^ (16 * K & M64))
    y = np.uint64(0x5A5A5A5A5A5A5A5A)
    high = np.uint64(0x8080808080808080)
    found, have, start, chunk = [], 0, 0, 1 << 20
    with np.errstate(over="ignore"):
        while have < n:
            i = np.arange(start, start + chunk, dtype=np.uint64)
            start += chunk
            w0 = np.zeros(chunk, dtype=np.uint64)
            for b in range(8):
                w0 |= ((i >> np.uint64(7 * b)) & np.uint64(127)) << np.uint64(8 * b)
            w1 = _mix(h0 ^ w0) ^ y
            ok = (w1 & high) == 0
            found.append(np.stack([w0[ok], w1[ok]], axis=1).astype("<u8"))
            have += int(ok.sum())
    return [row.tobytes() for row in np.concatenate(found)[:n]]


def csv_field(label: bytes) -> bytes:
    return b'"' + label.replace(b'"', b'""') + b'"'


def test_the_crafted_labels_collided_under_the_old_hash():
    labels = unkeyed_collisions(50)
    assert len(set(labels)) == 50
    assert len({_old_hash(s) for s in labels}) == 1
    assert all(len(s) == 16 and s.isascii() for s in labels)


def test_labels_that_collided_under_the_old_hash_load_in_linear_time(tmp_path):
    n = 160_000
    labels = unkeyed_collisions(n)
    path = tmp_path / "flood.csv"
    with open(path, "wb") as f:
        f.write(b"project,metric,value,unit,as_of\n")
        f.writelines(b"1," + csv_field(s) + b",1,u,2022-01-01\n" for s in labels)
    code = (
        "import sys, shanxi\n"
        "ds = shanxi.load(sys.argv[1])\n"
        "print(len(ds), len(ds.metrics(project=1)))\n"
    )
    # 97 s before the hash was keyed; well under a second now.
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=30, check=True)
    assert out.stdout.split() == [str(n), str(n)]


def _old_parts_hash(parts) -> int:
    """The hash of an aggregation by several keys before it was keyed
    (groupkeys.c's parts_hash), for checking."""
    h = 0
    for part in parts:
        h = ((h ^ (part & 0xFFFFFFFF)) * K) & M64
    return h >> 32


def crafted_projects(n: int, bits: int = 18, window: int = 1024) -> list:
    """n project numbers whose old hash of (metric code 0, project) falls in
    one window of `window` slots of a table of 2**bits (and so of every
    smaller table): one cluster that every insert probed to its end.  The
    old hash was high32(project * K), so counting projects up and keeping
    those whose low bits land in the window finds them (one in 256)."""
    found, have, start, chunk = [], 0, 1, 1 << 22
    with np.errstate(over="ignore"):
        while have < n:
            p = np.arange(start, start + chunk, dtype=np.uint64)
            start += chunk
            low = ((p * np.uint64(K)) >> np.uint64(32)) & np.uint64((1 << bits) - 1)
            found.append(p[low < np.uint64(window)])
            have += len(found[-1])
    return [int(p) for p in np.concatenate(found)[:n]]


def test_the_crafted_projects_clustered_under_the_old_hash():
    projects = crafted_projects(200)
    assert len(set(projects)) == 200 and 0 < min(projects) and max(projects) < 2**31
    assert all(_old_parts_hash((0, p)) % (1 << 18) < 1024 for p in projects)


def test_projects_that_collided_in_aggregate_by_several_keys_run_in_linear_time(tmp_path):
    n = 60_000
    path = tmp_path / "flood.csv"
    with open(path, "w") as f:
        f.write("project,metric,value,unit,as_of\n")
        f.writelines(f"{p},m,1,u,2022-01-01\n" for p in crafted_projects(n))
    code = (
        "import sys, shanxi\n"
        "ds = shanxi.load(sys.argv[1])\n"
        "r = ds.aggregate(by=('metric', 'project'), func='count')\n"
        "print(len(r), sum(r.values()))\n"
    )
    # 41 s for 40,000 rows before the hash was keyed (quadrupling as they
    # double); a fraction of a second now.
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=30, check=True)
    assert out.stdout.split() == [str(n), str(n)]
