#include "kernel/console.h"

#include <arch/memory.h>

#include "arch/riscv/kernel/sbi.h"

namespace k {
namespace {

Console* g_consoles;
bool g_sbi_dbcn;

void sbi_write(Console*, const char* s, size_t n) {
  if (g_sbi_dbcn && arch::is_linear_addr(s)) {
    // DBCN takes a physical address (SBI spec 12.1); retry on short writes.
    while (n) {
      const auto pa = arch::virt_to_phys(s).value();
      const auto r = arch::sbi::dbcn_write(n, pa, 0);
      if (r.error || r.value <= 0) break;
      s += r.value;
      n -= static_cast<size_t>(r.value);
    }
    if (!n) return;
  }
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '\n') arch::sbi::legacy_putchar('\r');
    arch::sbi::legacy_putchar(s[i]);
  }
}

int sbi_getc(Console*) {
  const int c = arch::sbi::legacy_getchar();
  return c < 0 ? -1 : c;
}

Console g_sbi_console{"sbi", sbi_write, sbi_getc, nullptr, nullptr};

}  // namespace

void sbi_console_init() {
  g_sbi_dbcn = arch::sbi::probe(arch::sbi::kDbcn);
  register_console(&g_sbi_console);
}

Console* sbi_console() { return &g_sbi_console; }

void register_console(Console* c) {
  for (Console* it = g_consoles; it; it = it->next)
    if (it == c) return;
  c->next = g_consoles;
  g_consoles = c;
}

void unregister_console(Console* c) {
  for (Console** it = &g_consoles; *it; it = &(*it)->next) {
    if (*it == c) {
      *it = c->next;
      c->next = nullptr;
      return;
    }
  }
}

void console_write(const char* s, size_t n) {
  for (Console* c = g_consoles; c; c = c->next) c->write(c, s, n);
}

int console_getc() {
  for (Console* c = g_consoles; c; c = c->next)
    if (c->getc) {
      const int ch = c->getc(c);
      if (ch >= 0) return ch;
    }
  return -1;
}

}  // namespace k
