// Model test: random match expressions are parsed, annotated, simplified,
// normalized and turned into classifier matches; on random flow keys every
// stage, the match list (conjunction semantics) and a real cls::Classifier
// loaded with it must agree with Evaluate() on the annotated expression.
#include <gtest/gtest.h>

#include <random>

#include "classifier/classifier.h"
#include "expr/compile.h"

namespace spate::expr {
namespace {

const PortLookup kPorts = [](std::string_view name) -> std::optional<uint32_t> {
  if (name == "a") return 1;
  if (name == "b") return 2;
  if (name == "c") return 3;
  return std::nullopt;
};

// A field the generator may compare, with constants that random keys hit.
struct FieldGen {
  const char* name;                    // Field (or subfield selection).
  std::vector<const char*> constants;  // Values to compare with.
  bool ordinal;                        // All relational operators allowed.
};

const std::vector<FieldGen>& Fields() {
  static const std::vector<FieldGen> kFields = {
      {"reg0", {"0", "1", "2", "0x80000000", "0xff/0xff", "3/0x3", "4294967295"}, true},
      {"reg1[0..3]", {"0", "1", "7", "15"}, true},
      {"eth.src", {"00:00:00:00:00:01", "00:00:00:00:00:02",
                   "01:00:00:00:00:00/01:00:00:00:00:00"}, true},
      {"eth.type", {"0x800", "0x86dd", "0x806"}, false},
      {"vlan.tci", {"0", "0x1000/0x1000", "0x1064"}, true},
      {"vlan.vid", {"0", "100", "4095"}, true},
      {"vlan.pcp", {"0", "3", "7"}, true},
      {"ip.proto", {"6", "17", "1"}, false},
      {"ip.ttl", {"0", "1", "64", "255"}, true},
      {"ip.frag", {"0", "1", "3"}, true},
      {"ip4.src", {"10.0.0.1", "10.0.0.2", "10.0.0.0/8", "192.168.0.0/16"}, true},
      {"ip6.dst", {"::1", "fe80::/10", "fe80::1"}, true},
      {"tcp.src", {"80", "443", "1024"}, true},
      {"tcp.dst", {"80", "443", "1024"}, true},
      {"udp.dst", {"53", "67"}, true},
      {"icmp4.type", {"0", "8"}, true},
      {"icmp6.type", {"135", "136"}, true},
      {"inport", {"\"a\"", "\"b\"", "\"zz\""}, false},
      {"outport", {"\"b\"", "\"c\""}, false},
  };
  return kFields;
}

const char* const kPredicates[] = {
    "ip4", "ip6", "ip", "tcp", "udp", "icmp4", "icmp6", "icmp", "arp", "nd",
    "vlan.present", "ip.is_frag", "ip.later_frag", "ip.first_frag", "eth.src[40]",
};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string Expression(int depth) {
    if (depth == 0 || Chance(0.35)) return Atom();
    if (Chance(0.15)) return "!(" + Expression(depth - 1) + ")";
    const char* op = Chance(0.5) ? " && " : " || ";
    int n = 2 + Below(2);
    std::string out = "(";
    for (int i = 0; i < n; ++i) out += (i ? op : "") + Expression(depth - 1);
    return out + ")";
  }

  cls::FlowKey Key() {
    cls::FlowKey k{};
    k.set_reg(0, Pick<uint32_t>({0, 1, 2, 0x80000000, 0xff, 3, 0xffffffff, Rand32()}));
    k.set_reg(1, Rand32() & 0x1f);
    k.set_dl_src(Pick<uint64_t>({1, 2, 0x010000000000, Rand32() * 65536ULL}));
    k.set_dl_type(Pick<uint16_t>({0x800, 0x86dd, 0x806, 0x8100}));
    k.set_vlan_tci(Pick<uint16_t>({0, 0x1064, 0x1000, static_cast<uint16_t>(Rand32())}));
    k.set_nw_proto(Pick<uint8_t>({6, 17, 1, 58, 132, static_cast<uint8_t>(Rand32())}));
    k.set_nw_ttl(Pick<uint8_t>({0, 1, 64, 255, static_cast<uint8_t>(Rand32())}));
    k.set_nw_frag(static_cast<uint8_t>(Below(4)));
    k.set_nw_src(Pick<uint32_t>({0x0a000001, 0x0a000002, 0x0a010203, 0xc0a80101, Rand32()}));
    k.set_ipv6_dst(Pick<cls::U128>({{0, 1}, {0xfe80000000000000ULL, 1},
                                    {0xfe80000000000000ULL, 5}, {Rand32(), Rand32()}}));
    k.set_tp_src(Pick<uint16_t>({80, 443, 1024, 0, 8, 135, 136, static_cast<uint16_t>(Rand32())}));
    k.set_tp_dst(Pick<uint16_t>({80, 443, 1024, 0, 53, 67, static_cast<uint16_t>(Rand32())}));
    k.set_log_inport(static_cast<uint32_t>(Below(5)));
    k.set_log_outport(static_cast<uint32_t>(Below(5)));
    return k;
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int Below(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  uint32_t Rand32() { return static_cast<uint32_t>(rng_()); }
  template <typename T>
  T Pick(std::initializer_list<T> values) {
    return values.begin()[Below(static_cast<int>(values.size()))];
  }

  std::string Atom() {
    if (Chance(0.25)) {
      std::string p = kPredicates[Below(std::size(kPredicates))];
      return Chance(0.2) ? "!" + p : p;
    }
    const FieldGen& f = Fields()[Below(static_cast<int>(Fields().size()))];
    auto constant = [&] { return std::string(f.constants[Below(f.constants.size())]); };
    if (f.ordinal && Chance(0.3)) {
      std::string c = constant();
      if (c.find('/') != std::string::npos) return std::string(f.name) + " != " + c;
      static const char* const kOps[] = {"<", "<=", ">", ">=", "!="};
      if (Chance(0.2)) return c + " <= " + f.name + " <= " + constant();
      return std::string(f.name) + " " + kOps[Below(5)] + " " + c;
    }
    std::string rhs = constant();
    if (Chance(0.4)) rhs = "{" + rhs + (Chance(0.5) ? ", " : " ") + constant() + "}";
    const char* op = f.ordinal && Chance(0.3) ? " != " : " == ";
    return std::string(f.name) + op + rhs;
  }

  std::mt19937 rng_;
};

bool ClassifierAccepts(const MatchList& list, const std::vector<cls::FlowKey>& keys,
                       std::vector<bool>* out) {
  cls::Classifier table;
  for (const ExprMatch& m : list.matches) {
    table.Insert(m.match, 100, 1, m.conjunctions);
  }
  table.Publish();
  for (const cls::FlowKey& k : keys) out->push_back(table.Lookup(k) != nullptr);
  return true;
}

TEST(ExprModelTest, EveryStageAndTheClassifierAgreeWithTheEvaluator) {
  Generator gen(20150615);
  int n_valid = 0, n_conj = 0, n_true = 0, n_false = 0, n_complex = 0;
  for (int iter = 0; iter < 600; ++iter) {
    std::string text = gen.Expression(3);
    Result<Expr> parsed = ParseMatch(text, DefaultSymbols());
    if (!parsed.ok()) continue;  // e.g. a nominal field under `!'.
    ++n_valid;
    Result<Expr> reparsed = ParseMatch(parsed->ToString(), DefaultSymbols());
    ASSERT_TRUE(reparsed.ok()) << parsed->ToString();
    ASSERT_EQ(*reparsed, *parsed) << text;
    Result<Expr> annotated = Annotate(*parsed);
    ASSERT_TRUE(annotated.ok()) << text;
    Expr simplified = Simplify(*annotated);
    Result<Expr> normalized = Normalize(simplified);
    Result<MatchList> list = ToMatches(simplified, kPorts, 1);
    if (!normalized.ok() || !list.ok()) {
      ++n_complex;
      continue;
    }
    n_conj += list->n_conj_ids > 0;
    std::vector<cls::FlowKey> keys;
    for (int i = 0; i < 200; ++i) keys.push_back(gen.Key());
    std::vector<bool> by_classifier;
    ClassifierAccepts(*list, keys, &by_classifier);
    for (size_t i = 0; i < keys.size(); ++i) {
      const cls::FlowKey& k = keys[i];
      bool want = Evaluate(*annotated, k, kPorts);
      (want ? n_true : n_false)++;
      ASSERT_EQ(Evaluate(simplified, k, kPorts), want) << text;
      ASSERT_EQ(Evaluate(*normalized, k, kPorts), want) << text << "\n" << normalized->ToString();
      ASSERT_EQ(MatchListAccepts(*list, k), want)
          << text << "\n" << normalized->ToString() << "\n" << cls::FlowKeyToString(k);
      ASSERT_EQ(by_classifier[i], want) << text << "\n" << cls::FlowKeyToString(k);
    }
  }
  // The generator must exercise what it claims to.
  EXPECT_GT(n_valid, 300);
  EXPECT_GT(n_conj, 10);
  EXPECT_GT(n_true, 2000);
  EXPECT_GT(n_false, 2000);
  EXPECT_LT(n_complex, 30);
  std::printf("valid %d, with conjunctions %d, keys true %d / false %d, too complex %d\n",
              n_valid, n_conj, n_true, n_false, n_complex);
}

}  // namespace
}  // namespace spate::expr
