// Running user programs from kernel context (init, the shell, the KTAP
// suite `user`).
#pragma once

#include <string_view>

#include "lib/result.h"

namespace k {

// Starts `path` as a child of the calling task and waits for it; returns
// its wait status. `indent` nests its console output (KTAP).
Result<int> run_program(const char* path, const char* const* argv, unsigned indent);

// PID 1 from the `init=` bootarg: runs it and waits for it to exit.
void run_init(std::string_view init_path);

}  // namespace k
