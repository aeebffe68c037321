#!/usr/bin/env python3
"""Builds a bootable disk image for U-Boot's distro boot, without root.

The image has an MBR with one bootable FAT32 partition (type 0x0C, starting
at 1 MiB) holding:
    Image                    the kernel (Linux RISC-V Image format)
    initramfs.cpio           optional
    boot.scr                 board/<board>/boot.cmd compiled by mkimage
    extlinux/extlinux.conf   board/<board>/extlinux/extlinux.conf
    dtbs/*.dtb               board/<board>/image.ini `dts` sources, compiled by dtc
@BOOTARGS@ in the templates becomes the kernel command line; a template line
holding @INITRD@ names the initramfs, or is dropped when there is none.

board/<board>/image.ini (optional, section [image]) sets per-board
defaults: `bootargs` (the command line when --bootargs is not given), `dts`
(device-tree sources to compile into dtbs/), `tftp-script` (the template
for the TFTP directory's boot.scr, which must fetch files over TFTP rather
than from the disk) and `tftp-readme` (a template copied to the TFTP
directory as README).

U-Boot's distro boot (doc/develop/distro.rst) scans the bootable partitions
of each boot target and prefers extlinux/extlinux.conf over boot.scr, so
--method picks which one the image carries.  The same files can also be
laid out as a TFTP directory (--tftp-dir).

Tools: mtools (mformat, mmd, mcopy) for the filesystem, u-boot-tools
(mkimage) for boot.scr.  The MBR is written here (it is 66 bytes of
structure, Wikipedia "Master boot record" / the IBM PC partition entry
layout), so no partitioning tool or loop device is needed.
"""

from __future__ import annotations

import argparse
import configparser
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from typing import List, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
SECTOR = 512
PART_START_LBA = 2048          # 1 MiB: the usual alignment of the first partition
MIN_SIZE_MIB = 64              # FAT32 wants >= 65525 clusters
DEFAULT_BOOTARGS = "selftest=all selftest.exit=1"
IMAGE_MAGIC2_OFFSET = 0x38     # Linux Documentation/riscv/boot-image-header.rst
IMAGE_MAGIC2 = b"RSC\x05"
# Characters that would break out of `setenv bootargs "..."` in a U-Boot
# hush script or of the extlinux `append` line.
BAD_BOOTARG_CHARS = set('"$;\\\n\r`')


class DiskError(Exception):
    pass


class BoardImage:
    """board/<board>/image.ini: per-board image defaults (all optional)."""

    def __init__(self, board_dir: str):
        self.bootargs: Optional[str] = None
        self.dts: List[str] = []
        self.tftp_script: Optional[str] = None
        self.tftp_readme: Optional[str] = None
        path = os.path.join(board_dir, "image.ini")
        if not os.path.exists(path):
            return
        cfg = configparser.ConfigParser(interpolation=None)
        try:
            with open(path, encoding="utf-8") as f:
                cfg.read_file(f)
        except (OSError, configparser.Error) as e:
            raise DiskError(f"cannot read {path}: {e}") from e
        if not cfg.has_section("image"):
            raise DiskError(f"{path} has no [image] section")
        sec = cfg["image"]
        unknown = set(sec) - {"bootargs", "dts", "tftp-script", "tftp-readme"}
        if unknown:
            raise DiskError(f"{path}: unknown keys {sorted(unknown)}")
        self.bootargs = sec.get("bootargs")

        def board_file(rel: str) -> str:
            full = os.path.join(board_dir, rel)
            if not os.path.isfile(full):
                raise DiskError(f"{path} names {rel}, which does not exist")
            return full

        self.dts = [board_file(x) for x in sec.get("dts", "").split()]
        if sec.get("tftp-script"):
            self.tftp_script = board_file(sec["tftp-script"])
        if sec.get("tftp-readme"):
            self.tftp_readme = board_file(sec["tftp-readme"])


def check_image(path: str) -> None:
    try:
        with open(path, "rb") as f:
            header = f.read(64)
    except OSError as e:
        raise DiskError(f"cannot read kernel {path}: {e.strerror}") from e
    if len(header) < 64 or header[IMAGE_MAGIC2_OFFSET:IMAGE_MAGIC2_OFFSET + 4] != IMAGE_MAGIC2:
        raise DiskError(f"{path} is not a Linux RISC-V Image (no 'RSC\\x05' magic at 0x38); "
                        "pass build/kernel/Image, not the ELF")


def check_bootargs(bootargs: str) -> None:
    bad = sorted(set(bootargs) & BAD_BOOTARG_CHARS)
    if bad:
        raise DiskError(f"bootargs contain characters a boot script cannot carry: {bad!r}")


def render(template_path: str, bootargs: str, initrd_name: Optional[str]) -> str:
    try:
        with open(template_path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise DiskError(f"cannot read template {template_path}: {e.strerror}") from e
    out: List[str] = []
    for line in text.splitlines(keepends=True):
        if "@INITRD@" in line:
            if initrd_name is None:
                continue
            line = line.replace("@INITRD@", initrd_name)
        out.append(line.replace("@BOOTARGS@", bootargs))
    return "".join(out)


def run(cmd: List[str], env: Optional[dict] = None) -> None:
    tool = shutil.which(cmd[0])
    if tool is None:
        package = {"mkimage": "u-boot-tools", "dtc": "device-tree-compiler"}.get(cmd[0], "mtools")
        raise DiskError(f"{cmd[0]} not found: install it with `apt-get install {package}`")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          text=True)
    if proc.returncode != 0:
        raise DiskError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout.strip()}")


def mbr(total_sectors: int) -> bytes:
    """One bootable FAT32-LBA partition from PART_START_LBA to the end.

    CHS fields are set to the "LBA only" marker 0xFE/0xFF/0xFF; U-Boot's
    part_dos reads the LBA start and size only."""
    count = total_sectors - PART_START_LBA
    entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0C, b"\xfe\xff\xff",
                        PART_START_LBA, count)
    sector = bytearray(SECTOR)
    sector[440:444] = struct.pack("<I", 0x52495356)  # disk signature "VSIR"
    sector[446:462] = entry
    sector[510:512] = b"\x55\xaa"
    return bytes(sector)


def compile_script(template: str, bootargs: str, initrd_name: Optional[str], out: str) -> None:
    cmd_path = out + ".cmd"
    with open(cmd_path, "w", encoding="utf-8") as f:
        f.write(render(template, bootargs, initrd_name))
    # A fixed timestamp keeps boot.scr reproducible (mkimage honours it).
    env = dict(os.environ, SOURCE_DATE_EPOCH="0")
    run(["mkimage", "-A", "riscv", "-O", "linux", "-T", "script", "-C", "none",
         "-n", "boot script", "-d", cmd_path, out], env=env)


def build_disk(out: str, kernel: str, board_dir: str, bootargs: Optional[str] = None,
               initrd: Optional[str] = None, method: str = "script",
               size_mib: Optional[int] = None, tftp_dir: Optional[str] = None) -> None:
    """Builds `out`; raises DiskError with a clear message on any problem.

    bootargs None means the board's image.ini default, else DEFAULT_BOOTARGS."""
    board = BoardImage(board_dir)
    if bootargs is None:
        bootargs = board.bootargs if board.bootargs is not None else DEFAULT_BOOTARGS
    check_image(kernel)
    check_bootargs(bootargs)
    if initrd is not None and not os.path.isfile(initrd):
        raise DiskError(f"initramfs {initrd} does not exist")
    if method not in ("script", "extlinux", "none"):
        raise DiskError(f"unknown boot method {method!r} (script, extlinux, none)")

    with tempfile.TemporaryDirectory(prefix="mkdisk.") as work:
        files = [(kernel, "Image")]
        if initrd is not None:
            files.append((initrd, "initramfs.cpio"))
        initrd_name = "initramfs.cpio" if initrd is not None else None
        scr = os.path.join(work, "boot.scr")
        if method == "script" or (tftp_dir is not None and board.tftp_script is None):
            compile_script(os.path.join(board_dir, "boot.cmd"), bootargs, initrd_name, scr)
            if method == "script":
                files.append((scr, "boot.scr"))
        tftp_scr = scr
        if tftp_dir is not None and board.tftp_script is not None:
            tftp_scr = os.path.join(work, "boot-tftp.scr")
            compile_script(board.tftp_script, bootargs, initrd_name, tftp_scr)
        dtbs = []
        for dts in board.dts:
            name = os.path.splitext(os.path.basename(dts))[0] + ".dtb"
            dtb = os.path.join(work, name)
            run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts])
            dtbs.append((dtb, f"dtbs/{name}"))
        extlinux = None
        if method == "extlinux":
            extlinux = os.path.join(work, "extlinux.conf")
            with open(extlinux, "w", encoding="utf-8") as f:
                f.write(render(os.path.join(board_dir, "extlinux", "extlinux.conf"),
                               bootargs, initrd_name))

        payload = sum(os.path.getsize(src) for src, _ in files + dtbs)
        needed = max(MIN_SIZE_MIB, math.ceil(payload * 1.1 / MIB) + 8)
        if size_mib is None:
            size_mib = needed
        elif size_mib < needed:
            raise DiskError(f"--size-mib {size_mib} is too small: the files need {needed} MiB")

        tmp = out + ".tmp"
        total = size_mib * MIB // SECTOR
        with open(tmp, "wb") as f:
            f.truncate(size_mib * MIB)
            f.write(mbr(total))
        fs = f"{tmp}@@{PART_START_LBA * SECTOR}"
        # mtools reads ~/.mtoolsrc and checks geometry; neither applies here.
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLSRC=os.devnull)
        part_sectors = total - PART_START_LBA
        run(["mformat", "-i", fs, "-F", "-T", str(part_sectors), "-h", "64", "-s", "32",
             "-H", str(PART_START_LBA), "-v", "BOOT", "::"], env=env)
        for src, name in files:
            run(["mcopy", "-i", fs, "-o", src, f"::{name}"], env=env)
        if dtbs:
            run(["mmd", "-i", fs, "::dtbs"], env=env)
            for src, name in dtbs:
                run(["mcopy", "-i", fs, "-o", src, f"::{name}"], env=env)
        if extlinux is not None:
            run(["mmd", "-i", fs, "::extlinux"], env=env)
            run(["mcopy", "-i", fs, "-o", extlinux, "::extlinux/extlinux.conf"], env=env)
        os.replace(tmp, out)

        if tftp_dir is not None:
            os.makedirs(tftp_dir, exist_ok=True)
            shutil.copyfile(kernel, os.path.join(tftp_dir, "Image"))
            shutil.copyfile(tftp_scr, os.path.join(tftp_dir, "boot.scr"))
            stale = os.path.join(tftp_dir, "initramfs.cpio")
            if initrd is not None:
                shutil.copyfile(initrd, stale)
            elif os.path.exists(stale):
                os.remove(stale)  # from an earlier build: boot.scr no longer loads it
            if board.tftp_readme is not None:
                with open(os.path.join(tftp_dir, "README"), "w", encoding="utf-8") as f:
                    f.write(render(board.tftp_readme, bootargs, initrd_name))


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel", required=True, help="Linux RISC-V Image (build/kernel/Image)")
    ap.add_argument("--out", required=True, help="disk image to write")
    ap.add_argument("--board", default="qemu-virt",
                    help="board/<BOARD>/ holds boot.cmd and extlinux/extlinux.conf")
    ap.add_argument("--board-dir", help="explicit template directory (overrides --board)")
    ap.add_argument("--initrd", help="initramfs.cpio to include")
    ap.add_argument("--bootargs", default=None,
                    help="kernel command line (default: the board's image.ini bootargs, "
                         f"else {DEFAULT_BOOTARGS!r})")
    ap.add_argument("--method", default="script", choices=("script", "extlinux", "none"),
                    help="boot.scr, extlinux.conf, or neither (commands typed by hand)")
    ap.add_argument("--size-mib", type=int, help="image size (default: what the files need)")
    ap.add_argument("--tftp-dir", help="also lay out Image, boot.scr, initramfs for TFTP here")
    args = ap.parse_args(argv)
    board_dir = args.board_dir or os.path.join(REPO_ROOT, "board", args.board)
    if not os.path.isdir(board_dir):
        print(f"mkdisk.py: no board directory {board_dir}", file=sys.stderr)
        return 2
    try:
        build_disk(args.out, args.kernel, board_dir, args.bootargs, args.initrd, args.method,
                   args.size_mib, args.tftp_dir)
    except DiskError as e:
        print(f"mkdisk.py: {e}", file=sys.stderr)
        return 1
    bootargs = args.bootargs
    if bootargs is None:
        bootargs = BoardImage(board_dir).bootargs
    if bootargs is None:
        bootargs = DEFAULT_BOOTARGS
    print(f"mkdisk.py: wrote {args.out} ({args.method}, bootargs: {bootargs})")
    if args.tftp_dir:
        print(f"mkdisk.py: TFTP files in {args.tftp_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
