#include "kernel/shell.h"

#include <string_view>

#include <arch/cpu.h>
#include <arch/platform.h>

#include "kernel/console.h"
#include "kernel/printk.h"
#include "kernel/selftest.h"
#include "lib/string.h"

extern "C" const k::shell::Command __shell_commands_start[], __shell_commands_end[];

namespace k::shell {
namespace {

constexpr int kMaxArgs = 16;
constexpr size_t kLineMax = 256;

const Command* find(std::string_view name) {
  for (const Command* c = __shell_commands_start; c < __shell_commands_end; ++c)
    if (name == c->name) return c;
  return nullptr;
}

int split(char* line, char** argv) {
  int argc = 0;
  char* p = line;
  while (*p && argc < kMaxArgs) {
    while (*p == ' ' || *p == '\t') *p++ = 0;
    if (!*p) break;
    argv[argc++] = p;
    while (*p && *p != ' ' && *p != '\t') ++p;
  }
  return argc;
}

int read_char() {
  for (;;) {
    const int c = console_getc();
    if (c >= 0) return c;
    // Polled console: the tick (100 Hz) wakes us to look again.
    asm volatile("wfi");
  }
}

}  // namespace

int execute(char* line) {
  char* argv[kMaxArgs + 1] = {};
  const int argc = split(line, argv);
  if (argc == 0) return 0;
  const Command* c = find(argv[0]);
  if (!c) {
    printk_raw("%s: unknown command (try 'help')\n", argv[0]);
    return -1;
  }
  return c->fn(argc, argv);
}

void run() {
  char line[kLineMax];
  for (;;) {
    printk_raw("rvk> ");
    size_t n = 0;
    for (;;) {
      const int c = read_char();
      if (c == '\r' || c == '\n') {
        printk_raw("\n");
        break;
      }
      if ((c == 0x7f || c == '\b') && n > 0) {
        --n;
        printk_raw("\b \b");
        continue;
      }
      if (c == 0x15) {  // Ctrl-U: erase the line
        while (n) --n, printk_raw("\b \b");
        continue;
      }
      if (c >= 0x20 && c < 0x7f && n + 1 < sizeof(line)) {
        line[n++] = static_cast<char>(c);
        printk_raw("%c", c);
      }
    }
    line[n] = 0;
    execute(line);
  }
}

}  // namespace k::shell

SHELL_COMMAND(help, "list commands") {
  for (const k::shell::Command* c = __shell_commands_start; c < __shell_commands_end; ++c)
    k::printk_raw("  %-12s %s\n", c->name, c->help);
  return 0;
}

SHELL_COMMAND(test, "run self-tests: test [suite,suite|all]") {
  const auto r = k::selftest::run(argc > 1 ? std::string_view(argv[1]) : "all");
  return r.failed ? 1 : 0;
}

SHELL_COMMAND(poweroff, "power the machine off") { arch::power_off(false); }

SHELL_COMMAND(reboot, "reboot through SBI SRST") { arch::reboot(); }

SHELL_COMMAND(uptime, "time since boot") {
  const uint64_t ns = arch::uptime_ns();
  k::printk_raw("up %llu.%03llu s\n", static_cast<unsigned long long>(ns / 1000000000ull),
                static_cast<unsigned long long>((ns / 1000000ull) % 1000ull));
  return 0;
}
