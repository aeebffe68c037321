"""rvk-buddy: free lists of the buddy allocator per node, zone and order
(mm/zone.h: PgData.node_zones[], Zone.free_area[order].nr_free), in the
shape of /proc/buddyinfo, with the totals the kernel's nr_free_pages()
reports (free-list pages + per-CPU list pages)."""


def blocks_to_pages(nr_free_by_order):
    return sum(n << order for order, n in enumerate(nr_free_by_order))


try:
    import gdb
except ImportError:
    gdb = None

if gdb is not None:
    from rvk import kernel

    def zones():
        """Every zone of every node: (nid, gdb.Value Zone)."""
        node_data = kernel.require("k::g_node_data", "mm/numa.cpp")
        for nid in range(node_data.type.range()[1] + 1):
            pg = node_data[nid]
            if kernel.to_int(pg) == 0:
                continue
            node_zones = pg.dereference()["node_zones"]
            for z in range(node_zones.type.range()[1] + 1):
                yield nid, node_zones[z]

    def zone_summary(zone, walk_lists=False):
        areas = zone["free_area"]
        orders = areas.type.range()[1] + 1
        nr_free = [kernel.to_int(areas[o]["nr_free"]) for o in range(orders)]
        listed = None
        if walk_lists:
            listed = [sum(1 for _ in kernel.list_nodes(areas[o]["free_list"]))
                      for o in range(orders)]
        pcp = 0
        pcp_ptr = kernel.to_int(zone["pcp"])
        if pcp_ptr:
            for c in range(kernel.to_int(zone["nr_pcp"])):
                pcp += kernel.to_int(zone["pcp"][c]["count"])
        return {
            "name": kernel.c_string(zone["name"]),
            "present": kernel.to_int(zone["present_pages"]),
            "managed": kernel.to_int(zone["managed_pages"]),
            "free_pages": kernel.to_int(zone["free_pages"]),
            "nr_free": nr_free, "listed": listed, "pcp": pcp,
        }

    class Buddy(gdb.Command):
        """Dump the buddy allocator's free lists: rvk-buddy [-c]

One line per populated zone with the number of free blocks of each order
(as /proc/buddyinfo and the shell's `buddyinfo`), then per zone the free
pages in the lists, the zone's own counter, the per-CPU list pages, and a
total that matches the kernel's nr_free_pages() (and MemFree in `meminfo`).
-c also walks every free list and checks its length against nr_free."""

        def __init__(self):
            super().__init__("rvk-buddy", gdb.COMMAND_DATA)

        def invoke(self, arg, from_tty):
            argv = gdb.string_to_argv(arg)
            if argv not in ([], ["-c"]):
                raise kernel.KernelError("usage: rvk-buddy [-c]")
            walk = argv == ["-c"]
            summaries = [(nid, zone_summary(z, walk)) for nid, z in zones()
                         if kernel.to_int(z["present_pages"])]
            if not summaries:
                gdb.write("no populated zones (page allocator not initialised yet)\n")
                return
            for nid, s in summaries:
                gdb.write("Node %d, zone %8s %s\n" % (
                    nid, s["name"], " ".join("%6d" % n for n in s["nr_free"])))
            total_lists = total_pcp = 0
            problems = []
            for nid, s in summaries:
                pages = blocks_to_pages(s["nr_free"])
                total_lists += pages
                total_pcp += s["pcp"]
                gdb.write("Node %d %-6s free_lists=%d pages (zone counter %d) pcp=%d managed=%d "
                          "present=%d\n" % (nid, s["name"], pages, s["free_pages"], s["pcp"],
                                            s["managed"], s["present"]))
                if pages != s["free_pages"]:
                    problems.append("node %d %s: free lists hold %d pages but free_pages says %d"
                                    % (nid, s["name"], pages, s["free_pages"]))
                if s["listed"] is not None and s["listed"] != s["nr_free"]:
                    for order, (a, b) in enumerate(zip(s["listed"], s["nr_free"])):
                        if a != b:
                            problems.append("node %d %s order %d: %d blocks on the list, "
                                            "nr_free %d" % (nid, s["name"], order, a, b))
            gdb.write("total: free_lists=%d pcp=%d nr_free_pages=%d (%d kB)\n" % (
                total_lists, total_pcp, total_lists + total_pcp, (total_lists + total_pcp) * 4))
            for p in problems:
                gdb.write("MISMATCH: %s\n" % p)
            if walk and not problems:
                gdb.write("free lists checked: lengths match nr_free\n")

    Buddy()
