#!/usr/bin/env python3
"""Runs the in-kernel benchmarks under QEMU and writes bench/results/*.csv.

Every run boots the Image with `selftest=none selftest.exit=1 bench=...`
on a board configuration from board/<board>/qemu.ini (the QEMU flags live
there only; tools/qemu_run.py builds the command line) that has
`-icount shift=0,sleep=off`, so rdinstret counts guest instructions
deterministically.  The kernel prints (kernel/bench.h)

    # bench <name>: <mean> instr/op (min <min>, max <max>, n <iters>)
    # bench <name>: <value> <unit text>

and this script parses those lines.

Suites (bench/results/<suite>.csv):
    micro    every benchmark, 1 hart, 512 MiB            (config bench)
    smp      allocator scaling and TLB shootdown, 4 and 8 harts
             (configs bench-4hart and bench-8hart; a configuration that does
             not finish is reported and left out)
    mem      boot memory init for 512 MiB, 2, 8, 32 GiB   (config bench, -m changed)
    harden   the slab benchmarks with `slab_harden=0`: the cost of the freelist
             hardening, next to the micro figures           (micro_harden0.csv)
    host     host allocator comparison (tests/bench/host_alloc_bench under callgrind)

The process benchmarks (proc_faults, vma_scaling) run /bin/bench_proc from
the initramfs (tests/user; `make host` builds build/initramfs.cpio, which
--initrd picks by default).

    bench/run.py                      # micro, harden, smp, mem (and host with --host-bench)
    bench/run.py --suite micro
    bench/run.py --smoke              # ctest bench_smoke: tiny iterations, checks only

--smoke boots `bench=all bench.iters=tiny` and fails unless every
benchmark case reported ok (or SKIP, except the cases named by
--no-skip), every case that ran printed at least one well-formed result
line and every per-operation figure is positive; nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))
import qemu_run  # noqa: E402

RESULTS = os.path.join(BENCH_DIR, "results")

PER_OP = re.compile(r"^# bench (?P<name>[A-Za-z0-9_]+): (?P<mean>\d+(?:\.\d+)?) instr/op "
                    r"\(min (?P<min>\d+), max (?P<max>\d+), n (?P<n>\d+)\)$")
VALUE = re.compile(r"^# bench (?P<name>[A-Za-z0-9_]+): (?P<value>\d+(?:\.\d+)?) (?P<rest>\S.*)$")
# Runner lines that are not results: "# bench: ...", "# bench summary: ...",
# "# bench error: ...".
RUNNER = re.compile(r"^# bench(:| summary:| error:)")
STATUS = re.compile(r"^(?P<ok>ok|not ok) (?P<num>\d+) (?P<case>\S+)(?: # SKIP (?P<skip>.*))?$")
PLAN = re.compile(r"^1\.\.(\d+)$")

MEM_SIZES = ["512M", "2G", "8G", "32G"]
CSV_FIELDS = ["suite", "config", "ram", "harts", "name", "mean", "min", "max", "n", "unit"]


@dataclass
class Result:
    name: str
    mean: float
    min: Optional[int]
    max: Optional[int]
    n: Optional[int]
    unit: str


@dataclass
class Run:
    results: List[Result] = field(default_factory=list)
    cases: Dict[str, str] = field(default_factory=dict)   # case -> ok | not ok | skip
    case_results: Dict[str, int] = field(default_factory=dict)
    planned: Optional[int] = None
    totals_seen: bool = False
    malformed: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)
    log: str = ""
    status: Optional[int] = None
    timed_out: bool = False


def parse(text: str) -> Run:
    """Parses the bench KTAP document (the one whose subtest is `bench`)."""
    run = Run(log=text)
    in_bench = False
    pending = 0  # results since the previous case status line
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line == "# Subtest: bench":
            in_bench = True
            continue
        if not in_bench:
            continue
        if run.planned is None and PLAN.match(line):
            run.planned = int(PLAN.match(line).group(1))
            continue
        if line.startswith("# Totals:"):
            run.totals_seen = True
            in_bench = False
            continue
        if line.startswith("# bench error:"):
            run.errors.append(line[len("# bench error:"):].strip())
            continue
        if line.startswith("# bench ") and not RUNNER.match(line):
            m = PER_OP.match(line)
            if m:
                run.results.append(Result(m["name"], float(m["mean"]), int(m["min"]),
                                          int(m["max"]), int(m["n"]), "instr/op"))
                pending += 1
                continue
            m = VALUE.match(line)
            if m and "instr/op" not in line:  # a per-op line must match PER_OP exactly
                run.results.append(Result(m["name"], float(m["value"]), None, None, None,
                                          m["rest"]))
                pending += 1
                continue
            run.malformed.append(line)
            continue
        m = STATUS.match(line)
        if m:
            run.cases[m["case"]] = "skip" if m["skip"] is not None else m["ok"]
            run.case_results[m["case"]] = pending
            pending = 0
    return run


def qemu_command(board_name: str, config: str, kernel: str, bench: str, tiny: bool,
                 ram: Optional[str], backing_dir: str,
                 initrd: Optional[str] = None, extra: str = "") -> List[str]:
    board = qemu_run.load_board(board_name)
    cmdline = f"selftest=none selftest.exit=1 bench={bench}"
    if extra:
        cmdline += " " + extra
    if tiny:
        cmdline += " bench.iters=tiny"
    args = shlex.split(board.config(config).get("args", ""))
    if "-icount" not in args:
        raise qemu_run.SetupError(f"configuration {config} has no -icount: figures would be "
                                  "host time, not instructions")
    # instret is QEMU's virtual clock: 2^shift per instruction.
    shift = re.search(r"shift=(\d+)", args[args.index("-icount") + 1])
    cmdline += f" bench.icount_shift={shift.group(1) if shift else 0}"
    cmd = qemu_run.build_command(board, config, kernel, cmdline, initrd=initrd)
    if ram:
        i = cmd.index("-m")
        cmd[i + 1] = ram
        # Large guests: a sparse file as RAM, so the host's overcommit limit
        # does not refuse the mapping (only what the guest touches is used).
        if ram.endswith("G") and int(ram[:-1]) > 8:
            path = os.path.join(backing_dir, f"ram-{ram}")
            cmd[cmd.index("-machine") + 1] += ",memory-backend=benchram"
            cmd += ["-object",
                    f"memory-backend-file,id=benchram,size={ram},mem-path={path},share=on"]
    return cmd


def boot(cmd: List[str], timeout: float, echo: bool) -> Run:
    if echo:
        print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    try:
        p = subprocess.run(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        text, status, timed_out = p.stdout.decode("utf-8", "replace"), p.returncode, False
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        text, status, timed_out = out.decode("utf-8", "replace"), None, True
    run = parse(text)
    run.status, run.timed_out = status, timed_out
    return run


def problems(run: Run, require_all: bool, no_skip: Tuple[str, ...] = ()) -> List[str]:
    """Why a run is not acceptable (empty list: fine)."""
    out = []
    if run.timed_out:
        out.append("QEMU timed out")
    elif run.status != 0:
        out.append(f"QEMU exited with status {run.status}")
    if run.planned is None:
        out.append("no bench KTAP plan in the output (kernel without the bench runner?)")
    elif len(run.cases) != run.planned:
        out.append(f"plan says {run.planned} cases, {len(run.cases)} reported")
    if not run.totals_seen:
        out.append("no '# Totals:' line: the bench run did not finish")
    for line in run.malformed:
        out.append(f"malformed result line: {line!r}")
    for e in run.errors:
        out.append(f"benchmark error: {e}")
    for case, verdict in sorted(run.cases.items()):
        if verdict == "not ok":
            out.append(f"case {case}: not ok")
        elif verdict == "ok" and run.case_results.get(case, 0) == 0:
            out.append(f"case {case}: ok but printed no result line")
        elif verdict == "skip" and case in no_skip:
            out.append(f"case {case}: skipped, but it must run here")
    if require_all and not run.results:
        out.append("no results at all")
    return out


def write_csv(path: str, rows: List[dict]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({len(rows)} rows)")


def rows_of(suite: str, config: str, ram: str, harts: int, run: Run) -> List[dict]:
    return [{"suite": suite, "config": config, "ram": ram, "harts": harts, "name": r.name,
             "mean": f"{r.mean:g}", "min": "" if r.min is None else r.min,
             "max": "" if r.max is None else r.max, "n": "" if r.n is None else r.n,
             "unit": r.unit} for r in run.results]


def config_harts(board: str, config: str) -> Tuple[int, str]:
    args = shlex.split(qemu_run.load_board(board).config(config).get("args", ""))
    harts = int(args[args.index("-smp") + 1]) if "-smp" in args else 1
    ram = args[args.index("-m") + 1] if "-m" in args else "?"
    return harts, ram


def save_log(name: str, run: Run, log_dir: str) -> str:
    os.makedirs(log_dir, exist_ok=True)
    path = os.path.join(log_dir, f"{name}.log")
    with open(path, "w", encoding="utf-8") as f:
        f.write(run.log)
    return path


# Benchmarks that run user processes or build address spaces: they leave
# the buddy free lists in another shape (an order-3 allocation may then
# split a larger block every time), so they boot on their own, after the
# allocator benchmarks have measured a freshly booted kernel.
PROCESS_CASES = ["proc_faults", "vma_scaling", "fault_parts"]


def suite_micro(a) -> bool:
    harts, ram = config_harts(a.board, "bench")
    rows: List[dict] = []
    ok = True
    for name, selection in (("micro", "all," + ",".join("-" + c for c in PROCESS_CASES)),
                            ("micro-proc", ",".join(PROCESS_CASES))):
        run = boot(qemu_command(a.board, "bench", a.kernel, selection, False, None, a.tmp,
                                a.initrd), a.timeout, a.verbose)
        log = save_log(name, run, a.log_dir)
        bad = problems(run, True)
        for p in bad:
            print(f"{name}: {p} (log: {log})")
        ok &= not bad
        rows += rows_of("micro", "bench", ram, harts, run)
    write_csv(os.path.join(RESULTS, "micro.csv"), rows)
    return ok


SMP_CONFIGS = ["bench-4hart", "bench-8hart"]


def suite_harden(a) -> bool:
    run = boot(qemu_command(a.board, "bench", a.kernel, "kmalloc,kmem_cache,kmalloc_smp", False,
                            None, a.tmp, extra="slab_harden=0"), a.timeout, a.verbose)
    log = save_log("harden0", run, a.log_dir)
    bad = problems(run, True)
    harts, ram = config_harts(a.board, "bench")
    write_csv(os.path.join(RESULTS, "micro_harden0.csv"),
              rows_of("harden", "bench slab_harden=0", ram, harts, run))
    for p in bad:
        print(f"harden: {p} (log: {log})")
    return not bad


def suite_smp(a) -> bool:
    rows: List[dict] = []
    ok = True
    for config in SMP_CONFIGS:
        run = boot(qemu_command(a.board, config, a.kernel,
                                "page_alloc_smp,kmalloc_smp,tlb_shootdown", False, None, a.tmp),
                   a.smp_timeout, a.verbose)
        log = save_log(f"smp-{config}", run, a.log_dir)
        bad = problems(run, True)
        for p in bad:
            print(f"smp {config}: {p} (log: {log})")
        ok &= not bad
        if not bad:  # a run that did not finish has no consistent figures
            harts, ram = config_harts(a.board, config)
            rows += rows_of("smp", config, ram, harts, run)
    write_csv(os.path.join(RESULTS, "smp.csv"), rows)
    return ok


def suite_mem(a) -> bool:
    rows: List[dict] = []
    ok = True
    for ram in a.mem_sizes:
        run = boot(qemu_command(a.board, "bench", a.kernel, "boot_mm_init", False, ram, a.tmp),
                   a.timeout, a.verbose)
        log = save_log(f"mem-{ram}", run, a.log_dir)
        bad = problems(run, True)
        if any("cannot set up guest memory" in l for l in run.log.splitlines()):
            bad.append(f"the host cannot provide {ram} of guest RAM")
        for p in bad:
            print(f"mem {ram}: {p} (log: {log})")
        ok &= not bad
        rows += rows_of("mem", "bench", ram, 1, run)
    write_csv(os.path.join(RESULTS, "mem.csv"), rows)
    return ok


def suite_host(a) -> bool:
    if not a.host_bench or not os.path.isfile(a.host_bench):
        print(f"host: {a.host_bench or 'host_alloc_bench'} not built (make host); skipped")
        return False
    cmd = [sys.executable, os.path.join(BENCH_DIR, "host_compare.py"),
           "--bench", a.host_bench, "--out", os.path.join(RESULTS, "host_alloc.csv")]
    return subprocess.run(cmd).returncode == 0


def smoke(a) -> int:
    run = boot(qemu_command(a.board, "bench", a.kernel, "all", True, None, a.tmp, a.initrd),
               a.timeout, a.verbose)
    bad = problems(run, True, a.no_skip)
    for r in run.results:
        if r.unit == "instr/op" and r.mean <= 0:
            bad.append(f"{r.name}: {r.mean:g} instr/op is not a positive figure")
    ran = sum(1 for v in run.cases.values() if v == "ok")
    skipped = sorted(c for c, v in run.cases.items() if v == "skip")
    if bad:
        print(run.log)
        for p in bad:
            print(f"bench_smoke: {p}")
        print(f"bench_smoke: FAIL ({len(bad)} problem(s))")
        return 1
    print(f"bench_smoke: PASS ({ran} cases, {len(run.results)} result lines, "
          f"skipped: {', '.join(skipped) or 'none'})")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="qemu-virt")
    ap.add_argument("--kernel", default=os.path.join(REPO_ROOT, "build", "kernel", "Image"))
    ap.add_argument("--suite", action="append",
                    choices=["micro", "harden", "smp", "mem", "host"],
                    help="suites to run (repeatable; default: micro, harden, smp, mem, and "
                         "host when --host-bench is given)")
    ap.add_argument("--mem-sizes", default=",".join(MEM_SIZES),
                    help="guest RAM sizes of the mem suite (default %(default)s)")
    ap.add_argument("--host-bench", help="path of the host_alloc_bench executable")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny iterations, check the output format only, write nothing")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per boot")
    ap.add_argument("--smp-timeout", type=float, default=1800.0,
                    help="seconds per boot of the smp suite (default %(default)s)")
    ap.add_argument("--initrd", default="auto",
                    help="initramfs with /bin/bench_proc (auto: build/initramfs.cpio next "
                         "to the kernel's build directory; none: without)")
    ap.add_argument("--no-skip", default="",
                    help="--smoke: comma-separated cases that must not SKIP")
    ap.add_argument("--log-dir", default=os.path.join(REPO_ROOT, "build", "bench"))
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    a.mem_sizes = [s for s in a.mem_sizes.split(",") if s]
    a.no_skip = tuple(c for c in a.no_skip.split(",") if c)
    a.initrd = {"auto": qemu_run.default_initrd(a.kernel), "none": None}.get(a.initrd, a.initrd)
    if a.initrd is not None and not os.path.isfile(a.initrd):
        print(f"bench: initramfs {a.initrd} not found", file=sys.stderr)
        return qemu_run.SETUP_ERROR
    try:
        qemu_run.check_host_tools(qemu_run.load_board(a.board), "direct", a.kernel)
        with tempfile.TemporaryDirectory(prefix="bench-ram-") as tmp:
            a.tmp = tmp
            if a.smoke:
                return smoke(a)
            suites = a.suite or (["micro", "harden", "smp", "mem"] +
                                 (["host"] if a.host_bench else []))
            ok = True
            for s in suites:
                t0 = time.monotonic()
                ok &= {"micro": suite_micro, "harden": suite_harden, "smp": suite_smp,
                       "mem": suite_mem, "host": suite_host}[s](a)
                print(f"suite {s}: {time.monotonic() - t0:.1f} s")
            return 0 if ok else 1
    except qemu_run.SetupError as e:
        print(f"bench: {e}", file=sys.stderr)
        return qemu_run.SETUP_ERROR


if __name__ == "__main__":
    sys.exit(main())
