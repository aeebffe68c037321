"""rvk-vmalloc: busy vmalloc/vmap/ioremap areas, from the address-ordered
busy treap of the allocator in mm/vmalloc.cpp (VmapAllocator g_areas,
mm/vmap_area.h), in the shape of Linux's /proc/vmallocinfo."""

import gdb

from rvk import kernel

# mm/vmalloc.h vm_struct flags.
VM_FLAGS = ((0x1, "ioremap"), (0x2, "vmalloc"), (0x4, "vmap"), (0x10000, "guard-below"),
            (0x20000, "freeing"))


def in_order(root, limit=1 << 20):
    """VmapArea values of a treap in address order (iterative: no Python
    recursion limit on a degenerate tree)."""
    stack, node, seen = [], root, 0
    while stack or kernel.to_int(node):
        while kernel.to_int(node):
            stack.append(node)
            node = node["left"]
        node = stack.pop()
        seen += 1
        if seen > limit:
            raise kernel.KernelError("vmap tree has more than %d nodes (corrupted?)" % limit)
        yield node.dereference()
        node = node["right"]


class Vmalloc(gdb.Command):
    """List the busy vmalloc areas: rvk-vmalloc [-f]

One line per area (vmalloc, vmap, ioremap, kernel stacks): the virtual
range including guard pages, the mapped size, the caller, pages and the
physical base of an ioremap, as /proc/vmallocinfo.  -f also lists the free
areas."""

    def __init__(self):
        super().__init__("rvk-vmalloc", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if argv not in ([], ["-f"]):
            raise kernel.KernelError("usage: rvk-vmalloc [-f]")
        areas = kernel.require("k::g_areas", "mm/vmalloc.cpp")
        if not bool(kernel.require("k::g_ready", "mm/vmalloc.cpp")):
            gdb.write("vmalloc not initialised yet\n")
            return
        lay = kernel.layout()
        gdb.write("vmalloc range [%#x, %#x)\n" % (lay["vmalloc_start"], lay["vmalloc_end"]))
        busy = mapped = pages = 0
        for a in in_order(areas["busy_root_"]):
            start, end = kernel.to_int(a["va_start"]), kernel.to_int(a["va_end"])
            flags = kernel.to_int(a["flags"])
            size = kernel.to_int(a["size"])
            nr = kernel.to_int(a["nr_pages"])
            caller = kernel.to_int(a["caller"])
            words = ["%#x-%#x %9d" % (start, end, size)]
            if caller:
                words.append(kernel.symbolize(caller) or "%#x" % caller)
            if nr:
                words.append("pages=%d" % nr)
            if flags & 0x1:
                words.append("phys=%#x" % kernel.to_int(a["phys_addr"]))
            words += [name for bit, name in VM_FLAGS if flags & bit]
            gdb.write(" ".join(words) + "\n")
            busy += 1
            mapped += size
            pages += nr
        gdb.write("%d busy areas, %d bytes mapped, %d vmalloc pages; allocator: nr_busy=%d "
                  "nr_free=%d free_bytes=%d\n" % (
                      busy, mapped, pages, kernel.to_int(areas["nr_busy_"]),
                      kernel.to_int(areas["nr_free_"]), kernel.to_int(areas["free_bytes_"])))
        if argv == ["-f"]:
            for a in in_order(areas["free_root_"]):
                start, end = kernel.to_int(a["va_start"]), kernel.to_int(a["va_end"])
                gdb.write("free %#x-%#x %d\n" % (start, end, end - start))


Vmalloc()
