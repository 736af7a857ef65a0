// Symbols of the OVN match language (reference section 5.2).
//
// What it is
//   A SymbolTable names what a match may test.  Each Symbol is
//     * a field: bits of the classifier's FlowKey (`eth.src` -> dl_src), or
//       a string field whose value is a logical port name that the caller
//       resolves to a number (`inport` -> log_inport);
//     * a subfield: an alias for bits of a field (`vlan.pcp` =
//       `vlan.tci[13..15]`);
//     * a predicate: an alias for an expression (`ip4` = `eth.type == 0x800`).
//   Any symbol may carry a prerequisite expression (`tcp.src` requires
//   `tcp`), which annotation ANDs into every comparison on it.
//
// Design
//   Symbols live in unique_ptrs inside the table, so `const Symbol*` stays
//   valid as long as the table (moving the table keeps them valid).  The
//   prerequisite and expansion texts are parsed once, when the symbol is
//   added, and kept as expressions; a definition that does not parse makes
//   Add* fail.  Levels of measurement follow OVN: ordinal fields allow every
//   relational operator and subfield; nominal ones (eth.type, ip.proto,
//   string fields, and predicates that test them) only positive equality.
//
//   Symbol -> FlowKey field mapping of the 2015 table (Ovn2015Symbols()):
//     inport, outport   log_inport, log_outport (string; OVN used reg6/reg7)
//     reg0..reg5        reg0..reg5            eth.src/dst  dl_src/dl_dst
//     eth.type          dl_type               vlan.tci     vlan_tci
//     ip.proto          nw_proto              ip.dscp      ip_dscp (6 bits)
//     ip.ecn, ip.ttl    nw_ecn, nw_ttl        ip.frag      nw_frag (2 bits)
//     ip4.src/dst       nw_src/nw_dst         ip6.src/dst  ipv6_src/ipv6_dst
//     ip6.label         ipv6_label            icmp4/6.type icmp_type
//     icmp4/6.code      icmp_code             arp.op       nw_proto (8 bits:
//                                             the key keeps the low byte)
//     arp.spa/tpa       nw_src/nw_dst         arp.sha/tha  arp_sha/arp_tha
//     nd.target         nd_target             nd.sll/tll   arp_sha/arp_tha
//     tcp/udp/sctp.src  tp_src                tcp/udp/sctp.dst tp_dst
//     tcp.flags         tcp_flags (12 bits)
//
// Thread-safety
//   A table is built single-threaded; afterwards it is immutable and may be
//   read from any number of threads.
#ifndef SPATE_EXPR_SYMBOLS_H
#define SPATE_EXPR_SYMBOLS_H

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "classifier/flow.h"
#include "common/result.h"

namespace spate::expr {

struct Expr;

enum class SymbolKind : uint8_t { kField, kSubfield, kPredicate };

// Level of measurement (reference 5.2).
enum class Level : uint8_t {
  kNominal,  // Only positive equality; no subfields.
  kBoolean,  // Predicates over ordinal fields: may be negated.
  kOrdinal,  // Maskable fields: every relational operator, any subfield.
};

// One name of the language.
struct Symbol {
  std::string name;                 // e.g. "tcp.src".
  SymbolKind kind = SymbolKind::kField;  // Field, subfield or predicate.
  Level level = Level::kOrdinal;    // What tests are allowed.
  int width = 0;                    // Bits (1 for predicates, 0 for strings).
  bool is_string = false;           // String field (logical port names).
  cls::Field field = cls::Field::kCount;  // kField: the FlowKey field.
  const Symbol* parent = nullptr;   // kSubfield: the field it aliases.
  int parent_offset = 0;            // kSubfield: its LSB within `parent`.
  bool must_crossproduct = false;   // Normalization never keeps it a clause.
  bool writable = true;             // May be assigned by actions.
  std::string prereqs_text;         // Prerequisite expression ("" if none).
  std::string expansion_text;       // Predicate / subfield definition.
  std::shared_ptr<const Expr> prereqs;    // Parsed prerequisites or null.
  std::shared_ptr<const Expr> expansion;  // kPredicate: parsed expansion.
};

// Options of SymbolTable::AddField.
struct FieldOptions {
  std::string prereqs;             // Prerequisite expression, "" for none.
  Level level = Level::kOrdinal;   // kNominal for non-maskable fields.
  bool must_crossproduct = false;  // See Symbol::must_crossproduct.
  bool writable = true;            // See Symbol::writable.
};

class SymbolTable {
 public:
  SymbolTable() = default;
  SymbolTable(SymbolTable&&) = default;
  SymbolTable& operator=(SymbolTable&&) = default;

  // The symbol called `name`, or null.
  const Symbol* Find(std::string_view name) const;

  // Adds an integer field of `width` bits (<= the key field's width) on
  // key field `field`.  Errors: duplicate name, bad prerequisites.
  Status AddField(std::string name, cls::Field field, int width, FieldOptions options);
  // Adds a string field stored in `field` (32-bit logical port numbers).
  Status AddStringField(std::string name, cls::Field field, std::string prereqs);
  // Adds `name` as an alias of `definition` ("vlan.tci[13..15]", a bit range
  // of an existing field).
  Status AddSubfield(std::string name, std::string definition, std::string prereqs);
  // Adds a predicate `name` meaning `expansion`; its level is nominal when
  // the expansion tests a nominal symbol, else Boolean.
  Status AddPredicate(std::string name, std::string expansion);

  // Every symbol, ordered by name.
  const std::map<std::string, std::unique_ptr<Symbol>, std::less<>>& symbols() const {
    return symbols_;
  }

 private:
  Status Insert(std::unique_ptr<Symbol> symbol);

  std::map<std::string, std::unique_ptr<Symbol>, std::less<>> symbols_;  // By name.
};

// Builds ovn-controller's June-2015 symbol table (reference 5.2, mapping in
// the header comment).
SymbolTable Ovn2015Symbols();

// A shared, immutable instance of Ovn2015Symbols(), built on first use
// (thread-safe initialisation).  Constant data, not mutable global state.
const SymbolTable& DefaultSymbols();

}  // namespace spate::expr

#endif  // SPATE_EXPR_SYMBOLS_H
