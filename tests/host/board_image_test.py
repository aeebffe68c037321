#!/usr/bin/env python3
"""ctest board_image_<board>: builds what `make image BOARD=<board>` builds
(tools/mkdisk.py) and checks the artefacts from the outside, the way U-Boot
will meet them: the FAT partition through mtools (mdir/mcopy), boot.scr
decoded back with u-boot-tools' dumpimage, the TFTP directory file by file.

    board_image_test.py --board visionfive2 --kernel build/kernel/Image --work DIR
Exit status 0 when every check holds; the failures are listed otherwise.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
from typing import List

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MKDISK = os.path.join(REPO_ROOT, "tools", "mkdisk.py")
PART_OFFSET = "@@1048576"  # mkdisk.py: the FAT partition starts at 1 MiB
MTOOLS_ENV = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLSRC=os.devnull)


class Checks:
    def __init__(self) -> None:
        self.failures: List[str] = []

    def expect(self, cond: bool, what: str) -> None:
        print(("ok     " if cond else "FAILED ") + what)
        if not cond:
            self.failures.append(what)


def run(cmd: List[str], env=None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env)


def mkdisk(board: str, kernel: str, out: str, tftp: str, extra: List[str]) -> subprocess.CompletedProcess:
    return run([sys.executable, "-B", MKDISK, "--board", board, "--kernel", kernel, "--out", out,
                "--tftp-dir", tftp] + extra)


def fat_files(img: str) -> List[str]:
    proc = run(["mdir", "-i", img + PART_OFFSET, "-/", "-b", "::"], env=MTOOLS_ENV)
    if proc.returncode != 0:
        raise RuntimeError(f"mdir failed: {proc.stdout}")
    return sorted(line.strip()[3:] if line.startswith("::/") else line.strip()
                  for line in proc.stdout.splitlines() if line.strip())


def fat_get(img: str, name: str, dest: str) -> bool:
    return run(["mcopy", "-i", img + PART_OFFSET, "-o", f"::{name}", dest],
               env=MTOOLS_ENV).returncode == 0


def script_text(scr: str, work: str) -> str:
    """boot.scr -> its source, via dumpimage (u-boot-tools)."""
    listing = run(["dumpimage", "-l", scr])
    if listing.returncode != 0 or "Script" not in listing.stdout:
        return ""
    out = os.path.join(work, os.path.basename(scr) + ".txt")
    if run(["dumpimage", "-T", "script", "-p", "0", "-o", out, scr]).returncode != 0:
        return ""
    with open(out, encoding="utf-8", errors="replace") as f:
        return f.read()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    for tool, pkg in (("mdir", "mtools"), ("mcopy", "mtools"), ("dumpimage", "u-boot-tools"),
                      ("mkimage", "u-boot-tools"), ("dtc", "device-tree-compiler")):
        if shutil.which(tool) is None:
            print(f"{tool} not found: apt-get install {pkg}")
            return 1
    if not os.path.isfile(args.kernel):
        print(f"{args.kernel} does not exist: build the kernel first (make kernel)")
        return 1

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    img = os.path.join(args.work, "image.img")
    tftp = os.path.join(args.work, "tftp")
    initrd = os.path.join(args.work, "initramfs.cpio")
    with open(initrd, "wb") as f:
        f.write(b"070701" + b"0" * 104 + b"TRAILER!!!\0")  # content is not inspected
    c = Checks()

    # ---- with an initramfs ----------------------------------------------------
    proc = mkdisk(args.board, args.kernel, img, tftp, ["--initrd", initrd])
    print(proc.stdout.strip())
    c.expect(proc.returncode == 0, "mkdisk.py builds the image with an initramfs")
    if proc.returncode != 0:
        return 1
    files = fat_files(img)
    print("FAT contents:", " ".join(files))
    for name in ("Image", "boot.scr", "initramfs.cpio",
                 "dtbs/jh7110-visionfive2-v1.3b-2gb.dtb",
                 "dtbs/jh7110-visionfive2-v1.3b-4gb.dtb",
                 "dtbs/jh7110-visionfive2-v1.3b-8gb.dtb"):
        c.expect(name in files, f"FAT holds {name}")
    got = os.path.join(args.work, "Image.from-fat")
    c.expect(fat_get(img, "Image", got) and filecmp.cmp(got, args.kernel, shallow=False),
             "the FAT's Image is byte-identical to the kernel")
    dtb = os.path.join(args.work, "8gb.dtb")
    ref = os.path.join(REPO_ROOT, "tests", "data", "dtb", "visionfive2-v1.3b-8gb.dtb")
    c.expect(fat_get(img, "dtbs/jh7110-visionfive2-v1.3b-8gb.dtb", dtb)
             and filecmp.cmp(dtb, ref, shallow=False),
             "dtbs/ holds the same 8 GB DTB the host tests use")
    scr = os.path.join(args.work, "boot.scr")
    c.expect(fat_get(img, "boot.scr", scr), "boot.scr can be read back")
    text = script_text(scr, args.work)
    c.expect('setenv bootargs "selftest=all"' in text,
             "SD boot.scr sets the board's default bootargs (selftest=all)")
    c.expect("booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${rv_fdt}" in text,
             "SD boot.scr boots with the initramfs")
    c.expect("setenv rv_fdt ${fdtcontroladdr}" in text,
             "SD boot.scr defaults to the firmware's DT (${fdtcontroladdr})")
    c.expect("setenv kernel_addr_r 0x40200000" in text and "setenv fdt_addr_r 0x46000000" in text
             and "setenv ramdisk_addr_r 0x46100000" in text,
             "SD boot.scr falls back to the VisionFive 2 load addresses")
    c.expect("@" not in text.replace("${", ""), "no @PLACEHOLDER@ is left in boot.scr")

    for name in ("Image", "boot.scr", "initramfs.cpio", "README"):
        c.expect(os.path.isfile(os.path.join(tftp, name)), f"TFTP directory holds {name}")
    c.expect(filecmp.cmp(os.path.join(tftp, "Image"), args.kernel, shallow=False),
             "the TFTP Image is byte-identical to the kernel")
    ttext = script_text(os.path.join(tftp, "boot.scr"), args.work)
    c.expect("tftpboot ${kernel_addr_r} Image" in ttext, "TFTP boot.scr fetches the Image over TFTP")
    c.expect("setenv rv_initrd initramfs.cpio" in ttext, "TFTP boot.scr fetches the initramfs")
    c.expect("load ${devtype}" not in ttext, "TFTP boot.scr does not read the SD card")
    with open(os.path.join(tftp, "README"), encoding="utf-8") as f:
        readme = f.read()
    c.expect("selftest=all" in readme and "tftpboot ${scriptaddr} boot.scr" in readme
             and "@" not in readme.replace("${", ""),
             "TFTP README carries the bootargs and the U-Boot commands")

    # ---- again without: the stale initramfs must go ----------------------------
    proc = mkdisk(args.board, args.kernel, img, tftp, ["--bootargs", "selftest=buddy"])
    c.expect(proc.returncode == 0, "mkdisk.py rebuilds without an initramfs")
    files = fat_files(img)
    c.expect("initramfs.cpio" not in files, "FAT has no initramfs when none was given")
    c.expect(not os.path.exists(os.path.join(tftp, "initramfs.cpio")),
             "a stale TFTP initramfs.cpio from the earlier build is removed")
    fat_get(img, "boot.scr", scr)
    text = script_text(scr, args.work)
    c.expect('setenv bootargs "selftest=buddy"' in text, "--bootargs overrides the board default")
    ttext = script_text(os.path.join(tftp, "boot.scr"), args.work)
    c.expect("rv_initrd initramfs" not in ttext, "TFTP boot.scr without initramfs skips it")

    # ---- bad input is refused with a message ----------------------------------
    proc = mkdisk(args.board, args.kernel, img + ".bad", tftp, ["--bootargs", 'a"b'])
    c.expect(proc.returncode == 1 and "bootargs" in proc.stdout,
             "bootargs with a quote are refused")
    proc = mkdisk(args.board, initrd, img + ".bad", tftp, [])
    c.expect(proc.returncode == 1 and "not a Linux RISC-V Image" in proc.stdout,
             "a file that is not an Image is refused")

    print(f"{len(c.failures)} check(s) failed" if c.failures else "all checks passed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
