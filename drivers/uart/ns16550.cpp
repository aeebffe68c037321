// 8250/16550 UART console: QEMU virt's "ns16550a" and the JH7110's
// "snps,dw-apb-uart" (DesignWare APB UART), which is 8250-compatible with
// 32-bit registers spaced 4 bytes apart (reg-shift = 2, reg-io-width = 4;
// Linux bindings serial/8250.yaml and snps-dw-apb-uart.yaml).
//
// Only the UART named by /chosen/stdout-path is taken, as the console.
// Line settings: the firmware (OpenSBI/U-Boot) already runs it at the
// board's speed; we reprogram only when stdout-path gives a baud rate and
// the node a clock-frequency.
#include <arch/io.h>

#include "drivers/driver.h"
#include "kernel/console.h"
#include "kernel/printk.h"
#include "lib/fdt_boot.h"

namespace k {
namespace {

// Register indices (16550 datasheet; Linux include/uapi/linux/serial_reg.h).
enum Reg : unsigned { kRbrThr = 0, kIer = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kUsr = 31 };
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLcr8N1 = 0x03;
constexpr uint8_t kUsrBusy = 0x01;  // DesignWare: LCR writes ignored while busy

struct Uart16550 {
  volatile uint8_t* base = nullptr;
  unsigned shift = 0;
  unsigned width = 1;
  bool dw_apb = false;

  volatile void* reg(unsigned r) const { return base + (r << shift); }
  uint8_t read(unsigned r) const {
    return width == 4 ? static_cast<uint8_t>(arch::readl(reg(r))) : arch::readb(reg(r));
  }
  void write(unsigned r, uint8_t v) const {
    if (width == 4)
      arch::writel(v, reg(r));
    else
      arch::writeb(v, reg(r));
  }
  void wait_not_busy() const {
    if (!dw_apb) return;
    for (int i = 0; i < 100000 && (read(kUsr) & kUsrBusy); ++i) {
    }
  }
  // DesignWare UARTs (without UART_16550_COMPATIBLE) ignore LCR writes
  // while USR.BUSY is set, i.e. while a character is shifting in or out
  // or the receive FIFO holds data. Wait for idle, write, read back; if
  // the write was dropped (input kept arriving), empty the FIFOs and try
  // again -- what Linux's 8250_dw does in dw8250_check_lcr(). Returns
  // whether LCR holds `v`.
  bool write_lcr(uint8_t v) const {
    for (int attempt = 0; attempt < 10; ++attempt) {
      wait_not_busy();
      write(kLcr, v);
      if (!dw_apb || read(kLcr) == v) return true;
      write(kFcr, 0x07);  // enable + clear both FIFOs
      (void)read(kRbrThr);
    }
    return false;
  }
  // Divisor latch programming (16550 datasheet: DLL/DLM at 0/1 with
  // LCR.DLAB set). Returns false when the divisor is out of range or LCR
  // could not be written; the line then keeps the firmware's settings.
  bool set_baud(uint64_t clock, uint64_t baud) {
    const uint64_t div = (clock + 8 * baud) / (16 * baud);
    if (div == 0 || div > 0xffff) return false;
    if (!write_lcr(kLcrDlab)) return false;
    write(0, static_cast<uint8_t>(div));
    write(1, static_cast<uint8_t>(div >> 8));
    return write_lcr(kLcr8N1);
  }
  void putc(char c) const {
    while (!(read(kLsr) & kLsrThrEmpty)) {
    }
    write(kRbrThr, static_cast<uint8_t>(c));
  }
};

Uart16550 g_uart;

void uart_write(Console*, const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\n') g_uart.putc('\r');
    g_uart.putc(s[i]);
  }
}

int uart_getc(Console*) {
  if (!(g_uart.read(kLsr) & kLsrDataReady)) return -1;
  return g_uart.read(kRbrThr);
}

Console g_console{"ttyS0", uart_write, uart_getc, nullptr, nullptr};

uint64_t baud_from_options(std::string_view opt) {
  uint64_t v = 0;
  for (char c : opt) {
    if (c < '0' || c > '9') break;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

bool probe(const fdt::Fdt& fdt, const fdt::Node& node) {
  auto out = fdt::chosen_stdout(fdt);
  if (!out || !(out->node == node)) return false;
  auto reg = fdt.reg_translated(node, 0);
  if (!reg) {
    pr_err("uart: %.*s has no usable reg\n", static_cast<int>(node.name().size()),
           node.name().data());
    return false;
  }
  Uart16550 u;
  u.shift = node.prop("reg-shift") ? node.prop("reg-shift")->u32().value_or(0) : 0;
  u.width = node.prop("reg-io-width") ? node.prop("reg-io-width")->u32().value_or(1) : 1;
  u.dw_apb = fdt::Fdt::is_compatible(node, "snps,dw-apb-uart");
  if (u.shift > 4 || (u.width != 1 && u.width != 4)) {
    pr_err("uart: unsupported reg-shift %u / reg-io-width %u\n", u.shift, u.width);
    return false;
  }
  const uint64_t span = (kUsr + 1) << u.shift;
  u.base = static_cast<volatile uint8_t*>(arch::ioremap_boot(PhysAddr(reg->addr), span));
  if (!u.base) return false;
  const uint64_t clock =
      node.prop("clock-frequency") ? node.prop("clock-frequency")->u32().value_or(0) : 0;
  const uint64_t baud = baud_from_options(out->options);
  u.write(kIer, 0);     // polled console: no UART interrupts yet
  u.write(kFcr, 0x07);  // enable and clear FIFOs
  if (clock && baud && !u.set_baud(clock, baud)) {
    // The divisor latch may still be selected: leave DLAB clear at least,
    // so that register 0 is the data register again.
    u.write_lcr(kLcr8N1);
    pr_warn("uart: could not set %llu baud from a %llu Hz clock; keeping the firmware's rate\n",
            static_cast<unsigned long long>(baud), static_cast<unsigned long long>(clock));
  }
  g_uart = u;
  register_console(&g_console);
  unregister_console(sbi_console());
  pr_info("console [ttyS0] enabled at MMIO 0x%llx (%s, reg-shift %u, io-width %u, clock %llu)\n",
          static_cast<unsigned long long>(reg->addr), u.dw_apb ? "dw-apb" : "16550", u.shift,
          u.width, static_cast<unsigned long long>(clock));
  return true;
}

const char* const kCompatible[] = {"ns16550a", "ns16550", "snps,dw-apb-uart", nullptr};

}  // namespace

DECLARE_DRIVER(ns16550, "uart-8250", kCompatible, probe, 0);

}  // namespace k
