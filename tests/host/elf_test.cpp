// lib/elf: the exec-time ELF64 validation, on the real riscv64 user
// programs and on hand-made images breaking one rule each.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "lib/elf.h"

using namespace k;
using namespace k::elf;

namespace {

constexpr uint64_t kTaskSize = uint64_t{1} << 38;  // Sv39 user half
const ElfLimits kLimits{kTaskSize, 4096};

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// A minimal valid static executable: text RX at 0x10000 (file 0..0x1000,
// holding the headers), data RW at 0x11000 (file 0x1000..0x1100, bss to
// 0x13000), PT_GNU_STACK RW.
struct Image {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(0x1100, 0);
  Elf64_Ehdr& eh() { return *reinterpret_cast<Elf64_Ehdr*>(bytes.data()); }
  Elf64_Phdr& ph(size_t i) {
    return *reinterpret_cast<Elf64_Phdr*>(bytes.data() + eh().e_phoff + i * sizeof(Elf64_Phdr));
  }
  Image() {
    Elf64_Ehdr& h = eh();
    const uint8_t ident[] = {0x7f, 'E', 'L', 'F', kElfClass64, kElfData2Lsb, kEvCurrent};
    std::memcpy(h.e_ident, ident, sizeof ident);
    h.e_type = kEtExec;
    h.e_machine = kEmRiscv;
    h.e_version = kEvCurrent;
    h.e_entry = 0x10100;
    h.e_phoff = sizeof(Elf64_Ehdr);
    h.e_ehsize = sizeof(Elf64_Ehdr);
    h.e_phentsize = sizeof(Elf64_Phdr);
    h.e_phnum = 4;
    ph(0) = Elf64_Phdr{kPtPhdr, kPfR, 64, 0x10040, 0x10040, 4 * 56, 4 * 56, 8};
    ph(1) = Elf64_Phdr{kPtLoad, kPfR | kPfX, 0, 0x10000, 0x10000, 0x1000, 0x1000, 0x1000};
    ph(2) = Elf64_Phdr{kPtLoad, kPfR | kPfW, 0x1000, 0x11000, 0x11000, 0x100, 0x2000, 0x1000};
    ph(3) = Elf64_Phdr{kPtGnuStack, kPfR | kPfW, 0, 0, 0, 0, 0, 16};
  }
};

struct Parsed {
  Result<void> r;
  ElfImage img;
  const char* why = nullptr;
};

Parsed parse(const std::vector<uint8_t>& b, const ElfLimits& lim = kLimits) {
  Parsed p{Result<void>(), {}, nullptr};
  auto r = parse_elf(std::span<const uint8_t>(b.data(), b.size()), lim, &p.img, &p.why);
  if (!r.ok()) p.r = Result<void>(r.error());
  return p;
}

}  // namespace

TEST(Elf, HandMadeImageIsValid) {
  Image im;
  Parsed p = parse(im.bytes);
  ASSERT_TRUE(p.r.ok()) << p.why;
  EXPECT_EQ(p.img.type, kEtExec);
  EXPECT_FALSE(p.img.needs_load_bias);
  EXPECT_EQ(p.img.entry, 0x10100u);
  EXPECT_EQ(p.img.phdr_vaddr, 0x10040u);
  EXPECT_TRUE(p.img.phdr_mapped);
  EXPECT_EQ(p.img.phnum, 4);
  EXPECT_EQ(p.img.phent, 56);
  ASSERT_EQ(p.img.nr_segments, 2u);
  EXPECT_EQ(p.img.segments[0].prot, kProtRead | kProtExec);
  EXPECT_EQ(p.img.segments[1].prot, kProtRead | kProtWrite);
  EXPECT_EQ(p.img.segments[1].memsz, 0x2000u);
  EXPECT_EQ(p.img.segments[1].filesz, 0x100u);
  EXPECT_EQ(p.img.min_vaddr, 0x10000u);
  EXPECT_EQ(p.img.max_vaddr, 0x13000u);
  EXPECT_TRUE(p.img.has_gnu_stack);
  EXPECT_FALSE(p.img.stack_executable);
}

TEST(Elf, PhdrFromCoveringLoadWithoutPtPhdr) {
  Image im;
  im.ph(0).p_type = kPtNull;
  Parsed p = parse(im.bytes);
  ASSERT_TRUE(p.r.ok()) << p.why;
  EXPECT_EQ(p.img.phdr_vaddr, 0x10040u);
}

TEST(Elf, ExecutableStackFlag) {
  Image im;
  im.ph(3).p_flags |= kPfX;
  Parsed p = parse(im.bytes);
  ASSERT_TRUE(p.r.ok());
  EXPECT_TRUE(p.img.stack_executable);
}

TEST(Elf, EtDynNeedsAndTakesALoadBias) {
  Image im;
  im.eh().e_type = kEtDyn;
  im.eh().e_entry = 0x100;
  im.ph(0).p_vaddr = 0x40;
  im.ph(1).p_vaddr = 0;
  im.ph(2).p_vaddr = 0x1000;
  Parsed p = parse(im.bytes);
  ASSERT_TRUE(p.r.ok()) << p.why;
  EXPECT_TRUE(p.img.needs_load_bias);
  const char* why = nullptr;
  EXPECT_EQ(apply_load_bias(&p.img, 0x1234, kLimits, &why).error(), Errno::kENOEXEC);
  EXPECT_EQ(apply_load_bias(&p.img, kTaskSize - 0x1000, kLimits, &why).error(), Errno::kENOEXEC);
  ASSERT_TRUE(apply_load_bias(&p.img, 0x2aaa000000, kLimits, &why).ok()) << why;
  EXPECT_EQ(p.img.entry, 0x2aaa000100u);
  EXPECT_EQ(p.img.phdr_vaddr, 0x2aaa000040u);
  EXPECT_EQ(p.img.segments[1].vaddr, 0x2aaa001000u);
  EXPECT_EQ(p.img.min_vaddr, 0x2aaa000000u);
  EXPECT_EQ(p.img.max_vaddr, 0x2aaa003000u);
  EXPECT_EQ(apply_load_bias(&p.img, 0x1000, kLimits, &why).error(), Errno::kEINVAL);  // twice
}

TEST(Elf, LoadBiasOnEtExecIsEinval) {
  Image im;
  Parsed p = parse(im.bytes);
  ASSERT_TRUE(p.r.ok());
  EXPECT_EQ(apply_load_bias(&p.img, 0x100000, kLimits).error(), Errno::kEINVAL);
}

// One rule per row: the mutation and a word the reason must contain.
struct Rule {
  const char* name;
  std::function<void(Image&)> mutate;
  const char* reason;
};

class ElfReject : public ::testing::TestWithParam<Rule> {};

TEST_P(ElfReject, IsEnoexecWithReason) {
  Image im;
  GetParam().mutate(im);
  Parsed p = parse(im.bytes);
  ASSERT_FALSE(p.r.ok());
  EXPECT_EQ(p.r.error(), Errno::kENOEXEC);
  ASSERT_NE(p.why, nullptr);
  EXPECT_NE(std::string(p.why).find(GetParam().reason), std::string::npos) << p.why;
  EXPECT_EQ(p.img.nr_segments, 0u);  // nothing half-filled
}

const Rule kRules[] = {
    {"too_short", [](Image& i) { i.bytes.resize(63); }, "shorter"},
    {"magic", [](Image& i) { i.eh().e_ident[1] = 'X'; }, "magic"},
    {"class32", [](Image& i) { i.eh().e_ident[kEiClass] = 1; }, "ELFCLASS64"},
    {"big_endian", [](Image& i) { i.eh().e_ident[kEiData] = 2; }, "little-endian"},
    {"ident_version", [](Image& i) { i.eh().e_ident[kEiVersion] = 2; }, "version"},
    {"e_version", [](Image& i) { i.eh().e_version = 0; }, "version"},
    {"machine", [](Image& i) { i.eh().e_machine = 62; }, "EM_RISCV"},
    {"type_rel", [](Image& i) { i.eh().e_type = 1; }, "e_type"},
    {"type_core", [](Image& i) { i.eh().e_type = 4; }, "e_type"},
    {"phentsize", [](Image& i) { i.eh().e_phentsize = 32; }, "e_phentsize"},
    {"phnum_zero", [](Image& i) { i.eh().e_phnum = 0; }, "no program headers"},
    {"phnum_xnum", [](Image& i) { i.eh().e_phnum = 0xffff; }, "PN_XNUM"},
    {"phnum_huge", [](Image& i) { i.eh().e_phnum = 2000; }, "64 KiB"},
    {"phoff_past_end", [](Image& i) { i.eh().e_phoff = 0x10f0; }, "outside the file"},
    {"phoff_overflow", [](Image& i) { i.eh().e_phoff = ~uint64_t{0} - 8; }, "outside the file"},
    {"interp", [](Image& i) { i.ph(3).p_type = kPtInterp; }, "PT_INTERP"},
    {"two_phdr", [](Image& i) { i.ph(3) = i.ph(0); }, "more than one PT_PHDR"},
    {"phdr_after_load", [](Image& i) { std::swap(i.ph(0), i.ph(1)); }, "PT_PHDR after"},
    {"phdr_not_mapped", [](Image& i) { i.ph(0).p_vaddr = 0x50000; }, "PT_PHDR not inside"},
    {"filesz_gt_memsz", [](Image& i) { i.ph(2).p_filesz = 0x3000; }, "p_filesz > p_memsz"},
    {"load_past_eof", [](Image& i) { i.ph(2).p_filesz = 0x200; }, "outside the file"},
    {"load_offset_overflow",
     [](Image& i) {
       i.ph(2).p_offset = ~uint64_t{0} - 0xfff;
       i.ph(2).p_vaddr = 0x11000;
     },
     "outside the file"},
    {"align_not_pow2", [](Image& i) { i.ph(2).p_align = 0x3000; }, "power of two"},
    {"align_mismatch", [](Image& i) { i.ph(2).p_vaddr = 0x11800; }, "p_align"},
    {"page_mismatch",
     [](Image& i) {
       i.ph(2).p_align = 1;
       i.ph(2).p_vaddr = 0x11800;
     },
     "page size"},
    {"vaddr_overflow",
     [](Image& i) {
       i.ph(2).p_vaddr = ~uint64_t{0} - 0xfff;
       i.ph(2).p_offset = 0x1000;
     },
     "overflows"},
    {"unsorted", [](Image& i) { i.ph(2).p_vaddr = 0x1000; }, "not sorted"},
    {"overlap", [](Image& i) { i.ph(1).p_memsz = 0x1800; }, "overlap"},
    {"no_load",
     [](Image& i) {
       i.ph(1).p_type = kPtNote;
       i.ph(2).p_type = kPtNote;
       i.ph(0).p_type = kPtNull;
     },
     "no PT_LOAD"},
    {"beyond_task_size",
     [](Image& i) {
       i.ph(2).p_vaddr = kTaskSize - 0x1000;
       i.ph(2).p_memsz = 0x2000;
     },
     "user address limit"},
    {"below_mmap_min",
     [](Image& i) {
       i.ph(0).p_type = kPtNull;
       i.ph(1).p_vaddr = 0;
       i.eh().e_entry = 0x100;
     },
     "mmap_min_addr"},
    {"entry_outside", [](Image& i) { i.eh().e_entry = 0x50000; }, "entry point"},
    {"entry_in_data", [](Image& i) { i.eh().e_entry = 0x11010; }, "executable"},
    {"entry_odd", [](Image& i) { i.eh().e_entry = 0x10101; }, "aligned"},
};

INSTANTIATE_TEST_SUITE_P(Rules, ElfReject, ::testing::ValuesIn(kRules),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Elf, TooManyLoadSegments) {
  Image im;
  // 20 one-page text segments; the table moves past the headers' page.
  im.bytes.assign(0x20000, 0);
  Image fresh;
  std::memcpy(im.bytes.data(), fresh.bytes.data(), sizeof(Elf64_Ehdr));
  im.eh().e_phnum = 20;
  for (int i = 0; i < 20; ++i)
    im.ph(i) = Elf64_Phdr{
        kPtLoad, kPfR | kPfX, uint64_t(i) * 0x1000, 0x10000 + uint64_t(i) * 0x1000, 0, 0x1000,
        0x1000,  0x1000};
  Parsed p = parse(im.bytes);
  ASSERT_FALSE(p.r.ok());
  EXPECT_STREQ(p.why, "too many PT_LOAD segments");
}

TEST(Elf, EveryTruncationOfAValidImageIsRejectedCleanly) {
  Image im;
  for (size_t n = 0; n < im.bytes.size(); n += 7) {
    std::vector<uint8_t> cut(im.bytes.begin(), im.bytes.begin() + n);
    Parsed p = parse(cut);
    EXPECT_FALSE(p.r.ok()) << n;
  }
}

// --- The real riscv64 user programs (tests/user, built by this build) ---

class RealElf : public ::testing::TestWithParam<const char*> {};

TEST_P(RealElf, StaticGlibcProgramIsValid) {
  const std::string path = std::string(USER_BIN_DIR) + "/" + GetParam();
  std::vector<uint8_t> b = read_file(path);
  if (b.empty()) GTEST_SKIP() << path << " not built";
  Parsed p = parse(b);
  ASSERT_TRUE(p.r.ok()) << p.why;
  EXPECT_EQ(p.img.type, kEtExec);
  EXPECT_GE(p.img.nr_segments, 2u);
  EXPECT_TRUE(p.img.phdr_mapped);
  EXPECT_TRUE(p.img.has_gnu_stack);
  EXPECT_FALSE(p.img.stack_executable);
  EXPECT_GE(p.img.min_vaddr, 0x10000u);
  // The text segment is RX, the data segment RW, none is W+X.
  for (size_t i = 0; i < p.img.nr_segments; ++i)
    EXPECT_NE(p.img.segments[i].prot & (kProtWrite | kProtExec), kProtWrite | kProtExec);
}

INSTANTIATE_TEST_SUITE_P(UserPrograms, RealElf,
                         ::testing::Values("hello", "brk", "mmap_sparse", "fork_cow", "exec",
                                           "faults", "efault", "oom", "fork_many"));

TEST(RealElf, StaticPieIsEtDynWithoutInterp) {
  std::vector<uint8_t> b = read_file(std::string(USER_BIN_DIR) + "/static_pie");
  if (b.empty()) GTEST_SKIP() << "static_pie not built";
  Parsed p = parse(b);
  ASSERT_TRUE(p.r.ok()) << p.why;
  EXPECT_EQ(p.img.type, kEtDyn);
  EXPECT_TRUE(p.img.needs_load_bias);
  EXPECT_EQ(p.img.min_vaddr, 0u);
  ASSERT_TRUE(apply_load_bias(&p.img, 0x2aaaaaa000, kLimits).ok());
  EXPECT_GE(p.img.entry, 0x2aaaaaa000u);
}

TEST(RealElf, TruncatedElfIsEnoexec) {
  std::vector<uint8_t> b = read_file(std::string(USER_BIN_DIR) + "/truncated_elf");
  if (b.empty()) GTEST_SKIP() << "truncated_elf not built";
  Parsed p = parse(b);
  EXPECT_EQ(p.r.error(), Errno::kENOEXEC);
}

TEST(RealElf, HostBinaryIsWrongMachine) {
  std::vector<uint8_t> b = read_file("/proc/self/exe");
  if (b.empty()) GTEST_SKIP();
  Parsed p = parse(b);
  EXPECT_EQ(p.r.error(), Errno::kENOEXEC);
}
