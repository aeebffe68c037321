#!/usr/bin/env python3
"""The GDB helpers (tools/gdb) against a live kernel: boots QEMU virt (one
hart, 512 MiB, `selftest=none`) with its gdbstub on a free local port,
waits for the UART shell, types `buddyinfo` and `meminfo` to get the
kernel's own numbers, then runs tests/gdb/check_helpers.py in
`gdb-multiarch -batch` (attaching stops the harts, so nothing moves while
the helpers read).  After GDB detaches the shell must still answer.

Exit status 0 = every check passed; the console and GDB transcript go to
<log-dir>/gdb_helpers.log."""

import argparse
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tools"))
import qemu_run  # noqa: E402

PROMPT = b"rvk> "


class Console:
    def __init__(self, proc, deadline):
        self.proc, self.deadline, self.data = proc, deadline, b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ)

    def wait_for(self, needle, start):
        """Reads until `needle` appears at or after offset `start`; returns
        the offset just past it."""
        while True:
            i = self.data.find(needle, start)
            if i >= 0:
                return i + len(needle)
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %r on the console" % needle.decode())
            for _ in self.sel.select(min(left, 1.0)):
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError("QEMU exited (status %s)" % self.proc.poll())
                self.data += chunk

    def command(self, line):
        """Types a shell command; returns its output (up to the next prompt)."""
        start = len(self.data)
        self.proc.stdin.write(line.encode() + b"\r")
        self.proc.stdin.flush()
        end = self.wait_for(PROMPT, start)
        return self.data[start:end - len(PROMPT)].decode(errors="replace")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_buddyinfo(text):
    zones = {}
    for m in re.finditer(r"Node (\d+), zone\s+(\S+)\s+([\d ]+?)\s*$", text, re.M):
        zones["%s %s" % (m.group(1), m.group(2))] = [int(x) for x in m.group(3).split()]
    return zones


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True, help="Image")
    ap.add_argument("--elf", required=True, help="kernel.elf with debug info")
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--timeout", type=float, default=100)
    ap.add_argument("--gdb", default="gdb-multiarch")
    a = ap.parse_args()
    for path in (a.kernel, a.elf):
        if not os.path.isfile(path):
            print("FAIL gdb_helpers: %s not found (run `make kernel`)" % path)
            return 2
    if shutil.which(a.gdb) is None:
        print("FAIL gdb_helpers: %s not installed (Debian package gdb-multiarch)" % a.gdb)
        return 2
    os.makedirs(a.log_dir, exist_ok=True)
    log_path = os.path.join(a.log_dir, "gdb_helpers.log")
    port = free_port()
    board = qemu_run.load_board("qemu-virt")
    cmd = qemu_run.build_command(board, "1hart-512m", a.kernel, "selftest=none",
                                 extra=["-gdb", "tcp:127.0.0.1:%d" % port])
    deadline = time.monotonic() + a.timeout
    qemu = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    con = Console(qemu, deadline)
    problems, gdb_out = [], ""
    try:
        con.wait_for(PROMPT, 0)
        expect_buddy = parse_buddyinfo(con.command("buddyinfo"))
        m = re.search(r"MemFree:\s+(\d+) kB", con.command("meminfo"))
        if not expect_buddy or not m:
            raise ValueError("could not parse the shell's buddyinfo/meminfo output")
        env = dict(os.environ, RVK_BUDDYINFO=json.dumps(expect_buddy), RVK_MEMFREE_KB=m.group(1))
        gdb_cmd = [a.gdb, "-q", "-batch", "-nx", "-x", "tools/gdb/gdbinit", a.elf,
                   "-ex", "target remote 127.0.0.1:%d" % port,
                   "-x", os.path.join(HERE, "check_helpers.py"), "-ex", "detach"]
        g = subprocess.run(gdb_cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=max(deadline - time.monotonic(), 5))
        gdb_out = g.stdout + g.stderr
        problems += [l for l in gdb_out.splitlines() if l.startswith("CHECK FAIL")]
        if "RESULT pass" not in gdb_out:
            problems.append("the GDB script did not report RESULT pass (exit %d)" % g.returncode)
        if "Traceback" in gdb_out or "Python Exception" in gdb_out:
            problems.append("a helper raised a Python exception")
        # Detaching resumed the kernel: the shell answers again.
        if "MemFree" not in con.command("meminfo"):
            problems.append("the shell did not answer after GDB detached")
    except (TimeoutError, EOFError, ValueError, subprocess.TimeoutExpired) as e:
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        qemu.kill()
        qemu.wait()
        with open(log_path, "w", encoding="utf-8") as f:
            f.write("$ %s\n%s\n---- gdb ----\n%s" % (
                " ".join(cmd), con.data.decode(errors="replace"), gdb_out))
    checks = [l for l in gdb_out.splitlines() if l.startswith("CHECK ")]
    if problems:
        print("FAIL gdb_helpers: " + "; ".join(problems))
        print("\n".join(checks))
        print("(console and GDB transcript: %s)" % log_path)
        print(gdb_out[-4000:])
        return 1
    print("PASS gdb_helpers: %d checks\n%s" % (len(checks), "\n".join(checks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
