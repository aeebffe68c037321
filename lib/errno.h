// Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h).
// They are part of the user ABI (ARCHITECTURE.md: "errno values"), so the
// kernel uses the same numbers internally. The enumerators carry a k prefix
// (Errno::kENOMEM) because libc headers define the bare names as macros.
#pragma once

namespace k {

enum class Errno : int {
  kOk = 0,
  kEPERM = 1,
  kENOENT = 2,
  kESRCH = 3,
  kEINTR = 4,
  kEIO = 5,
  kENXIO = 6,
  kE2BIG = 7,
  kENOEXEC = 8,
  kEBADF = 9,
  kECHILD = 10,
  kEAGAIN = 11,
  kENOMEM = 12,
  kEACCES = 13,
  kEFAULT = 14,
  kEBUSY = 16,
  kEEXIST = 17,
  kENODEV = 19,
  kENOTDIR = 20,
  kEISDIR = 21,
  kEINVAL = 22,
  kEMFILE = 24,
  kENOTTY = 25,
  kEFBIG = 27,
  kENOSPC = 28,
  kESPIPE = 29,
  kEROFS = 30,
  kERANGE = 34,
  kENAMETOOLONG = 36,
  kENOSYS = 38,
  kENOTEMPTY = 39,
  kELOOP = 40,
  kEOVERFLOW = 75,
  kEILSEQ = 84,
};

const char* errno_name(Errno e);

}  // namespace k
