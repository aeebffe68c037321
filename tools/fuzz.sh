#!/bin/sh
# `make fuzz`: every libFuzzer target (tests/fuzz) for SECONDS each, longer
# than the bounded runs in `make test`.
#
#   tools/fuzz.sh FUZZ_BIN_DIR CORPUS_DIR CRASH_DIR SECONDS
#
# Each target's corpus grows in CORPUS_DIR/<target> (kept between runs; the
# checked-in seeds under tests/fuzz/corpus are read, never written). A
# crash, sanitizer report, leak or timeout leaves its input in
# CRASH_DIR/<target>/ and makes the script exit 1 after the other targets
# have run. Reproduce one with: build/host/fuzz/<target> <crash file>
set -u
bin_dir=$1 corpus_dir=$2 crash_dir=$3 seconds=$4
repo=$(cd "$(dirname "$0")/.." && pwd)
failed=""

seeds_of() {
  case $1 in
    fdt_fuzz) echo "$repo/tests/fuzz/corpus/fdt $repo/tests/data/dtb" ;;
    cmdline_fuzz) echo "$repo/tests/fuzz/corpus/cmdline" ;;
    elf_fuzz) echo "$repo/tests/fuzz/corpus/elf" ;;
    cpio_fuzz) echo "$repo/tests/fuzz/corpus/cpio" ;;
  esac
}

for target in fdt_fuzz cmdline_fuzz elf_fuzz cpio_fuzz; do
  exe=$bin_dir/$target
  if [ ! -x "$exe" ]; then
    echo "fuzz: $exe missing (make host builds it; needs clang++)" >&2
    failed="$failed $target"
    continue
  fi
  mkdir -p "$corpus_dir/$target" "$crash_dir/$target"
  echo "fuzz: $target for $seconds s (corpus $corpus_dir/$target)"
  # shellcheck disable=SC2046 # the seed directories are separate words
  if ! "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$crash_dir/$target/" \
      "$corpus_dir/$target" $(seeds_of "$target") 2>"$crash_dir/$target/log"; then
    failed="$failed $target"
    tail -40 "$crash_dir/$target/log" >&2
  else
    grep -E "^(stat::number_of_executed_units|stat::new_units_added)" "$crash_dir/$target/log" |
      sed "s/^/fuzz: $target: /"
  fi
done

if [ -n "$failed" ]; then
  echo "fuzz: FAILED:$failed (inputs in $crash_dir)" >&2
  exit 1
fi
echo "fuzz: all targets ran $seconds s without a finding"
