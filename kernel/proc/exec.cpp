// exec of a static ELF from the initramfs (see kernel/proc/exec.h).
#include "kernel/proc/exec.h"

#include <cstring>

#include <arch/context.h>
#include <arch/cpu.h>
#include <arch/memory.h>
#include <arch/user_pgtable.h>

#include "fs/initramfs_boot.h"
#include "kernel/printk.h"
#include "kernel/proc/file.h"
#include "kernel/sched/sched.h"
#include "kernel/timer.h"
#include "lib/elf.h"
#include "mm/fault.h"
#include "mm/kmalloc.h"
#include "mm/mm_struct.h"

namespace k {
namespace {

// Auxiliary vector types (Linux include/uapi/linux/auxvec.h).
enum : uint64_t {
  AT_NULL = 0,
  AT_PHDR = 3,
  AT_PHENT = 4,
  AT_PHNUM = 5,
  AT_PAGESZ = 6,
  AT_BASE = 7,
  AT_FLAGS = 8,
  AT_ENTRY = 9,
  AT_UID = 11,
  AT_EUID = 12,
  AT_GID = 13,
  AT_EGID = 14,
  AT_HWCAP = 16,
  AT_CLKTCK = 17,
  AT_SECURE = 23,
  AT_RANDOM = 25,
  AT_EXECFN = 31,
};

// Linux riscv COMPAT_HWCAP_ISA_* bits: one per base extension letter. The
// user ABI is rv64gc (IMAFDC) whatever the kernel was built with.
constexpr uint64_t hwcap_letter(char c) { return uint64_t{1} << (c - 'a'); }
constexpr uint64_t kHwcap = hwcap_letter('i') | hwcap_letter('m') | hwcap_letter('a') |
                            hwcap_letter('f') | hwcap_letter('d') | hwcap_letter('c');

// Initial stack VMA beyond the arguments (Linux setup_arg_pages expands
// the stack to 128 KiB up front).
constexpr uint64_t kInitialStackExtra = 128 * 1024;

// splitmix64 (Steele, Lea, Flood 2014): spreads the time counter into
// AT_RANDOM bytes. Not a CSPRNG; the kernel has no entropy source yet.
uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Writes into a not-yet-live address space through the linear map,
// faulting its pages in as a user write would.
bool mm_write(MmStruct* mm, uint64_t addr, const void* src, size_t len) {
  const auto* s = static_cast<const uint8_t*>(src);
  while (len) {
    const uint64_t off = addr & (kPageSize - 1);
    const size_t chunk = kPageSize - off < len ? kPageSize - off : len;
    if (handle_mm_fault(mm, addr, FaultAccess::kWrite) != FaultResult::kOk) return false;
    uint64_t* slot = arch::user_pte_slot(&mm->pgd, addr & kPageMask, false);
    if (!slot) return false;
    auto* page =
        static_cast<uint8_t*>(arch::phys_to_virt(arch::user_pte_phys(arch::user_pte_get(slot))));
    memcpy(page + off, s, chunk);
    addr += chunk;
    s += chunk;
    len -= chunk;
  }
  return true;
}

vm_flags_t vm_flags_of(uint32_t prot) {
  vm_flags_t f = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (prot & elf::kProtRead) f |= VM_READ;
  if (prot & elf::kProtWrite) f |= VM_WRITE;
  if (prot & elf::kProtExec) f |= VM_EXEC;
  return f;
}

size_t count_strings(const char* const* v, size_t* bytes) {
  size_t n = 0;
  for (; v && v[n]; ++n) *bytes += strlen(v[n]) + 1;
  return n;
}

Result<void> map_segments(MmStruct* mm, const elf::ElfImage& img, const initramfs::Node* node) {
  for (size_t i = 0; i < img.nr_segments; ++i) {
    const elf::LoadSegment& s = img.segments[i];
    const vm_flags_t flags = vm_flags_of(s.prot);
    const uint64_t start = align_down(s.vaddr, kPageSize);
    const uint64_t file_end = align_up(s.vaddr + s.filesz, kPageSize);
    const uint64_t mem_end = align_up(s.vaddr + s.memsz, kPageSize);
    if (s.filesz) {
      // Bytes past the segment's file part read as zero (the partial bss
      // page), so the file view stops at offset + filesz.
      VmaProto p{flags, VmFile{node, node->data.data(), s.offset + s.filesz},
                 align_down(s.offset, kPageSize) >> kPageShift};
      TRY(mm_map(mm, start, file_end, p));
    }
    const uint64_t anon_start = s.filesz ? file_end : start;
    if (mem_end > anon_start) TRY(mm_map(mm, anon_start, mem_end, VmaProto{flags, {}, 0}));
  }
  return {};
}

}  // namespace

Result<void> exec_into(Task* t, const char* path, const char* const* argv,
                       const char* const* envp) {
  const initramfs::Tree& fs = initramfs::rootfs();
  auto lr = fs.lookup(path);
  if (!lr.ok()) return lr.error();
  const initramfs::Node* node = lr.value();
  if (node->is_dir()) return Errno::kEACCES;
  if (!node->is_file() || !(node->mode & 0111)) return Errno::kEACCES;

  size_t str_bytes = 0;
  const size_t argc = count_strings(argv, &str_bytes);
  const size_t envc = count_strings(envp, &str_bytes);
  const size_t path_len = strlen(path) + 1;
  str_bytes += path_len;
  if (argc + envc > kMaxArgStrings || str_bytes > kMaxArgBytes) return Errno::kE2BIG;

  const uint64_t task_size = arch::user_task_size();
  const elf::ElfLimits limits{task_size, kMmapMinAddr};
  elf::ElfImage img;
  const char* why = nullptr;
  if (!elf::parse_elf(node->data, limits, &img, &why).ok()) {
    pr_info("exec %s: not a valid executable: %s\n", path, why ? why : "?");
    return Errno::kENOEXEC;
  }
  if (img.needs_load_bias) {
    // Linux ELF_ET_DYN_BASE: two thirds of the way up the user range.
    const uint64_t align = img.max_align > kPageSize ? img.max_align : kPageSize;
    const uint64_t bias = align_down(task_size / 3 * 2, align) - align_down(img.min_vaddr, align);
    if (!elf::apply_load_bias(&img, bias, limits, &why).ok()) {
      pr_info("exec %s: cannot place the image: %s\n", path, why ? why : "?");
      return Errno::kENOEXEC;
    }
  }

  MmStruct* mm = mm_alloc();
  if (!mm) return Errno::kENOMEM;
  auto fail = [&](Errno e) -> Result<void> {
    mmput(mm);
    return e;
  };
  if (!map_segments(mm, img, node).ok()) return fail(Errno::kENOMEM);

  mm->start_code = img.min_vaddr;
  mm->end_code = img.max_vaddr;
  mm->start_brk = mm->brk = align_up(img.max_vaddr, kPageSize);
  const uint64_t stack_top = task_size;
  mm->stack_top = stack_top;
  mm->mmap_base = stack_top - (128ull << 20) - kStackGuardGap;

  // Sizes: pointers (argc, argv, NULL, envp, NULL, auxv) and strings.
  constexpr size_t kAuxPairs = 18;
  const size_t nptr = 1 + argc + 1 + envc + 1 + 2 * kAuxPairs;
  const uint64_t need = align_up(str_bytes + 16 + nptr * 8 + 64, 16);
  const uint64_t stack_size = align_up(need, kPageSize) + kInitialStackExtra;
  if (!mm_map(mm, stack_top - stack_size, stack_top,
              VmaProto{VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_GROWSDOWN, {}, 0})
           .ok())
    return fail(Errno::kENOMEM);

  auto* ptrs = static_cast<uint64_t*>(kmalloc(nptr * 8, GFP_KERNEL));
  if (!ptrs) return fail(Errno::kENOMEM);
  uint64_t p = stack_top;
  bool ok = true;
  // AT_RANDOM: 16 bytes.
  uint64_t rnd[2] = {mix64(arch::read_time() ^ reinterpret_cast<uint64_t>(mm)),
                     mix64(arch::read_cycle() + t->pid)};
  p -= 16;
  const uint64_t random_addr = p;
  ok = ok && mm_write(mm, p, rnd, 16);
  p -= path_len;
  const uint64_t execfn_addr = p;
  ok = ok && mm_write(mm, p, path, path_len);
  size_t k = 0;
  ptrs[k++] = argc;
  const uint64_t strings_hi = p;
  // Strings go below, argv first (lowest), as Linux lays them out.
  uint64_t sp_strings = strings_hi - (str_bytes - path_len);
  mm->arg_start = sp_strings;
  uint64_t w = sp_strings;
  for (size_t i = 0; i < argc && ok; ++i) {
    const size_t n = strlen(argv[i]) + 1;
    ptrs[k++] = w;
    ok = mm_write(mm, w, argv[i], n);
    w += n;
  }
  mm->arg_end = mm->env_start = w;
  ptrs[k++] = 0;
  for (size_t i = 0; i < envc && ok; ++i) {
    const size_t n = strlen(envp[i]) + 1;
    ptrs[k++] = w;
    ok = mm_write(mm, w, envp[i], n);
    w += n;
  }
  mm->env_end = w;
  ptrs[k++] = 0;
  const uint64_t aux[kAuxPairs][2] = {{AT_PHDR, img.phdr_mapped ? img.phdr_vaddr : 0},
                                      {AT_PHENT, img.phent},
                                      {AT_PHNUM, img.phnum},
                                      {AT_PAGESZ, kPageSize},
                                      {AT_BASE, 0},
                                      {AT_FLAGS, 0},
                                      {AT_ENTRY, img.entry},
                                      {AT_UID, 0},
                                      {AT_EUID, 0},
                                      {AT_GID, 0},
                                      {AT_EGID, 0},
                                      {AT_HWCAP, kHwcap},
                                      {AT_CLKTCK, kHz},
                                      {AT_SECURE, 0},
                                      {AT_RANDOM, random_addr},
                                      {AT_EXECFN, execfn_addr},
                                      {AT_NULL, 0},
                                      {AT_NULL, 0}};
  for (size_t i = 0; i < kAuxPairs; ++i) {
    ptrs[k++] = aux[i][0];
    ptrs[k++] = aux[i][1];
  }
  const uint64_t sp = align_down(sp_strings - k * 8, 16);
  mm->start_stack = sp;
  ok = ok && mm_write(mm, sp, ptrs, k * 8);
  kfree(ptrs);
  if (!ok) return fail(Errno::kENOMEM);

  // Point of no return.
  MmStruct* old = t->mm;
  const bool live = t == current();
  if (live) {
    const unsigned long flags = arch::irq_save();
    t->mm = mm;
    arch::switch_mm(&mm->pgd);
    arch::irq_restore(flags);
  } else {
    t->mm = mm;
  }
  if (old) mmput(old);
  t->fpu = arch::FpuState{};
  if (live) arch::fpu_restore(&t->fpu);
  for (auto& sa : t->sigactions)
    if (sa.handler != 1) sa = SigAction{};
  if (t->files) files_close_on_exec(t->files);
  const char* base = path;
  for (const char* c = path; *c; ++c)
    if (*c == '/' && c[1]) base = c + 1;
  unsigned i = 0;
  for (; base[i] && i < kTaskCommLen - 1; ++i) t->comm[i] = base[i];
  t->comm[i] = 0;
  t->clear_child_tid = 0;
  arch::TrapFrame* tf = t->user_frame();
  *tf = arch::TrapFrame{};
  tf->regs[2] = sp;
  tf->sepc = img.entry;
  tf->sstatus = arch::kUserSstatus;
  return {};
}

}  // namespace k
