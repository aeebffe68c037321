#!/usr/bin/python3
"""CI test of tools/serial_ktap.py: QEMU's serial port on a pty stands in for
a board's USB serial adapter (issue 7, item 6).

QEMU starts paused (-S) with the virt UART on a new pty and the monitor on
a pipe; the disk carries the Image but no boot script, so nothing boots
unless serial_ktap.py stops U-Boot's autoboot and types the commands, as a
person at a board would.  Once serial_ktap.py says it is listening, the
monitor's `cont` powers the "board" on.  The test passes when serial_ktap.py
exits with the expected status (0, or 1 with --expect-fail).

The kernel runs without selftest.exit=1 here, like a board that stays up
after its tests: when QEMU exits, Linux hangs up the pty and discards what
the reader has not read yet, so a kernel powering off right after its
totals line would race the reader.  The monitor's `quit` ends QEMU once
serial_ktap.py is done.  (QEMU's exit status is checked by the direct and
U-Boot scenarios.)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))
import qemu_run  # noqa: E402

PTY_RE = re.compile(rb"char device redirected to (/dev/pts/\d+)")


def drain(stream, sink: bytearray) -> None:
    for chunk in iter(lambda: stream.read1(4096), b""):
        sink += chunk


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--name", default="serial_ktap_pty")
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--config", default="1hart-512m")
    ap.add_argument("--bootargs", default="selftest=all")
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument("--expect-fail", action="store_true",
                    help="the kernel fails its tests: serial_ktap.py must exit 1")
    args = ap.parse_args()

    os.makedirs(args.log_dir, exist_ok=True)
    disk = os.path.join(args.log_dir, f"{args.name}.img")
    try:
        board = qemu_run.load_board("qemu-virt")
        qemu_run.check_host_tools(board, "uboot-manual", args.kernel)
        qemu_run.prepare_disk("uboot-manual", board, args.kernel, None, args.bootargs, disk)
        cmd = qemu_run.build_command(board, args.config, args.kernel, "", "uboot-manual",
                                     disk=disk, console="pty", extra=["-S"])
    except qemu_run.SetupError as e:
        print(f"serial_pty_test.py: {e}", file=sys.stderr)
        return 2

    print("qemu: " + " ".join(cmd), flush=True)
    qemu = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    monitor_out, qemu_err = bytearray(), bytearray()
    threading.Thread(target=drain, args=(qemu.stdout, monitor_out), daemon=True).start()
    threading.Thread(target=drain, args=(qemu.stderr, qemu_err), daemon=True).start()
    try:
        # QEMU announces the pty (qemu_printf: on the monitor, which is our
        # pipe, or on stdout/stderr depending on the version) before the
        # paused guest runs.
        pty = None
        deadline = time.monotonic() + 20
        while pty is None and time.monotonic() < deadline and qemu.poll() is None:
            m = PTY_RE.search(bytes(monitor_out)) or PTY_RE.search(bytes(qemu_err))
            if m:
                pty = m.group(1).decode()
            else:
                time.sleep(0.05)
        if pty is None:
            print("serial_pty_test.py: QEMU did not report a pty:\n" +
                  (monitor_out + qemu_err).decode(errors="replace"), file=sys.stderr)
            return 1
        print(f"serial_pty_test.py: the board's serial port is {pty}", flush=True)

        tool = [sys.executable, os.path.join(REPO_ROOT, "tools", "serial_ktap.py"), pty,
                "--name", args.name, "--timeout", str(args.timeout),
                "--autoboot-timeout", "60",
                "--log", os.path.join(args.log_dir, f"{args.name}.log"),
                "--uboot-cmd", "virtio scan",
                "--uboot-cmd", "load virtio 0:1 ${kernel_addr_r} Image",
                "--uboot-cmd", f'setenv bootargs "{args.bootargs}"',
                "--uboot-cmd", "booti ${kernel_addr_r} - ${fdtcontroladdr}"]
        capture = subprocess.Popen(tool, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        first = capture.stdout.readline()
        sys.stdout.buffer.write(first)
        sys.stdout.flush()
        if b"listening on" not in first:
            capture.wait()
            sys.stdout.buffer.write(capture.stdout.read())
            print("serial_pty_test.py: serial_ktap.py did not start listening", file=sys.stderr)
            return 1
        qemu.stdin.write(b"cont\n")  # power the "board" on
        qemu.stdin.flush()
        for line in capture.stdout:
            sys.stdout.buffer.write(line)
        sys.stdout.flush()
        rc = capture.wait()
        if qemu.poll() is None:
            qemu.stdin.write(b"quit\n")
            qemu.stdin.flush()
            try:
                qemu.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()

    expected = 1 if args.expect_fail else 0
    problems = []
    if rc != expected:
        problems.append(f"serial_ktap.py exited {rc}, expected {expected}")
    if problems:
        print("FAIL " + args.name + ": " + "; ".join(problems))
        if qemu_err.strip():
            print("qemu stderr:\n" + qemu_err.decode(errors="replace"))
        return 1
    print(f"PASS {args.name}: serial_ktap.py exited {rc} as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
