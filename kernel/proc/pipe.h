// Anonymous pipes (POSIX pipe(2); Linux pipe2 with O_CLOEXEC): a one-page
// ring buffer between a read end and a write end. Reads block while the
// pipe is empty and a writer exists (then return 0 at end of file);
// writes block while it is full and a reader exists; writing with no
// reader is EPIPE after SIGPIPE's default action (termination) unless
// SIGPIPE is ignored.
#pragma once

#include <cstdint>

#include "lib/result.h"

namespace k {

struct Pipe;
struct OpenFile;

// Creates a pipe: *rd and *wr are new open files (one reference each).
Result<void> pipe_create(OpenFile** rd, OpenFile** wr);
int64_t pipe_read(Pipe* p, uint64_t ubuf, uint64_t len);
int64_t pipe_write(Pipe* p, uint64_t ubuf, uint64_t len);
// After a pipe_write that returned -EPIPE, with no references held:
// SIGPIPE, whose default action ends the process (unless ignored).
void pipe_raise_sigpipe();
// The last reference of one end went away.
void pipe_release(Pipe* p, bool write_end);

}  // namespace k
