"""rvk-pt VA: walk a page table for one virtual address and decode every
level's PTE (RISC-V Privileged spec v1.12, 4.3.2 "Virtual Address
Translation Process" and 4.4/4.5 for Sv39/Sv48; Svpbmt bits 62:61, Svnapot
bit 63)."""

PAGE_SHIFT = 12
INDEX_BITS = 9
PPN_MASK = (1 << 44) - 1  # PTE bits 53:10
SATP_MODES = {0: ("Bare", 0), 8: ("Sv39", 3), 9: ("Sv48", 4), 10: ("Sv57", 5)}
FLAG_BITS = "VRWXUGAD"
PBMT = {0: "PMA", 1: "NC", 2: "IO", 3: "reserved"}
MASK64 = (1 << 64) - 1


def level_size(level):
    return 1 << (PAGE_SHIFT + INDEX_BITS * level)


def level_name(level):
    return {0: "4K", 1: "2M", 2: "1G", 3: "512G", 4: "256T"}.get(level, "?")


def is_canonical(va, levels):
    """Bits 63..VA_BITS-1 all equal (4.4.1: Sv39 needs bits 63-39 = bit 38)."""
    va_bits = PAGE_SHIFT + INDEX_BITS * levels
    top = va >> (va_bits - 1)
    return top == 0 or top == (MASK64 >> (va_bits - 1))


def decode_pte(pte):
    """A dict of the PTE's fields and a one-line description."""
    flags = "".join(c if pte & (1 << i) else "-" for i, c in enumerate(FLAG_BITS))
    ppn = (pte >> 10) & PPN_MASK
    pbmt = (pte >> 61) & 3
    d = {
        "raw": pte, "valid": bool(pte & 1), "leaf": bool(pte & 0xe), "flags": flags,
        "ppn": ppn, "pa": ppn << PAGE_SHIFT, "rsw": (pte >> 8) & 3, "pbmt": pbmt,
        "napot": bool(pte >> 63), "reserved": (pte >> 54) & 0x7f,
    }
    text = "%016x %s ppn=%#x" % (pte, flags, ppn)
    if d["rsw"]:
        text += " rsw=%d" % d["rsw"]
    text += " pbmt=%s" % PBMT[pbmt]
    if d["napot"]:
        text += " N"
    if d["reserved"]:
        text += " reserved-bits=%#x!" % d["reserved"]
    d["text"] = text
    return d


def walk(va, root_pa, levels, read_u64):
    """Walks the table at root_pa for va with `levels` levels, reading
    8-byte entries with read_u64(pa).  Returns (steps, result): steps is a
    list of dicts (level, index, pte_pa, pte decoded); result is
    {"pa": ..., "level": ..., "pte": ...} for a mapped address or
    {"fault": reason}."""
    steps = []
    if levels not in (3, 4, 5):
        return steps, {"fault": "unsupported number of levels %r" % levels}
    if not is_canonical(va, levels):
        return steps, {"fault": "%#x is not canonical for %d-level paging" % (va, levels)}
    table = root_pa
    for level in range(levels - 1, -1, -1):
        index = (va >> (PAGE_SHIFT + INDEX_BITS * level)) & ((1 << INDEX_BITS) - 1)
        pte_pa = table + 8 * index
        pte = decode_pte(read_u64(pte_pa))
        steps.append({"level": level, "index": index, "pte_pa": pte_pa, "pte": pte})
        if not pte["valid"]:
            return steps, {"fault": "not mapped (level %d entry not valid)" % level}
        if pte["raw"] & 0x4 and not pte["raw"] & 0x2:
            return steps, {"fault": "reserved encoding W without R at level %d" % level}
        if pte["leaf"]:
            size = level_size(level)
            if pte["pa"] & (size - 1):
                return steps, {"fault": "misaligned superpage at level %d" % level}
            return steps, {"pa": pte["pa"] | (va & (size - 1)), "level": level, "pte": pte}
        if pte["raw"] & 0xd0:  # A, D or U set on a pointer: reserved (4.3.1)
            return steps, {"fault": "non-leaf entry with A/D/U set at level %d" % level}
        table = pte["pa"]
    return steps, {"fault": "no leaf after %d levels" % levels}


def format_walk(va, root_pa, levels, steps, result, mode_name):
    lines = ["va %#018x  root %#x  %s (%d levels)" % (va, root_pa, mode_name, levels)]
    for s in steps:
        lines.append("  L%d [%3d] pte@%#x: %s" % (s["level"], s["index"], s["pte_pa"],
                                                 s["pte"]["text"]))
    if "pa" in result:
        lines.append("va %#x -> pa %#x (%s page, %s)" % (
            va, result["pa"], level_name(result["level"]), result["pte"]["flags"]))
    else:
        lines.append("va %#x -> fault: %s" % (va, result["fault"]))
    return "\n".join(lines)


try:
    import gdb
except ImportError:  # host unit tests import the pure functions only
    gdb = None

if gdb is not None:
    from rvk import kernel

    class PageTableWalk(gdb.Command):
        """Walk the page table for a virtual address: rvk-pt VA [ROOT_PA]

Decodes each level's PTE (V R W X U G A D, PPN, RSW, Svpbmt, Svnapot) and
prints the physical address.  The root comes from satp when paging is on
(the table of whatever runs on the selected hart: the kernel table, or a
process's), else from arch::g_early_boot.root_table; give ROOT_PA to walk
another table.  The number of levels comes from satp.MODE, else from
arch::g_layout.levels.  Tables are read through the kernel's linear map,
or in QEMU's physical-memory mode before the MMU is on."""

        def __init__(self):
            super().__init__("rvk-pt", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

        def invoke(self, arg, from_tty):
            argv = gdb.string_to_argv(arg)
            if not argv or len(argv) > 2:
                raise kernel.KernelError("usage: rvk-pt VA [ROOT_PA]")
            va = kernel.to_int(gdb.parse_and_eval(argv[0])) & MASK64
            gdb.write(self.describe(va, kernel.to_int(gdb.parse_and_eval(argv[1]))
                                    if len(argv) == 2 else None) + "\n")

        @staticmethod
        def describe(va, root=None):
            reader = kernel.PhysReader()
            satp = kernel.read_register("satp") or 0
            mode_name, levels = SATP_MODES.get(satp >> 60, ("unknown", 0))
            if root is None:
                if levels:
                    root = (satp & PPN_MASK) << PAGE_SHIFT
                else:
                    root = kernel.to_int(kernel.require("arch::g_early_boot")["root_table"])
                    if root == 0:
                        raise kernel.KernelError(
                            "paging is off and early boot has not built the kernel table yet")
            if not levels:
                levels = reader.lay["levels"]
                mode_name = {3: "Sv39", 4: "Sv48", 5: "Sv57"}.get(levels, "?") + " (g_layout)"
            steps, result = walk(va, root, levels, reader.u64)
            return format_walk(va, root, levels, steps, result, mode_name)

    PageTableWalk()
