# Front door over CMake (README.md). Two build trees:
#   build/kernel  the riscv64 kernel (toolchain.cmake)  -> Image, kernel.elf
#   build/host    host tests, fuzzers and QEMU scenarios (ctest)
#
#   make run     boot on QEMU virt (4 harts, 2 NUMA nodes, 6 GiB), run the
#                self-tests, power off with the verdict as exit status
#   make test    every host test, bounded fuzz run and QEMU scenario
#   make shell   boot without self-tests and stay interactive
#   make debug   like `make shell`, but QEMU starts halted with its gdbstub
#                on GDB_PORT; then `make gdb` in another terminal attaches
#                (docs/HACKING.md, "Debugging")
#   make tidy    clang-tidy (.clang-tidy) over TIDY_PATHS (tools/tidy.py)
#   make bench   every benchmark under QEMU -icount plus the host allocator
#                comparison -> bench/results/*.csv, docs/performance.md
#   make fuzz    every libFuzzer target for FUZZ_SECONDS (default 300) each;
#                corpora grow in build/fuzz-corpus/, crashes land in
#                build/fuzz-crashes/ and fail the target
#   make soak    the soak (kernel/soak.cpp) for SOAK_MINUTES (default 10)
#                on the 4-hart 6 GiB machine with a virtio-blk disk
#                (docs/reliability.md)

ARGS     ?=
BOARD    ?= qemu-virt
CONFIG   ?= 4hart-6g-numa
JOBS     ?= $(shell nproc)
BUILD    := build
KBUILD   := $(BUILD)/kernel
HBUILD   := $(BUILD)/host
GEN      := -G Ninja
GDB_PORT ?= 1234
TIDY_PATHS ?= lib mm
FUZZ_SECONDS ?= 300
SOAK_MINUTES ?= 10

.PHONY: all deps kernel host run shell test image clean format format-check \
        compile_commands.json debug gdb tidy bench fuzz soak

all: kernel

deps:
	@tools/deps.sh

kernel: deps
	cmake -S . -B $(KBUILD) $(GEN) -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/toolchain.cmake \
	  -DCMAKE_BUILD_TYPE=Release > /dev/null
	cmake --build $(KBUILD) -j $(JOBS)

host: deps
	cmake -S . -B $(HBUILD) $(GEN) -DCMAKE_BUILD_TYPE=Debug > /dev/null
	cmake --build $(HBUILD) -j $(JOBS)

run: kernel
	python3 tools/qemu_run.py --board $(BOARD) --config $(CONFIG) --echo \
	  --kernel $(KBUILD)/Image --append "$(ARGS)"

shell: kernel
	python3 tools/qemu_run.py --board $(BOARD) --config $(CONFIG) --interactive \
	  --kernel $(KBUILD)/Image --append "selftest=none $(ARGS)"

test: kernel host
	ctest --test-dir $(HBUILD) -j 2 --output-on-failure --timeout 900

image: kernel
	python3 tools/mkdisk.py --board $(BOARD) --kernel $(KBUILD)/Image \
	  --out $(BUILD)/image-$(BOARD).img --tftp-dir $(BUILD)/tftp-$(BOARD) \
	  $(if $(wildcard $(BUILD)/initramfs.cpio),--initrd $(BUILD)/initramfs.cpio,)

compile_commands.json: kernel host
	python3 tools/merge_compile_commands.py $(KBUILD)/compile_commands.json \
	  $(HBUILD)/compile_commands.json > compile_commands.json

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror

# -S: halt before the first instruction; -gdb: the stub on GDB_PORT.
debug: kernel
	python3 tools/qemu_run.py --board $(BOARD) --config $(CONFIG) --interactive \
	  --kernel $(KBUILD)/Image --append "selftest=none $(ARGS)" \
	  --qemu-arg=-S --qemu-arg=-gdb --qemu-arg=tcp::$(GDB_PORT)

# Not depending on `kernel`: the ELF must match the Image QEMU is running.
gdb:
	@test -f $(KBUILD)/kernel.elf || { echo "no $(KBUILD)/kernel.elf: run make kernel"; exit 2; }
	gdb-multiarch -q -x tools/gdb/gdbinit $(KBUILD)/kernel.elf -ex "target remote :$(GDB_PORT)"

tidy: kernel host
	python3 tools/tidy.py -j $(JOBS) $(TIDY_PATHS)

# Benchmarks are not tests (TESTING.md): `make test` only runs their smoke
# checks (bench_smoke, host_alloc_bench_smoke).
bench: kernel host
	python3 bench/run.py --board $(BOARD) --kernel $(KBUILD)/Image \
	  --host-bench $(HBUILD)/tests/bench/host_alloc_bench
	python3 tools/bench_report.py

fuzz: host
	tools/fuzz.sh $(HBUILD)/fuzz $(BUILD)/fuzz-corpus $(BUILD)/fuzz-crashes $(FUZZ_SECONDS)

# Not part of `make test` (ctest runs the ~25 s qemu_soak_smoke instead).
soak: kernel host
	python3 tests/qemu/soak_run.py --kernel $(KBUILD)/Image --initrd $(BUILD)/initramfs.cpio \
	  --seconds $$(( $(SOAK_MINUTES) * 60 )) --log-dir $(BUILD)/qemu-logs --name soak

clean:
	rm -rf $(BUILD)
