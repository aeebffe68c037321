"""Reading the kernel from GDB: symbols in the kernel's own objfile, plain
integers out of gdb.Values, physical memory, intrusive lists.

`make gdb` loads kernel.elf twice: at its link (virtual) address, and again
with an offset at the physical load address for the code that runs before
the MMU is on (tools/gdb/gdbinit).  A plain gdb.lookup_*_symbol could land
in the physical copy, whose data addresses are wrong once paging is on, so
every lookup here goes to the objfile loaded without an offset.
"""

import gdb

# Names whose C++ spelling GDB prints for unnamed namespaces.
ANON = "(anonymous namespace)"
MASK64 = (1 << 64) - 1

# Where the loader put the image (set by rvk-phys-symbols); with the MMU
# off, a variable linked at V lives at V - link_base + phys_load.
phys_load = None
link_base = None


class KernelError(gdb.GdbError):
    """A readable error for the user (no Python traceback)."""


def kernel_objfile():
    """The objfile holding the kernel at its link address (the first one
    loaded: `file kernel.elf`)."""
    for objfile in gdb.objfiles():
        if objfile.is_valid() and objfile.filename and objfile.filename.endswith(".elf"):
            return objfile
    raise KernelError("no kernel symbols loaded: run `file build/kernel/kernel.elf` first")


def lookup(name, file=None):
    """The gdb.Value of a global/static variable of the kernel, None if the
    kernel has no such variable.

    `name` is fully qualified; a static in an unnamed namespace may be
    given with or without its "(anonymous namespace)::" part (e.g.
    "arch::g_cpus" finds arch::(anonymous namespace)::g_cpus).  File-local
    names can repeat across translation units: `file` (a source path
    suffix such as "mm/vmalloc.cpp") picks the one defined there."""
    candidates = [name]
    if ANON not in name and "::" in name:
        scope, _, base = name.rpartition("::")
        candidates.append("%s::%s::%s" % (scope, ANON, base))
    objfile = kernel_objfile()

    def is_var(sym):
        # LOC_UNRESOLVED: found through an `extern` declaration before the
        # defining unit's debug info was read; gdb resolves it through the
        # ELF symbol table of the first objfile, the virtual one.
        return sym is not None and (sym.is_variable or
                                    sym.addr_class == gdb.SYMBOL_LOC_UNRESOLVED)

    for candidate in candidates:
        if file is None:
            for finder in (objfile.lookup_global_symbol, objfile.lookup_static_symbol):
                sym = finder(candidate)
                if is_var(sym):
                    return sym.value()
            continue
        syms = [gdb.lookup_global_symbol(candidate)] + gdb.lookup_static_symbols(candidate)
        for sym in syms:
            if (is_var(sym) and sym.symtab is not None
                    and sym.symtab.objfile == objfile and sym.symtab.filename.endswith(file)):
                return sym.value()
    return None


def paging_on():
    satp = read_register("satp")
    return satp is None or (satp >> 60) != 0


def at_runtime_address(value):
    """value itself once paging is on; before that the same object at its
    physical address (early boot runs with satp = 0)."""
    if value is None or paging_on() or phys_load is None or link_base is None:
        return value
    addr = int(value.address) & MASK64
    if addr < link_base:
        return value
    moved = addr - link_base + phys_load
    return gdb.Value(moved).cast(value.type.pointer()).dereference()


def require(name, file=None):
    value = at_runtime_address(lookup(name, file))
    if value is None:
        raise KernelError("symbol %s%s not found in %s (kernel too old or too new for "
                          "these helpers?)" % (name, " of " + file if file else "",
                                               kernel_objfile().filename))
    return value


def data_fields(t):
    """Non-static members (static members have no bit position)."""
    return [f for f in t.fields() if hasattr(f, "bitpos")]


def to_int(value):
    """A Python int from an integer, pointer, enum, bool, function or
    std::atomic<> gdb.Value (libstdc++ keeps an atomic's value in _M_i of
    its base class; static members like is_always_lock_free are skipped)."""
    for _ in range(6):
        t = value.type.strip_typedefs()
        if t.code == gdb.TYPE_CODE_STRUCT:
            fields = data_fields(t)
            named = [f for f in fields if f.name == "_M_i"]
            if named:
                value = value[named[0]]
            elif len(fields) == 1:
                value = value[fields[0]]
            else:
                raise KernelError("cannot read %s as an integer" % t)
            continue
        if t.code == gdb.TYPE_CODE_FUNC:
            return int(value.address.cast(gdb.lookup_type("unsigned long")))
        if t.code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_ARRAY):
            if t.code == gdb.TYPE_CODE_ARRAY:
                value = value.address
            return int(value.cast(gdb.lookup_type("unsigned long")))
        return int(value)
    raise KernelError("cannot read %s as an integer" % value.type)


def field_offset(struct_type, name):
    """Byte offset of a member (bitpos / 8)."""
    for f in struct_type.strip_typedefs().fields():
        if f.name == name:
            return f.bitpos // 8
    raise KernelError("%s has no member %s" % (struct_type, name))


def container_of(node_addr, struct_type, member):
    """The struct_type object whose `member` ListNode is at node_addr."""
    addr = node_addr - field_offset(struct_type, member)
    return gdb.Value(addr).cast(struct_type.pointer()).dereference()


def list_nodes(head, limit=1 << 20):
    """Addresses of the ListNodes on a k::ListHead (lib/list.h: a circular
    list through a sentinel ListNode `head_`), at most `limit` of them."""
    sentinel = head["head_"]
    start = to_int(sentinel.address)
    node = to_int(sentinel["next"])
    seen = 0
    while node != start:
        if node == 0:
            raise KernelError("list at %#x is broken: NULL next pointer" % start)
        if seen >= limit:
            raise KernelError("list at %#x: more than %d entries (corrupted?)" % (start, limit))
        yield node
        seen += 1
        node = to_int(gdb.Value(node).cast(sentinel.type.pointer())["next"])


def c_string(value, limit=64):
    try:
        return value.string(length=limit) if value.type.code == gdb.TYPE_CODE_ARRAY \
            else value.string()
    except gdb.error:
        return "<unreadable %#x>" % to_int(value)


def char_array(value):
    """A NUL-terminated char[] member as str."""
    raw = bytes(int(value[i]) & 0xff for i in range(value.type.sizeof))
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def read_virt(addr, size):
    return bytes(gdb.selected_inferior().read_memory(addr, size))


def layout():
    """arch::g_layout as a dict of ints."""
    v = require("arch::g_layout")
    return {f.name: to_int(v[f.name]) for f in v.type.strip_typedefs().fields()}


class PhysReader:
    """Reads physical memory: through the kernel's linear map once paging
    is on, otherwise (MMU off, or before early boot filled g_layout) through
    QEMU's gdbstub physical-memory mode (packet Qqemu.PhyMemMode)."""

    def __init__(self):
        self.lay = layout()
        satp = read_register("satp")
        self.paging = satp is not None and (satp >> 60) != 0 and self.lay["linear_base"] != 0

    def linear(self, pa):
        base, ram = self.lay["linear_base"], self.lay["phys_ram_base"]
        if pa < ram or pa - ram >= self.lay["linear_size"]:
            return None
        return pa - ram + base

    def read(self, pa, size):
        va = self.linear(pa) if self.paging else None
        if va is not None:
            try:
                return read_virt(va, size)
            except gdb.MemoryError:
                pass  # a no-map hole of the linear map: try physical mode
        return read_phys_qemu(pa, size)

    def u64(self, pa):
        return int.from_bytes(self.read(pa, 8), "little")


def read_phys_qemu(pa, size):
    try:
        gdb.execute("maintenance packet Qqemu.PhyMemMode:1", to_string=True)
    except gdb.error as e:
        raise KernelError("cannot read physical %#x: not through the linear map, and the "
                          "gdbstub has no physical mode (%s)" % (pa, e))
    try:
        return read_virt(pa, size)
    except gdb.MemoryError:
        raise KernelError("physical address %#x is not readable" % pa)
    finally:
        gdb.execute("maintenance packet Qqemu.PhyMemMode:0", to_string=True)


def read_register(name):
    """A register of the selected thread as int, None if the target has no
    such register (or no thread is running)."""
    try:
        return int(gdb.parse_and_eval("$" + name)) & ((1 << 64) - 1)
    except (gdb.error, ValueError):
        return None


def symbolize(addr):
    """'function+0xoff' for a code address, or '' if none."""
    block = None
    try:
        block = gdb.block_for_pc(addr)
    except RuntimeError:
        block = None
    while block is not None and block.function is None:
        block = block.superblock
    if block is not None and block.function is not None:
        return "%s+%#x" % (block.function.print_name, addr - block.start)
    out = gdb.execute("info symbol %#x" % addr, to_string=True).strip()
    return "" if out.startswith("No symbol") else out.split(" in section")[0].replace(" + ", "+")
