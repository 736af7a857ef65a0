// Tests of the action parser (reference 5.5).
#include "expr/actions.h"

#include <gtest/gtest.h>

#include "expr/compile.h"

namespace spate::expr {
namespace {

std::string Parsed(std::string_view s, bool has_next = true) {
  Result<ActionList> a = ParseActions(s, DefaultSymbols(), ActionOptions{has_next});
  if (!a.ok()) {
    EXPECT_EQ(a.error().tag(), "syntax error");
    return "error: " + a.error().details();
  }
  return a->ToString();
}

TEST(ActionsTest, NorthdActions) {
  EXPECT_EQ(Parsed("next;"), "next;");
  EXPECT_EQ(Parsed("drop;"), "drop;");
  EXPECT_EQ(Parsed("output;"), "output;");
  EXPECT_EQ(Parsed("outport = \"sw0-port1\"; next; outport = \"sw0-port2\"; next;"),
            "outport = \"sw0-port1\"; next; outport = \"sw0-port2\"; next;");
  EXPECT_EQ(Parsed(""), "drop;");
  EXPECT_EQ(Parsed("  /* nothing */ // at all"), "drop;");
}

TEST(ActionsTest, TypedList) {
  Result<ActionList> a =
      ParseActions("outport = \"P\"; next; output;", DefaultSymbols(), ActionOptions{});
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->actions.size(), 3u);
  EXPECT_EQ(a->actions[0].type, ActionType::kSetField);
  EXPECT_EQ(a->actions[0].field->field, cls::Field::kLogOutport);
  EXPECT_EQ(a->actions[0].string, "P");
  EXPECT_EQ(a->actions[1].type, ActionType::kNext);
  EXPECT_EQ(a->actions[2].type, ActionType::kOutput);
  EXPECT_EQ(a->prerequisites, Expr::Bool(true));
}

TEST(ActionsTest, FieldAssignmentsResolveSubfields) {
  EXPECT_EQ(Parsed("eth.dst = 00:00:00:00:00:02;"), "eth.dst = 0x2;");
  EXPECT_EQ(Parsed("vlan.pcp = 2;"), "vlan.tci[13..15] = 0x2;");
  EXPECT_EQ(Parsed("vlan.pcp[2] = 1;"), "vlan.tci[15] = 0x1;");
  EXPECT_EQ(Parsed("vlan.pcp = 4/4;"), "vlan.tci[15] = 0x1;");
  EXPECT_EQ(Parsed("reg0[0..7] = 0x12; reg1 = 5/0x5;"),
            "reg0[0..7] = 0x12; reg1 = 0x5/0x5;");
  EXPECT_EQ(Parsed("tcp.dst=80;"), "tcp.dst = 0x50;");
  EXPECT_EQ(Parsed("ip4.dst = 10.0.0.1; ip.ttl = 63;"), "ip4.dst = 0xa000001; ip.ttl = 0x3f;");
  Result<ActionList> a = ParseActions("vlan.pcp = 2;", DefaultSymbols(), ActionOptions{});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->actions[0].field->field, cls::Field::kVlanTci);
  EXPECT_EQ(a->actions[0].value, Uint128{0x4000});
  EXPECT_EQ(a->actions[0].mask, Uint128{0xe000});
}

TEST(ActionsTest, AssignmentsAddPrerequisites) {
  Result<ActionList> a = ParseActions("tcp.dst = 80;", DefaultSymbols(), ActionOptions{});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->prerequisites.ToString(), "tcp");
  Result<Expr> annotated = Annotate(a->prerequisites);
  ASSERT_TRUE(annotated.ok());
  EXPECT_EQ(annotated->ToString(),
            "ip.proto == 0x6 && (eth.type == 0x800 || eth.type == 0x86dd)");
  Result<ActionList> v = ParseActions("vlan.pcp = 2;", DefaultSymbols(), ActionOptions{});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->prerequisites.ToString(), "vlan.present");
  Result<MatchList> m = CompileMatch("1", v->prerequisites, DefaultSymbols(),
                                     [](std::string_view) { return std::nullopt; }, 1);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->matches.size(), 1u);
  EXPECT_EQ(m->matches[0].match.ToString(), "vlan_tci=0x1000/0x1000");
}

TEST(ActionsTest, Errors) {
  struct Case {
    const char* actions;
    const char* error;
  };
  const Case cases[] = {
      {"next", "column 5: syntax error at end of input expecting `;'"},
      {"drop; next;", "column 7: `drop;' must be the only action"},
      {"next; drop;", "column 7: `drop;' must be the only action"},
      {"resubmit;", "column 1: unknown action or field `resubmit'"},
      {"output(\"P\");", "column 7: syntax error at `(' expecting `;'"},
      {"ip.proto = 6;", "column 1: field ip.proto is not modifiable"},
      {"eth.type = 0x800;", "column 1: field eth.type is not modifiable"},
      {"ip4 = 1;", "column 1: predicate ip4 cannot be used in an assignment"},
      {"eth.dst = {00:00:00:00:00:01, 00:00:00:00:00:02};",
       "column 11: assignments require a single value"},
      {"outport = 5;", "column 11: string field outport cannot be assigned an integer"},
      {"eth.dst = \"x\";", "column 11: integer field eth.dst cannot be assigned a string"},
      {"vlan.pcp = 8;", "column 12: constant is wider than the 3-bit field vlan.pcp"},
      {"reg0[0..3] = 0x10;", "column 14: constant is wider than the 4-bit field reg0"},
      {"reg0[40] = 1;", "column 5: invalid bit range for 32-bit field reg0"},
      {"outport[0] = 1;", "column 1: cannot select a subfield of string field outport"},
      {"reg0 == 1;", "column 6: syntax error at `==' expecting `='"},
      {"reg0 = ;", "column 8: syntax error at `;' expecting constant"},
      {"reg0 = 1", "column 9: syntax error at end of input expecting `;'"},
      {"; next;", "column 1: syntax error at `;' expecting action"},
      {"reg0 = 0/0;", "column 8: assignment with an all-zero mask"},
      {"reg0 = 012;", "column 8: decimal constants must not have leading zeros"},
  };
  for (const Case& c : cases) EXPECT_EQ(Parsed(c.actions), std::string("error: ") + c.error) << c.actions;
  EXPECT_EQ(Parsed("next;", false), "error: column 1: `next;' is not allowed in the last logical table");
  EXPECT_EQ(Parsed("output;", false), "output;");
}

}  // namespace
}  // namespace spate::expr
