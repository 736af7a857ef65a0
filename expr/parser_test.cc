// Tests of the match parser and ValidateMatch (reference 5.2, 5.3, 4.4).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "expr/expr.h"

namespace spate::expr {
namespace {

std::string Parsed(std::string_view s) {
  Result<Expr> e = ParseMatch(s, DefaultSymbols());
  if (!e.ok()) return "error: " + e.error().details();
  return e->ToString();
}

std::string ErrorOf(std::string_view s) {
  Status st = ValidateMatch(s);
  if (st.ok()) return "ok";
  EXPECT_EQ(st.error().tag(), "syntax error") << s;
  return st.error().details();
}

TEST(SymbolsTest, Ovn2015Table) {
  const SymbolTable& t = DefaultSymbols();
  EXPECT_EQ(t.symbols().size(), 58u);  // Counted from reference 5.2.
  const Symbol* pcp = t.Find("vlan.pcp");
  ASSERT_NE(pcp, nullptr);
  EXPECT_EQ(pcp->kind, SymbolKind::kSubfield);
  EXPECT_EQ(pcp->parent, t.Find("vlan.tci"));
  EXPECT_EQ(pcp->parent_offset, 13);
  EXPECT_EQ(pcp->width, 3);
  EXPECT_EQ(pcp->prereqs_text, "vlan.present");
  EXPECT_EQ(t.Find("ip4")->level, Level::kNominal);
  EXPECT_EQ(t.Find("tcp")->level, Level::kNominal);
  EXPECT_EQ(t.Find("nd")->level, Level::kBoolean);
  EXPECT_EQ(t.Find("ip.first_frag")->level, Level::kBoolean);
  EXPECT_EQ(t.Find("vlan.present")->level, Level::kBoolean);
  EXPECT_TRUE(t.Find("eth.type")->must_crossproduct);
  EXPECT_TRUE(t.Find("icmp6.type")->must_crossproduct);
  EXPECT_FALSE(t.Find("ip4.src")->must_crossproduct);
  EXPECT_FALSE(t.Find("ip.proto")->writable);
  EXPECT_TRUE(t.Find("outport")->writable);
  EXPECT_TRUE(t.Find("inport")->is_string);
  EXPECT_EQ(t.Find("inport")->field, cls::Field::kLogInport);
  EXPECT_EQ(t.Find("ip6.src")->width, 128);
  EXPECT_EQ(t.Find("reg6"), nullptr);
}

TEST(SymbolsTest, CustomTablesRejectBadDefinitions) {
  SymbolTable t;
  ASSERT_TRUE(t.AddField("f", cls::Field::kReg0, 32, FieldOptions{}).ok());
  EXPECT_FALSE(t.AddField("f", cls::Field::kReg1, 32, FieldOptions{}).ok());  // duplicate
  EXPECT_FALSE(t.AddField("g", cls::Field::kReg1, 33, FieldOptions{}).ok());  // too wide
  EXPECT_FALSE(t.AddField("h", cls::Field::kReg1, 32, FieldOptions{.prereqs = "nope"}).ok());
  EXPECT_FALSE(t.AddSubfield("s", "f[30..40]", "").ok());
  EXPECT_FALSE(t.AddSubfield("s", "nope[0..1]", "").ok());
  EXPECT_FALSE(t.AddPredicate("p", "f ==").ok());
  ASSERT_TRUE(t.AddSubfield("s", "f[4..7]", "").ok());
  ASSERT_TRUE(t.AddPredicate("p", "s == 3").ok());
  Result<Expr> e = ParseMatch("p && f[0]", t);
  ASSERT_TRUE(e.ok());
  Result<Expr> a = Annotate(*e);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ToString(), "f[4..7] == 0x3 && f[0] == 0x1");
}

TEST(ParserTest, PrintsBackAsOvnDoes) {
  EXPECT_EQ(Parsed("eth.type==0x800"), "eth.type == 0x800");
  EXPECT_EQ(Parsed("vlan.tci == 0x3000/0xf000"), "vlan.tci[12..15] == 0x3");
  EXPECT_EQ(Parsed("!(1 <= vlan.pcp <= 4)"), "vlan.pcp < 0x1 || vlan.pcp > 0x4");
  EXPECT_EQ(Parsed("ip4.src == {10.0.0.0/8, 192.168.0.0/16}"),
            "ip4.src[24..31] == 0xa || ip4.src[16..31] == 0xc0a8");
  EXPECT_EQ(Parsed("80 == tcp.src"), "tcp.src == 0x50");
  EXPECT_EQ(Parsed("80 < tcp.src"), "tcp.src > 0x50");
  EXPECT_EQ(Parsed("tcp.src != {80, 443}"), "tcp.src != 0x50 && tcp.src != 0x1bb");
  EXPECT_EQ(Parsed("!(tcp.src == {80, 443})"), "tcp.src != 0x50 && tcp.src != 0x1bb");
  EXPECT_EQ(Parsed("!vlan.present"), "!vlan.present");
  EXPECT_EQ(Parsed("vlan.present == 0"), "!vlan.present");
  EXPECT_EQ(Parsed("ip4 == 1"), "ip4");
  EXPECT_EQ(Parsed("eth.src == 00:00:00:00:00:01/01:00:00:00:00:01"),
            "eth.src == 0x1/0x10000000001");
  EXPECT_EQ(Parsed("1"), "1");
  EXPECT_EQ(Parsed("0"), "0");
  EXPECT_EQ(Parsed("1 && tcp"), "tcp");
  EXPECT_EQ(Parsed("0 || tcp"), "tcp");
  EXPECT_EQ(Parsed("reg0 == 0/0"), "1");
  EXPECT_EQ(Parsed("(tcp.src == 1 || tcp.src == 2) && (udp || tcp)"),
            "(tcp.src == 0x1 || tcp.src == 0x2) && (udp || tcp)");
  EXPECT_EQ(Parsed("a.b.c.d == 1"), "error: column 1: unknown field `a.b.c.d'");
  EXPECT_EQ(Parsed("outport == \"a\\\"b\""), "outport == \"a\\\"b\"");
  EXPECT_EQ(Parsed("!(!(tcp.src == 1))"), "tcp.src == 0x1");
  EXPECT_EQ(Parsed("eth.src[40]"), "eth.src[40] == 0x1");
  EXPECT_EQ(Parsed("!eth.src[40]"), "eth.src[40] != 0x1");
  EXPECT_EQ(Parsed("vlan.pcp[2]"), "vlan.pcp[2] == 0x1");
  EXPECT_EQ(Parsed("ip6.src == fe80::/10"), "ip6.src[118..127] == 0x3fa");
  EXPECT_EQ(Parsed("// comment\n tcp.dst /* x */ >= 1024"), "tcp.dst >= 0x400");
}

TEST(ParserTest, OvnNbdMatches) {
  const char* good[] = {
      "inport == \"sw0-port1\" && eth.src == {00:00:00:00:00:01}",
      "inport == \"sw0-port1\" && eth.src == {00:00:00:00:00:01 00:00:00:00:00:02}",
      "inport == \"sw0-port1\" && eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02,}",
      "eth.dst[40]",
      "eth.src[40]",
      "vlan.present",
      "1",
      "outport == \"P\" && eth.dst == {00:00:00:00:00:01 0a:00:00:00:00:02}",
      "eth.dst == 00:00:00:00:00:01",
      "inport == \"P\"",
      "outport == \"neutron-2b6c1e4d\"",
      "ip4 && tcp.dst == 80",
      "ip4.src == 10.0.0.0/8 && udp",
      "ip6.dst == fe80::/64 && icmp6",
      "arp.op == 1 && arp.tpa == 10.0.0.1",
      "nd.target == fe80::1",
      "nd.sll == 00:11:22:33:44:55",
      "ip.first_frag",
      "!ip.later_frag",
      "1024 <= tcp.src <= 49151",
      "tcp.flags == 0x2/0x2",
      "reg0 == 5 && reg5[3..7] == 2",
      "vlan.vid == 100 && vlan.pcp == 3",
      "icmp4.type == 8 && icmp4.code == 0",
      "!(arp.op == 1)",
      "inport == {\"a\", \"b\"} && ip",
      "!(inport != \"a\")",
      "ip.ttl < 2 || ip.dscp == 46",
      "eth.type == {0x800, 0x806}",
      "ip.proto == 17 && udp.dst == {67, 68}",
      "sctp.dst == 2905",
      "ip6.label == 0xfffff",
      "icmp",
  };
  for (const char* m : good) EXPECT_EQ(ErrorOf(m), "ok") << m;
}

TEST(ParserTest, InvalidMatches) {
  struct Case {
    const char* match;
    const char* error;
  };
  const Case cases[] = {
      {"", "column 1: syntax error at end of input expecting field, constant, `(' or `!'"},
      {"eth.src == ", "column 12: syntax error at end of input expecting constant"},
      {"eht.src == 00:00:00:00:00:01", "column 1: unknown field `eht.src'"},
      {"tcp.src == \"x\"", "column 1: integer field tcp.src is not compatible with string constant"},
      {"inport == 5", "column 1: string field inport is not compatible with integer constant"},
      {"tcp.src == 65536", "column 1: 17-bit constant is not compatible with 16-bit field tcp.src"},
      {"eth.src[40] == 2", "column 1: 2-bit constant is not compatible with 1-bit field eth.src[40]"},
      {"vlan.pcp == 8", "column 1: 4-bit constant is not compatible with 3-bit field vlan.pcp"},
      {"tcp.src", "column 1: explicit `!= 0' is required for inequality test of multibit field tcp.src against 0"},
      {"inport", "column 1: string field inport must be compared to a string"},
      {"eth.type < 0x800", "column 1: only == and != operators may be used with nominal fields (eth.type)"},
      {"eth.type != 0x800", "column 1: nominal field eth.type may only be tested for equality (taking enclosing `!' operators into account)"},
      {"!(eth.type == 0x800)", "column 3: nominal field eth.type may only be tested for equality (taking enclosing `!' operators into account)"},
      {"inport != \"a\"", "column 1: nominal field inport may only be tested for equality (taking enclosing `!' operators into account)"},
      {"!ip4", "column 2: nominal predicate ip4 may only be tested positively, e.g. `ip4' or `ip4 == 1' but not `!ip4' or `ip4 == 0'"},
      {"tcp == 0", "column 1: nominal predicate tcp may only be tested positively, e.g. `tcp' or `tcp == 1' but not `!tcp' or `tcp == 0'"},
      {"tcp.src < {1, 2}", "column 1: only == and != operators may be used with value sets (tcp.src)"},
      {"eth.src < 00:00:00:00:00:01/00:00:00:00:00:ff", "column 1: only == and != operators may be used with masked constants (use a subfield instead, e.g. eth.src[0..15] > 0x1111) (eth.src)"},
      {"tcp && udp || ip4", "column 12: && and || must be parenthesized when used together"},
      {"!arp.op == 1", "column 2: missing parentheses around operand of !"},
      {"eth.type[0..7] == 1", "column 9: cannot select subfield of nominal field eth.type"},
      {"eth.src[48]", "column 8: bit index out of range for 48-bit field eth.src"},
      {"eth.src[5..4]", "column 8: invalid bit range (lower bound above upper bound)"},
      {"ip4[0]", "column 4: cannot select a subfield of predicate ip4"},
      {"inport[0]", "column 7: cannot select a subfield of string field inport"},
      {"1 < tcp.src > 5", "column 13: range expressions must use `<'/`<=' or `>'/`>=' on both sides"},
      {"tcp.src == {}", "column 13: empty set of values"},
      {"(tcp", "column 5: syntax error at end of input expecting `)'"},
      {"tcp)", "column 4: syntax error at `)' expecting `&&' or `||' or end of input"},
      {"2", "column 2: syntax error at end of input expecting relational operator"},
      {"{1}", "column 4: syntax error at end of input expecting relational operator"},
      {"tcp.src == 012", "column 12: decimal constants must not have leading zeros"},
      {"ip4.src == 10.0.0.1/8", "column 12: value contains unmasked 1-bits"},
      {"eth.src == 00:00:00:00:00:01/8", "column 12: value and mask have incompatible formats"},
      {"tcp.src == 1 &", "column 14: `&' is only valid as part of `&&'"},
      {"eth.type == 0x800/0xff00", "column 1: nominal field eth.type cannot be compared with a masked constant"},
      {"vlan.present < 1", "column 1: only == and != operators may be used with predicates (vlan.present)"},
      {"vlan.present == 2", "column 1: 2-bit constant is not compatible with 1-bit field vlan.present"},
      {"metadata == 1", "column 1: unknown field `metadata'"},
      {"reg6 == 1", "column 1: unknown field `reg6'"},
      {"tcp.src == 1 tcp.dst == 2", "column 14: syntax error at `tcp.dst' expecting `&&' or `||' or end of input"},
      {"eth.src = 1", "column 1: explicit `!= 0' is required for inequality test of multibit field eth.src against 0"},
      {"tcp.src == 1 = 2", "column 14: syntax error at `=' expecting `&&' or `||' or end of input"},
  };
  for (const Case& c : cases) EXPECT_EQ(ErrorOf(c.match), c.error) << c.match;
}

TEST(ParserTest, MatchesTooComplexToCompileAreRejected) {
  EXPECT_EQ(ErrorOf("ip4.src != {10.0.0.1, 10.0.0.2, 10.0.0.3}"),
            "expression too complex to normalize (more than 8192 terms)");
  EXPECT_EQ(ErrorOf("ip4.src != {10.0.0.1, 10.0.0.2}"), "ok");
}

// DefaultSymbols() is built on first use and then shared read-only: many
// threads validating at once (first use included) agree (run under TSan).
TEST(ParserTest, ConcurrentValidationSharesTheTable) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&failures] {
      for (int i = 0; i < 200; ++i) {
        if (!ValidateMatch("inport == \"p\" && ip4.src == 10.0.0.0/8 && tcp.dst < 1024").ok() ||
            ValidateMatch("!ip4").ok()) {
          failures.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ParserTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep(10000, '(');
  EXPECT_NE(ErrorOf(deep), "ok");
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "!(";
  EXPECT_NE(ErrorOf(nots), "ok");
}

TEST(ParserTest, PrintedFormParsesBack) {
  const char* inputs[] = {
      "ip4.src == {10.0.0.0/8, 192.168.0.0/16} && tcp.dst >= 1024",
      "!(1 <= vlan.pcp <= 4) || eth.src == 00:00:00:00:00:01/01:00:00:00:00:01",
      "inport == {\"a\", \"b\\\\c\"} && (ip6 || arp)",
      "!(ip.first_frag && !vlan.present)",
  };
  for (const char* in : inputs) {
    Result<Expr> a = ParseMatch(in, DefaultSymbols());
    ASSERT_TRUE(a.ok()) << in;
    Result<Expr> b = ParseMatch(a->ToString(), DefaultSymbols());
    ASSERT_TRUE(b.ok()) << a->ToString() << ": " << b.error().details();
    EXPECT_EQ(*a, *b) << in;
  }
}

TEST(AnnotateTest, ExpandsPrerequisitesSubfieldsAndPredicates) {
  auto annotated = [](std::string_view s) {
    Result<Expr> e = ParseMatch(s, DefaultSymbols());
    EXPECT_TRUE(e.ok()) << s;
    Result<Expr> a = Annotate(*e);
    EXPECT_TRUE(a.ok()) << s;
    return a->ToString();
  };
  EXPECT_EQ(annotated("tcp.src == 80"),
            "tcp.src == 0x50 && ip.proto == 0x6 && (eth.type == 0x800 || eth.type == 0x86dd)");
  EXPECT_EQ(annotated("vlan.pcp == 2"), "vlan.tci[13..15] == 0x2 && vlan.tci[12] == 0x1");
  EXPECT_EQ(annotated("!vlan.present"), "vlan.tci[12] != 0x1");
  EXPECT_EQ(annotated("ip.first_frag"),
            "ip.frag[0] == 0x1 && (eth.type == 0x800 || eth.type == 0x86dd) && "
            "ip.frag[1] != 0x1 && (eth.type == 0x800 || eth.type == 0x86dd)");
  EXPECT_EQ(annotated("inport == \"p\""), "inport == \"p\"");
  EXPECT_EQ(annotated("1"), "1");
}

}  // namespace
}  // namespace spate::expr
