// lib/cmdline: Linux command-line conventions (kernel/params.c next_arg(),
// lib/cmdline.c memparse()).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/cmdline.h"

namespace {

using k::cmdline_get;
using k::cmdline_has;
using k::parse_bool;
using k::parse_u64;

struct Param {
  std::string key, value;
  bool has_value;
  bool operator==(const Param&) const = default;
};

std::vector<Param> split(std::string_view s) {
  std::vector<Param> v;
  k::cmdline_for_each(s, [&](const k::CmdlineParam& p) {
    v.push_back({std::string(p.key), std::string(p.value), p.has_value});
  });
  return v;
}

TEST(Cmdline, splits_flags_values_quotes_and_dotted_keys) {
  EXPECT_EQ(split("  console=ttyS0,115200\tquiet  selftest.exit=1 dyndbg=\"file x +p\" empty= "
                  "\"quoted=a b\" "),
            (std::vector<Param>{{"console", "ttyS0,115200", true},
                                {"quiet", "", false},
                                {"selftest.exit", "1", true},
                                {"dyndbg", "file x +p", true},
                                {"empty", "", true},
                                {"quoted", "a b", true}}));
  EXPECT_EQ(split(""), std::vector<Param>{});
  EXPECT_EQ(split(" \t\n "), std::vector<Param>{});
}

TEST(Cmdline, get_returns_last_occurrence_and_flags_as_empty) {
  const std::string_view c = "mem=1G quiet mem=512M selftest=buddy,slab init=/bin/sh";
  EXPECT_EQ(cmdline_get(c, "mem"), "512M");
  EXPECT_EQ(cmdline_get(c, "quiet"), "");
  EXPECT_EQ(cmdline_get(c, "selftest"), "buddy,slab");
  EXPECT_EQ(cmdline_get(c, "init"), "/bin/sh");
  EXPECT_FALSE(cmdline_get(c, "me").has_value());
  EXPECT_FALSE(cmdline_get(c, "memx").has_value());
  EXPECT_FALSE(cmdline_get(c, "").has_value());
  EXPECT_TRUE(cmdline_has(c, "quiet"));
  EXPECT_TRUE(cmdline_has(c, "mem"));
  EXPECT_FALSE(cmdline_has(c, "loud"));
}

TEST(Cmdline, dash_and_underscore_are_the_same_in_keys) {
  EXPECT_EQ(cmdline_get("no_hash_pointers foo-bar=2", "foo_bar"), "2");
  EXPECT_TRUE(cmdline_has("no_hash_pointers", "no-hash-pointers"));
  EXPECT_FALSE(cmdline_has("foo.bar", "foo_bar"));
}

TEST(Cmdline, double_dash_ends_kernel_parameters) {
  EXPECT_EQ(split("a=1 -- b=2 quiet"), (std::vector<Param>{{"a", "1", true}}));
  EXPECT_FALSE(cmdline_has("a=1 -- quiet", "quiet"));
  // Only a bare "--" ends them.
  EXPECT_EQ(cmdline_get("--=x quiet", "--"), "x");
}

TEST(Cmdline, malformed_input_does_not_crash) {
  // Unterminated quotes run to the end of the line.
  EXPECT_EQ(split("a=\"b c d"), (std::vector<Param>{{"a", "b c d", true}}));
  EXPECT_EQ(split("\"a b"), (std::vector<Param>{{"a b", "", false}}));
  EXPECT_EQ(split("a=\""), (std::vector<Param>{{"a", "", true}}));
  EXPECT_EQ(split("\""), (std::vector<Param>{{"", "", false}}));
  EXPECT_EQ(split("\"\""), (std::vector<Param>{{"", "", false}}));
  // Empty keys.
  EXPECT_EQ(split("=x ="), (std::vector<Param>{{"", "x", true}, {"", "", true}}));
  EXPECT_FALSE(cmdline_get("=x", "").has_value());
  // Later '=' belong to the value.
  EXPECT_EQ(cmdline_get("root=PARTUUID=abc=d", "root"), "PARTUUID=abc=d");
  // Embedded NULs are ordinary bytes in a string_view.
  EXPECT_EQ(cmdline_get(std::string_view("a=1\0b=2", 7), "a"), std::string_view("1\0b=2", 5));
  // Huge input: one long token and many short ones.
  std::string big(1 << 20, 'x');
  EXPECT_EQ(cmdline_get(big + "=1", big), "1");
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "k=" + std::to_string(i) + " ";
  EXPECT_EQ(cmdline_get(many, "k"), "99999");
}

TEST(Cmdline, parse_u64_reads_memparse_suffixes_and_bases) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("512M"), 512ull << 20);
  EXPECT_EQ(parse_u64("6G"), 6ull << 30);
  EXPECT_EQ(parse_u64("4k"), 4096u);
  EXPECT_EQ(parse_u64("1T"), 1ull << 40);
  EXPECT_EQ(parse_u64("2p"), 2ull << 50);
  EXPECT_EQ(parse_u64("3E"), 3ull << 60);
  EXPECT_EQ(parse_u64("0x80000000"), 0x80000000u);
  EXPECT_EQ(parse_u64("0X1fK"), 0x1fu << 10);
  EXPECT_EQ(parse_u64("0755"), 0755u);
  EXPECT_EQ(parse_u64("18446744073709551615"), ~uint64_t{0});
  EXPECT_FALSE(parse_u64("18446744073709551616").has_value());
  EXPECT_FALSE(parse_u64("0x1ffffffffffffffff").has_value());
  EXPECT_FALSE(parse_u64("16E").has_value());
  EXPECT_EQ(parse_u64("15E"), 15ull << 60);
  EXPECT_FALSE(parse_u64("").has_value());
  EXPECT_FALSE(parse_u64("M").has_value());
  EXPECT_FALSE(parse_u64("12MB").has_value());
  EXPECT_FALSE(parse_u64("12X").has_value());
  EXPECT_FALSE(parse_u64("-1").has_value());
  EXPECT_FALSE(parse_u64("08").has_value());
  EXPECT_EQ(parse_u64("0x"), std::nullopt);
}

TEST(Cmdline, parse_bool_accepts_linux_spellings) {
  for (const char* t : {"1", "y", "Y", "yes", "on", "ON", "true", ""})
    EXPECT_EQ(parse_bool(t), true) << t;
  for (const char* f : {"0", "n", "N", "no", "off", "Off", "false"})
    EXPECT_EQ(parse_bool(f), false) << f;
  for (const char* x : {"2", "maybe", "o", "yess", " 1"})
    EXPECT_FALSE(parse_bool(x).has_value()) << x;
}

}  // namespace
