// SiFive UART console ("sifive,uart0"; FU540-C000 manual chapter 13 and
// Linux bindings serial/sifive-serial.yaml): QEMU sifive_u and SiFive
// boards. txdata bit 31 = FIFO full; rxdata bit 31 = FIFO empty.
#include <arch/io.h>

#include "drivers/driver.h"
#include "kernel/console.h"
#include "kernel/printk.h"
#include "lib/fdt_boot.h"

namespace k {
namespace {

enum Reg : unsigned { kTxData = 0x00, kRxData = 0x04, kTxCtrl = 0x08, kRxCtrl = 0x0c, kIe = 0x10 };
constexpr uint32_t kFifoFlag = 1u << 31;

volatile uint8_t* g_base;

void write_char(char c) {
  while (arch::readl(g_base + kTxData) & kFifoFlag) {
  }
  arch::writel(static_cast<uint8_t>(c), g_base + kTxData);
}

void sifive_write(Console*, const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\n') write_char('\r');
    write_char(s[i]);
  }
}

int sifive_getc(Console*) {
  const uint32_t v = arch::readl(g_base + kRxData);
  return (v & kFifoFlag) ? -1 : static_cast<int>(v & 0xff);
}

Console g_console{"ttySIF0", sifive_write, sifive_getc, nullptr, nullptr};

bool probe(const fdt::Fdt& fdt, const fdt::Node& node) {
  auto out = fdt::chosen_stdout(fdt);
  if (!out || !(out->node == node)) return false;
  auto reg = fdt.reg_translated(node, 0);
  if (!reg) return false;
  g_base = static_cast<volatile uint8_t*>(arch::ioremap_boot(PhysAddr(reg->addr), 0x1c));
  if (!g_base) return false;
  arch::writel(0, g_base + kIe);
  arch::writel(1, g_base + kTxCtrl);  // txen, one stop bit
  arch::writel(1, g_base + kRxCtrl);  // rxen
  register_console(&g_console);
  unregister_console(sbi_console());
  pr_info("console [ttySIF0] enabled at MMIO 0x%llx\n", static_cast<unsigned long long>(reg->addr));
  return true;
}

const char* const kCompatible[] = {"sifive,uart0", "sifive,fu540-c000-uart", nullptr};

}  // namespace

DECLARE_DRIVER(sifive_uart, "uart-sifive", kCompatible, probe, 0);

}  // namespace k
