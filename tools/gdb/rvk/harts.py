"""rvk-harts: the logical CPU table (arch/riscv/kernel/smp.cpp g_cpus) with
each hart's per-CPU block (arch/percpu.h CpuBlock) and what it is running
now (the PC of its QEMU vCPU thread)."""

import gdb

from rvk import kernel


def thread_states():
    """{tp or sscratch value: (thread, pc, sp, in_user)} for every vCPU.

    In the kernel tp holds the hart's CpuBlock; in user mode tp is the
    user's TLS pointer and sscratch holds the block (docs/boot-flow.md,
    "Registers that matter after boot")."""
    states = {}
    by_index = []
    selected = gdb.selected_thread()
    frame = None
    try:
        frame = gdb.selected_frame()
    except gdb.error:
        pass
    try:
        for thread in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
            thread.switch()
            regs = {n: kernel.read_register(n) for n in ("pc", "sp", "tp", "sscratch")}
            in_user = bool(regs["sscratch"])
            block = regs["sscratch"] if in_user else regs["tp"]
            entry = (thread, regs["pc"], regs["sp"], in_user)
            by_index.append(entry)
            if block:
                states[block] = entry
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
            if frame is not None and frame.is_valid():
                frame.select()
    return states, by_index


def percpu_start():
    """Address of the .percpu template (linker/kernel.ld __percpu_start)."""
    sym = kernel.kernel_objfile().lookup_global_symbol("__percpu_start")
    if sym is None:
        return None
    return kernel.to_int(sym.value().address)


def current_task(block, template):
    """'pid N comm' of the task the scheduler runs on the CPU whose per-CPU
    block is `block` (kernel/sched/sched.cpp per-CPU g_current: the copy is
    at block + (&g_current - __percpu_start)); '' without a scheduler."""
    cur = kernel.lookup("k::g_current", "kernel/sched/sched.cpp")
    if cur is None or template is None:
        return ""
    addr = block + kernel.to_int(cur.address) - template
    task = kernel.to_int(gdb.Value(addr).cast(cur.type.pointer()).dereference())
    if task == 0:
        return "task -"
    t = gdb.Value(task).cast(gdb.lookup_type("k::Task").pointer()).dereference()
    return "task pid=%d %s%s" % (kernel.to_int(t["pid"]), kernel.char_array(t["comm"]),
                                 " (idle)" if bool(t["is_idle"]) else "")


class Harts(gdb.Command):
    """List the CPUs: rvk-harts

Per logical CPU: hart id, NUMA node, online, the CpuBlock (per-CPU area)
address and its fields, and the PC/SP of the hart's vCPU thread with the
function it is in, and the task the scheduler runs there (pid, comm).
Threads are matched to CPUs by the CpuBlock address in
tp (sscratch while in user mode)."""

    def __init__(self):
        super().__init__("rvk-harts", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        if arg.strip():
            raise kernel.KernelError("usage: rvk-harts")
        cpus = kernel.require("arch::g_cpus", "arch/riscv/kernel/smp.cpp")
        nr = kernel.to_int(kernel.require("arch::g_nr_cpus", "arch/riscv/kernel/smp.cpp"))
        if kernel.to_int(cpus) == 0:
            gdb.write("CPU table not built yet (before smp_init_cpus); boot hart only\n")
            nr = 0
        states, by_index = thread_states()
        gdb.write("%-4s %-6s %-4s %-7s %-18s %s\n" % ("cpu", "hartid", "node", "online",
                                                       "CpuBlock", "running"))
        matched = set()
        template = percpu_start()
        for cpu in range(nr):
            info = cpus[cpu]
            block = kernel.to_int(info["block"])
            state = states.get(block) if block else None
            if state is not None:
                matched.add(state[0].num)
                thread, pc, sp, in_user = state
                where = kernel.symbolize(pc) if not in_user else "user mode"
                running = "thread %d pc=%#x sp=%#x %s" % (thread.num, pc, sp, where)
            else:
                running = "-"
            if block:
                task = current_task(block, template)
                if task:
                    running = task + "  " + running
            gdb.write("%-4d %-6d %-4d %-7s %#-18x %s\n" % (
                cpu, kernel.to_int(info["hartid"]), kernel.to_int(info["node"]),
                "yes" if bool(info["online"]) else "no", block, running))
            if block:
                b = gdb.Value(block).cast(gdb.lookup_type("arch::CpuBlock").pointer()).dereference()
                gdb.write("     block: cpu=%d hartid=%d irq_depth=%d stack=[%#x, %#x) kernel_sp=%#x\n"
                          % (kernel.to_int(b["cpu"]), kernel.to_int(b["hartid"]),
                             kernel.to_int(b["irq_depth"]), kernel.to_int(b["stack_base"]),
                             kernel.to_int(b["stack_top"]), kernel.to_int(b["kernel_sp"])))
        for thread, pc, sp, in_user in by_index:
            if thread.num not in matched:
                gdb.write("vCPU thread %d (%s): not a kernel CPU (parked, firmware or before "
                          "per-CPU setup) pc=%#x %s\n" % (thread.num, thread.name or "",
                                                          pc or 0, kernel.symbolize(pc or 0)))


Harts()
