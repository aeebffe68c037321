#!/usr/bin/env python3
"""Boots the kernel under QEMU and judges its KTAP self-test stream.

The machine comes from board/<board>/qemu.ini (a [board] section plus named
[config:NAME] sections); the boot path is either OpenSBI -> kernel
(`direct`, QEMU -kernel) or OpenSBI -> U-Boot -> distro boot -> booti from
a virtio disk built by tools/mkdisk.py (`uboot-script`, `uboot-extlinux`).

Judged runs (the default) add `selftest=all selftest.exit=1` to the kernel
command line, save the console to <log-dir>/<name>.log, print one verdict
line (tools/ktap.py) and exit 0 on pass, 1 on failure, 2 on a setup error.
On failure the whole log is printed; on a timeout QEMU is killed and the
last 40 lines are printed again next to the verdict.

    qemu_run.py --config 1hart-512m --mmu sv39 --name qemu_virt_sv39_1hart
    qemu_run.py --boot uboot-script --config 1hart-512m
    qemu_run.py --echo                         # `make run`: watch it live
    qemu_run.py --interactive --append 'x=y'   # `make shell`: QEMU owns the tty
    qemu_run.py --list                         # the board's configurations
"""

from __future__ import annotations

import argparse
import configparser
import os
import selectors
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TOOLS)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, TOOLS)
import ktap  # noqa: E402
import mkdisk  # noqa: E402

DEFAULT_TIMEOUT = 180.0
# After the totals line the kernel powers off at once; a kernel that keeps
# QEMU running has a broken selftest.exit path.
EXIT_GRACE_SECONDS = 20.0
TAIL_LINES = 40
SETUP_ERROR = 2


class SetupError(Exception):
    pass


@dataclass
class Board:
    name: str
    directory: str
    qemu: str
    machine: str
    bios: str
    cpu: str
    default_config: str
    uboot: str
    disk_args: str
    configs: Dict[str, configparser.SectionProxy]

    def config(self, name: Optional[str]) -> configparser.SectionProxy:
        name = name or self.default_config
        if name not in self.configs:
            raise SetupError(f"board {self.name} has no configuration {name!r}; "
                             f"choose one of: {', '.join(sorted(self.configs))}")
        return self.configs[name]


def load_board(board: str) -> Board:
    directory = board if os.path.isdir(board) and os.sep in board else \
        os.path.join(REPO_ROOT, "board", board)
    path = os.path.join(directory, "qemu.ini")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except OSError as e:
        raise SetupError(f"cannot read run flags {path}: {e.strerror}") from e
    except configparser.Error as e:
        raise SetupError(f"{path}: {e}") from e
    if not parser.has_section("board"):
        raise SetupError(f"{path}: no [board] section")
    b = parser["board"]
    configs = {s.split(":", 1)[1]: parser[s] for s in parser.sections()
               if s.startswith("config:")}
    if not configs:
        raise SetupError(f"{path}: no [config:NAME] sections")
    return Board(name=os.path.basename(directory.rstrip(os.sep)), directory=directory,
                 qemu=b.get("qemu", "qemu-system-riscv64"), machine=b.get("machine", "virt"),
                 bios=b.get("bios", "default"), cpu=b.get("cpu", ""),
                 default_config=b.get("default-config", next(iter(configs))),
                 uboot=b.get("uboot", ""), disk_args=b.get("disk-args", ""), configs=configs)


def kernel_cmdline(defaults: List[str], user: str) -> str:
    """Defaults first; a user parameter with the same key replaces the default
    (`make run ARGS='selftest=buddy'` must not run every suite too)."""
    user_words = shlex.split(user) if user else []
    user_keys = {w.split("=", 1)[0] for w in user_words}
    kept = [w for w in defaults if w.split("=", 1)[0] not in user_keys]
    return " ".join(kept + user_words)


def build_command(board: Board, config: Optional[str], kernel: str, cmdline: str,
                  boot: str = "direct", initrd: Optional[str] = None, disk: Optional[str] = None,
                  cpu: Optional[str] = None, console: str = "judged",
                  extra: Optional[List[str]] = None) -> List[str]:
    """The QEMU command line.  console: `judged` (serial on stdio, no monitor),
    `interactive` (serial + monitor multiplexed on the terminal, Ctrl-A X
    quits) or `pty` (serial on a new pseudo-terminal, monitor on stdio)."""
    section = board.config(config)
    cmd = [board.qemu, "-machine", board.machine, "-bios", board.bios]
    cpu = cpu if cpu is not None else section.get("cpu", board.cpu)
    if cpu:
        cmd += ["-cpu", cpu]
    cmd += shlex.split(section.get("args", ""))
    if boot == "direct":
        cmd += ["-kernel", kernel]
        if cmdline:
            cmd += ["-append", cmdline]
        if initrd:
            cmd += ["-initrd", initrd]
    elif boot in ("uboot-script", "uboot-extlinux", "uboot-manual"):
        if not board.uboot:
            raise SetupError(f"board {board.name} has no U-Boot payload in its qemu.ini")
        if disk is None:
            raise SetupError("the U-Boot boot path needs a disk image")
        cmd += ["-kernel", board.uboot]
        cmd += [a.replace("{disk}", disk) for a in shlex.split(board.disk_args)]
    else:
        raise SetupError(f"unknown boot path {boot!r}")
    if console == "judged":
        cmd += ["-display", "none", "-serial", "stdio", "-monitor", "none"]
    elif console == "interactive":
        cmd += ["-display", "none", "-serial", "mon:stdio"]
    elif console == "pty":
        cmd += ["-display", "none", "-serial", "pty", "-monitor", "stdio"]
    else:
        raise SetupError(f"unknown console mode {console!r}")
    # A guest reset ends the run instead of booting again (SBI SRST reboot on
    # boards without a shutdown device, e.g. sifive_u).
    cmd.append("-no-reboot")
    return cmd + (extra or [])


def check_host_tools(board: Board, boot: str, kernel: str) -> None:
    if shutil.which(board.qemu) is None:
        raise SetupError(f"{board.qemu} not found: apt-get install qemu-system-misc")
    if not os.path.isfile(kernel):
        raise SetupError(f"kernel image {kernel} not found: build it first (make kernel)")
    if boot.startswith("uboot") and not os.path.isfile(board.uboot):
        raise SetupError(f"U-Boot payload {board.uboot} not found: apt-get install u-boot-qemu")


def prepare_disk(boot: str, board: Board, kernel: str, initrd: Optional[str], cmdline: str,
                 path: str) -> None:
    method = {"uboot-script": "script", "uboot-extlinux": "extlinux",
              "uboot-manual": "none"}[boot]
    try:
        mkdisk.build_disk(path, kernel, board.directory, cmdline, initrd, method)
    except mkdisk.DiskError as e:
        raise SetupError(f"disk image: {e}") from e


def run_judged(cmd: List[str], timeout: float, echo: bool) -> Tuple[ktap.Report, Optional[int],
                                                                    bool, str, str, float]:
    """Runs QEMU, feeding its console to the KTAP parser as it arrives.

    Returns (report, exit status or None when killed, timed out, reason,
    QEMU's stderr, seconds)."""
    start = time.monotonic()
    # stdin is a pipe that stays open and silent: QEMU's stdio chardev never
    # sees EOF or a terminal, so CI without stdin and a developer's tty
    # behave the same.
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    parser = ktap.KtapParser()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    pending = b""
    err = bytearray()
    deadline = start + timeout
    grace_deadline: Optional[float] = None
    timed_out = False
    reason = ""

    def feed(raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace")
        parser.feed(text)
        if echo:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()

    try:
        open_streams = 2
        while open_streams:
            now = time.monotonic()
            if parser.done and grace_deadline is None:
                grace_deadline = now + EXIT_GRACE_SECONDS
            limit = deadline if grace_deadline is None else min(deadline, grace_deadline)
            if now >= limit:
                timed_out = True
                reason = (f"QEMU still running {EXIT_GRACE_SECONDS:g} s after the totals "
                          "line: the kernel did not power off" if now < deadline else "")
                break
            for key, _ in sel.select(timeout=min(0.5, limit - now)):
                chunk = os.read(key.fileobj.fileno(), 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                if key.data == "err":
                    err += chunk
                    continue
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    feed(raw + b"\n")
    finally:
        if pending:
            feed(pending)
        sel.close()
        status: Optional[int]
        if timed_out:
            proc.kill()
            proc.wait()
            status = None
        else:
            try:
                status = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                status = None
                timed_out = True
                reason = "QEMU closed its output but did not exit"
        proc.stdin.close()
        proc.stdout.close()
        proc.stderr.close()
    return (parser.finish(), status, timed_out, reason, err.decode("utf-8", "replace"),
            time.monotonic() - start)


def write_log(path: str, report: ktap.Report, cmd: List[str], stderr: str,
              verdict_lines: List[str]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(report.lines) + "\n")
        f.write("==== qemu_run.py ====\n")
        f.write("command: " + shlex.join(cmd) + "\n")
        if stderr.strip():
            f.write("qemu stderr:\n" + stderr)
        f.write("\n".join(verdict_lines) + "\n")


def default_initrd(kernel: str) -> Optional[str]:
    candidate = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(kernel))),
                             "initramfs.cpio")
    return candidate if os.path.isfile(candidate) else None


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--board", default="qemu-virt", help="board/<BOARD>/qemu.ini")
    ap.add_argument("--config", help="[config:NAME] in the board file (default: its default)")
    ap.add_argument("--boot", default="direct",
                    choices=("direct", "uboot-script", "uboot-extlinux"),
                    help="OpenSBI -kernel, or U-Boot distro boot of boot.scr / extlinux.conf")
    ap.add_argument("--kernel", default=os.path.join(REPO_ROOT, "build", "kernel", "Image"))
    ap.add_argument("--initrd", default="auto",
                    help="initramfs: a path, 'none', or 'auto' (build/initramfs.cpio if present)")
    ap.add_argument("--mmu", choices=("sv39", "sv48", "sv57"), help="add mmu=MODE")
    ap.add_argument("--selftest", default=None,
                    help="selftest= value (judged runs default to 'all')")
    ap.add_argument("--append", default="", help="more kernel command line; same keys win")
    ap.add_argument("--cpu", default=None, help="override the -cpu of the configuration")
    ap.add_argument("--interactive", action="store_true",
                    help="no judge, no timeout: QEMU owns the terminal (Ctrl-A X quits)")
    ap.add_argument("--echo", action="store_true", help="show the console live")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
    ap.add_argument("--name", help="scenario name (log file name; default from the options)")
    ap.add_argument("--log-dir", default=None,
                    help="where <name>.log goes (default: build/qemu-logs next to the kernel)")
    ap.add_argument("--qemu-arg", action="append", default=[], help="extra QEMU argument")
    ap.add_argument("--dry-run", action="store_true", help="print the QEMU command and stop")
    ap.add_argument("--list", action="store_true", help="list the board's configurations")
    return ap.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        board = load_board(args.board)
        if args.list:
            for name, section in board.configs.items():
                mark = " (default)" if name == board.default_config else ""
                print(f"{name}{mark}: {section.get('description', '')}\n    "
                      f"{' '.join(shlex.split(section.get('args', '')))}")
            return 0
        config = args.config or board.default_config
        board.config(config)
        initrd = {"auto": default_initrd(args.kernel), "none": None}.get(args.initrd,
                                                                         args.initrd)
        if initrd is not None and not os.path.isfile(initrd):
            raise SetupError(f"initramfs {initrd} not found")
        defaults = []
        if args.selftest is not None or not args.interactive:
            defaults.append(f"selftest={args.selftest or 'all'}")
        if not args.interactive:
            defaults.append("selftest.exit=1")
        if args.mmu:
            defaults.append(f"mmu={args.mmu}")
        cmdline = kernel_cmdline(defaults, args.append)
        name = args.name or "-".join(
            x for x in (board.name, config, args.boot, args.mmu) if x)
        log_dir = args.log_dir or os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(args.kernel))), "qemu-logs")
        disk = os.path.join(log_dir, f"{name}.img") if args.boot != "direct" else None
        cmd = build_command(board, config, args.kernel, cmdline, args.boot, initrd, disk,
                            args.cpu, "interactive" if args.interactive else "judged",
                            args.qemu_arg)
        if args.dry_run:
            print(shlex.join(cmd))
            return 0
        check_host_tools(board, args.boot, args.kernel)
        if disk is not None:
            os.makedirs(log_dir, exist_ok=True)
            prepare_disk(args.boot, board, args.kernel, initrd, cmdline, disk)
    except SetupError as e:
        print(f"qemu_run.py: {e}", file=sys.stderr)
        return SETUP_ERROR

    if args.interactive:
        print(f"qemu_run.py: {shlex.join(cmd)}\nqemu_run.py: Ctrl-A X quits, Ctrl-A C "
              "switches to the QEMU monitor", flush=True)
        os.execvp(cmd[0], cmd)

    try:
        report, status, timed_out, reason, stderr, seconds = run_judged(cmd, args.timeout,
                                                                        args.echo)
    except OSError as e:
        print(f"qemu_run.py: cannot run {cmd[0]}: {e.strerror}", file=sys.stderr)
        return SETUP_ERROR
    except KeyboardInterrupt:
        print("qemu_run.py: interrupted", file=sys.stderr)
        return 130
    # `reason` explains a kill that was not the overall timeout.
    verdict = ktap.judge(report, exit_status=status, timed_out=timed_out and not reason,
                         timeout_seconds=args.timeout)
    if reason:
        verdict.problems.insert(0, reason)
        verdict.passed = False
    log_path = os.path.join(log_dir, f"{name}.log")
    lines = [verdict.summary_line(name, seconds)]
    if not verdict.passed:
        lines += [f"  - {p}" for p in verdict.problems]
    write_log(log_path, report, cmd, stderr, lines)

    if not verdict.passed:
        if not args.echo:
            print(f"==== console log ({log_path}) ====")
            print("\n".join(report.lines))
        if stderr.strip():
            print("==== qemu stderr ====\n" + stderr.rstrip())
        if timed_out:
            print(f"==== last {TAIL_LINES} lines ====")
            print("\n".join(report.lines[-TAIL_LINES:]))
        print("==== command ====\n" + shlex.join(cmd))
    print("\n".join(lines))
    print(f"log: {log_path}")
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
