// Tests of Simplify, Normalize, ToMatches and CompileMatch (reference 5.4).
#include "expr/compile.h"

#include "classifier/flow_match_parse.h"

#include <gtest/gtest.h>

#include <set>

namespace spate::expr {
namespace {

const PortLookup kPorts = [](std::string_view name) -> std::optional<uint32_t> {
  if (name == "eth0") return 5;
  if (name == "eth1") return 6;
  if (name == "sw0-port1") return 1;
  return std::nullopt;
};

Expr Parse(std::string_view s) {
  Result<Expr> e = ParseMatch(s, DefaultSymbols());
  EXPECT_TRUE(e.ok()) << s << ": " << (e.ok() ? "" : e.error().details());
  return e.ok() ? *e : Expr::Bool(false);
}

Expr Prepared(std::string_view s) {
  Result<Expr> a = Annotate(Parse(s));
  EXPECT_TRUE(a.ok()) << s;
  return Simplify(*a);
}

std::string NormalForm(std::string_view s) {
  Result<Expr> n = Normalize(Prepared(s));
  return n.ok() ? n->ToString() : "error: " + n.error().details();
}

MatchList Compile(std::string_view s) {
  Result<MatchList> m = CompileMatch(s, Expr::Bool(true), DefaultSymbols(), kPorts, 1);
  EXPECT_TRUE(m.ok()) << s << ": " << (m.ok() ? "" : m.error().details());
  return m.ok() ? *m : MatchList{};
}

// `expected` in canonical form: each match (before any " conjunction")
// parsed and printed by the classifier.
std::multiset<std::string> Canon(std::multiset<std::string> expected) {
  std::multiset<std::string> out;
  for (const std::string& e : expected) {
    size_t sp = e.find(' ');
    std::string match = e.substr(0, sp);
    Result<cls::Match> m = cls::ParseMatch(match);
    EXPECT_TRUE(m.ok()) << match;
    out.insert((m.ok() ? m->ToString() : match) +
               (sp == std::string::npos ? "" : e.substr(sp)));
  }
  return out;
}

std::multiset<std::string> Texts(const MatchList& list) {
  std::multiset<std::string> out;
  for (const ExprMatch& m : list.matches) {
    std::string s = m.match.ToString();
    for (const cls::Conjunction& c : m.conjunctions) {
      s += " conjunction(" + std::to_string(c.id) + "," + std::to_string(c.clause) + "/" +
           std::to_string(c.n_clauses) + ")";
    }
    out.insert(s);
  }
  return out;
}

// Every relational operator on an 8-bit field, every constant, every value:
// the simplified form means the same as the comparison.
TEST(SimplifyTest, RangeAndInequalityDecompositionIsExact) {
  const Symbol* ttl = DefaultSymbols().Find("ip.ttl");
  for (Relop r : {Relop::kEq, Relop::kNe, Relop::kLt, Relop::kLe, Relop::kGt, Relop::kGe}) {
    for (int v = 0; v < 256; ++v) {
      Expr cmp = Expr::Cmp(ttl, r, v, 0xff);
      Expr simple = Simplify(cmp);
      size_t n_terms = simple.type == ExprType::kOr ? simple.children.size() : 1;
      EXPECT_LE(n_terms, 8u);
      for (int x = 0; x < 256; ++x) {
        cls::FlowKey key{};
        key.set_nw_ttl(static_cast<uint8_t>(x));
        ASSERT_EQ(Evaluate(cmp, key, kPorts), Evaluate(simple, key, kPorts))
            << cmp.ToString() << " vs " << simple.ToString() << " at " << x;
      }
    }
  }
}

TEST(SimplifyTest, SubfieldRangesAndMaskedInequality) {
  EXPECT_EQ(Simplify(Parse("reg0[0..3] < 5")).ToString(),
            "reg0[0..3] == 0x4 || reg0[2..3] == 0x0");
  EXPECT_EQ(Simplify(Parse("reg0 >= 0")).ToString(), "1");
  EXPECT_EQ(Simplify(Parse("reg0[4..7] > 15")).ToString(), "0");
  EXPECT_EQ(Simplify(Parse("reg0 != 0x5/0xf")).ToString(),
            "reg0[0] == 0x0 || reg0[1] == 0x1 || reg0[2] == 0x0 || reg0[3] == 0x1");
  EXPECT_EQ(Simplify(Parse("1 <= vlan.tci[13..15] <= 4")).ToString(),
            "(vlan.tci[13..15] == 0x1 || vlan.tci[14..15] == 0x1 || vlan.tci[15] == 0x1) && "
            "(vlan.tci[13..15] == 0x4 || vlan.tci[15] == 0x0)");
}

TEST(NormalizeTest, ClausesCrossProductsAndContradictions) {
  EXPECT_EQ(NormalForm("eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02}"),
            "eth.src == 0x1 || eth.src == 0x2");
  EXPECT_EQ(NormalForm("tcp.src == 1 && tcp.src == 2"), "0");
  EXPECT_EQ(NormalForm("1"), "1");
  EXPECT_EQ(NormalForm("reg0[0..3] == 1 && reg0[4..7] == 2"), "reg0[0..7] == 0x21");
  // Two independent single-field sets stay clauses of one term.
  EXPECT_EQ(NormalForm("reg0 == {1, 2} && reg1 == {3, 4}"),
            "(reg0 == 0x1 || reg0 == 0x2) && (reg1 == 0x3 || reg1 == 0x4)");
  // eth.type is must-crossproduct: `ip' distributes.
  EXPECT_EQ(NormalForm("inport == {\"eth0\", \"eth1\"} && ip"),
            "(eth.type == 0x800 && (inport == \"eth0\" || inport == \"eth1\")) || "
            "(eth.type == 0x86dd && (inport == \"eth0\" || inport == \"eth1\"))");
  // An OR over two fields distributes.
  EXPECT_EQ(NormalForm("(reg0 == 1 || reg1 == 1) && reg2 == 3"),
            "(reg0 == 0x1 && reg2 == 0x3) || (reg1 == 0x1 && reg2 == 0x3)");
  // A clause meets a constant on the same field.
  EXPECT_EQ(NormalForm("reg0 == {1, 2, 3} && reg0[0] == 1"), "reg0 == 0x1 || reg0 == 0x3");
  EXPECT_EQ(NormalForm("vlan.present || 1"), "1");
  // Terms differing in one field merge, and only those.
  EXPECT_EQ(NormalForm("(reg0 == 1 && reg1 == 1) || (reg0 == 2 && reg1 == 1) || "
                       "(reg0 == 1 && reg1 == 2)"),
            "((reg0 == 0x1 || reg0 == 0x2) && reg1 == 0x1) || (reg0 == 0x1 && reg1 == 0x2)");
  EXPECT_EQ(NormalForm("ip4.src == {10.0.0.1, 10.0.0.2}"),
            "eth.type == 0x800 && (ip4.src == 0xa000001 || ip4.src == 0xa000002)");
}

TEST(NormalizeTest, ExplosionIsAnErrorNotUnboundedWork) {
  std::string big = "(reg0[0] == 1 || reg1[0] == 1)";
  for (int i = 1; i < 14; ++i) {
    big += " && (reg0[" + std::to_string(i) + "] == 1 || reg1[" + std::to_string(i) + "] == 1)";
  }
  EXPECT_EQ(NormalForm(big),
            "error: expression too complex to normalize (more than 8192 terms)");
}

TEST(NormalizeTest, RequiresSimplifiedInput) {
  Result<Expr> n = Normalize(Parse("reg0 != 1"));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().details(), "cannot normalize `reg0 != 0x1': annotate and simplify first");
}

TEST(ToMatchesTest, ReferenceExampleGivesFourFlowsWithoutConjunction) {
  MatchList m = Compile("inport == {\"eth0\", \"eth1\"} && ip");
  EXPECT_EQ(m.n_conj_ids, 0u);
  EXPECT_EQ(Texts(m), Canon({
                          "log_inport=0x5,dl_type=0x0800", "log_inport=0x6,dl_type=0x0800",
                          "log_inport=0x5,dl_type=0x86dd", "log_inport=0x6,dl_type=0x86dd"}));
}

TEST(ToMatchesTest, OvnNbdMatches) {
  EXPECT_EQ(Texts(Compile("inport == \"sw0-port1\" && eth.src == {00:00:00:00:00:01}")),
            Canon({"log_inport=0x1,dl_src=00:00:00:00:00:01"}));
  EXPECT_EQ(Texts(Compile("eth.dst[40]")),
            Canon({"dl_dst=01:00:00:00:00:00/01:00:00:00:00:00"}));
  EXPECT_EQ(Texts(Compile("vlan.present")),
            Canon({"vlan_tci=0x1000/0x1000"}));
  EXPECT_EQ(Texts(Compile("1")), Canon({""}));
  EXPECT_EQ(Texts(Compile("outport == \"eth1\" && eth.dst == {00:00:00:00:00:01 "
                          "00:00:00:00:00:02}")),
            Canon({"log_outport=0x6,dl_dst=00:00:00:00:00:01",
                                        "log_outport=0x6,dl_dst=00:00:00:00:00:02"}));
  EXPECT_EQ(Texts(Compile("vlan.pcp == 2")),
            Canon({"vlan_tci=0x5000/0xf000"}));
}

TEST(ToMatchesTest, UnknownPortsMakeComparisonsFalse) {
  EXPECT_TRUE(Compile("inport == \"nope\"").matches.empty());
  EXPECT_EQ(Texts(Compile("inport == {\"nope\", \"eth0\"}")),
            Canon({"log_inport=0x5"}));
}

TEST(ToMatchesTest, NamesOfOnePortCollapse) {
  PortLookup same = [](std::string_view) -> std::optional<uint32_t> { return 9; };
  Result<MatchList> m = CompileMatch("inport == {\"x\", \"y\"} && reg0 == {1, 2}",
                                     Expr::Bool(true), DefaultSymbols(), same, 1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->n_conj_ids, 0u);
  EXPECT_EQ(Texts(*m), Canon({"reg14=9,reg0=1", "reg14=9,reg0=2"}));
}

TEST(ToMatchesTest, IndependentSetsBecomeAConjunction) {
  Result<MatchList> m =
      CompileMatch("ip4.src == {10.0.0.1, 10.0.0.2} && tcp.dst == {80, 443}",
                   Expr::Bool(true), DefaultSymbols(), kPorts, 7);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->n_conj_ids, 1u);
  EXPECT_EQ(Texts(*m),
            Canon({
                "conj_id=7",
                "dl_type=0x0800,nw_src=10.0.0.1,nw_proto=6 conjunction(7,1/2)",
                "dl_type=0x0800,nw_src=10.0.0.2,nw_proto=6 conjunction(7,1/2)",
                "dl_type=0x0800,nw_proto=6,tp_dst=80 conjunction(7,2/2)",
                "dl_type=0x0800,nw_proto=6,tp_dst=443 conjunction(7,2/2)"}));
  Result<MatchList> zero =
      CompileMatch("reg0 == {1, 2} && reg1 == {1, 2}", Expr::Bool(true), DefaultSymbols(),
                   kPorts, 0);
  ASSERT_FALSE(zero.ok());
}

TEST(ToMatchesTest, EqualMatchesMergeAndUnconditionalWins) {
  // reg0=1 is a clause flow of the conjunction and, from the second term,
  // an unconditional flow: the unconditional one wins.
  MatchList m = Compile("(reg0 == {1, 2} && reg1 == {1, 2}) || reg0 == 1");
  EXPECT_EQ(Texts(m), Canon({"conj_id=1", "reg0=1", "reg0=2 conjunction(1,1/2)",
                             "reg1=1 conjunction(1,2/2)", "reg1=2 conjunction(1,2/2)"}));
  // The same clause flow in two conjunctions carries both.
  MatchList two = Compile("(reg0 == {1, 2} && reg1 == {1, 2}) || "
                          "(reg0 == {1, 3} && reg2 == {5, 6})");
  EXPECT_EQ(two.n_conj_ids, 2u);
  EXPECT_EQ(Texts(two),
            Canon({"conj_id=1", "conj_id=2", "reg0=1 conjunction(1,1/2) conjunction(2,1/2)",
                   "reg0=2 conjunction(1,1/2)", "reg1=1 conjunction(1,2/2)",
                   "reg1=2 conjunction(1,2/2)", "reg0=3 conjunction(2,1/2)",
                   "reg2=5 conjunction(2,2/2)", "reg2=6 conjunction(2,2/2)"}));
}

TEST(ToMatchesTest, ActionPrerequisitesAreAnded) {
  Result<MatchList> m = CompileMatch("1", Parse("tcp"), DefaultSymbols(), kPorts, 1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Texts(*m), Canon({"dl_type=0x0800,nw_proto=6",
                                                   "dl_type=0x86dd,nw_proto=6"}));
}

}  // namespace
}  // namespace spate::expr
