#!/usr/bin/env python3
"""Runs the kernel soak (kernel/soak.cpp) under QEMU and judges it.

Creates a scratch virtio-blk disk, boots the kernel through
tools/qemu_run.py with `selftest=soak soak.seconds=N` (the KTAP judge
fails the run on any "not ok", panic, trap dump or timeout), then finds
the soak's summary line in the console log, prints it and checks it once
more: leaks=0, failures=0, and the free-page count it ended with equal to
the one it started with.

  soak_run.py --seconds 600 --kernel build/kernel/Image [--config soak]
              [--log-dir build/qemu-logs] [--name soak] [--round 30]
              [--disk-mib 64] [--seed N]

`make soak` (SOAK_MINUTES) and the ctest `qemu_soak_smoke` (about 25 s)
use it.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUMMARY = re.compile(r"# soak: seconds=(\d+) .*")


def parse_summary(line: str) -> dict:
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", default="auto")
    ap.add_argument("--config", default="soak")
    ap.add_argument("--log-dir", default=os.path.join(REPO_ROOT, "build", "qemu-logs"))
    ap.add_argument("--name", default="soak")
    ap.add_argument("--round", type=int, default=30, help="seconds between invariant checks")
    ap.add_argument("--disk-mib", type=int, default=64)
    ap.add_argument("--seed", default=None)
    ap.add_argument("--boot-slack", type=int, default=240,
                    help="seconds allowed beyond the soak for boot and the last round")
    a = ap.parse_args()

    os.makedirs(a.log_dir, exist_ok=True)
    disk = os.path.join(a.log_dir, f"{a.name}.img")
    with open(disk, "wb") as f:
        f.truncate(a.disk_mib << 20)
    append = f"soak.seconds={a.seconds} soak.round={a.round}"
    if a.seed is not None:
        append += f" soak.seed={a.seed}"
    cmd = [sys.executable, "-B", os.path.join(REPO_ROOT, "tools", "qemu_run.py"),
           "--name", a.name, "--log-dir", a.log_dir, "--kernel", a.kernel,
           "--initrd", a.initrd, "--config", a.config, "--selftest", "soak",
           "--append", append, "--timeout", str(a.seconds + a.round + a.boot_slack),
           "--qemu-arg=-drive", f"--qemu-arg=file={disk},format=raw,if=none,id=soak0",
           "--qemu-arg=-device", "--qemu-arg=virtio-blk-device,drive=soak0"]
    rc = subprocess.call(cmd)
    try:
        os.unlink(disk)
    except OSError:
        pass
    log = os.path.join(a.log_dir, f"{a.name}.log")
    summary = None
    rounds = []
    try:
        with open(log, errors="replace") as f:
            for line in f:
                if "# soak round " in line:
                    rounds.append(line.strip())
                m = SUMMARY.search(line)
                if m:
                    summary = m.group(0).strip()
    except OSError as e:
        print(f"soak_run.py: cannot read {log}: {e}", file=sys.stderr)
        return 1
    for r in rounds:
        print(r)
    if summary is None:
        print("soak_run.py: no '# soak: ...' summary line in the log", file=sys.stderr)
        return rc or 1
    print(summary)
    s = parse_summary(summary)
    problems = []
    if s.get("leaks") != "0":
        problems.append(f"leaks={s.get('leaks')}")
    if s.get("failures") != "0":
        problems.append(f"failures={s.get('failures')}")
    if s.get("free_pages_start") != s.get("free_pages_end"):
        problems.append("free pages at the end differ from the start")
    if int(s.get("seconds", "0")) < a.seconds * 9 // 10:
        problems.append(f"ran {s.get('seconds')} s of {a.seconds}")
    for p in problems:
        print(f"soak_run.py: {p}", file=sys.stderr)
    if rc != 0 or problems:
        print(f"FAIL soak ({a.seconds} s)")
        return rc or 1
    print(f"PASS soak ({a.seconds} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
