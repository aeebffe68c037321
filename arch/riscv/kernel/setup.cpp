#include "arch/riscv/kernel/setup.h"

#include <string_view>

#include <arch/memory.h>
#include <arch/platform.h>

#include "arch/riscv/boot/early.h"
#include "arch/riscv/kernel/csr.h"
#include "arch/riscv/kernel/sbi.h"
#include "arch/riscv/kernel/smp.h"
#include "kernel/printk.h"
#include "lib/fdt_boot.h"

namespace arch {
namespace {

PowerOffHandler g_power_off;
char g_isa[256];

const char* impl_name(long id) {
  // SBI spec 4.9: implementation ids.
  switch (id) {
    case 0:
      return "Berkeley Boot Loader (BBL)";
    case 1:
      return "OpenSBI";
    case 2:
      return "Xvisor";
    case 3:
      return "KVM";
    case 4:
      return "RustSBI";
    case 5:
      return "Diosix";
    case 6:
      return "Coffer";
    default:
      return "unknown";
  }
}

struct ExtName {
  long eid;
  const char* name;
};
constexpr ExtName kExtensions[] = {
    {sbi::kTime, "TIME"},     {sbi::kIpi, "IPI"},
    {sbi::kRfence, "RFENCE"}, {sbi::kHsm, "HSM"},
    {sbi::kSrst, "SRST"},     {sbi::kPmu, "PMU"},
    {sbi::kDbcn, "DBCN"},     {sbi::kLegacyPutchar, "legacy-console"},
};

}  // namespace

const char* sbi::error_name(long err) {
  switch (err) {
    case kSuccess:
      return "success";
    case kErrFailed:
      return "failed";
    case kErrNotSupported:
      return "not supported";
    case kErrInvalidParam:
      return "invalid parameter";
    case kErrDenied:
      return "denied";
    case kErrInvalidAddress:
      return "invalid address";
    case kErrAlreadyAvailable:
      return "already available";
    case kErrAlreadyStarted:
      return "already started";
    case kErrAlreadyStopped:
      return "already stopped";
    default:
      return "unknown error";
  }
}

void report_sbi() {
  const long v = sbi::spec_version();
  const long impl = sbi::impl_id();
  const long iv = sbi::impl_version();
  // OpenSBI encodes its version as major << 16 | minor.
  pr_info("SBI specification v%ld.%ld, implementation %s v%ld.%ld\n", (v >> 24) & 0x7f,
          v & 0xffffff, impl_name(impl), iv >> 16, iv & 0xffff);
  char line[160];
  size_t n = 0;
  for (const ExtName& e : kExtensions) {
    if (!sbi::probe(e.eid)) continue;
    for (const char* p = e.name; *p && n + 2 < sizeof(line); ++p) line[n++] = *p;
    if (n + 2 < sizeof(line)) line[n++] = ' ';
  }
  line[n] = 0;
  pr_info("SBI extensions: %s\n", line);
}

void report_paging() {
  const EarlyBootInfo& e = g_early_boot;
  const Layout& l = g_layout;
  pr_info(
      "Virtual memory: %s (hart accepts%s%s; DT mmu-type allows %s; %u boot page-table pages)\n",
      l.levels == 4 ? "Sv48" : "Sv39", e.sv48_capable ? " Sv48" : "", e.sv39_capable ? " Sv39" : "",
      e.dt_levels >= 4 ? "Sv48" : "Sv39", static_cast<unsigned>(e.early_tables_used));
  if (e.requested_levels < e.dt_levels)
    pr_info("Virtual memory: limited by mmu= on the command line\n");
  pr_info("Virtual kernel memory layout:\n");
  pr_info("    vmemmap : 0x%016llx - 0x%016llx\n", static_cast<unsigned long long>(l.vmemmap_start),
          static_cast<unsigned long long>(l.vmemmap_start + l.vmemmap_size));
  pr_info("    vmalloc : 0x%016llx - 0x%016llx\n", static_cast<unsigned long long>(l.vmalloc_start),
          static_cast<unsigned long long>(l.vmalloc_end));
  pr_info("    percpu  : 0x%016llx - 0x%016llx\n", static_cast<unsigned long long>(l.percpu_start),
          static_cast<unsigned long long>(l.percpu_end));
  pr_info("    lowmem  : 0x%016llx - 0x%016llx (phys 0x%llx)\n",
          static_cast<unsigned long long>(l.linear_base),
          static_cast<unsigned long long>(l.linear_base + l.linear_size),
          static_cast<unsigned long long>(l.phys_ram_base));
  pr_info("    kernel  : 0x%016llx - 0x%016llx (phys 0x%llx)\n",
          static_cast<unsigned long long>(l.kernel_virt),
          static_cast<unsigned long long>(l.kernel_virt + l.kernel_size),
          static_cast<unsigned long long>(l.kernel_phys));
}

bool has_isa_extension(const char* name) {
  // riscv,isa: "rv64imafdc_zicsr_sstc_svpbmt" — multi-letter extensions
  // are '_'-separated (Linux riscv/cpus.yaml).
  const std::string_view isa(g_isa);
  const std::string_view want(name);
  size_t pos = 0;
  while ((pos = isa.find('_', pos)) != std::string_view::npos) {
    ++pos;
    const size_t end = isa.find('_', pos);
    if (isa.substr(pos, end - pos) == want) return true;
  }
  return false;
}

void setup_timebase(const k::fdt::Fdt& fdt, uint64_t boot_hartid) {
  k::fdt::for_each_hart(fdt, [&](const k::fdt::HartInfo& h) {
    if (h.hartid != boot_hartid) return;
    const size_t n = h.isa.size() < sizeof(g_isa) - 1 ? h.isa.size() : sizeof(g_isa) - 1;
    for (size_t i = 0; i < n; ++i) g_isa[i] = h.isa[i];
    g_isa[n] = 0;
  });
  const uint64_t hz = k::fdt::timebase_frequency(fdt).value_or(0);
  if (!hz) pr_warn("timer: no timebase-frequency in /cpus; assuming 10 MHz\n");
  const bool sstc = has_isa_extension("sstc");
  timer_set_timebase(hz, sstc);
  pr_info("riscv,isa: %s\n", g_isa);
  pr_info("timer: timebase %llu Hz, tick %u Hz, via %s\n",
          static_cast<unsigned long long>(timebase_hz()), 100u,
          sstc ? "stimecmp (Sstc)" : "SBI TIME");
}

void enable_ipis_this_hart() { csr_set(sie, kSieSsie); }

void set_power_off_handler(PowerOffHandler h) { g_power_off = h; }

void power_off(bool failure) {
  if (g_power_off) g_power_off(failure);
  if (!sbi::probe(sbi::kSrst)) {
    // SBI v0.1 firmware: the legacy call is all there is.
    sbi::call(sbi::kLegacyShutdown, 0);
    halt_this_hart();
  }
  // SBI SRST (spec 10.1): shutdown, reason 1 = system failure. It returns
  // "not supported" when the platform has no shutdown device. (The legacy
  // shutdown call must not be tried then: OpenSBI 1.1 halts every hart
  // and never returns from it.)
  const long err = sbi::system_reset(0, failure ? 1 : 0);
  // No shutdown device (OpenSBI 1.1 on QEMU sifive_u has only
  // gpio-restart): reset instead, which ends a `-no-reboot` QEMU run.
  pr_warn("power off: no shutdown device (SBI SRST: %s); resetting instead\n",
          sbi::error_name(err));
  sbi::system_reset(1, failure ? 1 : 0);
  halt_this_hart();
}

void reboot() {
  sbi::system_reset(1, 0);
  halt_this_hart();
}

}  // namespace arch
