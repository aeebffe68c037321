"""Entry point of the rvkernel GDB helpers: `source tools/gdb/rvk-gdb.py`
(tools/gdb/gdbinit does it for `make gdb`).  Registers the rvk-* commands;
`rvk-help` lists them."""

import os
import sys

import gdb

_HERE = os.path.dirname(os.path.abspath(os.path.expanduser(__file__)))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import importlib  # noqa: E402

MODULES = ("kernel", "symbols", "dmesg", "harts", "pagetable", "buddy", "slab", "vmalloc",
           "vmas")
# Which physical copy of the symbols is loaded survives a reload.
_state = {}
if "rvk.kernel" in sys.modules:
    _old = sys.modules["rvk.kernel"]
    _state = {"phys_load": _old.phys_load, "link_base": _old.link_base}
for _name in MODULES:
    _module = "rvk." + _name
    if _module in sys.modules:  # re-sourcing reloads edited helpers
        importlib.reload(sys.modules[_module])
    else:
        importlib.import_module(_module)
    if _name == "kernel":
        for _key, _value in _state.items():
            setattr(sys.modules[_module], _key, _value)


class RvkHelp(gdb.Command):
    """List the rvkernel helper commands."""

    def __init__(self):
        super().__init__("rvk-help", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        gdb.write("rvkernel GDB helpers (help <command> for details):\n")
        for name, text in (
                ("rvk-dmesg [MAXLEVEL]", "the kernel log ring buffer"),
                ("rvk-harts", "CPUs: hart id, node, online, per-CPU block, current PC"),
                ("rvk-pt VA [ROOT_PA]", "page-table walk with each level's PTE decoded"),
                ("rvk-buddy [-c]", "buddy free lists per zone and order, totals"),
                ("rvk-slab [NAME]", "slab caches (/proc/slabinfo)"),
                ("rvk-vmalloc [-f]", "vmalloc/vmap/ioremap areas (/proc/vmallocinfo)"),
                ("rvk-vmas [PID | -t EXPR]", "a process's VMAs (/proc/PID/maps); tasks"),
                ("rvk-phys-symbols [ADDR|off]", "symbols at the physical load address")):
            gdb.write("  %-28s %s\n" % (name, text))


RvkHelp()
