// ELF64 executable validation for exec (System V gABI "Object Files" and
// "Program Loading", ELF-64 Object File Format 1.5; RISC-V ELF psABI).
//
// parse_elf() checks an image held in memory before anything of it is used
// and reduces it to an ElfImage: the PT_LOAD segments the exec path maps as
// file-backed private VMAs, the entry point, the AT_PHDR/AT_PHENT/AT_PHNUM
// auxv values and the stack's executability. Every rule it enforces is listed
// at parse_elf(); a violation is ENOEXEC with a one-line reason, never a
// crash, whatever the bytes.
//
// Only static programs are accepted: ET_EXEC, and ET_DYN without PT_INTERP
// (static-pie), which needs a load bias chosen by the caller
// (apply_load_bias()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/result.h"

namespace k::elf {

// --- On-disk structures (gABI "ELF Header", "Program Header") ---

inline constexpr size_t kEiNident = 16;

struct Elf64_Ehdr {
  uint8_t e_ident[kEiNident];
  uint16_t e_type;
  uint16_t e_machine;
  uint32_t e_version;
  uint64_t e_entry;
  uint64_t e_phoff;
  uint64_t e_shoff;
  uint32_t e_flags;
  uint16_t e_ehsize;
  uint16_t e_phentsize;
  uint16_t e_phnum;
  uint16_t e_shentsize;
  uint16_t e_shnum;
  uint16_t e_shstrndx;
};
static_assert(sizeof(Elf64_Ehdr) == 64);

struct Elf64_Phdr {
  uint32_t p_type;
  uint32_t p_flags;
  uint64_t p_offset;
  uint64_t p_vaddr;
  uint64_t p_paddr;
  uint64_t p_filesz;
  uint64_t p_memsz;
  uint64_t p_align;
};
static_assert(sizeof(Elf64_Phdr) == 56);

// e_ident indices and values.
inline constexpr unsigned kEiClass = 4, kEiData = 5, kEiVersion = 6;
inline constexpr uint8_t kElfClass64 = 2;
inline constexpr uint8_t kElfData2Lsb = 1;
inline constexpr uint8_t kEvCurrent = 1;

// e_type.
inline constexpr uint16_t kEtExec = 2;
inline constexpr uint16_t kEtDyn = 3;

// e_machine: EM_RISCV (gABI machine list).
inline constexpr uint16_t kEmRiscv = 243;

// e_phnum escape for extended numbering (gABI "Extended numbering").
inline constexpr uint16_t kPnXnum = 0xffff;

// p_type.
inline constexpr uint32_t kPtNull = 0;
inline constexpr uint32_t kPtLoad = 1;
inline constexpr uint32_t kPtDynamic = 2;
inline constexpr uint32_t kPtInterp = 3;
inline constexpr uint32_t kPtNote = 4;
inline constexpr uint32_t kPtPhdr = 6;
inline constexpr uint32_t kPtTls = 7;
inline constexpr uint32_t kPtGnuStack = 0x6474e551;

// p_flags.
inline constexpr uint32_t kPfX = 1;
inline constexpr uint32_t kPfW = 2;
inline constexpr uint32_t kPfR = 4;

// --- Parsed result ---

// Segment protection in mmap's PROT_* encoding (Linux uapi mman-common.h).
inline constexpr uint32_t kProtRead = 1;
inline constexpr uint32_t kProtWrite = 2;
inline constexpr uint32_t kProtExec = 4;

// One PT_LOAD segment with memsz > 0. [vaddr, vaddr + filesz) comes from
// file bytes [offset, offset + filesz); the rest up to memsz is zero (bss).
struct LoadSegment {
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t offset = 0;
  uint64_t filesz = 0;
  uint32_t prot = 0;  // kProt* bits
};

struct ElfImage {
  // Linux's binfmt_elf maps at most this many segments in practice; static
  // glibc programs have 2-4. More is rejected rather than truncated.
  static constexpr size_t kMaxLoadSegments = 16;

  uint16_t type = 0;              // kEtExec or kEtDyn
  bool needs_load_bias = false;   // ET_DYN: the caller picks a bias
  uint64_t load_bias = 0;         // applied by apply_load_bias()
  uint64_t entry = 0;             // AT_ENTRY
  uint64_t phdr_vaddr = 0;        // AT_PHDR, valid if phdr_mapped
  bool phdr_mapped = false;       // the headers lie in a PT_LOAD's file bytes
  uint16_t phnum = 0;             // AT_PHNUM
  uint16_t phent = 0;             // AT_PHENT
  bool stack_executable = false;  // PT_GNU_STACK has PF_X
  bool has_gnu_stack = false;
  uint64_t max_align = 0;  // largest PT_LOAD p_align (>= page); bias alignment
  // Page-aligned span of all segments: [min_vaddr, max_vaddr). max_vaddr is
  // where the heap (brk) may start.
  uint64_t min_vaddr = 0;
  uint64_t max_vaddr = 0;
  LoadSegment segments[kMaxLoadSegments];
  size_t nr_segments = 0;
};

struct ElfLimits {
  uint64_t task_size = 0;      // exclusive top of user space (TASK_SIZE)
  uint64_t mmap_min_addr = 0;  // lowest mappable address (Linux default 4096)
};

// Validates `file` (the whole executable) and fills `out`. On failure returns
// ENOEXEC and, if `why` is non-null, stores a static string naming the rule
// that failed. Rules:
//   - e_ident: \x7fELF, ELFCLASS64, ELFDATA2LSB, EV_CURRENT; e_version 1
//   - e_machine EM_RISCV; e_type ET_EXEC or ET_DYN
//   - e_phentsize == sizeof(Elf64_Phdr); 1 <= e_phnum, no PN_XNUM, table
//     <= 64 KiB (Linux binfmt_elf) and inside the file
//   - no PT_INTERP (dynamically linked programs are not supported)
//   - at most one PT_PHDR, before any PT_LOAD (gABI), covered by a PT_LOAD
//   - PT_LOAD: p_filesz <= p_memsz; file range inside the file; p_align 0/1
//     or a power of two with p_vaddr == p_offset mod p_align; p_vaddr ==
//     p_offset mod page size (mmap needs it); no address overflow; sorted by
//     p_vaddr (gABI) and not sharing a page with the previous segment (each
//     page belongs to exactly one VMA)
//   - at least one PT_LOAD, at most kMaxLoadSegments
//   - ET_EXEC: segments inside [mmap_min_addr, task_size); ET_DYN: the
//     page-aligned span fits below task_size
//   - e_entry 2-byte aligned (IALIGN with the C extension) and inside a
//     PT_LOAD with PF_X
Result<void> parse_elf(std::span<const uint8_t> file, const ElfLimits& limits, ElfImage* out,
                       const char** why = nullptr);

// Shifts an ET_DYN image by `bias` (entry, AT_PHDR, segments, span): checks
// that bias is a multiple of max_align (so of the page size), that nothing
// overflows and that the result lies inside [mmap_min_addr, task_size).
// ENOEXEC (with `why`) otherwise; EINVAL for an ET_EXEC image or a second
// call.
Result<void> apply_load_bias(ElfImage* img, uint64_t bias, const ElfLimits& limits,
                             const char** why = nullptr);

}  // namespace k::elf
