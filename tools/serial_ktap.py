#!/usr/bin/python3
"""Runs the kernel's self-tests on a board over its serial console.

Opens the board's serial port (a USB serial adapter such as /dev/ttyUSB0 at
115200 8N1), optionally stops U-Boot's autoboot and types boot commands,
then collects the kernel's KTAP stream until the "# Totals:" line, judges
it with tools/ktap.py, prints a summary and exits 0 (pass) or 1 (fail);
2 means the port could not be used.

    serial_ktap.py /dev/ttyUSB0                  # board boots by itself
    serial_ktap.py /dev/ttyUSB0 \\
        --uboot-cmd 'tftpboot ${kernel_addr_r} Image' \\
        --uboot-cmd 'setenv bootargs "selftest=all"' \\
        --uboot-cmd 'booti ${kernel_addr_r} - ${fdtcontroladdr}'
    serial_ktap.py /dev/ttyUSB0 --uboot-script cmds.txt --log run.log

Start it, then power on or reset the board.  With U-Boot commands it waits
for "Hit any key to stop autoboot", presses a key, waits for the prompt and
types each command (one character at a time: U-Boot's console has no flow
control), waiting for the prompt again between commands.  There is no QEMU
exit status on a board: the verdict comes from the KTAP stream alone.

Needs python3-serial (Debian's pyserial), hence /usr/bin/python3.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from typing import List, Optional

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402

try:
    import serial  # python3-serial
except ImportError:  # reported by main() with the package to install
    serial = None

AUTOBOOT = "Hit any key to stop autoboot"
# After the totals line the kernel may still print a panic or trap dump.
AFTER_TOTALS_SECONDS = 1.0


class SerialError(Exception):
    pass


class Console:
    """Line assembly and pattern waits over a pyserial port."""

    def __init__(self, port, echo: bool, parser: ktap.KtapParser, log) -> None:
        self.port = port
        self.echo = echo
        self.parser = parser
        self.log = log
        self.partial = b""
        self.window = ""  # text since the last mark(), for prompt matching
        self.closed = False

    def mark(self) -> None:
        self.window = ""

    def poll(self, seconds: float) -> None:
        """Reads what arrives within `seconds` (at most 0.1 s per call)."""
        if self.closed:
            time.sleep(max(0.0, min(0.1, seconds)))
            return
        ready, _, _ = select.select([self.port.fileno()], [], [], max(0.0, min(0.1, seconds)))
        if not ready:
            return
        try:
            data = self.port.read(max(1, self.port.in_waiting))
        except (OSError, serial.SerialException):
            # EIO: the adapter was unplugged, or the pty's QEMU exited.
            self.closed = True
            return
        if not data:
            return
        if self.log:
            self.log.write(data)
        if self.echo:
            sys.stdout.write(data.decode("utf-8", "replace"))
            sys.stdout.flush()
        self.window += data.decode("utf-8", "replace")
        if len(self.window) > 65536:
            self.window = self.window[-32768:]
        self.partial += data
        *lines, self.partial = self.partial.split(b"\n")
        for raw in lines:
            self.parser.feed(raw.decode("utf-8", "replace"))

    def wait_for(self, text: str, deadline: float) -> bool:
        while time.monotonic() < deadline and not self.closed:
            if text in self.window:
                return True
            self.poll(deadline - time.monotonic())
        return text in self.window

    def type_line(self, line: str, char_delay: float) -> None:
        for ch in line + "\r":
            self.port.write(ch.encode())
            self.port.flush()
            end = time.monotonic() + char_delay
            while time.monotonic() < end:
                self.poll(end - time.monotonic())

    def flush_partial(self) -> None:
        if self.partial:
            self.parser.feed(self.partial.decode("utf-8", "replace"))
            self.partial = b""


def read_commands(args) -> List[str]:
    cmds = list(args.uboot_cmd or [])
    if args.uboot_script:
        try:
            with open(args.uboot_script, encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        cmds.append(line)
        except OSError as e:
            raise SerialError(f"cannot read {args.uboot_script}: {e.strerror}") from e
    return cmds


def drive_uboot(con: Console, cmds: List[str], args, deadline: float) -> None:
    if not con.wait_for(AUTOBOOT, min(deadline, time.monotonic() + args.autoboot_timeout)):
        raise SerialError(f"no '{AUTOBOOT}' within {args.autoboot_timeout:g} s: is the board "
                          "powered, the wiring TX->RX / RX->TX, the baud rate right?")
    con.mark()
    con.port.write(args.stop_key.encode())
    if not con.wait_for(args.prompt, min(deadline, time.monotonic() + 10)):
        raise SerialError(f"U-Boot prompt {args.prompt!r} did not appear after stopping "
                          "autoboot (set --prompt for this board)")
    for i, cmd in enumerate(cmds):
        con.mark()
        con.type_line(cmd, args.char_delay)
        if i + 1 < len(cmds):
            if not con.wait_for(args.prompt, min(deadline, time.monotonic() +
                                                 args.command_timeout)):
                raise SerialError(f"U-Boot did not come back to its prompt after {cmd!r}")


def summarize(report: ktap.Report, verdict: ktap.Verdict, name: str) -> None:
    print()
    print(f"==== {name}: KTAP summary ====")
    if report.root is not None:
        for r in report.root.results:
            state = "SKIP" if r.skipped else ("ok" if r.ok else "FAIL")
            cases = r.child.results if r.child is not None else []
            failed = [c.name for c in cases if not c.ok]
            detail = f"{len(cases)} tests" + (f", failed: {', '.join(failed)}" if failed else "")
            print(f"  {state:<4} {r.name} ({detail})")
    ktap.print_verdict(verdict, name)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("port", help="serial device, e.g. /dev/ttyUSB0 (or a QEMU pty)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds for the whole run, boot included")
    ap.add_argument("--uboot-cmd", action="append", help="a U-Boot command to type (repeat)")
    ap.add_argument("--uboot-script", help="file of U-Boot commands, one a line, # comments")
    ap.add_argument("--prompt", default="=> ", help="U-Boot prompt (VisionFive 2: 'StarFive # ')")
    ap.add_argument("--stop-key", default=" ", help="key that stops autoboot")
    ap.add_argument("--autoboot-timeout", type=float, default=120.0,
                    help="seconds to wait for the autoboot message")
    ap.add_argument("--command-timeout", type=float, default=60.0,
                    help="seconds a U-Boot command (e.g. tftpboot) may take")
    ap.add_argument("--char-delay", type=float, default=0.005,
                    help="seconds between typed characters")
    ap.add_argument("--log", help="save the raw console to this file")
    ap.add_argument("--quiet", action="store_true", help="do not echo the console")
    ap.add_argument("--name", default="serial", help="name on the verdict line")
    args = ap.parse_args(argv)

    if serial is None:
        print("serial_ktap.py: pyserial is missing: apt-get install python3-serial "
              f"(this is {sys.executable})", file=sys.stderr)
        return 2
    try:
        cmds = read_commands(args)
        port = serial.Serial(args.port, args.baud, bytesize=8, parity="N", stopbits=1,
                             timeout=0.1, xonxoff=False, rtscts=False)
    except (serial.SerialException, SerialError, ValueError) as e:
        print(f"serial_ktap.py: cannot open {args.port}: {e}", file=sys.stderr)
        return 2

    parser = ktap.KtapParser()
    log = open(args.log, "wb") if args.log else None
    con = Console(port, not args.quiet, parser, log)
    start = time.monotonic()
    deadline = start + args.timeout
    timed_out = False
    problem = ""
    print(f"serial_ktap.py: listening on {args.port} at {args.baud} 8N1; "
          "power on or reset the board", flush=True)
    try:
        if cmds:
            drive_uboot(con, cmds, args, deadline)
        while not parser.done and not con.closed and time.monotonic() < deadline:
            con.poll(deadline - time.monotonic())
        if parser.done:
            end = time.monotonic() + AFTER_TOTALS_SECONDS
            while time.monotonic() < end and not con.closed:
                con.poll(end - time.monotonic())
        elif con.closed:
            problem = "the serial port closed before the totals line"
        else:
            timed_out = True
    except SerialError as e:
        problem = str(e)
    except serial.SerialException as e:
        problem = f"serial port error: {e}"
    except KeyboardInterrupt:
        problem = "interrupted"
    finally:
        con.flush_partial()
        port.close()
        if log:
            log.close()

    report = parser.finish()
    verdict = ktap.judge(report, exit_status=None, timed_out=timed_out,
                         timeout_seconds=args.timeout)
    if problem:
        verdict.problems.insert(0, problem)
        verdict.passed = False
    summarize(report, verdict, args.name)
    if timed_out or problem:
        print("---- last 40 lines ----\n" + "\n".join(report.lines[-40:]))
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
