#!/usr/bin/env python3
"""Test disk for the kernel's virtio_blk self-test suite.

  blk_pattern.py create IMG [--seed N]   write the layout and region A
  blk_pattern.py check IMG               region A intact, region B holds the
                                         kernel's pattern (after power-off)
  blk_pattern.py run IMG -- QEMU_RUN...  create, run the judged boot with
                                         the disk attached, check

Sector 0 (must match drivers/virtio/virtio_blk_selftest.cpp):
  magic "RVK-BLK-PATTERN\\0", u32 version 1, u32 a_start, u32 a_count,
  u32 b_start, u32 b_count, u32 0, u64 seed (little-endian).
Each 512-byte sector s holds 64 words splitmix64(seed ^ (s*64 + w)); the
kernel writes region B with seed ^ 0x4b45524e454c2121 ("KERNEL!!").
"""
import argparse
import os
import struct
import subprocess
import sys

SECTOR = 512
MAGIC = b"RVK-BLK-PATTERN\0"
KERNEL_XOR = 0x4B45524E454C2121
A_START, A_COUNT = 8, 2048      # 1 MiB the kernel reads
B_START, B_COUNT = 4096, 1024   # 512 KiB the kernel writes
DISK_BYTES = 8 << 20
M64 = (1 << 64) - 1
HEADER = struct.Struct("<16sIIIIIIQ")


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def sectors(seed: int, start: int, count: int) -> bytes:
    out = bytearray()
    for s in range(start, start + count):
        out += struct.pack("<64Q", *(splitmix64(seed ^ (s * 64 + w)) for w in range(64)))
    return bytes(out)


def create(path: str, seed: int) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(DISK_BYTES)
        f.write(HEADER.pack(MAGIC, 1, A_START, A_COUNT, B_START, B_COUNT, 0, seed))
        f.seek(A_START * SECTOR)
        f.write(sectors(seed, A_START, A_COUNT))
        # Region B starts as zeroes: a kernel that writes nothing fails check.


def check(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()
    magic, version, a_start, a_count, b_start, b_count, _, seed = HEADER.unpack_from(data, 0)
    if magic != MAGIC or version != 1:
        print(f"blk_pattern: {path}: not a test disk", file=sys.stderr)
        return 1
    errors = 0
    for name, start, count, s in (("A (harness)", a_start, a_count, seed),
                                  ("B (kernel)", b_start, b_count, seed ^ KERNEL_XOR)):
        want = sectors(s, start, count)
        got = data[start * SECTOR:(start + count) * SECTOR]
        if got != want:
            bad = next(i for i in range(count)
                       if got[i * SECTOR:(i + 1) * SECTOR] != want[i * SECTOR:(i + 1) * SECTOR])
            print(f"blk_pattern: region {name}: sector {start + bad} differs", file=sys.stderr)
            errors += 1
        else:
            print(f"blk_pattern: region {name}: {count} sectors as expected")
    return 1 if errors else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["create", "check", "run"])
    ap.add_argument("image")
    ap.add_argument("--seed", type=lambda v: int(v, 0), default=0x5EED1234ABCD)
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="run: -- qemu_run.py command")
    a = ap.parse_args()
    if a.action == "create":
        create(a.image, a.seed)
        return 0
    if a.action == "check":
        return check(a.image)
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        ap.error("run needs the qemu_run.py command after --")
    create(a.image, a.seed)
    cmd += ["--qemu-arg=-drive", f"--qemu-arg=file={a.image},format=raw,if=none,id=blk0",
            "--qemu-arg=-device", "--qemu-arg=virtio-blk-device,drive=blk0"]
    rc = subprocess.call(cmd)
    if rc != 0:
        print(f"blk_pattern: the judged boot failed (exit {rc})", file=sys.stderr)
        return rc
    return check(a.image)


if __name__ == "__main__":
    sys.exit(main())
