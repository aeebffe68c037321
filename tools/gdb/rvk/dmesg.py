"""rvk-dmesg: the kernel log ring (kernel/log_buffer.h) read from memory,
so the messages of a kernel that hangs or never reached the shell can
still be read."""

import struct

# kernel/log_buffer.h struct Header: ts_ns u64, len u16, level u8, pad[5].
HEADER = struct.Struct("<QHB5x")
LEVELS = ("EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG")


def parse_ring(buf, head, tail):
    """Records (level, ts_ns, text) between the cursors tail..head (byte
    counts since boot; the position in buf is the count mod len(buf)),
    oldest first.  Stops at a record that would run past head (a torn
    write seen from a stopped CPU) instead of reading garbage."""
    size = len(buf)
    if head < tail or head - tail > size:
        raise ValueError("cursors out of range: head=%d tail=%d size=%d" % (head, tail, size))

    def take(pos, n):
        start = pos % size
        if start + n <= size:
            return buf[start:start + n]
        return buf[start:] + buf[:n - (size - start)]

    records = []
    pos = tail
    while pos + HEADER.size <= head:
        ts, length, level = HEADER.unpack(take(pos, HEADER.size))
        pos += HEADER.size
        if pos + length > head:
            break
        records.append((level, ts, take(pos, length).decode("utf-8", "replace")))
        pos += length
    return records


def format_record(level, ts_ns, text):
    # The same shape as the shell's `dmesg` (kernel/log_buffer.cpp).
    line = "<%d>[%5d.%06d] %s" % (level, ts_ns // 1000000000, (ts_ns // 1000) % 1000000, text)
    return line if line.endswith("\n") else line + "\n"


try:
    import gdb
except ImportError:
    gdb = None

if gdb is not None:
    from rvk import kernel

    class Dmesg(gdb.Command):
        """Print the kernel log ring buffer: rvk-dmesg [MAXLEVEL]

Every record kept in k::logbuf::g_log_buf, oldest first, as `dmesg` in the
UART shell prints it (<level>[seconds] text).  With MAXLEVEL (0-7) only
records of that priority or more urgent are shown."""

        def __init__(self):
            super().__init__("rvk-dmesg", gdb.COMMAND_STATUS)

        def invoke(self, arg, from_tty):
            argv = gdb.string_to_argv(arg)
            max_level = 7
            if argv:
                if len(argv) > 1 or not argv[0].isdigit() or int(argv[0]) > 7:
                    raise kernel.KernelError("usage: rvk-dmesg [MAXLEVEL 0-7]")
                max_level = int(argv[0])
            buf_val = kernel.require("k::logbuf::g_log_buf")
            head = kernel.to_int(kernel.require("k::logbuf::g_log_head"))
            tail = kernel.to_int(kernel.require("k::logbuf::g_log_tail"))
            buf = kernel.read_virt(kernel.to_int(buf_val.address), buf_val.type.sizeof)
            try:
                records = parse_ring(buf, head, tail)
            except ValueError as e:
                raise kernel.KernelError("log ring looks corrupted: %s" % e)
            if not records:
                gdb.write("(log ring empty: nothing printed yet)\n")
            for level, ts, text in records:
                if level <= max_level:
                    gdb.write(format_record(level, ts, text))
            if tail:
                gdb.write("(ring wrapped: the oldest %d bytes were overwritten)\n" % tail)

    Dmesg()
