// Program loading (Linux fs/binfmt_elf.c load_elf_binary for static
// programs): the ELF's PT_LOAD segments become file-backed private VMAs
// (nothing is copied until a fault), the bss an anonymous VMA, and the
// stack gets argv, envp and the auxiliary vector (psABI / Linux
// create_elf_tables order: argc, argv[], NULL, envp[], NULL, auxv pairs,
// then the strings and AT_RANDOM bytes above).
#pragma once

#include "kernel/sched/task.h"
#include "lib/result.h"

namespace k {

// Limits of an exec (Linux: MAX_ARG_STRLEN 32 pages, ARG_MAX share of the
// stack); larger argument sets are E2BIG.
inline constexpr size_t kMaxArgStrings = 1024;
inline constexpr size_t kMaxArgBytes = 128 * 1024;

// Gives task `t` a new address space running `path` from the initramfs
// and sets up its user frame; on failure `t` keeps what it had. The
// strings are kernel memory. ENOENT, EACCES, ENOEXEC, E2BIG, ENOMEM.
Result<void> exec_into(Task* t, const char* path, const char* const* argv, const char* const* envp);

}  // namespace k
