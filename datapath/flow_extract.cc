// Flow key extraction; see flow_extract.h for the contract and the choices
// made where Open vSwitch versions differ.
#include "datapath/flow_extract.h"

#include <cstring>

namespace spate::datapath {
namespace {

using cls::FlowKey;
using cls::U128;

constexpr uint16_t kEthTypeVlan = 0x8100;     // 802.1Q TPID.
constexpr uint16_t kEthTypeQinQ = 0x88a8;     // 802.1ad TPID.
constexpr uint16_t kEthTypeRarp = 0x8035;     // Reverse ARP.
constexpr uint16_t kEthTypeMin = 0x0600;      // Smaller values are lengths.
constexpr uint16_t kDlTypeNone = 0x05ff;      // 802.3 without SNAP (as OVS).
constexpr uint16_t kVlanPresent = 0x1000;     // CFI bit: "a tag is here".
constexpr size_t kEthHeaderLen = 14;
constexpr size_t kLlcSnapLen = 8;
constexpr size_t kArpEthLen = 28;
constexpr size_t kIpv4HeaderLen = 20;
constexpr size_t kIpv6HeaderLen = 40;
constexpr size_t kMaxL2Pad = 65535;           // OVS's l2_pad_size limit.

constexpr uint8_t kProtoHopOpts = 0;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoAh = 51;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoDstOpts = 60;
constexpr uint8_t kProtoSctp = 132;

constexpr uint8_t kNdNeighborSolicit = 135;
constexpr uint8_t kNdNeighborAdvert = 136;
constexpr uint8_t kNdOptSll = 1;
constexpr uint8_t kNdOptTll = 2;

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

uint64_t BeN(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

// Eight bytes at p, big-endian.
uint64_t Be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

uint64_t Mac48(const uint8_t* p) { return BeN(p, 6); }
U128 Addr128(const uint8_t* p) { return U128{Be64(p), Be64(p + 8)}; }

// Where a field this file writes lives in FlowKey: the same (word, shift,
// bits) as classifier/flow.cc's field table.  Writing words directly,
// instead of calling the out-of-line FlowKey::Set per field, makes
// extraction several times cheaper; the test LayoutAgreesWithClassifier
// compares every field written here with the classifier's accessors.
struct Slot {
  uint8_t word;   // Word index.
  uint8_t shift;  // Bit offset of the field's LSB.
  uint8_t bits;   // Width.
};
constexpr Slot kDlDst{14, 16, 48};
constexpr Slot kVlanTci{14, 0, 16};
constexpr Slot kDlSrc{15, 16, 48};
constexpr Slot kDlType{15, 0, 16};
constexpr Slot kNwSrc{16, 32, 32};     // Also arp_spa.
constexpr Slot kNwDst{16, 0, 32};      // Also arp_tpa.
constexpr Slot kNwProto{21, 56, 8};    // Also arp_op.
constexpr Slot kNwTos{21, 48, 8};      // ip_dscp (6 bits) above nw_ecn (2).
constexpr Slot kNwTtl{21, 40, 8};
constexpr Slot kNwFrag{21, 32, 2};
constexpr Slot kIpv6Label{21, 0, 20};
constexpr Slot kTpSrc{22, 48, 16};     // Also icmp_type (low 8 bits).
constexpr Slot kTpDst{22, 32, 16};     // Also icmp_code (low 8 bits).
constexpr Slot kTcpFlags{22, 16, 12};
constexpr Slot kArpSha{25, 16, 48};    // Also nd_sll.
constexpr Slot kArpTha{26, 16, 48};    // Also nd_tll.
constexpr int kWordIpv6Src = 17;       // 128-bit fields: first of two words.
constexpr int kWordIpv6Dst = 19;
constexpr int kWordNdTarget = 23;

// Writes `v` into a field of a key whose field is still zero.
inline void Put(FlowKey* key, Slot s, uint64_t v) {
  key->w[s.word] |= (v & ((uint64_t{1} << s.bits) - 1)) << s.shift;
}

inline void Put128(FlowKey* key, int word, U128 v) {
  key->w[word] = v.hi;
  key->w[word + 1] = v.lo;
}

bool IsVlanTpid(uint16_t type) { return type == kEthTypeVlan || type == kEthTypeQinQ; }

// The walk over one frame: a read position and the current end (the IP
// length trims Ethernet padding off the end).
struct Parser {
  const uint8_t* frame;  // Start of the frame.
  size_t pos;            // Next unread byte.
  size_t end;            // One past the last byte that belongs to the packet.
  FlowKey* key;          // Output key.
  ExtractResult* result; // Output note and offsets.

  size_t Left() const { return end - pos; }
  const uint8_t* At() const { return frame + pos; }
  // Records `note` unless an earlier problem was recorded.
  void Note(ExtractNote note) {
    if (result->note == ExtractNote::kNone) result->note = note;
  }
};

// Ethernet addresses, VLAN tags and the ethertype (or LLC/SNAP).  False
// when the frame is too short for an Ethernet header.
bool ParseL2(Parser& ps) {
  if (ps.Left() < kEthHeaderLen) {
    ps.Note(ExtractNote::kTruncatedL2);
    return false;
  }
  Put(ps.key, kDlDst, Be64(ps.At()) >> 16);
  Put(ps.key, kDlSrc, Be64(ps.At() + 6) >> 16);  // Bytes 6..13 exist.
  ps.pos += 12;
  HeaderOffsets& ofs = ps.result->offsets;
  while (IsVlanTpid(Be16(ps.At())) && ofs.n_vlans < 2) {
    if (ps.Left() < 6) {  // Tag plus the next type.
      ps.Note(ExtractNote::kTruncatedVlan);
      break;
    }
    if (ofs.n_vlans == 0) Put(ps.key, kVlanTci, Be16(ps.At() + 2) | kVlanPresent);
    ofs.vlan[ofs.n_vlans++] = static_cast<uint32_t>(ps.pos);
    ps.pos += 4;
  }
  uint16_t type = Be16(ps.At());
  if (ofs.n_vlans == 2 && IsVlanTpid(type)) ps.Note(ExtractNote::kVlanTooDeep);
  ps.pos += 2;
  if (type < kEthTypeMin) {
    static constexpr uint8_t kSnap[6] = {0xaa, 0xaa, 0x03, 0, 0, 0};
    const uint8_t* llc = ps.At();
    bool snap = ps.Left() >= kLlcSnapLen;
    for (int i = 0; snap && i < 6; ++i) snap = llc[i] == kSnap[i];
    type = kDlTypeNone;
    if (snap) {
      uint16_t snap_type = Be16(llc + 6);
      if (snap_type >= kEthTypeMin) type = snap_type;
      ps.pos += kLlcSnapLen;
    }
  }
  Put(ps.key, kDlType, type);
  ofs.l3 = static_cast<uint32_t>(ps.pos);
  return true;
}

// ARP and RARP for Ethernet/IPv4 only.
void ParseArp(Parser& ps) {
  if (ps.Left() < kArpEthLen) {
    ps.Note(ExtractNote::kTruncatedArp);
    return;
  }
  const uint8_t* a = ps.At();
  if (Be16(a) != 1 || Be16(a + 2) != cls::kEthTypeIp || a[4] != 6 || a[5] != 4) {
    ps.Note(ExtractNote::kUnsupportedArp);
    return;
  }
  Put(ps.key, kNwSrc, Be32(a + 14));
  Put(ps.key, kNwDst, Be32(a + 24));
  uint16_t op = Be16(a + 6);
  if (op <= 0xff) Put(ps.key, kNwProto, op);  // Only the low 8 bits match.
  Put(ps.key, kArpSha, Mac48(a + 8));
  Put(ps.key, kArpTha, Mac48(a + 18));
}

// Neighbor Discovery after the 8-byte ICMPv6 header of an NS/NA: the
// target, then SLL/TLL options.
void ParseNd(Parser& ps) {
  if (ps.Left() < 16) {
    ps.Note(ExtractNote::kTruncatedNdTarget);
    return;
  }
  const uint8_t* target = ps.At();
  ps.pos += 16;
  uint64_t sll = 0;
  uint64_t tll = 0;
  while (ps.Left() >= 8) {
    const uint8_t* opt = ps.At();
    size_t opt_len = size_t{opt[1]} * 8;
    if (opt_len == 0 || opt_len > ps.Left()) {
      ps.Note(ExtractNote::kBadNdOption);
      break;
    }
    uint64_t* slot = nullptr;
    if (opt[0] == kNdOptSll && opt_len == 8) slot = &sll;
    if (opt[0] == kNdOptTll && opt_len == 8) slot = &tll;
    if (slot != nullptr) {
      if (*slot != 0) {  // Given twice: OVS drops all ND fields.
        ps.Note(ExtractNote::kDuplicateNdOption);
        return;
      }
      *slot = Mac48(opt + 2);
    }
    ps.pos += opt_len;
  }
  Put128(ps.key, kWordNdTarget, Addr128(target));
  Put(ps.key, kArpSha, sll);
  Put(ps.key, kArpTha, tll);
}

// True when `Left()` holds `need` bytes; otherwise notes a truncated L4.
bool HaveL4(Parser& ps, size_t need) {
  if (ps.Left() >= need) return true;
  ps.Note(ExtractNote::kTruncatedL4);
  return false;
}

// The transport header of a first (or non-) fragment.
void ParseL4(Parser& ps, uint8_t proto, bool ipv6) {
  const uint8_t* h = ps.At();
  FlowKey* key = ps.key;
  if (proto == kProtoTcp) {
    if (!HaveL4(ps, 20)) return;
    size_t offset = size_t{h[12]} >> 4 << 2;
    if (offset < 20 || offset > ps.Left()) {
      ps.Note(ExtractNote::kBadTcpOffset);
      return;
    }
    Put(key, kTpSrc, Be16(h));
    Put(key, kTpDst, Be16(h + 2));
    Put(key, kTcpFlags, Be16(h + 12) & 0x0fff);
  } else if (proto == kProtoUdp || proto == kProtoSctp) {
    if (!HaveL4(ps, proto == kProtoUdp ? 8 : 12)) return;
    Put(key, kTpSrc, Be16(h));
    Put(key, kTpDst, Be16(h + 2));
  } else if (proto == kProtoIcmp && !ipv6) {
    if (!HaveL4(ps, 8)) return;
    Put(key, kTpSrc, h[0]);
    Put(key, kTpDst, h[1]);
  } else if (proto == kProtoIcmpv6 && ipv6) {
    if (!HaveL4(ps, 8)) return;
    Put(key, kTpSrc, h[0]);
    Put(key, kTpDst, h[1]);
    if (h[1] == 0 && (h[0] == kNdNeighborSolicit || h[0] == kNdNeighborAdvert)) {
      ps.pos += 8;
      ParseNd(ps);
    }
  }
}

void ParseIpv4(Parser& ps) {
  if (ps.Left() < kIpv4HeaderLen) {
    ps.Note(ExtractNote::kTruncatedIpv4);
    return;
  }
  const uint8_t* h = ps.At();
  size_t ihl = size_t{h[0] & 0x0fu} * 4;
  if (ihl < kIpv4HeaderLen || ihl > ps.Left()) {
    ps.Note(ExtractNote::kBadIpv4Ihl);
    return;
  }
  size_t total = Be16(h + 2);
  if (total > ps.Left() || ihl > total || ps.Left() - total > kMaxL2Pad) {
    ps.Note(ExtractNote::kBadIpv4Length);
    return;
  }
  ps.end = ps.pos + total;
  FlowKey* key = ps.key;
  Put(key, kNwSrc, Be32(h + 12));
  Put(key, kNwDst, Be32(h + 16));
  uint16_t frag_off = Be16(h + 6);
  uint8_t frag = 0;
  if (frag_off & 0x3fff) frag = cls::kFragAny;      // MF or an offset.
  if (frag_off & 0x1fff) frag |= cls::kFragLater;   // Not the first.
  Put(key, kNwFrag, frag);
  Put(key, kNwTos, h[1]);
  Put(key, kNwTtl, h[8]);
  Put(key, kNwProto, h[9]);
  ps.pos += ihl;
  ps.result->offsets.l3_end = static_cast<uint32_t>(ps.end);
  ps.result->offsets.l4 = static_cast<uint32_t>(ps.pos);
  if (!(frag & cls::kFragLater)) ParseL4(ps, h[9], false);
}

bool IsIpv6Ext(uint8_t proto) {
  return proto == kProtoHopOpts || proto == kProtoRouting || proto == kProtoDstOpts ||
         proto == kProtoAh || proto == kProtoFragment;
}

// Walks IPv6 extension headers from `*proto`; leaves `*proto` at the upper
// layer protocol (kProtoFragment for a later fragment).  False (with a
// note) when the chain is truncated or too long.
bool WalkIpv6Ext(Parser& ps, uint8_t* proto, uint8_t* frag) {
  for (int n = 0; IsIpv6Ext(*proto); ++n) {
    if (n == kMaxIpv6ExtHeaders) {
      ps.Note(ExtractNote::kIpv6ExtChainTooLong);
      return false;
    }
    if (ps.Left() < 8) {  // Every extension header has at least 8 bytes.
      ps.Note(ExtractNote::kTruncatedIpv6Ext);
      return false;
    }
    const uint8_t* h = ps.At();
    size_t len = 8;
    if (*proto == kProtoAh) len = (size_t{h[1]} + 2) * 4;
    else if (*proto != kProtoFragment) len = (size_t{h[1]} + 1) * 8;
    if (len > ps.Left()) {
      ps.Note(ExtractNote::kTruncatedIpv6Ext);
      return false;
    }
    bool is_frag = *proto == kProtoFragment;
    *proto = h[0];
    ps.pos += len;
    uint16_t offlg = Be16(h + 2);
    if (is_frag && offlg != 0) {  // Offset 0 without M is an atomic fragment.
      *frag = cls::kFragAny;
      if (offlg & 0xfff8) {
        *frag |= cls::kFragLater;
        *proto = kProtoFragment;
        return true;
      }
    }
  }
  return true;
}

void ParseIpv6(Parser& ps) {
  if (ps.Left() < kIpv6HeaderLen) {
    ps.Note(ExtractNote::kTruncatedIpv6);
    return;
  }
  const uint8_t* h = ps.At();
  size_t total = kIpv6HeaderLen + Be16(h + 4);
  if (total > ps.Left() || ps.Left() - total > kMaxL2Pad) {
    ps.Note(ExtractNote::kBadIpv6Length);
    return;
  }
  ps.end = ps.pos + total;
  ps.result->offsets.l3_end = static_cast<uint32_t>(ps.end);
  FlowKey* key = ps.key;
  uint32_t vtcfl = Be32(h);
  Put128(key, kWordIpv6Src, Addr128(h + 8));
  Put128(key, kWordIpv6Dst, Addr128(h + 24));
  Put(key, kIpv6Label, vtcfl & 0xfffff);
  ps.pos += kIpv6HeaderLen;
  uint8_t proto = h[6];
  uint8_t frag = 0;
  if (!WalkIpv6Ext(ps, &proto, &frag)) return;  // OVS keeps addresses only.
  Put(key, kNwTos, static_cast<uint8_t>(vtcfl >> 20));
  Put(key, kNwTtl, h[7]);
  Put(key, kNwProto, proto);
  Put(key, kNwFrag, frag);
  ps.result->offsets.l4 = static_cast<uint32_t>(ps.pos);
  if (!(frag & cls::kFragLater)) ParseL4(ps, proto, true);
}

}  // namespace

const char* ExtractNoteName(ExtractNote note) {
  static constexpr const char* kNames[kNumExtractNotes] = {
      "none",           "truncated_l2",         "truncated_vlan",
      "vlan_too_deep",  "truncated_arp",        "unsupported_arp",
      "truncated_ipv4", "bad_ipv4_ihl",         "bad_ipv4_length",
      "truncated_ipv6", "bad_ipv6_length",      "truncated_ipv6_ext",
      "ipv6_ext_chain_too_long", "truncated_l4", "bad_tcp_offset",
      "truncated_nd_target", "bad_nd_option",   "duplicate_nd_option"};
  int i = static_cast<int>(note);
  return i >= 0 && i < kNumExtractNotes ? kNames[i] : "unknown";
}

namespace {

// The general pass into `*result` (which holds a default ExtractResult).
void ExtractGeneric(const uint8_t* frame, size_t len, uint32_t in_port, FlowKey* key,
                    ExtractResult* result) {
  key->Clear();
  key->w[0] = in_port;  // in_port (bits 0..31 of word 0).
  Parser ps{frame, 0, len, key, result};
  if (!ParseL2(ps)) return;
  uint16_t type = static_cast<uint16_t>(key->w[kDlType.word] >> kDlType.shift);
  if (type == cls::kEthTypeIp) {
    ParseIpv4(ps);
  } else if (type == cls::kEthTypeIpv6) {
    ParseIpv6(ps);
  } else if (type == cls::kEthTypeArp || type == kEthTypeRarp) {
    ParseArp(ps);
  }
}

}  // namespace

// Each entry point returns one named result on every path, so it is built
// in the caller's storage (NRVO).  Returning a local on one path and a
// call's result on another made GCC copy it out with a 16-byte load over
// narrower stores: a store-forwarding stall that was over half of
// ExtractFlowKey's time in perf.
ExtractResult ExtractFlowKey(const uint8_t* frame, size_t len, uint32_t in_port,
                             cls::FlowKey* key) {
  ExtractResult result;
  if (!extract_internal::ExtractCommon<true>(frame, len, in_port, key, &result)) {
    ExtractGeneric(frame, len, in_port, key, &result);
  }
  return result;
}

void ExtractFlowKeyGenericInto(const uint8_t* frame, size_t len, uint32_t in_port,
                               cls::FlowKey* key, ExtractResult* result) {
  *result = ExtractResult{};
  ExtractGeneric(frame, len, in_port, key, result);
}

ExtractResult ExtractFlowKeyGeneric(const uint8_t* frame, size_t len, uint32_t in_port,
                                    cls::FlowKey* key) {
  ExtractResult result;
  ExtractGeneric(frame, len, in_port, key, &result);
  return result;
}

}  // namespace spate::datapath
