// Symbol tables; see symbols.h.
#include "expr/symbols.h"

#include <cstdio>
#include <cstdlib>

#include "expr/expr.h"

namespace spate::expr {
namespace {

// True when `e` tests a nominal symbol anywhere.
bool TestsNominal(const Expr& e) {
  if (e.type == ExprType::kCmp) return e.symbol->level == Level::kNominal;
  for (const Expr& c : e.children) {
    if (TestsNominal(c)) return true;
  }
  return false;
}

// Parses a prerequisite text; null for "".
Result<std::shared_ptr<const Expr>> ParsePrereqs(const std::string& text,
                                                  const SymbolTable& table,
                                                  const std::string& name) {
  if (text.empty()) return std::shared_ptr<const Expr>();
  Result<Expr> e = ParseMatch(text, table);
  if (!e.ok()) {
    return Error("syntax error", "prerequisites of " + name + ": " + e.error().details());
  }
  return std::make_shared<const Expr>(std::move(*e));
}

void MustSucceed(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "expr: bad built-in symbol: %s\n", s.error().ToString().c_str());
    std::abort();
  }
}

}  // namespace

const Symbol* SymbolTable::Find(std::string_view name) const {
  auto it = symbols_.find(name);
  return it == symbols_.end() ? nullptr : it->second.get();
}

Status SymbolTable::Insert(std::unique_ptr<Symbol> symbol) {
  if (Find(symbol->name) != nullptr) {
    return Error("syntax error", "duplicate symbol " + symbol->name);
  }
  Result<std::shared_ptr<const Expr>> p = ParsePrereqs(symbol->prereqs_text, *this, symbol->name);
  if (!p.ok()) return p.error();
  symbol->prereqs = std::move(*p);
  std::string name = symbol->name;
  symbols_.emplace(std::move(name), std::move(symbol));
  return Status::Ok();
}

Status SymbolTable::AddField(std::string name, cls::Field field, int width,
                             FieldOptions options) {
  if (width < 1 || width > cls::GetFieldInfo(field).bits) {
    return Error("syntax error", "field " + name + " is wider than its key field");
  }
  auto s = std::make_unique<Symbol>();
  s->name = std::move(name);
  s->kind = SymbolKind::kField;
  s->level = options.level;
  s->width = width;
  s->field = field;
  s->must_crossproduct = options.must_crossproduct;
  s->writable = options.writable;
  s->prereqs_text = std::move(options.prereqs);
  return Insert(std::move(s));
}

Status SymbolTable::AddStringField(std::string name, cls::Field field, std::string prereqs) {
  auto s = std::make_unique<Symbol>();
  s->name = std::move(name);
  s->kind = SymbolKind::kField;
  s->level = Level::kNominal;
  s->width = 0;
  s->is_string = true;
  s->field = field;
  s->prereqs_text = std::move(prereqs);
  return Insert(std::move(s));
}

Status SymbolTable::AddSubfield(std::string name, std::string definition,
                                std::string prereqs) {
  std::vector<Token> t = Tokenize(definition);
  const Symbol* parent = t[0].type == TokenType::kIdentifier ? Find(t[0].text) : nullptr;
  bool shape = t.size() == 7 && t[1].type == TokenType::kLSquare &&
               t[2].type == TokenType::kInteger && t[3].type == TokenType::kEllipsis &&
               t[4].type == TokenType::kInteger && t[5].type == TokenType::kRSquare;
  if (parent == nullptr || parent->kind != SymbolKind::kField || parent->is_string ||
      parent->level == Level::kNominal || !shape || t[2].value > t[4].value ||
      t[4].value >= static_cast<Uint128>(parent->width)) {
    return Error("syntax error", "subfield " + name + ": bad definition `" + definition + "'");
  }
  auto s = std::make_unique<Symbol>();
  s->name = std::move(name);
  s->kind = SymbolKind::kSubfield;
  s->level = Level::kOrdinal;
  s->width = static_cast<int>(t[4].value - t[2].value) + 1;
  s->field = parent->field;
  s->parent = parent;
  s->parent_offset = static_cast<int>(t[2].value);
  s->writable = parent->writable;
  s->expansion_text = std::move(definition);
  s->prereqs_text = std::move(prereqs);
  return Insert(std::move(s));
}

Status SymbolTable::AddPredicate(std::string name, std::string expansion) {
  Result<Expr> e = ParseMatch(expansion, *this);
  if (!e.ok()) {
    return Error("syntax error", "predicate " + name + ": " + e.error().details());
  }
  auto s = std::make_unique<Symbol>();
  s->name = std::move(name);
  s->kind = SymbolKind::kPredicate;
  s->level = TestsNominal(*e) ? Level::kNominal : Level::kBoolean;
  s->width = 1;
  s->writable = false;
  s->expansion_text = std::move(expansion);
  s->expansion = std::make_shared<const Expr>(std::move(*e));
  return Insert(std::move(s));
}

namespace {

// Adds symbols through short helpers that abort on a bad definition (a
// programming error in the built-in table).
class Builder {
 public:
  explicit Builder(SymbolTable* t) : t_(t) {}
  void Field(const char* name, cls::Field f, int width, const char* prereqs) {
    MustSucceed(t_->AddField(name, f, width, FieldOptions{.prereqs = prereqs}));
  }
  void Nominal(const char* name, cls::Field f, int width, const char* prereqs) {
    MustSucceed(t_->AddField(name, f, width,
                             FieldOptions{.prereqs = prereqs, .level = Level::kNominal,
                                          .must_crossproduct = true, .writable = false}));
  }
  void Field(const char* name, cls::Field f, int width, FieldOptions options) {
    MustSucceed(t_->AddField(name, f, width, std::move(options)));
  }
  void Subfield(const char* name, const char* definition, const char* prereqs) {
    MustSucceed(t_->AddSubfield(name, definition, prereqs));
  }
  void Predicate(const char* name, const char* expansion) {
    MustSucceed(t_->AddPredicate(name, expansion));
  }
  void String(const char* name, cls::Field f) { MustSucceed(t_->AddStringField(name, f, "")); }

 private:
  SymbolTable* t_;
};

void AddMetadataAndL2(Builder& b) {
  using cls::Field;
  b.String("inport", Field::kLogInport);
  b.String("outport", Field::kLogOutport);
  for (int i = 0; i < 6; ++i) {
    b.Field(("reg" + std::to_string(i)).c_str(), cls::FlowKey::RegField(i), 32, "");
  }
  b.Field("eth.src", Field::kDlSrc, 48, "");
  b.Field("eth.dst", Field::kDlDst, 48, "");
  b.Nominal("eth.type", Field::kDlType, 16, "");
  b.Field("vlan.tci", Field::kVlanTci, 16, "");
  b.Predicate("vlan.present", "vlan.tci[12]");
  b.Subfield("vlan.pcp", "vlan.tci[13..15]", "vlan.present");
  b.Subfield("vlan.vid", "vlan.tci[0..11]", "vlan.present");
}

void AddL3(Builder& b) {
  using cls::Field;
  b.Predicate("ip4", "eth.type == 0x800");
  b.Predicate("ip6", "eth.type == 0x86dd");
  b.Predicate("ip", "ip4 || ip6");
  b.Nominal("ip.proto", Field::kNwProto, 8, "ip");
  b.Field("ip.dscp", Field::kIpDscp, 6, "ip");
  b.Field("ip.ecn", Field::kNwEcn, 2, "ip");
  b.Field("ip.ttl", Field::kNwTtl, 8, "ip");
  b.Field("ip.frag", Field::kNwFrag, 2, FieldOptions{.prereqs = "ip", .writable = false});
  b.Predicate("ip.is_frag", "ip.frag[0]");
  b.Predicate("ip.later_frag", "ip.frag[1]");
  b.Predicate("ip.first_frag", "ip.is_frag && !ip.later_frag");
  b.Field("ip4.src", Field::kNwSrc, 32, "ip4");
  b.Field("ip4.dst", Field::kNwDst, 32, "ip4");
  b.Field("ip6.src", Field::kIpv6Src, 128, "ip6");
  b.Field("ip6.dst", Field::kIpv6Dst, 128, "ip6");
  b.Field("ip6.label", Field::kIpv6Label, 20, "ip6");
  b.Predicate("arp", "eth.type == 0x806");
  b.Field("arp.op", Field::kNwProto, 8, "arp");
  b.Field("arp.spa", Field::kNwSrc, 32, "arp");
  b.Field("arp.tpa", Field::kNwDst, 32, "arp");
  b.Field("arp.sha", Field::kArpSha, 48, "arp");
  b.Field("arp.tha", Field::kArpTha, 48, "arp");
}

void AddL4(Builder& b) {
  using cls::Field;
  b.Predicate("icmp4", "ip4 && ip.proto == 1");
  b.Field("icmp4.type", Field::kIcmpType, 8, "icmp4");
  b.Field("icmp4.code", Field::kIcmpCode, 8, "icmp4");
  b.Predicate("icmp6", "ip6 && ip.proto == 58");
  b.Field("icmp6.type", Field::kIcmpType, 8,
          FieldOptions{.prereqs = "icmp6", .must_crossproduct = true});
  b.Field("icmp6.code", Field::kIcmpCode, 8,
          FieldOptions{.prereqs = "icmp6", .must_crossproduct = true});
  b.Predicate("icmp", "icmp4 || icmp6");
  b.Predicate("nd", "icmp6.type == {135, 136} && icmp6.code == 0");
  b.Field("nd.target", Field::kNdTarget, 128, "nd");
  b.Field("nd.sll", Field::kArpSha, 48, "nd && icmp6.type == 135");
  b.Field("nd.tll", Field::kArpTha, 48, "nd && icmp6.type == 136");
  b.Predicate("tcp", "ip.proto == 6");
  b.Field("tcp.src", Field::kTpSrc, 16, "tcp");
  b.Field("tcp.dst", Field::kTpDst, 16, "tcp");
  b.Field("tcp.flags", Field::kTcpFlags, 12, FieldOptions{.prereqs = "tcp", .writable = false});
  b.Predicate("udp", "ip.proto == 17");
  b.Field("udp.src", Field::kTpSrc, 16, "udp");
  b.Field("udp.dst", Field::kTpDst, 16, "udp");
  b.Predicate("sctp", "ip.proto == 132");
  b.Field("sctp.src", Field::kTpSrc, 16, "sctp");
  b.Field("sctp.dst", Field::kTpDst, 16, "sctp");
}

}  // namespace

SymbolTable Ovn2015Symbols() {
  SymbolTable t;
  Builder b(&t);
  AddMetadataAndL2(b);
  AddL3(b);
  AddL4(b);
  return t;
}

const SymbolTable& DefaultSymbols() {
  static const SymbolTable table = Ovn2015Symbols();
  return table;
}

}  // namespace spate::expr
