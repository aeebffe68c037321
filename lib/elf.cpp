// ELF64 executable validation (see lib/elf.h for the rules and sources).
#include "lib/elf.h"

#include "lib/types.h"

namespace k::elf {
namespace {

// Linux binfmt_elf: the program header table is at most 64 KiB.
constexpr uint64_t kMaxPhdrTableBytes = 65536;

// a + b without wrapping; false on overflow.
bool add_ok(uint64_t a, uint64_t b, uint64_t* sum) { return !__builtin_add_overflow(a, b, sum); }

// Records the failed rule and yields ENOEXEC.
Errno reject(const char** why, const char* reason) {
  if (why) *why = reason;
  return Errno::kENOEXEC;
}

uint32_t prot_of(uint32_t p_flags) {
  uint32_t prot = 0;
  if (p_flags & kPfR) prot |= kProtRead;
  if (p_flags & kPfW) prot |= kProtWrite;
  if (p_flags & kPfX) prot |= kProtExec;
  return prot;
}

Result<void> check_header(std::span<const uint8_t> file, Elf64_Ehdr* eh, const char** why) {
  if (file.size() < sizeof(Elf64_Ehdr)) return reject(why, "file shorter than an ELF64 header");
  __builtin_memcpy(eh, file.data(), sizeof *eh);
  if (eh->e_ident[0] != 0x7f || eh->e_ident[1] != 'E' || eh->e_ident[2] != 'L' ||
      eh->e_ident[3] != 'F')
    return reject(why, "bad ELF magic");
  if (eh->e_ident[kEiClass] != kElfClass64) return reject(why, "not ELFCLASS64");
  if (eh->e_ident[kEiData] != kElfData2Lsb) return reject(why, "not little-endian (ELFDATA2LSB)");
  if (eh->e_ident[kEiVersion] != kEvCurrent || eh->e_version != kEvCurrent)
    return reject(why, "unknown ELF version");
  if (eh->e_machine != kEmRiscv) return reject(why, "e_machine is not EM_RISCV");
  if (eh->e_type != kEtExec && eh->e_type != kEtDyn)
    return reject(why, "e_type is neither ET_EXEC nor ET_DYN");
  if (eh->e_phentsize != sizeof(Elf64_Phdr))
    return reject(why, "e_phentsize != sizeof(Elf64_Phdr)");
  if (eh->e_phnum == 0) return reject(why, "no program headers");
  if (eh->e_phnum == kPnXnum) return reject(why, "extended program header numbering (PN_XNUM)");
  const uint64_t table = uint64_t{eh->e_phnum} * sizeof(Elf64_Phdr);
  if (table > kMaxPhdrTableBytes) return reject(why, "program header table larger than 64 KiB");
  uint64_t end;
  if (!add_ok(eh->e_phoff, table, &end) || end > file.size())
    return reject(why, "program header table outside the file");
  return {};
}

Result<void> check_load(const Elf64_Phdr& ph, uint64_t file_size, const char** why) {
  if (ph.p_filesz > ph.p_memsz) return reject(why, "PT_LOAD p_filesz > p_memsz");
  uint64_t end;
  if (!add_ok(ph.p_offset, ph.p_filesz, &end) || end > file_size)
    return reject(why, "PT_LOAD file range outside the file");
  if (ph.p_align > 1) {
    if (!is_pow2(ph.p_align)) return reject(why, "PT_LOAD p_align not a power of two");
    if ((ph.p_vaddr ^ ph.p_offset) & (ph.p_align - 1))
      return reject(why, "PT_LOAD p_vaddr and p_offset disagree modulo p_align");
  }
  if ((ph.p_vaddr ^ ph.p_offset) & (kPageSize - 1))
    return reject(why, "PT_LOAD p_vaddr and p_offset disagree modulo the page size");
  // The page-rounded end must be representable too.
  if (!add_ok(ph.p_vaddr, ph.p_memsz, &end) || end > kPageMask)
    return reject(why, "PT_LOAD address range overflows");
  return {};
}

}  // namespace

Result<void> parse_elf(std::span<const uint8_t> file, const ElfLimits& limits, ElfImage* out,
                       const char** why) {
  *out = ElfImage{};
  Elf64_Ehdr eh;
  if (auto r = check_header(file, &eh, why); !r.ok()) return r.error();

  ElfImage img;
  img.type = eh.e_type;
  img.needs_load_bias = eh.e_type == kEtDyn;
  img.entry = eh.e_entry;
  img.phnum = eh.e_phnum;
  img.phent = eh.e_phentsize;
  img.max_align = kPageSize;

  bool seen_phdr = false;
  bool have_phdr_vaddr = false;
  uint64_t phdr_vaddr = 0, phdr_size = 0;
  uint64_t prev_end = 0;  // page-rounded end of the previous PT_LOAD

  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    // Copied out: the image need not be 8-byte aligned in memory.
    __builtin_memcpy(&ph, file.data() + eh.e_phoff + uint64_t{i} * sizeof ph, sizeof ph);
    switch (ph.p_type) {
      case kPtInterp:
        return reject(why,
                      "PT_INTERP: dynamically linked programs are not supported (static only)");
      case kPtPhdr:
        if (seen_phdr) return reject(why, "more than one PT_PHDR");
        if (img.nr_segments) return reject(why, "PT_PHDR after a PT_LOAD");
        seen_phdr = true;
        have_phdr_vaddr = true;
        phdr_vaddr = ph.p_vaddr;
        phdr_size = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
        break;
      case kPtGnuStack:
        img.has_gnu_stack = true;
        img.stack_executable = (ph.p_flags & kPfX) != 0;
        break;
      case kPtLoad: {
        if (auto r = check_load(ph, file.size(), why); !r.ok()) return r.error();
        if (ph.p_memsz == 0) break;  // maps nothing (Linux skips it too)
        const uint64_t start = align_down(ph.p_vaddr, kPageSize);
        const uint64_t end = align_up(ph.p_vaddr + ph.p_memsz, kPageSize);
        if (img.nr_segments) {
          const LoadSegment& prev = img.segments[img.nr_segments - 1];
          if (ph.p_vaddr < prev.vaddr) return reject(why, "PT_LOAD segments not sorted by p_vaddr");
          if (start < prev_end) return reject(why, "PT_LOAD segments overlap (or share a page)");
        }
        if (img.nr_segments == ElfImage::kMaxLoadSegments)
          return reject(why, "too many PT_LOAD segments");
        if (ph.p_align > img.max_align) img.max_align = ph.p_align;
        img.segments[img.nr_segments++] =
            LoadSegment{ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, prot_of(ph.p_flags)};
        prev_end = end;
        break;
      }
      default:
        break;  // PT_NOTE, PT_TLS, PT_DYNAMIC, PT_GNU_RELRO, ...: nothing to map
    }
  }
  if (img.nr_segments == 0) return reject(why, "no PT_LOAD segment");

  img.min_vaddr = align_down(img.segments[0].vaddr, kPageSize);
  img.max_vaddr = prev_end;
  if (img.type == kEtExec) {
    if (img.min_vaddr < limits.mmap_min_addr) return reject(why, "PT_LOAD below mmap_min_addr");
    if (img.max_vaddr > limits.task_size)
      return reject(why, "PT_LOAD beyond the user address limit");
  } else if (img.max_vaddr - img.min_vaddr > limits.task_size) {
    return reject(why, "ET_DYN image larger than the user address space");
  }

  // AT_PHDR: PT_PHDR if given, else the PT_LOAD whose file bytes hold the
  // table (Linux binfmt_elf computes the same). Either way the table must be
  // inside mapped file bytes, or the program would read garbage.
  const uint64_t table = uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr);
  bool covered = false;
  for (size_t i = 0; i < img.nr_segments && !covered; ++i) {
    const LoadSegment& s = img.segments[i];
    if (have_phdr_vaddr) {
      covered = phdr_vaddr >= s.vaddr && phdr_vaddr - s.vaddr <= s.filesz &&
                s.filesz - (phdr_vaddr - s.vaddr) >= phdr_size;
    } else if (eh.e_phoff >= s.offset && eh.e_phoff - s.offset <= s.filesz &&
               s.filesz - (eh.e_phoff - s.offset) >= table) {
      covered = true;
      phdr_vaddr = s.vaddr + (eh.e_phoff - s.offset);
    }
  }
  if (have_phdr_vaddr && !covered) return reject(why, "PT_PHDR not inside a PT_LOAD segment");
  img.phdr_mapped = covered;
  img.phdr_vaddr = covered ? phdr_vaddr : 0;

  if (img.entry & 1) return reject(why, "entry point not 2-byte aligned");
  bool entry_ok = false;
  for (size_t i = 0; i < img.nr_segments; ++i) {
    const LoadSegment& s = img.segments[i];
    if ((s.prot & kProtExec) && img.entry >= s.vaddr && img.entry - s.vaddr < s.memsz)
      entry_ok = true;
  }
  if (!entry_ok) return reject(why, "entry point not inside an executable PT_LOAD segment");

  *out = img;
  return {};
}

Result<void> apply_load_bias(ElfImage* img, uint64_t bias, const ElfLimits& limits,
                             const char** why) {
  if (img->type != kEtDyn || !img->needs_load_bias) {
    if (why) *why = "load bias on an ET_EXEC image or applied twice";
    return Errno::kEINVAL;
  }
  if (bias & (img->max_align - 1)) return reject(why, "load bias not aligned to p_align");
  uint64_t lo, hi;
  if (!add_ok(img->min_vaddr, bias, &lo) || !add_ok(img->max_vaddr, bias, &hi))
    return reject(why, "load bias overflows the address space");
  if (lo < limits.mmap_min_addr || hi > limits.task_size)
    return reject(why, "biased image outside the user address range");
  for (size_t i = 0; i < img->nr_segments; ++i) img->segments[i].vaddr += bias;
  img->entry += bias;
  if (img->phdr_mapped) img->phdr_vaddr += bias;
  img->min_vaddr = lo;
  img->max_vaddr = hi;
  img->load_bias = bias;
  img->needs_load_bias = false;
  return {};
}

}  // namespace k::elf
