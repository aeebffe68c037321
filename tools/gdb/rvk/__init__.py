"""Kernel-aware GDB helpers for rvkernel (loaded by tools/gdb/rvk-gdb.py).

The pure parts (log-ring parsing, PTE decoding, page-table walks, buddy
arithmetic) take plain integers and callbacks, so tools/gdb/test_rvk.py
checks them on the host without GDB; the command classes in each module
read the kernel's variables through gdb's Python API.
"""
