#!/usr/bin/env python3
"""Turns the addresses in a saved kernel console log into file:line.

Every "[<ffffffff8000abcd>]" (backtrace frames, as arch/riscv/kernel/trap.cpp
prints them) is looked up with addr2line in the kernel ELF; the line is
printed again with " at <file>:<line>" appended (with inlining chain).
The first frame after "Call trace:" is the trapping pc; the others are
return addresses, looked up one byte back so they name the call site.

  tools/symbolize.py build/kernel/kernel.elf console.log
  some-capture | tools/symbolize.py build/kernel/kernel.elf -
"""
import re
import shutil
import subprocess
import sys

ADDR = re.compile(r"\[<([0-9a-fA-F]{8,16})>\]")


def addr2line_tool():
    for t in ("riscv64-linux-gnu-addr2line", "addr2line"):
        if shutil.which(t):
            return t
    sys.exit("symbolize: no addr2line (install binutils-riscv64-linux-gnu)")


def lookup(tool, elf, addrs):
    if not addrs:
        return {}
    out = subprocess.run([tool, "-e", elf, "-f", "-C", "-i", "-p"] + ["0x" + a for a in addrs],
                         check=True, capture_output=True, text=True).stdout
    # -p -i prints one line per address plus " (inlined by) ..." lines.
    result, cur = {}, -1
    for line in out.splitlines():
        if line.lstrip().startswith("(inlined by)"):
            result[addrs[cur]] += " " + line.strip()
        else:
            cur += 1
            if cur < len(addrs):
                result[addrs[cur]] = line.strip()
    return result


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    elf, path = sys.argv[1], sys.argv[2]
    text = sys.stdin.read() if path == "-" else open(path, errors="replace").read()
    lines = text.splitlines()
    # (line index, address to look up)
    queries = []
    first = False
    for i, l in enumerate(lines):
        if "Call trace:" in l:
            first = True
            continue
        m = ADDR.search(l)
        if not m:
            continue
        a = int(m.group(1), 16)
        queries.append((i, "%x" % (a if first else a - 1)))
        first = False
    where = lookup(addr2line_tool(), elf, sorted({q for _, q in queries}))
    at = {i: where.get(q) for i, q in queries}
    for i, l in enumerate(lines):
        print("%s at %s" % (l, at[i]) if at.get(i) else l)
    return 0


if __name__ == "__main__":
    sys.exit(main())
