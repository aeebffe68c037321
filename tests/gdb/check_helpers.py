"""Runs inside `gdb-multiarch -batch` (tests/gdb/gdb_helpers_test.py starts
it, connected to a QEMU whose kernel sits in the UART shell).  Checks each
rvk-* helper against an independent source of truth and prints one
`CHECK ok|FAIL <name>: <detail>` line per check, then `RESULT pass|fail`.

Expected values from the console come in the environment:
  RVK_BUDDYINFO  JSON {"<node> <zone>": [blocks per order]} from `buddyinfo`
  RVK_MEMFREE_KB MemFree from `meminfo` (the kernel's nr_free_pages())"""

import json
import os
import re

import gdb

results = []


def check(name, ok, detail=""):
    results.append(ok)
    gdb.write("CHECK %s %s: %s\n" % ("ok" if ok else "FAIL", name, detail))


def run(cmd):
    return gdb.execute(cmd, to_string=True)


def guarded(name):
    def wrap(fn):
        try:
            fn()
        except (gdb.error, gdb.MemoryError, ValueError, KeyError) as e:
            check(name, False, "%s: %s" % (type(e).__name__, e))
        return fn
    return wrap


def value(expr):
    return int(gdb.parse_and_eval(expr).cast(gdb.lookup_type("unsigned long")))


def walked_pa(out):
    m = re.search(r"-> pa (0x[0-9a-f]+)", out)
    return int(m.group(1), 16) if m else None


@guarded("dmesg")
def _dmesg():
    out = run("rvk-dmesg")
    check("dmesg", "rvkernel version" in out and "<5>[" in out,
          "%d lines, banner %s" % (out.count("\n"), "found" if "rvkernel version" in out
                                   else "MISSING:\n" + out[:800]))


@guarded("pt_kernel_text")
def _pt_kernel():
    va = value("&kernel_main")
    expect = va - value("arch::g_layout.kernel_virt") + value("arch::g_layout.kernel_phys")
    out = run("rvk-pt %#x" % va)
    got = walked_pa(out)
    check("pt_kernel_text", got == expect and "R-X" in out,
          "kernel_main %#x -> %s, expected %#x\n%s" % (va, got and hex(got), expect, out))


@guarded("pt_linear_map")
def _pt_linear():
    pa = value("arch::g_early_boot.root_table.v_") + 0x123
    va = pa - value("arch::g_layout.phys_ram_base") + value("arch::g_layout.linear_base")
    got = walked_pa(run("rvk-pt %#x" % va))
    check("pt_linear_map", got == pa, "%#x -> %s, expected %#x" % (va, got and hex(got), pa))


@guarded("pt_unmapped")
def _pt_unmapped():
    out = run("rvk-pt 0x1000")
    check("pt_unmapped", "fault: not mapped" in out and walked_pa(out) is None, out.strip())


@guarded("buddy")
def _buddy():
    out = run("rvk-buddy -c")
    got = {}
    for m in re.finditer(r"^Node (\d+), zone\s+(\S+)\s+([\d ]+)$", out, re.M):
        got["%s %s" % (m.group(1), m.group(2))] = [int(x) for x in m.group(3).split()]
    want = json.loads(os.environ["RVK_BUDDYINFO"])
    check("buddy_free_lists", got == want and got != {},
          "rvk-buddy %s vs shell buddyinfo %s" % (got, want))
    m = re.search(r"nr_free_pages=(\d+) \((\d+) kB\)", out)
    memfree = int(os.environ["RVK_MEMFREE_KB"])
    check("buddy_total", m is not None and int(m.group(2)) == memfree,
          "rvk-buddy total %s kB vs meminfo MemFree %d kB" % (m and m.group(2), memfree))
    check("buddy_lists_consistent", "MISMATCH" not in out and "lengths match" in out,
          out.strip().splitlines()[-1])


@guarded("harts")
def _harts():
    out = run("rvk-harts")
    # cpu 0 online, matched to its vCPU thread by tp, PC named by a symbol
    # (the scheduler's task column comes first when there is a scheduler).
    row = re.search(r"^0\s+\d+\s+\d+\s+yes\s+0x[0-9a-f]+\s+(task .*?\s+)?"
                    r"thread \d+ pc=0x[0-9a-f]+ sp=0x[0-9a-f]+ .+\+0x[0-9a-f]+$", out, re.M)
    check("harts", row is not None and "not a kernel CPU" not in out, out.strip())


@guarded("slab")
def _slab():
    out = run("rvk-slab")
    m = re.search(r"^(\d+) caches, (\d+) active objects, (\d+) pages in slabs$", out, re.M)
    if m is None or int(m.group(1)) == 0:
        check("slab", m is not None, out.strip().splitlines()[-1])
        return
    # Every slab holds `per` objects: objs = slabs * per on each line.
    rows = re.findall(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)",
                      out, re.M)
    bad = [r[0] for r in rows if int(r[2]) != int(r[7]) * int(r[4]) or int(r[1]) > int(r[2])]
    detail = "%s caches, bad rows %s" % (m.group(1), bad)
    ok = len(rows) == int(m.group(1)) and not bad and "kmalloc-64" in out
    # The kernel's own totals (mm/slab_info.cpp) when linked in, by an
    # inferior call: the hart sits in the shell's input loop, holding no lock.
    if gdb.lookup_global_symbol("k::slab_nr_objects") is not None:
        objs = int(gdb.parse_and_eval("(unsigned long) k::slab_nr_objects()"))
        pages = int(gdb.parse_and_eval("(unsigned long) k::slab_nr_pages()"))
        ok = ok and (int(m.group(2)), int(m.group(3))) == (objs, pages)
        detail += "; rvk-slab %s objects / %s pages vs kernel %d / %d" % (
            m.group(2), m.group(3), objs, pages)
    check("slab", ok, detail)


@guarded("vmalloc")
def _vmalloc():
    out = run("rvk-vmalloc")
    # kernel_main vmallocs the boot hart's stacks: at least one busy area.
    m = re.search(r"^(\d+) busy areas.*nr_busy=(\d+)", out, re.M)
    check("vmalloc", m is not None and int(m.group(1)) == int(m.group(2)) >= 1, out.strip())


@guarded("vmas")
def _vmas():
    try:
        out = run("rvk-vmas 1")
        ok = re.search(r"\d+ VMAs, \d+ pages", out) is not None and "MISMATCH" not in out
    except gdb.error as e:  # no process layer (or no pid 1): must say so clearly
        out = str(e)
        ok = any(s in out for s in ("rvk-vmas -t EXPR", "no task with pid", "kernel thread"))
    check("vmas", ok, out.strip()[:300])


@guarded("phys_symbols")
def _phys():
    phys = value("arch::g_layout.kernel_phys")
    out = run("info symbol %#x" % phys)
    check("phys_symbols", out.startswith("_start_image"), "%#x: %s" % (phys, out.strip()))


gdb.write("RESULT %s\n" % ("pass" if results and all(results) else "fail"))
