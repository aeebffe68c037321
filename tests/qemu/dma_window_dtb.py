#!/usr/bin/env python3
"""Builds QEMU virt's devicetree with a dma-ranges that restricts /soc.

  dma_window_dtb.py OUT.dtb --smp 2 --mem 1G [--window 0x10000000]

Dumps the machine's own DT (`-machine virt,dumpdtb=`, same -smp/-m as the
run that will use it, so every node OpenSBI and the kernel need is there),
decompiles it with dtc, adds to the /soc bus
    dma-ranges = <child-addr parent-addr size>;
mapping bus addresses 1:1 onto the first WINDOW bytes of RAM (identity, so
QEMU's devices, which ignore dma-ranges, still reach what the kernel
meant), cell counts taken from /soc's #address-cells/#size-cells and the
root's #address-cells (DT spec 2.3.9), and compiles it back. The run then
passes `-dtb OUT.dtb`.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

RAM_BASE = 0x80000000  # QEMU virt (FACTS.md)


def cells(value: int, n: int) -> str:
    parts = [(value >> (32 * (n - 1 - i))) & 0xFFFFFFFF for i in range(n)]
    return " ".join(f"0x{p:x}" for p in parts)


def prop_cells(block: str, name: str, default: int) -> int:
    m = re.search(rf"^\s*{re.escape(name)}\s*=\s*<\s*(0x[0-9a-fA-F]+|\d+)\s*>;", block, re.M)
    return int(m.group(1), 0) if m else default


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--smp", default="2")
    ap.add_argument("--mem", default="1G")
    ap.add_argument("--window", type=lambda v: int(v, 0), default=0x10000000)
    ap.add_argument("--qemu", default="qemu-system-riscv64")
    a = ap.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "virt.dtb")
        subprocess.run([a.qemu, "-machine", f"virt,dumpdtb={raw}", "-smp", a.smp, "-m", a.mem,
                        "-display", "none", "-bios", "default"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", raw], check=True,
                             capture_output=True, text=True).stdout
        root_ac = prop_cells(dts.split("soc {", 1)[0], "#address-cells", 2)
        m = re.search(r"^(\s*)soc \{\n", dts, re.M)
        if not m:
            print("dma_window_dtb: no /soc node in QEMU's DT", file=sys.stderr)
            return 1
        soc_body = dts[m.end():]
        depth, end = 1, 0
        for i, ch in enumerate(soc_body):
            depth += ch == "{"
            depth -= ch == "}"
            if depth == 0:
                end = i
                break
        own = re.sub(r"\{[^{}]*\}", "", soc_body[:end])  # drop child nodes' bodies
        while re.search(r"\{[^{}]*\}", own):
            own = re.sub(r"\{[^{}]*\}", "", own)
        if "dma-ranges" in own:
            print("dma_window_dtb: /soc already has dma-ranges", file=sys.stderr)
            return 1
        soc_ac = prop_cells(own, "#address-cells", 2)
        soc_sc = prop_cells(own, "#size-cells", 1)
        line = (f"{m.group(1)}\tdma-ranges = <{cells(RAM_BASE, soc_ac)} {cells(RAM_BASE, root_ac)} "
                f"{cells(a.window, soc_sc)}>;\n")
        patched = dts[:m.end()] + line + dts[m.end():]
        src = os.path.join(tmp, "patched.dts")
        with open(src, "w") as f:
            f.write(patched)
        subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", a.out, src], check=True)
    print(f"dma_window_dtb: {a.out}: /soc dma-ranges = RAM 0x{RAM_BASE:x} + 0x{a.window:x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
