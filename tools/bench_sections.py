"""Sections of docs/performance.md for the process benchmarks and the
scaling curves (issue 8 items 1, 2 and 4), used by tools/bench_report.py:

    process_section(micro)      page faults split into trap entry, handler,
                                4 KiB fill and return; fork; mmap
    vma_section(micro, plots)   fault cost against the number of VMAs
    harts_section(smp, plots)   allocators on 1..8 harts: instructions per
                                operation and shared-lock acquisitions per
                                1 000 operations
    tlb_section(smp)            TLB shootdown to 1, 3, 7 other harts

Rows come from bench/results/*.csv as bench/run.py writes them.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Optional

PROC_PREFIXES = ("fault_", "fork_exit_wait", "mmap_munmap_1page")

ANON_TARGET = 400  # anonymous fault excluding the 4 KiB clear (issue 8)

# kind -> (title, fill name, what the fill is at minimum)
FAULT_KINDS = {
    "fault_anon": ("anonymous, first write", "clear",
                   "512 stores (8 bytes each) to clear 4 KiB"),
    "fault_file_read": ("file-backed private, read (maps its 64 KiB window: fault-around)",
                        "copy", "512 loads + 512 stores per 4 KiB page"),
    "fault_file_write": ("file-backed private, first write (one page, no fault-around)", "copy",
                         "512 loads + 512 stores"),
    "fault_cow": ("copy-on-write after fork (page shared with a live child)", "copy",
                  "512 loads + 512 stores"),
}

# Why each figure is where it is: read from the code paths the stamps
# bracket (mm/fault.cpp, kernel/proc/process.cpp, arch/riscv/kernel/entry.S,
# lib/string.cpp) and checked against the split figures.
PROC_NOTES = [
    "**Trap entry** (user access to handle_mm_fault, ~160): entry.S saves all 31 registers "
    "and the CSRs, trap_handler checks for a kernel-stack overflow, handle_exception "
    "dispatches to page_fault_trap, which turns interrupts back on and decodes the access. "
    "**Return** (~90): the restore of the same frame and `sret`.",
    "**Handler without the clear** (~700 in the steady state, the min column; taken apart "
    "in the table above): the largest steps are the three-level page-table walk (~120, no "
    "cached pointer to the last PTE table) and the order-0 alloc_pages (~110 on a pcp hit "
    "since the pcp fast path), then ~270 of checks, "
    "PTE construction and calls between the steps; the mm lock, find_vma (logarithmic, see "
    "the VMA curve), the RSS bookkeeping and the local `sfence.vma` are small. The mean is "
    "higher: one fault in a pcp batch refills the per-CPU list from the buddy lists "
    "(~4 000, alloc_page_pcp_refill above), and the first fault in each 2 MiB allocates and "
    "clears a page-table page (the max column).",
    "**Against 400**: trap entry and return (~250) leave ~150 for the handler, so the "
    "target needs both a cheaper trap (save only the caller-saved registers on the fault "
    "path; Linux saves all 31 too, so this is the hardest part) and a handler near Linux's "
    "fast path: a pcp allocation without the zonelist/watermark work when the list is not "
    "empty (~100), and a walk that reuses the last PTE table.",
    "**The clear** (~1 585): memset (lib/string.cpp) is a plain loop of one 8-byte store, "
    "an add and a branch per word: 3 instructions per 8 bytes, where an unrolled clear (or "
    "Zicboz `cbo.zero`, 64 bytes per instruction) needs 512 stores or 64 instructions.",
    "**File-backed faults** are dominated by the copy: initramfs file data is not 8-byte "
    "aligned (cpio newc pads records to 4 bytes only), so memcpy's word loop (which needs source and "
    "destination equally 8-byte aligned) falls back to bytes: ~20 500 instructions per "
    "4 KiB page, five per byte. A read fault also fills the other 15 pages of its 64 KiB "
    "window (fault-around), hence ~16 x 20 500. Fix: a memcpy that shifts misaligned words, "
    "or 8-byte-aligned file data in the initramfs.",
    "**fork+exit+wait** covers the whole round trip on one hart: dup_mm (copying the "
    "parent's page tables with every private page write-protected), the child's start, "
    "exit (tearing the address space down), and the parent's wake-up and reap.",
]

VMA_COUNTS = [1, 10, 100, 1000, 10000]


def _fmt(v) -> str:
    if v in ("", None):
        return "-"
    x = float(v)
    return f"{x:,.1f}" if x != int(x) else f"{int(x):,}"


def is_proc_row(name: str) -> bool:
    return name.startswith(PROC_PREFIXES)


def _by_name(rows: List[dict]) -> Dict[str, dict]:
    return {r["name"]: r for r in rows}


def process_section(micro: List[dict]) -> List[str]:
    rows = _by_name(micro)
    if "fault_anon" not in rows:
        return ["No process results (bench=proc_faults needs /bin/bench_proc in the initramfs: "
                "`make host`, then bench/run.py --suite micro)."]
    out = ["Each fault is taken by /bin/bench_proc (tests/user/bench_proc.c) in a real user "
           "process; the program reads `rdinstret` around the faulting access, and the kernel "
           "returns instret stamps at handle_mm_fault entry and exit and the instructions of "
           "the 4 KiB fill in the program's t3-t5 (mm/fault_bench.h; only for faults in the "
           "benchmark's window that ask for it). Mean instructions per fault (min-max); "
           "`total` = entry + handler + fill + return.",
           "",
           "| fault | total | trap entry | handler (no fill) | fill | return | total without fill "
           "| n |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, (title, fill, _) in FAULT_KINDS.items():
        if kind not in rows:
            continue

        def cell(suffix: str) -> str:
            r = rows.get(kind + suffix)
            if not r:
                return "-"
            return f"{_fmt(r['mean'])} ({_fmt(r['min'])}-{_fmt(r['max'])})"

        out.append(f"| {title} | {cell('')} | {cell('_entry')} | {cell('_handler')} | "
                   f"{cell('_' + fill)} ({fill}) | {cell('_return')} | {cell('_excl_' + fill)} "
                   f"| {_fmt(rows[kind]['n'])} |")
    out += ["", "| operation | mean instr/op | min | max | n |", "|---|---:|---:|---:|---:|"]
    for name in ("fork_exit_wait", "mmap_munmap_1page"):
        r = rows.get(name)
        if r:
            out.append(f"| {name} | {_fmt(r['mean'])} | {_fmt(r['min'])} | {_fmt(r['max'])} | "
                       f"{_fmt(r['n'])} |")
    out += parts_table(rows)
    anon = rows.get("fault_anon_excl_clear")
    clear = rows.get("fault_anon_clear")
    out += ["", "### Against the targets", ""]
    if anon:
        mean = float(anon["mean"])
        verdict = "meets it" if mean <= ANON_TARGET else f"{mean / ANON_TARGET:.1f}x over"
        out.append(f"- Anonymous fault excluding the 4 KiB clear: **{_fmt(anon['mean'])}** "
                   f"(min {_fmt(anon['min'])}) against a target of {ANON_TARGET}: {verdict} "
                   f"(steady state {float(anon['min']) / ANON_TARGET:.1f}x). The mean includes "
                   "the faults that also refill the pcp list or allocate a page-table page; "
                   "the min is the steady state.")
    if clear:
        out.append(f"- The clear itself: {_fmt(clear['mean'])} instructions; the minimal work "
                   "is 512 stores (`sd`), or 64 `cbo.zero` with Zicboz.")
    out += ["", "What holds them back:", ""] + [f"- {n}" for n in PROC_NOTES]
    return out


# fault_parts (mm/fault_parts_bench.cpp): the handler's steps timed alone.
PARTS = [
    ("fault_part_mm_lock", "mm->lock, interrupts masked, and back"),
    ("fault_part_find_vma", "find_vma, one-entry cache missed (2 VMAs)"),
    ("fault_part_pte_slot", "page-table walk to the PTE (tables present)"),
    ("fault_part_alloc_page", "alloc_pages(order 0) from the pcp list"),
    ("fault_part_rss_hiwater", "RSS counter and update_hiwater"),
    ("fault_part_tlb_local", "local sfence.vma of the new entry"),
    ("fault_part_clear_4k", "memset of 4 KiB (the clear)"),
]


def parts_table(rows: Dict[str, dict]) -> List[str]:
    whole = rows.get("fault_kernel_anon")
    if not whole:
        return []
    clear = rows.get("fault_part_clear_4k")
    out = ["", "The anonymous write fault's handler taken apart (bench=fault_parts, "
               "mm/fault_parts_bench.cpp): handle_mm_fault on an address space of its own, "
               "called from kernel context (no trap), then each step it takes timed alone.",
           "", "| step | mean instr | min |", "|---|---:|---:|",
           f"| handle_mm_fault, anonymous write (whole, with the clear) | {_fmt(whole['mean'])} | "
           f"{_fmt(whole['min'])} |"]
    steps = 0.0
    for name, what in PARTS:
        r = rows.get(name)
        if not r:
            continue
        out.append(f"| {what} | {_fmt(r['mean'])} | {_fmt(r['min'])} |")
        if name != "fault_part_clear_4k":
            steps += float(r["min"])
    if clear:
        rest = float(whole["min"]) - float(clear["min"]) - steps
        out.append(f"| the rest: checks, PTE build and store, calls (min of whole - min of "
                   f"the steps) | | {rest:,.0f} |")
    return out


def _vma_points(micro: List[dict], suffix: str) -> List[tuple]:
    pts = []
    for r in micro:
        m = re.fullmatch(r"fault_vmas_(\d+)" + suffix, r["name"])
        if m:
            pts.append((int(m.group(1)), float(r["mean"]), r))
    return sorted(pts)


def vma_section(micro: List[dict], plot: Optional[str]) -> List[str]:
    total = _vma_points(micro, "")
    handler = {n: r for n, _, r in _vma_points(micro, "_handler")}
    if not total:
        return ["No VMA-count results (bench=vma_scaling)."]
    out = ["One-page anonymous VMAs, alternately read-write and read-only so none merge; at "
           "each count, first writes to distinct read-write VMAs in a scattered order (the "
           "one-entry lookup cache misses, find_vma descends the red-black tree). The program's "
           "own ~8 VMAs come on top of N.",
           "",
           "| VMAs (N) | fault total: mean | min | max | handler (no clear): mean | min | n |",
           "|---:|---:|---:|---:|---:|---:|---:|"]
    for n, mean, r in total:
        h = handler.get(n)
        out.append(f"| {n:,} | {_fmt(r['mean'])} | {_fmt(r['min'])} | {_fmt(r['max'])} | "
                   f"{_fmt(h['mean']) if h else '-'} | {_fmt(h['min']) if h else '-'} | "
                   f"{_fmt(r['n'])} |")
    hpts = sorted((n, float(r["min"])) for n, r in handler.items())
    if len(hpts) >= 2:
        (n0, m0), (n1, m1) = hpts[0], hpts[-1]
        out += ["", f"From {n0:,} to {n1:,} VMAs the steady-state handler (min column) grows "
                    f"by {m1 - m0:+,.0f} instructions ({(m1 - m0) / max(m0, 1) * 100:+.1f} %): "
                    "the lookup grows with the tree depth (about log2 N levels of a few "
                    "instructions each), not with N. The means also carry the pcp refills "
                    "and page-table allocations that land among the 64 samples."]
    if plot:
        out += ["", f"![fault cost against VMA count]({plot})"]
    return out


def plot_vmas(micro: List[dict], out_dir: str) -> Optional[str]:
    total = _vma_points(micro, "")
    handler = _vma_points(micro, "_handler")
    if len(total) < 2:
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([p[0] for p in total], [p[1] for p in total], "o-", label="whole fault")
    if handler:
        ax.plot([p[0] for p in handler], [p[1] for p in handler], "s-",
                label="handle_mm_fault without the clear (mean)")
        ax.plot([p[0] for p in handler], [float(p[2]["min"]) for p in handler], "^--",
                label="handle_mm_fault without the clear (min)")
    ax.set_xscale("log")
    ax.set_xlabel("VMAs in the address space")
    ax.set_ylabel("instructions per fault")
    ax.set_ylim(bottom=0)
    ax.set_title("Anonymous fault cost against VMA count (QEMU -icount)")
    ax.legend()
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "fault_vmas.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# series name -> (figure, lock rate rows)
SMP_SERIES = {
    "page_alloc": ("page_alloc_smp_{h}h", ["page_alloc_smp_{h}h_locks"]),
    "kmalloc64": ("kmalloc64_smp_{h}h", ["kmalloc64_smp_{h}h_list_locks",
                                          "kmalloc64_smp_{h}h_zone_locks"]),
}


def _smp_configs(smp: List[dict]) -> List[str]:
    seen: List[str] = []
    for r in smp:
        if r["config"] not in seen:
            seen.append(r["config"])
    return seen


def harts_section(smp: List[dict], plot: Optional[str]) -> List[str]:
    if not smp:
        return ["No results: neither scaling run finished (bench/run.py --suite smp; logs in "
                "build/bench/smp-*.log)."]
    out = []
    for config in _smp_configs(smp):
        rows = _by_name([r for r in smp if r["config"] == config])
        harts = int(next(r for r in smp if r["config"] == config)["harts"])
        out += [f"Configuration `{config}` ({harts} harts):", "",
                "| harts | page alloc+free instr/op | zone locks /1000 | kmalloc(64)+kfree instr/op "
                "| slab list locks /1000 | zone locks /1000 |",
                "|---:|---:|---:|---:|---:|---:|"]
        for h in (1, 2, 4, 8):
            if f"page_alloc_smp_{h}h" not in rows and f"kmalloc64_smp_{h}h" not in rows:
                continue

            def v(name: str) -> str:
                r = rows.get(name.format(h=h))
                return _fmt(r["mean"]) if r else "-"

            out.append(f"| {h} | {v('page_alloc_smp_{h}h')} | {v('page_alloc_smp_{h}h_locks')} | "
                       f"{v('kmalloc64_smp_{h}h')} | {v('kmalloc64_smp_{h}h_list_locks')} | "
                       f"{v('kmalloc64_smp_{h}h_zone_locks')} |")
        out.append("")
    out += ["Under -icount TCG runs the harts round-robin in one thread: instructions per "
            "operation are the whole machine's (spinning and idle harts' work included), so "
            "they depend on the round-robin slice and are comparable only within one "
            "configuration. The lock rates do not: acquisitions of the zone locks "
            "(mm/zone_lock_stat.h) and of the kmalloc-64 cache's node list locks "
            "(lib/spinlock.h CountingSpinLock) per 1 000 operations are the figures that show "
            "whether the per-CPU lists keep the shared locks off the fast path; flat across "
            "hart counts means they do."]
    if plot:
        out += ["", f"![allocator scaling]({plot})"]
    return out


def plot_harts(smp: List[dict], out_dir: str) -> Optional[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    configs = _smp_configs(smp)
    if not configs:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    drawn = False
    for config in configs:
        rows = _by_name([r for r in smp if r["config"] == config])
        for series, (fig_name, lock_names) in SMP_SERIES.items():
            pts = [(h, float(rows[fig_name.format(h=h)]["mean"])) for h in (1, 2, 4, 8)
                   if fig_name.format(h=h) in rows]
            if pts:
                ax1.plot([p[0] for p in pts], [p[1] for p in pts], "o-",
                         label=f"{series} ({config})")
                drawn = True
            for ln in lock_names:
                lp = [(h, float(rows[ln.format(h=h)]["mean"])) for h in (1, 2, 4, 8)
                      if ln.format(h=h) in rows]
                if lp:
                    what = ln.split("}h_")[1]
                    ax2.plot([p[0] for p in lp], [p[1] for p in lp], "o-",
                             label=f"{series} {what} ({config})")
    if not drawn:
        plt.close(fig)
        return None
    for ax in (ax1, ax2):
        ax.set_xlabel("harts allocating at once")
        ax.set_xticks([1, 2, 4, 8])
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    ax1.set_ylabel("machine instructions per op")
    ax1.set_title("Instructions per alloc+free")
    ax2.set_ylabel("acquisitions per 1 000 ops")
    ax2.set_title("Shared-lock rate")
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "alloc_harts.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def tlb_section(smp: List[dict]) -> List[str]:
    rows = [r for r in smp if r["name"].startswith("tlb_shootdown_")]
    if not rows:
        return ["No TLB shootdown results (needs a multi-hart run: bench/run.py --suite smp)."]
    out = ["One kernel page flushed on N other harts (arch/riscv/mm/tlb_bench.cpp), through SBI "
           "RFENCE (the firmware sends the IPIs and runs `sfence.vma` on each target) and "
           "through the kernel's own IPI cross-call. Machine-wide instructions per shootdown "
           "(waiting included).", "",
           "| configuration | method | other harts | mean instr/op | min | max | n |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        m = re.fullmatch(r"tlb_shootdown_(\w+)_(\d+)", r["name"])
        if not m:
            continue
        out.append(f"| {r['config']} | {m.group(1)} | {m.group(2)} | {_fmt(r['mean'])} | "
                   f"{_fmt(r['min'])} | {_fmt(r['max'])} | {_fmt(r['n'])} |")
    if any(r["max"] and r["min"] and float(r["max"]) > 100 * float(r["min"]) for r in rows):
        out += ["", "Some rows have single samples a hundred times their minimum (max column): "
                "under multi-hart -icount a wait can be stretched by the round-robin "
                "scheduling of the harts (not yet explained in detail), and it moves the mean; "
                "the min column and repeated runs are the figures to compare."]
    if not any(r["name"].endswith("_7") for r in rows):
        out += ["", "The 7-target point needs the 8-hart run, which did not finish (see "
                "\"Scaling with harts\")."]
    return out
