// FlowKey and Match: the fixed flow key that the classifier, the megaflow
// cache and the datapath's packet extractor share.
//
// What it is
//   FlowKey is a plain array of kFlowWords 64-bit words (216 bytes), the way
//   Open vSwitch's struct flow is.  Every field lives at a fixed bit range of
//   one word (128-bit addresses span two words).  A Match is a key plus a
//   mask of the same shape; a key K matches when (K & mask) == match.key for
//   every word, and Match keeps match.key == match.key & mask.
//
// Design
//   Words are grouped by lookup stage, each a contiguous range:
//     metadata  words  0..13  in_port, logical datapath, logical in/out port,
//                             reg0..reg7, conj_id, Geneve option, tunnel
//     L2        words 14..15  eth dst + VLAN TCI, eth src + eth type
//     L3        words 16..21  IPv4 src/dst (= ARP spa/tpa), IPv6 src/dst,
//                             proto (= ARP op), TOS, TTL, frag, IPv6 label
//     L4        words 22..26  ports (= ICMP type/code), TCP flags, ND target,
//                             ARP sha/tha (= ND sll/tll)
//   so the classifier hashes and masks whole words, stage by stage.  Fields
//   are stored host-order as unsigned integers in their bit range (an IPv4
//   address 10.0.0.1 is 0x0a000001; a MAC is its 48-bit big-endian number;
//   an IPv6 address is two words, the first eight bytes in word "hi").
//   Shared storage follows Open vSwitch: ARP and IP never appear in the same
//   packet, nor ICMP and ports, nor ARP hardware addresses and ND options.
//
// Thread-safety
//   Plain values; no internal synchronisation.
#ifndef SPATE_CLASSIFIER_FLOW_H
#define SPATE_CLASSIFIER_FLOW_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace spate::cls {

inline constexpr int kFlowWords = 27;  // 64-bit words in a FlowKey.

// Lookup stages, in the order the classifier probes them.
enum class Stage : uint8_t { kMetadata = 0, kL2 = 1, kL3 = 2, kL4 = 3 };
inline constexpr int kNumStages = 4;
// First word of each stage, plus the end (kFlowWords).
inline constexpr int kStageBegin[kNumStages + 1] = {0, 14, 16, 22, kFlowWords};

// Every field of the key.  Aliases sharing storage (arp_spa = nw_src...) are
// separate names for the parser/printer only; see FieldByName().
enum class Field : uint8_t {
  kInPort, kMetadata, kLogInport, kLogOutport,
  kReg0, kReg1, kReg2, kReg3, kReg4, kReg5, kReg6, kReg7,
  kConjId, kGeneveClass, kGeneveType, kGeneveValue,
  kTunId, kTunSrc, kTunDst, kTunIpv6Src, kTunIpv6Dst,
  kDlDst, kVlanTci, kDlSrc, kDlType,
  kNwSrc, kNwDst, kIpv6Src, kIpv6Dst,
  kNwProto, kIpDscp, kNwEcn, kNwTtl, kNwFrag, kIpv6Label,
  kTpSrc, kTpDst, kTcpFlags, kIcmpType, kIcmpCode,
  kNdTarget, kArpSha, kArpTha,
  kCount
};
inline constexpr int kNumFields = static_cast<int>(Field::kCount);

// How a field's value is written in text.
enum class FieldFormat : uint8_t { kDecimal, kHex, kMac, kIpv4, kIpv6, kFrag };

// Where a field lives.  128-bit fields use words `word` (hi) and `word`+1.
struct FieldInfo {
  const char* name;     // ovs-ofctl name, e.g. "nw_src".
  uint8_t word;         // Word index (the high word for 128-bit fields).
  uint8_t shift;        // Bit offset of the field's LSB within the word.
  uint8_t bits;         // Width in bits (128 for IPv6 addresses).
  FieldFormat format;   // Text form.
  bool prefix;          // Masks are normally CIDR prefixes (IP addresses).
};

// The static description of `f`.
const FieldInfo& GetFieldInfo(Field f);

// Finds a field by ovs-ofctl name or alias ("nw_src", "arp_spa", "reg14",
// "tcp_dst", ...); returns false when unknown.
bool FieldByName(std::string_view name, Field* field);

// Bit mask of a <=64-bit field within its word (already shifted).
uint64_t FieldWordMask(Field f);

// A 128-bit value as two words: hi holds the first (most significant) bits.
struct U128 {
  uint64_t hi = 0;  // Bits 127..64 (bytes 0..7 of an IPv6 address).
  uint64_t lo = 0;  // Bits 63..0 (bytes 8..15).
  bool operator==(const U128&) const = default;
};

// The flow key: a POD of kFlowWords words.  Zero-initialise before use.
struct FlowKey {
  uint64_t w[kFlowWords];  // The words; see the layout above.

  // Generic access to any field of up to 64 bits (value right-aligned).
  uint64_t Get(Field f) const;
  void Set(Field f, uint64_t value);
  // Access to 128-bit fields (IPv6 addresses); also works for narrower ones.
  U128 Get128(Field f) const;
  void Set128(Field f, U128 value);

  // Zeroes every word.  Written as 27 separate stores, which GCC merges
  // into vector stores: a 216-byte memset compiles to `rep stos`, whose
  // start-up cost was half of the datapath's flow extraction in perf.
  void Clear() { ZeroWords<0, kFlowWords>(w); }
  // Zeroes words [Begin, End) of `words` with straight-line stores (see
  // Clear()).
  template <int Begin, int End>
  static void ZeroWords(uint64_t* words) {
    [words]<size_t... I>(std::index_sequence<I...>) {
      ((words[Begin + static_cast<int>(I)] = 0), ...);
    }(std::make_index_sequence<End - Begin>());
  }
  bool operator==(const FlowKey& o) const {
    return std::memcmp(w, o.w, sizeof w) == 0;
  }

  // Named accessors (metadata).
  uint32_t in_port() const { return static_cast<uint32_t>(Get(Field::kInPort)); }
  void set_in_port(uint32_t v) { Set(Field::kInPort, v); }
  uint32_t metadata() const { return static_cast<uint32_t>(Get(Field::kMetadata)); }
  void set_metadata(uint32_t v) { Set(Field::kMetadata, v); }
  uint32_t log_inport() const { return static_cast<uint32_t>(Get(Field::kLogInport)); }
  void set_log_inport(uint32_t v) { Set(Field::kLogInport, v); }
  uint32_t log_outport() const { return static_cast<uint32_t>(Get(Field::kLogOutport)); }
  void set_log_outport(uint32_t v) { Set(Field::kLogOutport, v); }
  // Scratch register i in 0..7.
  uint32_t reg(int i) const { return static_cast<uint32_t>(Get(RegField(i))); }
  void set_reg(int i, uint32_t v) { Set(RegField(i), v); }
  uint32_t conj_id() const { return static_cast<uint32_t>(Get(Field::kConjId)); }
  void set_conj_id(uint32_t v) { Set(Field::kConjId, v); }
  uint64_t tun_id() const { return Get(Field::kTunId); }
  void set_tun_id(uint64_t v) { Set(Field::kTunId, v); }
  uint32_t tun_src() const { return static_cast<uint32_t>(Get(Field::kTunSrc)); }
  void set_tun_src(uint32_t v) { Set(Field::kTunSrc, v); }
  uint32_t tun_dst() const { return static_cast<uint32_t>(Get(Field::kTunDst)); }
  void set_tun_dst(uint32_t v) { Set(Field::kTunDst, v); }
  U128 tun_ipv6_src() const { return Get128(Field::kTunIpv6Src); }
  void set_tun_ipv6_src(U128 v) { Set128(Field::kTunIpv6Src, v); }
  U128 tun_ipv6_dst() const { return Get128(Field::kTunIpv6Dst); }
  void set_tun_ipv6_dst(U128 v) { Set128(Field::kTunIpv6Dst, v); }
  uint16_t geneve_class() const { return static_cast<uint16_t>(Get(Field::kGeneveClass)); }
  void set_geneve_class(uint16_t v) { Set(Field::kGeneveClass, v); }
  uint8_t geneve_type() const { return static_cast<uint8_t>(Get(Field::kGeneveType)); }
  void set_geneve_type(uint8_t v) { Set(Field::kGeneveType, v); }
  uint32_t geneve_value() const { return static_cast<uint32_t>(Get(Field::kGeneveValue)); }
  void set_geneve_value(uint32_t v) { Set(Field::kGeneveValue, v); }

  // Named accessors (L2).
  uint64_t dl_src() const { return Get(Field::kDlSrc); }
  void set_dl_src(uint64_t mac48) { Set(Field::kDlSrc, mac48); }
  uint64_t dl_dst() const { return Get(Field::kDlDst); }
  void set_dl_dst(uint64_t mac48) { Set(Field::kDlDst, mac48); }
  uint16_t dl_type() const { return static_cast<uint16_t>(Get(Field::kDlType)); }
  void set_dl_type(uint16_t v) { Set(Field::kDlType, v); }
  uint16_t vlan_tci() const { return static_cast<uint16_t>(Get(Field::kVlanTci)); }
  void set_vlan_tci(uint16_t v) { Set(Field::kVlanTci, v); }

  // Named accessors (L3).  ARP fields share storage with IP fields.
  uint32_t nw_src() const { return static_cast<uint32_t>(Get(Field::kNwSrc)); }
  void set_nw_src(uint32_t v) { Set(Field::kNwSrc, v); }
  uint32_t nw_dst() const { return static_cast<uint32_t>(Get(Field::kNwDst)); }
  void set_nw_dst(uint32_t v) { Set(Field::kNwDst, v); }
  uint32_t arp_spa() const { return nw_src(); }
  void set_arp_spa(uint32_t v) { set_nw_src(v); }
  uint32_t arp_tpa() const { return nw_dst(); }
  void set_arp_tpa(uint32_t v) { set_nw_dst(v); }
  U128 ipv6_src() const { return Get128(Field::kIpv6Src); }
  void set_ipv6_src(U128 v) { Set128(Field::kIpv6Src, v); }
  U128 ipv6_dst() const { return Get128(Field::kIpv6Dst); }
  void set_ipv6_dst(U128 v) { Set128(Field::kIpv6Dst, v); }
  uint8_t nw_proto() const { return static_cast<uint8_t>(Get(Field::kNwProto)); }
  void set_nw_proto(uint8_t v) { Set(Field::kNwProto, v); }
  uint8_t arp_op() const { return nw_proto(); }  // Low 8 bits of the opcode.
  void set_arp_op(uint16_t v) { set_nw_proto(static_cast<uint8_t>(v)); }
  // The whole TOS byte (DSCP << 2 | ECN).
  uint8_t nw_tos() const {
    return static_cast<uint8_t>(Get(Field::kIpDscp) << 2 | Get(Field::kNwEcn));
  }
  void set_nw_tos(uint8_t v) { Set(Field::kIpDscp, v >> 2); Set(Field::kNwEcn, v & 3); }
  uint8_t nw_ttl() const { return static_cast<uint8_t>(Get(Field::kNwTtl)); }
  void set_nw_ttl(uint8_t v) { Set(Field::kNwTtl, v); }
  // Fragment bits: kFragAny (is a fragment) | kFragLater (not the first).
  uint8_t nw_frag() const { return static_cast<uint8_t>(Get(Field::kNwFrag)); }
  void set_nw_frag(uint8_t v) { Set(Field::kNwFrag, v); }
  uint32_t ipv6_label() const { return static_cast<uint32_t>(Get(Field::kIpv6Label)); }
  void set_ipv6_label(uint32_t v) { Set(Field::kIpv6Label, v); }

  // Named accessors (L4).  ICMP type/code share storage with the ports.
  uint16_t tp_src() const { return static_cast<uint16_t>(Get(Field::kTpSrc)); }
  void set_tp_src(uint16_t v) { Set(Field::kTpSrc, v); }
  uint16_t tp_dst() const { return static_cast<uint16_t>(Get(Field::kTpDst)); }
  void set_tp_dst(uint16_t v) { Set(Field::kTpDst, v); }
  uint16_t tcp_flags() const { return static_cast<uint16_t>(Get(Field::kTcpFlags)); }
  void set_tcp_flags(uint16_t v) { Set(Field::kTcpFlags, v); }
  uint8_t icmp_type() const { return static_cast<uint8_t>(Get(Field::kIcmpType)); }
  void set_icmp_type(uint8_t v) { Set(Field::kIcmpType, v); }
  uint8_t icmp_code() const { return static_cast<uint8_t>(Get(Field::kIcmpCode)); }
  void set_icmp_code(uint8_t v) { Set(Field::kIcmpCode, v); }
  U128 nd_target() const { return Get128(Field::kNdTarget); }
  void set_nd_target(U128 v) { Set128(Field::kNdTarget, v); }
  uint64_t arp_sha() const { return Get(Field::kArpSha); }
  void set_arp_sha(uint64_t mac48) { Set(Field::kArpSha, mac48); }
  uint64_t arp_tha() const { return Get(Field::kArpTha); }
  void set_arp_tha(uint64_t mac48) { Set(Field::kArpTha, mac48); }
  uint64_t nd_sll() const { return arp_sha(); }
  void set_nd_sll(uint64_t mac48) { set_arp_sha(mac48); }
  uint64_t nd_tll() const { return arp_tha(); }
  void set_nd_tll(uint64_t mac48) { set_arp_tha(mac48); }

  // The register field for index i (0..7).
  static Field RegField(int i) {
    return static_cast<Field>(static_cast<int>(Field::kReg0) + i);
  }
};
static_assert(sizeof(FlowKey) == kFlowWords * 8);

inline constexpr uint8_t kFragAny = 1;    // nw_frag: packet is a fragment.
inline constexpr uint8_t kFragLater = 2;  // nw_frag: not the first fragment.

inline constexpr uint16_t kEthTypeIp = 0x0800;    // dl_type of IPv4.
inline constexpr uint16_t kEthTypeArp = 0x0806;   // dl_type of ARP.
inline constexpr uint16_t kEthTypeIpv6 = 0x86dd;  // dl_type of IPv6.

// A key plus a mask: the match part of a rule.  Invariant: key == key & mask.
struct Match {
  FlowKey key{};   // Values; bits outside `mask` are zero.
  FlowKey mask{};  // 1 bits are matched, 0 bits are wildcarded.

  // Exact match on field `f` (<= 64 bits).
  Match& Set(Field f, uint64_t value);
  // Masked match on field `f`; value bits outside mask are dropped.
  Match& SetMasked(Field f, uint64_t value, uint64_t mask);
  // Masked match on a 128-bit (or narrower) field.
  Match& SetMasked128(Field f, U128 value, U128 mask);
  // Prefix match on an address field: the top `prefix_len` bits of `value`.
  // For IPv4 fields value is in the low 32 bits of value.lo.
  Match& SetPrefix(Field f, U128 value, int prefix_len);
  // Removes the field from the match.
  Match& Clear(Field f);

  // The mask of field f, right-aligned (0 when wildcarded).
  uint64_t GetMask(Field f) const;
  U128 GetMask128(Field f) const;

  // True when `k` is inside this match.
  bool Matches(const FlowKey& k) const;
  // Re-establishes key == key & mask (after editing words directly).
  void Normalize();
  bool operator==(const Match& o) const { return key == o.key && mask == o.mask; }

  // ovs-ofctl style text, e.g. "in_port=1,dl_type=0x0800,nw_src=10.0.0.0/8".
  // Fields are printed in Field order; "" for the catch-all match.
  std::string ToString() const;
};

// Text of one field's value (and mask when partial) as ovs-ofctl prints it,
// e.g. "10.0.0.0/8", "aa:bb:cc:dd:ee:ff", "0x800", "80/0xfff0".
std::string FormatField(Field f, U128 value, U128 mask);

// ovs-ofctl style text of a whole key (every field, wildcard-free).
std::string FlowKeyToString(const FlowKey& k);

// Number of leading one bits of `mask` when it is a CIDR prefix mask of a
// field `bits` wide, else -1.  (0 for an all-zero mask.)
int PrefixLength(U128 mask, int bits);

}  // namespace spate::cls

#endif  // SPATE_CLASSIFIER_FLOW_H
