// The UART shell: a line editor on the console and a registry of commands.
// Any module adds a command next to its code:
//
//   SHELL_COMMAND(buddyinfo, "free blocks per order and zone") {
//     show_buddyinfo();
//     return 0;
//   }
//
// `argc`/`argv` hold the words of the line (argv[0] is the command).
#pragma once

namespace k::shell {

struct Command {
  const char* name;
  const char* help;
  int (*fn)(int argc, char** argv);
};

// Runs the interactive loop on the console; never returns.
[[noreturn]] void run();
// Executes one command line (also used by tests); returns its status, or
// -1 for an unknown command.
int execute(char* line);

}  // namespace k::shell

#define SHELL_COMMAND(id, help_text)                                                              \
  static int shell_cmd_fn_##id(int argc, char** argv);                                            \
  [[gnu::used, gnu::section(".shell_commands")]] static const ::k::shell::Command shell_cmd_##id{ \
      #id, help_text, shell_cmd_fn_##id};                                                         \
  static int shell_cmd_fn_##id([[maybe_unused]] int argc, [[maybe_unused]] char** argv)
