#!/usr/bin/env python3
"""Kernel stack overflows are caught and reported, never silent (issue 4
item 9): `oops_test=stack_overflow` recurses on the task stack and
`oops_test=irq_stack_overflow` inside an interrupt handler, on the hart's
IRQ stack. Each run must end in the "kernel stack overflow ..." report
naming the right stack, then a panic (QEMU exit status 1). `oops_test=irq`
oopses inside an interrupt handler: its backtrace must cross from the IRQ
stack to the interrupted stack.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CASES = [
    ("stack_overflow", ["kernel stack overflow on CPU 0 (hart 0), task stack:",
                        "Unhandled trap: kernel stack overflow",
                        "] k::(anonymous namespace)::oops_test_recurse(",
                        "Kernel panic - not syncing: kernel stack overflow on CPU 0 (task stack)"]),
    ("irq_stack_overflow", ["kernel stack overflow on CPU 0 (hart 0), irq stack:",
                            "Unhandled trap: kernel stack overflow",
                            "] k::(anonymous namespace)::oops_test_recurse(",
                            "Kernel panic - not syncing: kernel stack overflow on CPU 0 (irq stack)"]),
    ("irq", ["Unhandled trap: kernel exception (store/AMO page fault)",
             "] k::oops_test_trigger()+0x", "] arch::ipi_interrupt()+0x", "  <IRQ stack end>",
             "] k::oops_test_trigger_in_irq()+0x", "Kernel panic - not syncing: Oops:"]),
]


def run_case(a, what, needles):
    name = "stack_overflow_" + what
    run = subprocess.run([sys.executable, "-B", os.path.join(ROOT, "tools/qemu_run.py"),
                          "--config", "1hart-512m", "--kernel", a.kernel, "--selftest", "none",
                          "--append", "oops_test=" + what, "--name", name, "--log-dir", a.log_dir,
                          "--timeout", a.timeout], capture_output=True, text=True)
    log = open(os.path.join(a.log_dir, name + ".log"), errors="replace").read()
    problems = []
    if run.returncode != 1:
        problems.append("%s: expected the run to fail with status 1, got %d" % (what, run.returncode))
    for needle in needles + ["powering off with failure status"]:
        if needle not in log:
            problems.append("%s: console lacks %r" % (what, needle))
    # The IRQ-stack crossing: the interrupted code's frames come after the marker.
    if what == "irq" and "<IRQ stack end>" in log:
        after = log.split("<IRQ stack end>", 1)[1]
        if "oops_test_trigger_in_irq" not in after.split("Kernel panic", 1)[0]:
            problems.append("irq: the backtrace does not continue on the interrupted stack")
    if problems:
        print(log[-2500:])
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--timeout", default="120")
    a = ap.parse_args()
    problems = []
    for what, needles in CASES:
        problems += run_case(a, what, needles)
    if problems:
        print("FAIL stack_overflow:\n  " + "\n  ".join(problems))
        return 1
    print("PASS stack_overflow: task-stack and irq-stack overflows reported; "
          "irq backtrace crosses stacks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
