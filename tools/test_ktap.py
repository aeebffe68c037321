#!/usr/bin/env python3
"""Unit tests for tools/ktap.py: the judge fails on every failure kind and
passes only a clean stream.  Run: python3 -m unittest tools/test_ktap.py"""

import io
import os
import sys
import tempfile
import unittest
import unittest.mock
from contextlib import redirect_stdout

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402

CLEAN = """\
OpenSBI v1.1
[    0.000000] k: booting on hart 2
KTAP version 1
1..2
    KTAP version 1
    # Subtest: buddy
    1..3
    ok 1 buddy_alloc_every_order
    # a diagnostic inside the suite
    ok 2 buddy_merges_freed_buddies
    ok 3 buddy_dma32_stays_below_4g # SKIP no memory above 4 GiB
ok 1 buddy
[    0.200000] slab: cache kmalloc-64 created
    KTAP version 1
    # Subtest: slab
    1..1
    ok 1 slab_objects_come_back
ok 2 slab
# Totals: pass:3 fail:0 skip:1
"""


def lines(text):
    return text.splitlines(keepends=True)


def verdict(text, **kw):
    return ktap.judge_lines(lines(text), **kw)


class CleanStream(unittest.TestCase):
    def test_clean_stream_passes(self):
        v = verdict(CLEAN, exit_status=0)
        self.assertTrue(v.passed, v.problems)
        self.assertEqual((v.leaf_pass, v.leaf_fail, v.leaf_skip, v.suites), (3, 0, 1, 2))
        self.assertTrue(v.summary_line("x").startswith("PASS x: 4 tests in 2 suites"))

    def test_timestamps_and_crlf_are_tolerated(self):
        stamped = "".join(f"[   12.345678] {ln.rstrip()}\r\n" for ln in lines(CLEAN))
        v = verdict(stamped, exit_status=0)
        self.assertTrue(v.passed, v.problems)
        self.assertEqual(v.leaf_pass, 3)

    def test_unknown_exit_status_is_allowed_for_boards(self):
        self.assertTrue(verdict(CLEAN, exit_status=None).passed)

    def test_noise_before_the_header_is_ignored(self):
        self.assertTrue(verdict("ok 1 something from the boot loader\n1..7\n" + CLEAN).passed)

    def test_indented_per_suite_totals_are_diagnostics(self):
        text = CLEAN.replace("ok 1 buddy\n", "    # Totals: pass:2 fail:0 skip:1\nok 1 buddy\n")
        self.assertTrue(verdict(text).passed, verdict(text).problems)

    def test_totals_with_total_field(self):
        text = CLEAN.replace("skip:1\n", "skip:1 total:4\n")
        self.assertTrue(verdict(text).passed)

    def test_empty_suite_with_zero_plan(self):
        text = ("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: none\n    1..0\n"
                "ok 1 none # SKIP no tests selected\n# Totals: pass:0 fail:0 skip:1\n")
        v = verdict(text)
        self.assertTrue(v.passed, v.problems)

    def test_parser_reports_done_at_totals(self):
        p = ktap.KtapParser()
        text = lines(CLEAN)
        for ln in text[:-1]:
            p.feed(ln)
            self.assertFalse(p.done)
        p.feed(text[-1])
        self.assertTrue(p.done)


class FailureKinds(unittest.TestCase):
    def assertFails(self, text, fragment, **kw):
        v = verdict(text, **kw)
        self.assertFalse(v.passed, "judge passed a bad stream")
        self.assertTrue(any(fragment in p for p in v.problems),
                        f"no problem mentions {fragment!r}: {v.problems}")
        self.assertTrue(v.summary_line("s").startswith("FAIL s: "))

    def test_not_ok_in_a_subtest(self):
        text = CLEAN.replace("    ok 2 buddy_merges", "    not ok 2 buddy_merges")
        self.assertFails(text, "not ok: buddy.buddy_merges_freed_buddies")

    def test_not_ok_at_top_level(self):
        self.assertFails(CLEAN.replace("ok 2 slab\n", "not ok 2 slab\n"), "not ok: slab")

    def test_not_ok_with_skip_directive_still_fails(self):
        text = CLEAN.replace("    ok 3 buddy_dma32", "    not ok 3 buddy_dma32")
        self.assertFails(text, "not ok: buddy.buddy_dma32")

    def test_ok_suite_over_failed_case(self):
        text = CLEAN.replace("    ok 1 slab_objects", "    not ok 1 slab_objects")
        self.assertFails(text, "'ok' reported for subtest 'slab'")

    def test_subtest_plan_mismatch(self):
        self.assertFails(CLEAN.replace("    1..3\n", "    1..4\n"),
                         "plan mismatch in buddy: planned 4, got 3")

    def test_top_level_plan_mismatch(self):
        self.assertFails(CLEAN.replace("1..2\n", "1..3\n", 1), "plan mismatch in top level")

    def test_missing_top_level_plan(self):
        self.assertFails(CLEAN.replace("\n1..2\n", "\n", 1), "missing top-level plan")

    def test_missing_header(self):
        self.assertFails(CLEAN.replace("KTAP version 1\n1..2\n", "1..2\n", 1),
                         "no top-level 'KTAP version 1' header")

    def test_empty_output(self):
        self.assertFails("", "no top-level 'KTAP version 1' header", exit_status=0)

    def test_panic_line(self):
        self.assertFails(CLEAN + "[    1.000000] Kernel panic - not syncing: out of memory\n",
                         "kernel panic")

    def test_panic_before_totals(self):
        text = CLEAN.replace("# Totals", "Kernel panic - not syncing: BUG\n# Totals")
        self.assertFails(text, "kernel panic")

    def test_unhandled_trap(self):
        text = CLEAN.replace("ok 2 slab\n", "Unhandled trap: cause 13 (load page fault)\n"
                             "ok 2 slab\n")
        self.assertFails(text, "trap dump")

    def test_oops(self):
        self.assertFails(CLEAN.replace("ok 2 slab\n", "Oops - load access fault\nok 2 slab\n"),
                         "trap dump")

    def test_bail_out(self):
        self.assertFails(CLEAN.replace("ok 2 slab\n", "Bail out! lost the console\nok 2 slab\n"),
                         "Bail out!")

    def test_timeout(self):
        self.assertFails(CLEAN, "timeout after 180 s", timed_out=True, timeout_seconds=180)

    def test_stream_cut_short(self):
        cut = CLEAN[:CLEAN.index("ok 1 buddy\n")]
        v = verdict(cut, timed_out=True)
        self.assertFalse(v.passed)
        self.assertTrue(any("no result line" in p for p in v.problems), v.problems)
        self.assertTrue(any("no '# Totals" in p for p in v.problems), v.problems)

    def test_missing_totals(self):
        self.assertFails(CLEAN.replace("# Totals: pass:3 fail:0 skip:1\n", ""),
                         "no '# Totals")

    def test_totals_report_failures(self):
        text = CLEAN.replace("    ok 2 buddy_merges", "    not ok 2 buddy_merges")
        text = text.replace("pass:3 fail:0", "pass:2 fail:1")
        self.assertFails(text, "totals line reports 1 failed")

    def test_totals_disagree_with_results(self):
        self.assertFails(CLEAN.replace("pass:3", "pass:4"), "disagree with the results")

    def test_inconsistent_total_field(self):
        self.assertFails(CLEAN.replace("skip:1\n", "skip:1 total:9\n"), "inconsistent")

    def test_bad_exit_status(self):
        self.assertFails(CLEAN, "QEMU exit status 1", exit_status=1)

    def test_result_numbered_out_of_order(self):
        self.assertFails(CLEAN.replace("    ok 2 buddy_merges", "    ok 5 buddy_merges"),
                         "numbered 5")

    def test_subtest_block_without_result(self):
        self.assertFails(CLEAN.replace("ok 1 buddy\n", ""), "has no result line")

    def test_second_plan(self):
        self.assertFails(CLEAN.replace("    1..1\n", "    1..1\n    1..1\n"), "second plan")

    def test_second_stream_after_totals(self):
        self.assertFails(CLEAN + CLEAN, "after the totals line")

    def test_restart_before_totals(self):
        self.assertFails(CLEAN.replace("# Totals", "KTAP version 1\n# Totals"),
                         "second top-level")


class CommandLine(unittest.TestCase):
    def run_cli(self, text, *extra):
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
            f.write(text)
        try:
            out = io.StringIO()
            with redirect_stdout(out):
                rc = ktap.main([f.name, *extra])
            return rc, out.getvalue()
        finally:
            os.unlink(f.name)

    def test_cli_passes_clean_log(self):
        rc, out = self.run_cli(CLEAN, "--exit-status", "0", "--name", "demo")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("PASS demo"))

    def test_cli_fails_and_lists_problems(self):
        rc, out = self.run_cli(CLEAN, "--exit-status", "3")
        self.assertEqual(rc, 1)
        self.assertIn("  - QEMU exit status 3", out)

    def test_cli_missing_file(self):
        err = io.StringIO()
        with unittest.mock.patch("sys.stderr", err):
            rc = ktap.main(["/nonexistent/console.log"])
        self.assertEqual(rc, 2)
        self.assertIn("cannot read", err.getvalue())

if __name__ == "__main__":
    unittest.main()
