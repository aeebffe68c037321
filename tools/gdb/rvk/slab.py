"""rvk-slab: the slab caches on k::g_slab_caches (mm/slab_internal.h), with
the numbers /proc/slabinfo shows (mm/slab_info.cpp computes the same)."""

import gdb

from rvk import kernel


def cache_stats(cache):
    inuse = num_objs = active_slabs = num_slabs = 0
    nodes = kernel.to_int(cache["node"])
    for nid in range(kernel.to_int(cache["nr_nodes"]) if nodes else 0):
        n = cache["node"][nid]
        inuse += kernel.to_int(n["inuse_objects"])
        num_objs += kernel.to_int(n["total_objects"])
        partial, full, empty = (kernel.to_int(n[f]) for f in ("nr_partial", "nr_full", "nr_empty"))
        active_slabs += partial + full
        num_slabs += partial + full + empty
    cpu_objs = 0
    if kernel.to_int(cache["limit"]) and kernel.to_int(cache["cpu"]):
        for c in range(kernel.to_int(cache["nr_cpus"])):
            cpu_objs += kernel.to_int(cache["cpu"][c]["avail"])
    return {"active_objs": inuse - cpu_objs, "num_objs": num_objs, "cpu_objs": cpu_objs,
            "active_slabs": active_slabs, "num_slabs": num_slabs}


def caches():
    head = kernel.require("k::g_slab_caches")
    cache_type = gdb.lookup_type("k::KmemCache")
    for node in kernel.list_nodes(head, limit=4096):
        yield kernel.container_of(node, cache_type, "list")


class Slab(gdb.Command):
    """List the slab caches: rvk-slab [NAME]

One line per cache as /proc/slabinfo (active objects, objects, slot size,
objects per slab, pages per slab, active/total slabs) plus the objects
parked in per-CPU arrays and the debug flags.  With NAME, only caches whose
name contains NAME."""

    def __init__(self):
        super().__init__("rvk-slab", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if len(argv) > 1:
            raise kernel.KernelError("usage: rvk-slab [NAME]")
        want = argv[0] if argv else ""
        gdb.write("%-18s %8s %8s %7s %5s %5s %7s %7s %6s %s\n" % (
            "name", "active", "objs", "objsize", "per", "pages", "aslabs", "slabs", "cpu", "flags"))
        total_pages = count = active = 0
        for c in caches():
            name = kernel.char_array(c["name"])
            if want not in name:
                continue
            st = cache_stats(c)
            flags = kernel.to_int(c["flags"])
            order = kernel.to_int(c["order"])
            fl = "".join(ch for bit, ch in ((0, "F"), (1, "Z"), (2, "P")) if flags & (1 << bit))
            gdb.write("%-18s %8d %8d %7d %5d %5d %7d %7d %6d %s\n" % (
                name, st["active_objs"], st["num_objs"], kernel.to_int(c["size"]),
                kernel.to_int(c["objects"]), 1 << order, st["active_slabs"], st["num_slabs"],
                st["cpu_objs"], fl or "-"))
            total_pages += st["num_slabs"] << order
            active += st["active_objs"]
            count += 1
        # The totals the kernel's slab_nr_objects()/slab_nr_pages() report.
        gdb.write("%d caches, %d active objects, %d pages in slabs\n" % (count, active, total_pages))


Slab()
