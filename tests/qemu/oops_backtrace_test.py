#!/usr/bin/env python3
"""A deliberate kernel oops (`oops_test` on the command line) must be
reported, not hang: the run fails (QEMU exit status 1 via the panic path),
the console shows the trap dump and a backtrace whose first frame names
k::oops_test_trigger(), and tools/symbolize.py maps that frame to
kernel/oops_test.cpp.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--elf", required=True)
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--timeout", default="120")
    a = ap.parse_args()
    name = "oops_backtrace"
    run = subprocess.run([sys.executable, "-B", os.path.join(ROOT, "tools/qemu_run.py"),
                          "--config", "1hart-512m", "--kernel", a.kernel, "--selftest", "none",
                          "--append", "oops_test", "--name", name, "--log-dir", a.log_dir,
                          "--timeout", a.timeout], capture_output=True, text=True)
    log_path = os.path.join(a.log_dir, name + ".log")
    log = open(log_path, errors="replace").read()
    problems = []
    if run.returncode != 1:
        problems.append("expected the judged run to fail with status 1, got %d" % run.returncode)
    for needle in ("Unhandled trap: kernel exception (store/AMO page fault)", "Call trace:",
                   "] k::oops_test_trigger()+0x", "Kernel panic - not syncing: Oops:",
                   "powering off with failure status"):
        if needle not in log:
            problems.append("console lacks %r" % needle)
    sym = subprocess.run([sys.executable, os.path.join(ROOT, "tools/symbolize.py"), a.elf, log_path],
                         capture_output=True, text=True)
    first = next((l for l in sym.stdout.splitlines() if "oops_test_trigger()+0x" in l), "")
    if "kernel/oops_test.cpp:" not in first:
        problems.append("symbolize.py did not map the faulting frame to kernel/oops_test.cpp: %r" % first)
    if problems:
        print("FAIL oops_backtrace:\n  " + "\n  ".join(problems))
        print(log[-3000:])
        return 1
    print("PASS oops_backtrace: " + first.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
