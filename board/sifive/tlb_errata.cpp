#include "board/sifive/tlb_errata.h"

#include <arch/tlb.h>

#include "arch/riscv/kernel/sbi.h"
#include "board/sifive/errata.h"
#include "kernel/printk.h"

namespace k::sifive {

bool apply_tlb_errata(const char* board) {
  namespace sbi = arch::sbi;
  // SBI spec 4.1: bits 30:24 major, 23:0 minor; BASE functions 4-6 exist
  // from v0.2 on.
  const long version = sbi::spec_version();
  if (((version >> 24) & 0x7f) == 0 && (version & 0xffffff) < 2) {
    arch::tlb_set_flush_all_quirk(true, "SiFive CIP-1200: SBI < 0.2 cannot report marchid");
    return true;
  }
  const sbi::Ret arch_id = sbi::call(sbi::kBase, 5);
  const sbi::Ret imp_id = sbi::call(sbi::kBase, 6);
  if (arch_id.error || imp_id.error) {
    arch::tlb_set_flush_all_quirk(true, "SiFive CIP-1200: marchid/mimpid unknown");
    return true;
  }
  const uint64_t marchid = static_cast<uint64_t>(arch_id.value);
  const uint64_t mimpid = static_cast<uint64_t>(imp_id.value);
  const bool affected = cip1200_affected(marchid, mimpid);
  pr_info("%s: marchid 0x%llx mimpid 0x%llx: SiFive CIP-1200 %s\n", board,
          static_cast<unsigned long long>(marchid), static_cast<unsigned long long>(mimpid),
          affected ? "applies" : "does not apply");
  if (affected) arch::tlb_set_flush_all_quirk(true, "SiFive CIP-1200");
  return affected;
}

}  // namespace k::sifive
