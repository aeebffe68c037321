#!/usr/bin/env python3
"""Host allocator comparison (issue 8, item 3) -> bench/results/host_alloc.csv.

Replays the trace of tests/bench/host_alloc_bench.cpp through this
kernel's slab (kmalloc) and buddy (alloc_pages) allocators compiled for the
host, and through malloc from glibc, jemalloc and mimalloc (preloaded), on
the same machine in the same run:

  * instructions per operation: `valgrind --tool=callgrind` with collection
    switched on only inside the replay function (deterministic);
  * wall time per operation: best of several native runs, and its ratio to
    glibc's (wall time is only compared within one run of this script).

    bench/host_compare.py --bench build/host/tests/bench/host_alloc_bench
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBDIR = "/usr/lib/x86_64-linux-gnu"
# name -> (allocator flag, library to preload, Debian package)
ALLOCATORS: Dict[str, Tuple[str, Optional[str], Optional[str]]] = {
    "kernel": ("kernel", None, None),
    "glibc": ("malloc", None, None),
    "jemalloc": ("malloc", "libjemalloc.so.2", "libjemalloc-dev"),
    "mimalloc": ("malloc", "libmimalloc.so.2", "libmimalloc-dev"),
}
REPLAY_FN = {("small", "kernel"): "replay_kmalloc", ("small", "malloc"): "replay_malloc",
             ("pages", "kernel"): "replay_pages", ("pages", "malloc"): "replay_pages_malloc"}
LINE = re.compile(r"^host_alloc (\S+) (\S+) ops=(\d+) reps=(\d+) ns_per_op=([\d.]+)$", re.M)
FIELDS = ["trace", "allocator", "ops", "instr_per_op", "ns_per_op", "wall_vs_glibc"]


def env_for(lib: Optional[str]) -> Dict[str, str]:
    env = dict(os.environ)
    if lib:
        env["LD_PRELOAD"] = os.path.join(LIBDIR, lib)
    return env


def native(bench: str, trace: str, flag: str, lib: Optional[str], ops: int,
           reps: int) -> Tuple[int, float]:
    p = subprocess.run([bench, "--trace", trace, "--allocator", flag, "--ops", str(ops),
                        "--reps", str(reps)], env=env_for(lib), capture_output=True, text=True)
    m = LINE.search(p.stdout)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"{bench} {trace} {flag} {lib or ''}: {p.stdout}{p.stderr}")
    return int(m.group(3)), float(m.group(5))


def callgrind(bench: str, trace: str, flag: str, lib: Optional[str], ops: int) -> float:
    fn = REPLAY_FN[(trace, flag)]
    with tempfile.TemporaryDirectory(prefix="callgrind-") as tmp:
        out = os.path.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               f"--toggle-collect={fn}", bench, "--trace", trace, "--allocator", flag,
               "--ops", str(ops), "--reps", "1"]
        p = subprocess.run(cmd, env=env_for(lib), capture_output=True, text=True)
        m = LINE.search(p.stdout)
        if p.returncode != 0 or not m:
            raise RuntimeError(f"callgrind {trace} {flag} {lib or ''}: {p.stdout}{p.stderr}")
        steps = int(m.group(3))
        with open(out, encoding="utf-8") as f:
            text = f.read()
        tot = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if not tot:
            raise RuntimeError("callgrind output has no summary line")
        return int(tot.group(1)) / steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", required=True, help="host_alloc_bench executable")
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "bench", "results",
                                                  "host_alloc.csv"))
    ap.add_argument("--ops", type=int, default=200000)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("host_compare: valgrind not found (apt-get install valgrind)", file=sys.stderr)
        return 2
    rows: List[dict] = []
    for trace in ("small", "pages"):
        results = {}
        for name, (flag, lib, pkg) in ALLOCATORS.items():
            if lib and not os.path.exists(os.path.join(LIBDIR, lib)):
                print(f"host_compare: {lib} missing (apt-get install {pkg}); {name} skipped")
                continue
            ops, ns = native(a.bench, trace, flag, lib, a.ops, a.reps)
            ir = callgrind(a.bench, trace, flag, lib, a.ops)
            results[name] = (ops, ir, ns)
            print(f"{trace:6} {name:9} {ir:8.1f} instr/op {ns:8.2f} ns/op")
        glibc_ns = results.get("glibc", (0, 0, 0))[2]
        for name, (ops, ir, ns) in results.items():
            rows.append({"trace": trace, "allocator": name, "ops": ops,
                         "instr_per_op": f"{ir:.1f}", "ns_per_op": f"{ns:.2f}",
                         "wall_vs_glibc": f"{ns / glibc_ns:.2f}" if glibc_ns else ""})
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {os.path.relpath(a.out, REPO_ROOT)} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
