// Running user programs from kernel context (init, the shell, the KTAP
// suite `user`).
#pragma once

#include <string_view>

#include "lib/result.h"

namespace k {

// Starts `path` as a child of the calling task and waits for it; returns
// its wait status. `prefix` (a static string, or nullptr) starts every
// line the program writes to the console.
Result<int> run_program(const char* path, const char* const* argv, const char* prefix);

// PID 1 from the `init=` bootarg: runs it and waits for it to exit.
void run_init(std::string_view init_path);

}  // namespace k
