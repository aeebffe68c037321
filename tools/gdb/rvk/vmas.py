"""rvk-vmas: the VMAs of a user address space (mm/vma.h VmaTree: Vma nodes
in a red-black tree keyed by address, RbNode at offset 0 of each Vma), in
the shape of Linux's /proc/PID/maps."""

import gdb

from rvk import kernel

VM_READ, VM_WRITE, VM_EXEC, VM_SHARED, VM_GROWSDOWN = 0x1, 0x2, 0x4, 0x8, 0x100

# Every task is on k::g_all_tasks (kernel/proc/process.cpp) through
# Task::all_node; a user process's Task::mm points to its MmStruct, whose
# `vmas` is the VmaTree (mm/mm_struct.h).
TASK_LIST = ("k::g_all_tasks", "kernel/proc/process.cpp")


def vma_flags(flags):
    return "%s%s%s%s" % ("r" if flags & VM_READ else "-", "w" if flags & VM_WRITE else "-",
                         "x" if flags & VM_EXEC else "-", "s" if flags & VM_SHARED else "p")


def tree_vmas(tree, limit=70000):
    """The Vma values of a k::VmaTree in address order."""
    vma_ptr = gdb.lookup_type("k::Vma").pointer()
    node = tree["root_"]["node"]
    stack, seen = [], 0
    while stack or kernel.to_int(node):
        while kernel.to_int(node):
            stack.append(node)
            node = node["left"]
        node = stack.pop()
        seen += 1
        if seen > limit:
            raise kernel.KernelError("VMA tree has more than %d nodes (corrupted?)" % limit)
        yield node.cast(vma_ptr).dereference()
        node = node["right"]


def find_vma_tree(value, depth=3):
    """The first k::VmaTree inside `value` (a struct, or a pointer to one),
    searching members `depth` levels deep."""
    t = value.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        if kernel.to_int(value) == 0:
            return None
        value, t = value.dereference(), t.target().strip_typedefs()
    if t.code != gdb.TYPE_CODE_STRUCT:
        return None
    if t.tag == "k::VmaTree":
        return value
    if depth == 0:
        return None
    for f in t.fields():
        if f.is_base_class or f.name is None or f.bitsize:
            continue
        ft = f.type.strip_typedefs()
        if ft.code == gdb.TYPE_CODE_STRUCT or (
                ft.code == gdb.TYPE_CODE_PTR and
                ft.target().strip_typedefs().code == gdb.TYPE_CODE_STRUCT):
            try:
                found = find_vma_tree(value[f], depth - 1)
            except gdb.MemoryError:
                found = None
            if found is not None:
                return found
    return None


def tasks():
    head = kernel.lookup(*TASK_LIST)
    if head is None:
        raise kernel.KernelError(
            "this kernel has no process layer (no %s in %s); give the address space "
            "directly: rvk-vmas -t EXPR (EXPR: a k::VmaTree or an object holding one)"
            % TASK_LIST)
    task_type = gdb.lookup_type("k::Task")
    for node in kernel.list_nodes(head, limit=1 << 16):
        yield kernel.container_of(node, task_type, "all_node")


def find_process(pid):
    """The Task with this pid, or a KernelError saying what is missing."""
    for t in tasks():
        if kernel.to_int(t["pid"]) == pid:
            if kernel.to_int(t["mm"]) == 0:
                raise kernel.KernelError("pid %d (%s) is a kernel thread: no address space"
                                         % (pid, kernel.char_array(t["comm"])))
            return t
    raise kernel.KernelError("no task with pid %d (rvk-vmas with no argument lists the "
                             "processes)" % pid)


class Vmas(gdb.Command):
    """List a process's VMAs: rvk-vmas PID | rvk-vmas -t EXPR | rvk-vmas

Prints start-end, permissions (r w x, p/s), file page offset, backing
(anon, file identity, [stack] for a grows-down VMA) and size, like
/proc/PID/maps, then the VMA count and total pages and whether they match
the tree's own counters.  PID is looked up on the kernel's task list
(k::g_all_tasks); without arguments the tasks are listed.  -t EXPR walks
any k::VmaTree (or the first one inside the object EXPR names, e.g. a
k::MmStruct pointer)."""

    def __init__(self):
        super().__init__("rvk-vmas", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if len(argv) == 2 and argv[0] == "-t":
            tree = find_vma_tree(gdb.parse_and_eval(argv[1]))
            what = argv[1]
        elif len(argv) == 1 and argv[0].isdigit():
            task = find_process(int(argv[0]))
            tree = task["mm"].dereference()["vmas"]
            what = "pid %s (%s)" % (argv[0], kernel.char_array(task["comm"]))
        elif not argv:
            for t in tasks():
                mm = kernel.to_int(t["mm"])
                gdb.write("pid %5d %-16s %s\n" % (
                    kernel.to_int(t["pid"]), kernel.char_array(t["comm"]),
                    "mm=%#x" % mm if mm else "kernel thread"))
            return
        else:
            raise kernel.KernelError("usage: rvk-vmas [PID | -t EXPR]")
        if tree is None:
            raise kernel.KernelError("%s holds no k::VmaTree" % what)
        count = pages = 0
        for v in tree_vmas(tree):
            start, end = kernel.to_int(v["start"]), kernel.to_int(v["end"])
            flags = kernel.to_int(v["flags"])
            identity = kernel.to_int(v["file"]["identity"])
            if identity:
                backing = "file@%#x size=%d" % (identity, kernel.to_int(v["file"]["size"]))
            else:
                backing = "[stack]" if flags & VM_GROWSDOWN else "[anon]"
            gdb.write("%016x-%016x %s %08x %8d kB %s\n" % (
                start, end, vma_flags(flags), kernel.to_int(v["pgoff"]) << 12,
                (end - start) >> 10, backing))
            count += 1
            pages += (end - start) >> 12
        map_count, total = kernel.to_int(tree["count_"]), kernel.to_int(tree["total_pages_"])
        gdb.write("%s: %d VMAs, %d pages (%d kB)%s\n" % (
            what, count, pages, pages * 4,
            "" if (count, pages) == (map_count, total) else
            "  MISMATCH: tree counters say %d VMAs, %d pages" % (map_count, total)))


Vmas()
