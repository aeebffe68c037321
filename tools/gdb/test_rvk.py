#!/usr/bin/env python3
"""Host unit tests for the GDB helpers' pure parts (no GDB needed): the
log-ring parser, PTE decoding and the page-table walk over a fake physical
memory, the buddy page arithmetic.  Run: python3 -m unittest tools/gdb/test_rvk.py"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rvk import buddy, dmesg, pagetable  # noqa: E402

V, R, W, X, U, G, A, D = (1 << i for i in range(8))


def record(level, ts, text):
    data = text.encode()
    return dmesg.HEADER.pack(ts, len(data), level) + data


class LogRing(unittest.TestCase):
    def test_records_come_back_oldest_first_with_level_and_time(self):
        raw = record(6, 1500000000, "one\n") + record(3, 2000001000, "two\n")
        buf = raw + bytes(256 - len(raw))
        recs = dmesg.parse_ring(buf, len(raw), 0)
        self.assertEqual(recs, [(6, 1500000000, "one\n"), (3, 2000001000, "two\n")])
        self.assertEqual(dmesg.format_record(*recs[1]), "<3>[    2.000001] two\n")

    def test_a_record_split_by_the_wrap_is_joined(self):
        size = 64
        first = record(6, 1, "x" * 20)            # 36 bytes at 0..35 (dropped later)
        second = record(5, 2, "wrapped text!")     # 29 bytes at 36..64 -> wraps
        stream = first + second
        buf = bytearray(size)
        for i, b in enumerate(stream):
            buf[i % size] = b
        recs = dmesg.parse_ring(bytes(buf), len(stream), len(first))
        self.assertEqual(recs, [(5, 2, "wrapped text!")])

    def test_a_torn_record_past_head_is_not_read(self):
        raw = record(6, 1, "complete") + record(6, 2, "torn record")
        buf = raw + bytes(128 - len(raw))
        self.assertEqual(len(dmesg.parse_ring(buf, len(raw) - 3, 0)), 1)

    def test_bad_cursors_are_reported(self):
        with self.assertRaises(ValueError):
            dmesg.parse_ring(bytes(64), 10, 20)
        with self.assertRaises(ValueError):
            dmesg.parse_ring(bytes(64), 200, 0)


class FakeMemory:
    def __init__(self):
        self.words = {}
        self.next_table = 0x80100000

    def table(self):
        pa = self.next_table
        self.next_table += 0x1000
        return pa

    def set(self, table, index, pte):
        self.words[table + 8 * index] = pte

    def read_u64(self, pa):
        return self.words.get(pa, 0)


def pte(pa, flags):
    return ((pa >> 12) << 10) | flags


class PageTableWalk(unittest.TestCase):
    def setUp(self):
        # Sv39: kernel image 4K page, a 2M linear-map page, a 1G page.
        m = self.mem = FakeMemory()
        self.root = m.table()
        l1 = m.table()
        l0 = m.table()
        self.va4k = 0xffffffff80001234
        m.set(self.root, pagetable_index(self.va4k, 2), pte(l1, V))
        m.set(l1, pagetable_index(self.va4k, 1), pte(l0, V))
        m.set(l0, pagetable_index(self.va4k, 0), pte(0x80201000, V | R | X | G | A))
        self.va2m = 0xffffffff80400000 + 0x12345
        m.set(l1, pagetable_index(self.va2m, 1), pte(0x80600000, V | R | W | G | A | D))
        self.va1g = 0xffffffd600000000 + 0x1234567
        m.set(self.root, pagetable_index(self.va1g, 2), pte(0x80000000, V | R | W | G | A | D))

    def walk(self, va):
        return pagetable.walk(va, self.root, 3, self.mem.read_u64)

    def test_4k_leaf_gives_page_plus_offset_and_decodes_every_level(self):
        steps, res = self.walk(self.va4k)
        self.assertEqual(res["pa"], 0x80201234)
        self.assertEqual(res["level"], 0)
        self.assertEqual([s["level"] for s in steps], [2, 1, 0])
        self.assertEqual(res["pte"]["flags"], "VR-X-GA-")

    def test_superpages_keep_the_low_bits_of_the_va(self):
        self.assertEqual(self.walk(self.va2m)[1]["pa"], 0x80600000 + 0x12345)
        _, res = self.walk(self.va1g)
        self.assertEqual((res["pa"], res["level"]), (0x81234567, 2))

    def test_unmapped_and_non_canonical_addresses_fault(self):
        self.assertIn("not mapped", self.walk(0x1000)[1]["fault"])
        self.assertIn("not canonical", self.walk(0x0000008000000000)[1]["fault"])
        # Sv48 accepts what Sv39 rejects.
        self.assertTrue(pagetable.is_canonical(0x0000008000000000, 4))

    def test_misaligned_superpage_and_reserved_encoding_fault(self):
        va = 0xffffffd640000000
        self.mem.set(self.root, pagetable_index(va, 2), pte(0x80200000, V | R | W))
        self.assertIn("misaligned", self.walk(va)[1]["fault"])
        self.mem.set(self.root, pagetable_index(va, 2), pte(0x80000000, V | W))
        self.assertIn("W without R", self.walk(va)[1]["fault"])

    def test_svpbmt_and_napot_bits_are_decoded(self):
        d = pagetable.decode_pte(pte(0x10000000, V | R | W) | (2 << 61) | (1 << 63))
        self.assertEqual((d["pbmt"], d["napot"], d["pa"]), (2, True, 0x10000000))
        self.assertIn("pbmt=IO", d["text"])
        self.assertIn(" N", d["text"])


def pagetable_index(va, level):
    return (va >> (12 + 9 * level)) & 511


class BuddyArithmetic(unittest.TestCase):
    def test_blocks_of_each_order_count_as_pages(self):
        self.assertEqual(buddy.blocks_to_pages([1, 1, 0, 2]), 1 + 2 + 16)
        self.assertEqual(buddy.blocks_to_pages([0] * 10 + [124]), 124 * 1024)


if __name__ == "__main__":
    unittest.main()
