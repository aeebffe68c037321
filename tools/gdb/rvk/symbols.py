"""rvk-phys-symbols: a second copy of the kernel's symbols at the physical
load address, for the code that runs before the MMU is on.

kernel.elf is linked at KERNEL_VIRT_BASE (0xffffffff80000000,
arch/riscv/boot/early.h) but the loader enters it at RAM base + 0x200000
(0x80200000 on QEMU virt, 0x40200000 on the VisionFive 2) with satp = 0,
and _start_kernel .. early_setup() run there, PC-relative, until head.S
turns paging on (docs/boot-flow.md).  GDB can only name those PCs if the
same ELF is also loaded with every section shifted by
phys_load - link_address (add-symbol-file -o)."""

import gdb

from rvk import kernel

DEFAULT_PHYS_LOAD = 0x80200000  # QEMU virt: RAM 0x80000000 + text_offset 0x200000
MASK64 = (1 << 64) - 1


def link_address():
    sym = kernel.kernel_objfile().lookup_global_symbol("_start")
    if sym is None:
        raise kernel.KernelError("kernel.elf has no _start symbol")
    return int(sym.value().address) & MASK64


class PhysSymbols(gdb.Command):
    """Load the kernel's symbols a second time at the physical load address:
rvk-phys-symbols [PHYS_LOAD]

PHYS_LOAD defaults to arch::g_layout.kernel_phys when the kernel has
already filled it in, else 0x80200000 (QEMU virt; 0x40200000 on the
VisionFive 2).  The offset is PHYS_LOAD - _start.  Run it again with
another address to replace the copy; `rvk-phys-symbols off` removes it."""

    def __init__(self):
        super().__init__("rvk-phys-symbols", gdb.COMMAND_FILES)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if len(argv) > 1:
            raise kernel.KernelError("usage: rvk-phys-symbols [PHYS_LOAD | off]")
        path = kernel.kernel_objfile().filename
        if kernel.phys_load is not None:
            gdb.execute("remove-symbol-file -a %#x" % kernel.phys_load, to_string=True)
            kernel.phys_load = None
        if argv == ["off"]:
            return
        if argv:
            phys = int(gdb.parse_and_eval(argv[0])) & MASK64
        else:
            phys = self.runtime_phys() or DEFAULT_PHYS_LOAD
        link = link_address()
        offset = (phys - link) & MASK64
        gdb.execute("add-symbol-file %s -o %#x" % (path, offset), to_string=True)
        kernel.phys_load, kernel.link_base = phys, link
        gdb.write("kernel symbols at %#x (physical, before the MMU is on) and %#x (virtual)\n"
                  % (phys, link))

    @staticmethod
    def runtime_phys():
        if not kernel.paging_on():
            return None  # g_layout is not readable at its link address yet
        try:
            return kernel.layout()["kernel_phys"] or None
        except (gdb.error, gdb.MemoryError):
            return None


PhysSymbols()


class EarlyValue(gdb.Function):
    """$rvk_early(VAR): VAR at the address it has right now.

With the MMU off (early boot) a global lives at its physical address, but
`print VAR` reads its link (virtual) address and fails; `print
$rvk_early(arch::g_early_boot)` reads the physical copy.  Once paging is
on it is VAR itself."""

    def __init__(self):
        super().__init__("rvk_early")

    def invoke(self, value):
        if value.address is None:
            raise kernel.KernelError("$rvk_early needs a variable, not a value")
        return kernel.at_runtime_address(value)


EarlyValue()
