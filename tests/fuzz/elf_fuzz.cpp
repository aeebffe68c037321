// libFuzzer target for lib/elf: any bytes either validate or give ENOEXEC
// with a reason; a validated image satisfies the invariants the exec path
// relies on (segments sorted, page-disjoint, inside the file and below the
// limit, entry in an executable segment).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "lib/elf.h"

using namespace k;
using namespace k::elf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ElfLimits lim{uint64_t{1} << 38, 4096};
  ElfImage img;
  const char* why = nullptr;
  auto r = parse_elf(std::span<const uint8_t>(data, size), lim, &img, &why);
  if (!r.ok()) {
    if (r.error() != Errno::kENOEXEC || !why) abort();
    return 0;
  }
  if (img.nr_segments == 0 || img.nr_segments > ElfImage::kMaxLoadSegments) abort();
  bool entry_ok = false;
  uint64_t prev_end = 0;
  for (size_t i = 0; i < img.nr_segments; ++i) {
    const LoadSegment& s = img.segments[i];
    if (s.filesz > s.memsz || s.offset + s.filesz > size || s.offset + s.filesz < s.offset) abort();
    if ((s.vaddr - s.offset) % 4096) abort();
    if (i && (s.vaddr & ~uint64_t{4095}) < prev_end) abort();
    prev_end = (s.vaddr + s.memsz + 4095) & ~uint64_t{4095};
    if ((s.prot & kProtExec) && img.entry >= s.vaddr && img.entry - s.vaddr < s.memsz)
      entry_ok = true;
  }
  if (!entry_ok || prev_end != img.max_vaddr) abort();
  if (img.type == kEtExec && (img.max_vaddr > lim.task_size || img.min_vaddr < lim.mmap_min_addr))
    abort();
  if (img.type == kEtDyn) {
    ElfImage biased = img;
    if (apply_load_bias(&biased, uint64_t{1} << 30, lim).ok()) {
      if (biased.entry != img.entry + (uint64_t{1} << 30) || biased.max_vaddr > lim.task_size)
        abort();
    }
  }
  return 0;
}
