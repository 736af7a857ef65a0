#include "classifier/flow.h"

#include <cassert>
#include <cstdio>

namespace spate::cls {
namespace {

using F = FieldFormat;

// Indexed by Field; see the layout comment in flow.h.
constexpr FieldInfo kFields[kNumFields] = {
    {"in_port", 0, 0, 32, F::kDecimal, false},
    {"metadata", 0, 32, 32, F::kHex, false},
    {"log_inport", 1, 0, 32, F::kHex, false},
    {"log_outport", 1, 32, 32, F::kHex, false},
    {"reg0", 2, 0, 32, F::kHex, false},
    {"reg1", 2, 32, 32, F::kHex, false},
    {"reg2", 3, 0, 32, F::kHex, false},
    {"reg3", 3, 32, 32, F::kHex, false},
    {"reg4", 4, 0, 32, F::kHex, false},
    {"reg5", 4, 32, 32, F::kHex, false},
    {"reg6", 5, 0, 32, F::kHex, false},
    {"reg7", 5, 32, 32, F::kHex, false},
    {"conj_id", 6, 0, 32, F::kDecimal, false},
    {"geneve_class", 6, 32, 16, F::kHex, false},
    {"geneve_type", 6, 48, 8, F::kHex, false},
    {"tun_metadata0", 7, 0, 32, F::kHex, false},
    {"tun_id", 8, 0, 64, F::kHex, false},
    {"tun_src", 9, 32, 32, F::kIpv4, true},
    {"tun_dst", 9, 0, 32, F::kIpv4, true},
    {"tun_ipv6_src", 10, 0, 128, F::kIpv6, true},
    {"tun_ipv6_dst", 12, 0, 128, F::kIpv6, true},
    {"dl_dst", 14, 16, 48, F::kMac, false},
    {"vlan_tci", 14, 0, 16, F::kHex, false},
    {"dl_src", 15, 16, 48, F::kMac, false},
    {"dl_type", 15, 0, 16, F::kHex, false},
    {"nw_src", 16, 32, 32, F::kIpv4, true},
    {"nw_dst", 16, 0, 32, F::kIpv4, true},
    {"ipv6_src", 17, 0, 128, F::kIpv6, true},
    {"ipv6_dst", 19, 0, 128, F::kIpv6, true},
    {"nw_proto", 21, 56, 8, F::kDecimal, false},
    {"ip_dscp", 21, 50, 6, F::kDecimal, false},
    {"nw_ecn", 21, 48, 2, F::kDecimal, false},
    {"nw_ttl", 21, 40, 8, F::kDecimal, false},
    {"nw_frag", 21, 32, 2, F::kFrag, false},
    {"ipv6_label", 21, 0, 20, F::kHex, false},
    {"tp_src", 22, 48, 16, F::kDecimal, false},
    {"tp_dst", 22, 32, 16, F::kDecimal, false},
    {"tcp_flags", 22, 16, 12, F::kHex, false},
    {"icmp_type", 22, 48, 8, F::kDecimal, false},
    {"icmp_code", 22, 32, 8, F::kDecimal, false},
    {"nd_target", 23, 0, 128, F::kIpv6, true},
    {"arp_sha", 25, 16, 48, F::kMac, false},
    {"arp_tha", 26, 16, 48, F::kMac, false},
};

struct Alias {
  const char* name;  // Alternative spelling.
  Field field;       // What it names.
};

constexpr Alias kAliases[] = {
    {"arp_spa", Field::kNwSrc},      {"arp_tpa", Field::kNwDst},
    {"arp_op", Field::kNwProto},     {"nd_sll", Field::kArpSha},
    {"nd_tll", Field::kArpTha},      {"tcp_src", Field::kTpSrc},
    {"tcp_dst", Field::kTpDst},      {"udp_src", Field::kTpSrc},
    {"udp_dst", Field::kTpDst},      {"sctp_src", Field::kTpSrc},
    {"sctp_dst", Field::kTpDst},     {"icmpv6_type", Field::kIcmpType},
    {"icmpv6_code", Field::kIcmpCode}, {"reg14", Field::kLogInport},
    {"reg15", Field::kLogOutport},   {"log_dp", Field::kMetadata},
    {"eth_src", Field::kDlSrc},      {"eth_dst", Field::kDlDst},
    {"eth_type", Field::kDlType},    {"ip_proto", Field::kNwProto},
    {"ip_ecn", Field::kNwEcn},
    {"ip_frag", Field::kNwFrag},
};

uint64_t LowBits(int bits) { return bits >= 64 ? ~0ULL : (1ULL << bits) - 1; }

// ICMP type/code are printed instead of the ports when the match is for
// ICMP and the port masks stay within the ICMP bits (so nothing is lost).
bool IsIcmpProto(const Match& m) {
  return m.GetMask(Field::kNwProto) == 0xff &&
         (m.key.nw_proto() == 1 || m.key.nw_proto() == 58) &&
         (m.GetMask(Field::kTpSrc) & 0xff00) == 0 &&
         (m.GetMask(Field::kTpDst) & 0xff00) == 0;
}

bool IsArp(const Match& m) {
  return m.GetMask(Field::kDlType) == 0xffff && m.key.dl_type() == kEthTypeArp;
}

// Fields whose storage another field prints instead, given the match's
// protocol (ICMP type/code vs ports).
bool SkipWhenPrinting(const Match& m, Field f) {
  bool icmp = IsIcmpProto(m);
  switch (f) {
    case Field::kTpSrc:
    case Field::kTpDst:
      return icmp;
    case Field::kIcmpType:
    case Field::kIcmpCode:
      return !icmp;
    default:
      return false;
  }
}

// The name to print for `f` in `m` (ARP and ND aliases by protocol).
const char* PrintName(const Match& m, Field f) {
  bool arp = IsArp(m);
  switch (f) {
    case Field::kNwSrc: return arp ? "arp_spa" : "nw_src";
    case Field::kNwDst: return arp ? "arp_tpa" : "nw_dst";
    case Field::kNwProto: return arp ? "arp_op" : "nw_proto";
    case Field::kArpSha: return arp ? "arp_sha" : "nd_sll";
    case Field::kArpTha: return arp ? "arp_tha" : "nd_tll";
    default: return GetFieldInfo(f).name;
  }
}

std::string FormatMac(uint64_t mac) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x",
                static_cast<unsigned>(mac >> 40 & 0xff),
                static_cast<unsigned>(mac >> 32 & 0xff),
                static_cast<unsigned>(mac >> 24 & 0xff),
                static_cast<unsigned>(mac >> 16 & 0xff),
                static_cast<unsigned>(mac >> 8 & 0xff),
                static_cast<unsigned>(mac & 0xff));
  return buf;
}

std::string FormatIpv4(uint32_t a) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, a >> 16 & 0xff,
                a >> 8 & 0xff, a & 0xff);
  return buf;
}

// IPv6 text with the longest run of zero groups compressed to "::".
std::string FormatIpv6(U128 a) {
  uint16_t g[8];
  for (int i = 0; i < 4; ++i) {
    g[i] = static_cast<uint16_t>(a.hi >> (48 - 16 * i));
    g[4 + i] = static_cast<uint16_t>(a.lo >> (48 - 16 * i));
  }
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
    i = j == i ? i + 1 : j;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
  }
  return out;
}

std::string FormatNumber(uint64_t v, FieldFormat fmt) {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt == F::kDecimal ? "%llu" : "0x%llx",
                static_cast<unsigned long long>(v));
  return buf;
}

std::string FormatFrag(uint64_t v, uint64_t m) {
  if (m == 1) return v ? "yes" : "no";
  if (m == 3 && v == 1) return "first";
  if (m == 3 && v == 3) return "later";
  if (m == 2 && v == 0) return "not_later";
  return FormatNumber(v, F::kHex) + "/" + FormatNumber(m, F::kHex);
}

}  // namespace

const FieldInfo& GetFieldInfo(Field f) { return kFields[static_cast<int>(f)]; }

bool FieldByName(std::string_view name, Field* field) {
  for (int i = 0; i < kNumFields; ++i) {
    if (name == kFields[i].name) {
      *field = static_cast<Field>(i);
      return true;
    }
  }
  for (const Alias& a : kAliases) {
    if (name == a.name) {
      *field = a.field;
      return true;
    }
  }
  return false;
}

uint64_t FieldWordMask(Field f) {
  const FieldInfo& fi = GetFieldInfo(f);
  assert(fi.bits <= 64);
  return LowBits(fi.bits) << fi.shift;
}

uint64_t FlowKey::Get(Field f) const {
  const FieldInfo& fi = GetFieldInfo(f);
  assert(fi.bits <= 64);
  return (w[fi.word] >> fi.shift) & LowBits(fi.bits);
}

void FlowKey::Set(Field f, uint64_t value) {
  const FieldInfo& fi = GetFieldInfo(f);
  assert(fi.bits <= 64);
  uint64_t m = LowBits(fi.bits) << fi.shift;
  w[fi.word] = (w[fi.word] & ~m) | ((value << fi.shift) & m);
}

U128 FlowKey::Get128(Field f) const {
  const FieldInfo& fi = GetFieldInfo(f);
  if (fi.bits <= 64) return U128{0, Get(f)};
  return U128{w[fi.word], w[fi.word + 1]};
}

void FlowKey::Set128(Field f, U128 value) {
  const FieldInfo& fi = GetFieldInfo(f);
  if (fi.bits <= 64) {
    Set(f, value.lo);
    return;
  }
  w[fi.word] = value.hi;
  w[fi.word + 1] = value.lo;
}

Match& Match::Set(Field f, uint64_t value) {
  return SetMasked(f, value, LowBits(GetFieldInfo(f).bits));
}

Match& Match::SetMasked(Field f, uint64_t value, uint64_t m) {
  if (GetFieldInfo(f).bits > 64) return SetMasked128(f, U128{0, value}, U128{0, m});
  mask.Set(f, m);
  key.Set(f, value & m);
  return *this;
}

Match& Match::SetMasked128(Field f, U128 value, U128 m) {
  if (GetFieldInfo(f).bits <= 64) return SetMasked(f, value.lo, m.lo);
  mask.Set128(f, m);
  key.Set128(f, U128{value.hi & m.hi, value.lo & m.lo});
  return *this;
}

Match& Match::SetPrefix(Field f, U128 value, int prefix_len) {
  int bits = GetFieldInfo(f).bits;
  if (prefix_len < 0) prefix_len = 0;
  if (prefix_len > bits) prefix_len = bits;
  if (bits <= 64) {
    uint64_t m = prefix_len == 0 ? 0 : LowBits(prefix_len) << (bits - prefix_len);
    return SetMasked(f, value.lo, m);
  }
  U128 m;
  m.hi = prefix_len >= 64 ? ~0ULL : (prefix_len == 0 ? 0 : ~0ULL << (64 - prefix_len));
  m.lo = prefix_len <= 64 ? 0 : ~0ULL << (128 - prefix_len);
  return SetMasked128(f, value, m);
}

Match& Match::Clear(Field f) {
  return SetMasked128(f, U128{}, U128{});
}

uint64_t Match::GetMask(Field f) const { return mask.Get(f); }

U128 Match::GetMask128(Field f) const { return mask.Get128(f); }

bool Match::Matches(const FlowKey& k) const {
  uint64_t diff = 0;
  for (int i = 0; i < kFlowWords; ++i) diff |= (k.w[i] & mask.w[i]) ^ key.w[i];
  return diff == 0;
}

void Match::Normalize() {
  for (int i = 0; i < kFlowWords; ++i) key.w[i] &= mask.w[i];
}

int PrefixLength(U128 mask, int bits) {
  // Left-align the mask in 128 bits, then require ones followed by zeros.
  U128 m = mask;
  if (bits <= 64) {
    m.hi = bits == 64 ? m.lo : m.lo << (64 - bits);
    m.lo = 0;
  }
  int ones_hi = __builtin_popcountll(m.hi), ones_lo = __builtin_popcountll(m.lo);
  int n = ones_hi + ones_lo;
  U128 expect;
  expect.hi = n >= 64 ? ~0ULL : (n == 0 ? 0 : ~0ULL << (64 - n));
  expect.lo = n <= 64 ? 0 : ~0ULL << (128 - n);
  return expect == m ? n : -1;
}

std::string FormatField(Field f, U128 value, U128 mask) {
  const FieldInfo& fi = GetFieldInfo(f);
  U128 full = fi.bits > 64 ? U128{~0ULL, ~0ULL} : U128{0, LowBits(fi.bits)};
  bool exact = mask == full;
  switch (fi.format) {
    case F::kMac:
      return exact ? FormatMac(value.lo)
                   : FormatMac(value.lo) + "/" + FormatMac(mask.lo);
    case F::kIpv4: {
      std::string s = FormatIpv4(static_cast<uint32_t>(value.lo));
      if (exact) return s;
      int plen = PrefixLength(mask, 32);
      return plen >= 0 ? s + "/" + std::to_string(plen)
                       : s + "/" + FormatIpv4(static_cast<uint32_t>(mask.lo));
    }
    case F::kIpv6: {
      std::string s = FormatIpv6(value);
      if (exact) return s;
      int plen = PrefixLength(mask, 128);
      return plen >= 0 ? s + "/" + std::to_string(plen) : s + "/" + FormatIpv6(mask);
    }
    case F::kFrag:
      return FormatFrag(value.lo, mask.lo);
    case F::kDecimal:
    case F::kHex:
      break;
  }
  if (exact) return FormatNumber(value.lo, fi.format);
  return FormatNumber(value.lo, F::kHex) + "/" + FormatNumber(mask.lo, F::kHex);
}

std::string Match::ToString() const {
  std::string out;
  for (int i = 0; i < kNumFields; ++i) {
    Field f = static_cast<Field>(i);
    U128 m = mask.Get128(f);
    if ((m.hi | m.lo) == 0 || SkipWhenPrinting(*this, f)) continue;
    if (!out.empty()) out += ',';
    out += PrintName(*this, f);
    out += '=';
    out += FormatField(f, key.Get128(f), m);
  }
  return out;
}

std::string FlowKeyToString(const FlowKey& k) {
  // Padding bits are not part of any field: print fields only.
  std::string out;
  for (int i = 0; i < kNumFields; ++i) {
    Field f = static_cast<Field>(i);
    if (f == Field::kIcmpType || f == Field::kIcmpCode) continue;
    if (!out.empty()) out += ',';
    out += GetFieldInfo(f).name;
    out += '=';
    const FieldInfo& fi = GetFieldInfo(f);
    U128 full = fi.bits > 64 ? U128{~0ULL, ~0ULL} : U128{0, LowBits(fi.bits)};
    out += FormatField(f, k.Get128(f), full);
  }
  return out;
}

}  // namespace spate::cls
