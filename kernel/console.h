// Consoles: where printk output goes. The SBI console works from the first
// instruction; the UART named by /chosen/stdout-path replaces it once its
// driver probed. Input (for the shell) comes from the preferred console.
#pragma once

#include <cstddef>

namespace k {

struct Console {
  const char* name;
  void (*write)(Console* c, const char* s, size_t n);
  // Returns a byte, or -1 when none is waiting. May be null.
  int (*getc)(Console* c);
  void* priv;
  Console* next;
};

void register_console(Console* c);
void unregister_console(Console* c);
// Writes to every registered console; the caller holds the printk lock.
void console_write(const char* s, size_t n);
int console_getc();

// The SBI legacy-putchar console (DBCN when the firmware has it).
void sbi_console_init();
Console* sbi_console();

}  // namespace k
