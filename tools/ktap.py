#!/usr/bin/env python3
"""KTAP v1 parser and scenario judge for the kernel's self-test stream.

The kernel prints its self-test results as KTAP v1 (Linux
Documentation/dev-tools/ktap.rst): a "KTAP version 1" header, a plan
"1..N", one "ok N name" / "not ok N name" line per test, subtests as
indented blocks with their own header ("# Subtest: name") and plan, "#"
diagnostic lines and "# SKIP reason" directives.  It ends with a totals
line "# Totals: pass:P fail:F skip:S".  KTAP lines are interleaved with
ordinary console output (printk lines, OpenSBI and U-Boot banners), so the
parser ignores every line it does not recognise.

A scenario passes only when everything is clean (TESTING.md, layer 4).  It
fails on:
  * any "not ok", at any nesting level;
  * a plan whose count differs from the results at its level;
  * a missing top-level header or plan, results numbered out of order,
    a subtest block without its result line;
  * a "Kernel panic - not syncing:" line, a trap dump ("Unhandled trap",
    "Oops"), a TAP "Bail out!";
  * a missing totals line, totals reporting failures, or totals that
    disagree with the results parsed (a sign of lost lines);
  * a non-zero QEMU exit status or a timeout (reported by the caller).

Library use (qemu_run.py, serial_ktap.py):
    parser = KtapParser()
    for line in stream: parser.feed(line)      # parser.done after totals
    verdict = judge(parser.finish(), exit_status=rc, timed_out=False)
    print(verdict.summary_line("scenario"))

Command line: ktap.py LOG [--exit-status N] [--timed-out] judges a saved
console log and exits 0 (pass) or 1 (fail).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from typing import Iterable, List, Optional

# printk prefixes a timestamp "[    0.123456] "; KTAP lines are printed
# without it, but strip one if present so the parser does not depend on it.
_TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
_VERSION = re.compile(r"^K?TAP version (\d+)\s*$")
_PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#.*)?$")
_RESULT = re.compile(r"^(ok|not ok)\s+(\d+)\b\s*(?:-\s+)?(.*)$")
_SUBTEST = re.compile(r"^# Subtest: (.*?)\s*$")
_TOTALS = re.compile(r"^# Totals: pass:(\d+) fail:(\d+) skip:(\d+)(?: total:(\d+))?\s*$")
_BAIL = re.compile(r"^Bail out!")
_PANIC = "Kernel panic - not syncing"
_TRAP = re.compile(r"Unhandled trap|\bOops\b")


def strip_console_line(raw: str) -> str:
    """Drops the line ending, a carriage return and a printk timestamp."""
    line = raw.rstrip("\r\n").replace("\r", "")
    return _TIMESTAMP.sub("", line, count=1)


@dataclass
class Result:
    ok: bool
    number: int
    name: str
    directive: Optional[str]  # "SKIP" or "TODO"
    reason: str
    line_no: int
    child: Optional["Block"] = None

    @property
    def skipped(self) -> bool:
        return self.directive == "SKIP"

    @property
    def is_leaf(self) -> bool:
        return self.child is None or not self.child.results


@dataclass
class Block:
    indent: int
    line_no: int
    name: str = ""
    plan: Optional[int] = None
    plan_line: int = 0
    results: List[Result] = field(default_factory=list)
    diagnostics: List[str] = field(default_factory=list)
    # A finished subtest block waits here for the parent's result line.
    pending_child: Optional["Block"] = None
    has_content: bool = False


@dataclass
class Totals:
    passed: int
    failed: int
    skipped: int
    total: Optional[int]
    line_no: int


@dataclass
class Report:
    root: Optional[Block]
    totals: Optional[Totals]
    problems: List[str]
    lines: List[str]


class KtapParser:
    """Incremental parser: feed console lines as they arrive."""

    def __init__(self) -> None:
        self.root: Optional[Block] = None
        self.totals: Optional[Totals] = None
        self.problems: List[str] = []
        self.lines: List[str] = []
        self._stack: List[Block] = []
        self._line_no = 0
        self._finished = False

    @property
    def done(self) -> bool:
        """True once the top-level totals line was seen (the run is over)."""
        return self.totals is not None

    def feed(self, raw: str) -> None:
        if self._finished:
            raise RuntimeError("KtapParser.feed() after finish()")
        self._line_no += 1
        n = self._line_no
        line = strip_console_line(raw)
        self.lines.append(line)
        content = line.lstrip(" ")
        indent = len(line) - len(content)

        # Failure markers count wherever they appear, KTAP or not.
        if _PANIC in line:
            self.problems.append(f"line {n}: kernel panic: {content}")
        elif _TRAP.search(line):
            self.problems.append(f"line {n}: trap dump: {content}")
        if _BAIL.match(content):
            self.problems.append(f"line {n}: {content}")
            return

        kind, match = self._classify(content)
        if kind is None:
            return
        if self.root is None:
            # Console noise before the stream starts may look like KTAP
            # ("ok" from a boot loader); only a top-level header opens it.
            if kind == "version" and indent == 0:
                self.root = Block(indent=0, line_no=n, has_content=True)
                self._stack = [self.root]
            return
        if self.totals is not None:
            if kind in ("version", "plan", "result", "totals"):
                self.problems.append(f"line {n}: KTAP output after the totals line: {content}")
            return
        if kind == "totals":
            self._on_totals(indent, match, n, content)
            return
        if kind == "diag":
            # Diagnostics never change the structure, whatever their indent.
            self._stack[-1].diagnostics.append(content)
            return
        self._place(indent, n)
        block = self._stack[-1]
        if kind == "version":
            self._on_version(block, indent, n)
        elif kind == "subtest":
            if block.results:
                block = self._restart_block(block, indent, n)
            block.name = match.group(1)
            block.has_content = True
        elif kind == "plan":
            self._on_plan(block, int(match.group(1)), n)
        elif kind == "result":
            self._on_result(block, match, n)

    def finish(self) -> Report:
        if not self._finished:
            self._finished = True
            while len(self._stack) > 1:
                self._pop()
            if self.root is not None and self.root.pending_child is not None:
                self._orphan(self.root.pending_child)
        return Report(self.root, self.totals, list(self.problems), self.lines)

    # -- structure -------------------------------------------------------

    @staticmethod
    def _classify(content: str):
        for kind, rx in (("version", _VERSION), ("plan", _PLAN), ("result", _RESULT),
                         ("totals", _TOTALS), ("subtest", _SUBTEST)):
            m = rx.match(content)
            if m:
                return kind, m
        if content.startswith("#"):
            return "diag", None
        return None, None

    def _place(self, indent: int, n: int) -> None:
        """Closes blocks deeper than `indent` and opens one if it is deeper."""
        while len(self._stack) > 1 and indent < self._stack[-1].indent:
            self._pop()
        top = self._stack[-1]
        if indent > top.indent:
            if top.pending_child is not None:
                self._orphan(top.pending_child)
                top.pending_child = None
            self._stack.append(Block(indent=indent, line_no=n))
        elif indent < top.indent:
            self.problems.append(f"line {n}: indentation {indent} matches no open KTAP block")

    def _pop(self) -> None:
        child = self._stack.pop()
        parent = self._stack[-1]
        if parent.pending_child is not None:
            self._orphan(parent.pending_child)
        parent.pending_child = child

    def _orphan(self, block: Block) -> None:
        name = block.name or "(unnamed)"
        self.problems.append(
            f"line {block.line_no}: subtest '{name}' has no result line in its parent")

    def _restart_block(self, block: Block, indent: int, n: int) -> Block:
        """A second subtest header at the same depth: the previous subtest's
        result line in the parent is missing."""
        self._stack.pop()
        self._orphan(block)
        fresh = Block(indent=indent, line_no=n)
        self._stack.append(fresh)
        return fresh

    def _on_version(self, block: Block, indent: int, n: int) -> None:
        if block is self.root:
            self.problems.append(f"line {n}: second top-level 'KTAP version' header "
                                 f"(first at line {self.root.line_no}): did the kernel restart?")
            return
        if block.has_content:
            block = self._restart_block(block, indent, n)
        block.has_content = True

    def _on_plan(self, block: Block, count: int, n: int) -> None:
        if block.plan is not None:
            self.problems.append(f"line {n}: second plan in {self._label(block)} "
                                 f"(first at line {block.plan_line})")
            return
        block.plan = count
        block.plan_line = n
        block.has_content = True

    def _on_result(self, block: Block, m: re.Match, n: int) -> None:
        ok = m.group(1) == "ok"
        number = int(m.group(2))
        rest = m.group(3)
        name, directive, reason = rest.strip(), None, ""
        if " #" in rest or rest.startswith("#"):
            name, _, comment = rest.partition("#")
            name = name.strip()
            comment = comment.strip()
            word = comment.split(" ", 1)
            if word[0].upper() in ("SKIP", "TODO"):
                directive = word[0].upper()
                reason = word[1].strip() if len(word) > 1 else ""
        expected = len(block.results) + 1
        if number != expected:
            self.problems.append(f"line {n}: result numbered {number} in "
                                 f"{self._label(block)}, expected {expected}")
        result = Result(ok, number, name, directive, reason, n, block.pending_child)
        block.pending_child = None
        if result.child is not None:
            child = result.child
            if not child.name:
                child.name = name
            if ok and directive is None and _has_failure(child):
                self.problems.append(f"line {n}: 'ok' reported for subtest '{name}' "
                                     "although one of its own tests failed")
        block.results.append(result)
        block.has_content = True

    def _on_totals(self, indent: int, m: re.Match, n: int, content: str) -> None:
        if indent != 0:
            # Per-suite totals lines (Linux KUnit prints them) are diagnostics.
            return
        # The totals line ends the stream: every block is complete by now.
        while len(self._stack) > 1:
            self._pop()
        if self.root is not None and self.root.pending_child is not None:
            self._orphan(self.root.pending_child)
            self.root.pending_child = None
        total = int(m.group(4)) if m.group(4) is not None else None
        self.totals = Totals(int(m.group(1)), int(m.group(2)), int(m.group(3)), total, n)

    def _label(self, block: Block) -> str:
        if block is self.root:
            return "the top-level block"
        return f"subtest '{block.name or '(unnamed)'}'"


def _has_failure(block: Block) -> bool:
    return any(not r.ok or (r.child is not None and _has_failure(r.child)) for r in block.results)


@dataclass
class Verdict:
    passed: bool
    problems: List[str]
    leaf_pass: int
    leaf_fail: int
    leaf_skip: int
    suites: int
    totals: Optional[Totals]

    def summary_line(self, scenario: str, seconds: Optional[float] = None) -> str:
        took = f" in {seconds:.1f} s" if seconds is not None else ""
        counts = (f"{self.leaf_pass + self.leaf_fail + self.leaf_skip} tests in {self.suites} "
                  f"suites: pass:{self.leaf_pass} fail:{self.leaf_fail} skip:{self.leaf_skip}")
        if self.passed:
            return f"PASS {scenario}: {counts}{took}"
        first = self.problems[0] if self.problems else "unknown failure"
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"FAIL {scenario}: {first}{more}; {counts}{took}"


def _walk(block: Block, path: str, problems: List[str], counts: List[int]) -> None:
    label = path or "top level"
    if block.plan is not None and block.plan != len(block.results):
        problems.append(f"plan mismatch in {label}: planned {block.plan}, "
                        f"got {len(block.results)} results (line {block.plan_line})")
    for r in block.results:
        name = f"{path}.{r.name}" if path else r.name
        if not r.ok:
            problems.append(f"not ok: {name} (line {r.line_no})")
        if r.is_leaf:
            if not r.ok:
                counts[1] += 1
            elif r.skipped:
                counts[2] += 1
            else:
                counts[0] += 1
        if r.child is not None:
            _walk(r.child, name, problems, counts)


def judge(report: Report, exit_status: Optional[int] = None, timed_out: bool = False,
          timeout_seconds: Optional[float] = None) -> Verdict:
    """Applies every failure rule to a parsed stream.

    exit_status: QEMU's exit status (None when unknown, e.g. a real board).
    """
    problems: List[str] = []
    if timed_out:
        extra = f" after {timeout_seconds:g} s" if timeout_seconds is not None else ""
        problems.append(f"timeout{extra}: the kernel did not finish")
    if exit_status is not None and exit_status != 0:
        problems.append(f"QEMU exit status {exit_status} (non-zero: the kernel reported failure "
                        "or QEMU failed)")
    counts = [0, 0, 0]
    suites = 0
    if report.root is None:
        problems.append("no top-level 'KTAP version 1' header: the self-tests never started")
    else:
        if report.root.plan is None:
            problems.append("missing top-level plan '1..N'")
        suites = len(report.root.results)
        _walk(report.root, "", problems, counts)
    problems.extend(report.problems)
    t = report.totals
    if t is None:
        problems.append("no '# Totals: pass:P fail:F skip:S' line: the run did not complete")
    else:
        if t.failed:
            problems.append(f"totals line reports {t.failed} failed tests (line {t.line_no})")
        if t.total is not None and t.total != t.passed + t.failed + t.skipped:
            problems.append(f"totals line is inconsistent: total:{t.total} != "
                            f"pass+fail+skip (line {t.line_no})")
        if (t.passed, t.failed, t.skipped) != tuple(counts):
            problems.append(
                f"totals pass:{t.passed} fail:{t.failed} skip:{t.skipped} disagree with the "
                f"results parsed pass:{counts[0]} fail:{counts[1]} skip:{counts[2]} "
                "(lost or garbled console lines?)")
    return Verdict(not problems, problems, counts[0], counts[1], counts[2], suites, t)


def parse_lines(lines: Iterable[str]) -> Report:
    parser = KtapParser()
    for line in lines:
        parser.feed(line)
    return parser.finish()


def judge_lines(lines: Iterable[str], **kwargs) -> Verdict:
    return judge(parse_lines(lines), **kwargs)


def print_verdict(verdict: Verdict, scenario: str, seconds: Optional[float] = None,
                  out=None) -> None:
    """One verdict line, then every problem on its own line when failing."""
    out = out or sys.stdout
    print(verdict.summary_line(scenario, seconds), file=out)
    if not verdict.passed:
        for p in verdict.problems:
            print(f"  - {p}", file=out)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Judge a saved KTAP console log.")
    ap.add_argument("log", help="console log file, or - for standard input")
    ap.add_argument("--exit-status", type=int, default=None,
                    help="QEMU exit status to include in the verdict")
    ap.add_argument("--timed-out", action="store_true", help="the run hit its timeout")
    ap.add_argument("--name", default=None, help="scenario name for the verdict line")
    args = ap.parse_args(argv)
    try:
        if args.log == "-":
            text = sys.stdin.read()
        else:
            with open(args.log, encoding="utf-8", errors="replace") as f:
                text = f.read()
    except OSError as e:
        print(f"ktap.py: cannot read {args.log}: {e.strerror}", file=sys.stderr)
        return 2
    verdict = judge_lines(text.splitlines(), exit_status=args.exit_status,
                          timed_out=args.timed_out)
    print_verdict(verdict, args.name or args.log)
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
