#include "datapath/packet_edit.h"

#include <cstring>

namespace spate::datapath {
namespace {

using cls::Field;
using cls::U128;

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoSctp = 132;
constexpr uint8_t kProtoIcmpv6 = 58;

uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void Store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Rewrites `n` bytes at `p` (n even) with `src`, folding each changed word
// into every checksum of `csums` (null entries are skipped).
void RewriteWords(uint8_t* p, const uint8_t* src, int n, uint16_t* csums[], int n_csums) {
  for (int i = 0; i < n; i += 2) {
    uint16_t o = Load16(p + i), v = Load16(src + i);
    if (o == v) continue;
    for (int c = 0; c < n_csums; ++c) {
      if (csums[c] != nullptr) *csums[c] = ChecksumUpdate16(*csums[c], o, v);
    }
    Store16(p + i, v);
  }
}

// The L4 checksum that covers the IP pseudo-header, or -1 (none/absent).
int L4ChecksumOffset(const FrameLayout& l, uint32_t length) {
  if (l.l4 == kNoOffset) return -1;
  uint32_t off;
  if (l.nw_proto == kProtoTcp) {
    off = l.l4 + 16;
  } else if (l.nw_proto == kProtoUdp) {
    off = l.l4 + 6;
  } else if (l.nw_proto == kProtoIcmpv6 && l.dl_type == cls::kEthTypeIpv6) {
    off = l.l4 + 2;
  } else {
    return -1;
  }
  if (off + 2 > l.l3_end || off + 2 > length) return -1;
  return static_cast<int>(off);
}

bool Ipv4Ok(const FrameLayout& l, uint32_t length) {
  return l.dl_type == cls::kEthTypeIp && l.l3 != kNoOffset && l.l3_end != kNoOffset &&
         l.l3 + 20 <= l.l3_end && l.l3_end <= length;
}
bool Ipv6Ok(const FrameLayout& l, uint32_t length) {
  return l.dl_type == cls::kEthTypeIpv6 && l.l3 != kNoOffset && l.l3_end != kNoOffset &&
         l.l3 + 40 <= l.l3_end && l.l3_end <= length;
}

// Applies `bytes_new` (n bytes) at `at` under the pseudo-header checksum
// and, for IPv4, the header checksum.
void RewriteIpAddress(FrameView* f, const FrameLayout& l, uint32_t at,
                      const uint8_t* bytes_new, int n, bool ipv4) {
  uint8_t* d = f->data();
  uint16_t ip_csum = ipv4 ? Load16(d + l.l3 + 10) : 0;
  int l4c = L4ChecksumOffset(l, f->length);
  uint16_t l4_csum = l4c >= 0 ? Load16(d + l4c) : 0;
  bool udp_none = l4c >= 0 && l.nw_proto == kProtoUdp && ipv4 && l4_csum == 0;
  uint16_t* csums[2] = {ipv4 ? &ip_csum : nullptr,
                        (l4c >= 0 && !udp_none) ? &l4_csum : nullptr};
  RewriteWords(d + at, bytes_new, n, csums, 2);
  if (ipv4) Store16(d + l.l3 + 10, ip_csum);
  if (csums[1] != nullptr) {
    if (l.nw_proto == kProtoUdp && l4_csum == 0) l4_csum = 0xffff;
    Store16(d + l4c, l4_csum);
  }
}

void PutBe(uint8_t* out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v);
}
uint64_t GetBe(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

bool SetMac(FrameView* f, uint32_t at, U128 value, U128 mask) {
  if (f->length < 14) return false;
  uint8_t* p = f->data() + at;
  uint64_t v = (GetBe(p, 6) & ~mask.lo) | (value.lo & mask.lo);
  PutBe(p, v, 6);
  return true;
}

bool SetVlanTci(FrameView* f, const FrameLayout& l, U128 value, U128 mask) {
  if (l.n_vlans == 0 || f->length < 18) return false;
  uint8_t* p = f->data() + 14;
  uint16_t key_tci = static_cast<uint16_t>(Load16(p) | 0x1000);
  key_tci = static_cast<uint16_t>((key_tci & ~mask.lo) | (value.lo & mask.lo));
  Store16(p, static_cast<uint16_t>(key_tci & 0xefff));
  return true;
}

bool SetIpv4Addr(FrameView* f, const FrameLayout& l, Field field, U128 value, U128 mask) {
  uint8_t* d = f->data();
  bool src = field == Field::kNwSrc;
  if (l.dl_type == cls::kEthTypeArp) {
    uint32_t at = l.l3 + (src ? 14 : 24);
    if (l.l3 == kNoOffset || l.l3 + 28 > f->length) return false;
    PutBe(d + at, (GetBe(d + at, 4) & ~mask.lo) | (value.lo & mask.lo), 4);
    return true;
  }
  if (!Ipv4Ok(l, f->length)) return false;
  uint32_t at = l.l3 + (src ? 12 : 16);
  uint8_t nb[4];
  PutBe(nb, (GetBe(d + at, 4) & ~mask.lo) | (value.lo & mask.lo), 4);
  RewriteIpAddress(f, l, at, nb, 4, true);
  return true;
}

bool SetIpv6Addr(FrameView* f, const FrameLayout& l, Field field, U128 value, U128 mask) {
  if (!Ipv6Ok(l, f->length)) return false;
  uint32_t at = l.l3 + (field == Field::kIpv6Src ? 8 : 24);
  uint8_t* d = f->data();
  uint8_t nb[16];
  PutBe(nb, (GetBe(d + at, 8) & ~mask.hi) | (value.hi & mask.hi), 8);
  PutBe(nb + 8, (GetBe(d + at + 8, 8) & ~mask.lo) | (value.lo & mask.lo), 8);
  RewriteIpAddress(f, l, at, nb, 16, false);
  return true;
}

// TOS/traffic class: dscp (6 bits) or ecn (2 bits) under `mask`.
bool SetTos(FrameView* f, const FrameLayout& l, Field field, U128 value, U128 mask) {
  uint8_t* d = f->data();
  int shift = field == Field::kIpDscp ? 2 : 0;
  uint8_t bits = static_cast<uint8_t>((mask.lo << shift) & 0xff);
  uint8_t val = static_cast<uint8_t>((value.lo << shift) & bits);
  if (Ipv4Ok(l, f->length)) {
    uint16_t old = Load16(d + l.l3);
    d[l.l3 + 1] = static_cast<uint8_t>((d[l.l3 + 1] & ~bits) | val);
    Store16(d + l.l3 + 10, ChecksumUpdate16(Load16(d + l.l3 + 10), old, Load16(d + l.l3)));
    return true;
  }
  if (!Ipv6Ok(l, f->length)) return false;
  uint16_t w = Load16(d + l.l3);  // version(4) | tc(8) | label hi(4)
  uint8_t tc = static_cast<uint8_t>(w >> 4);
  tc = static_cast<uint8_t>((tc & ~bits) | val);
  Store16(d + l.l3, static_cast<uint16_t>((w & 0xf00f) | tc << 4));
  return true;
}

bool SetTtl(FrameView* f, const FrameLayout& l, U128 value, U128 mask) {
  uint8_t* d = f->data();
  if (Ipv4Ok(l, f->length)) {
    uint16_t old = Load16(d + l.l3 + 8);
    d[l.l3 + 8] = static_cast<uint8_t>((d[l.l3 + 8] & ~mask.lo) | (value.lo & mask.lo));
    Store16(d + l.l3 + 10, ChecksumUpdate16(Load16(d + l.l3 + 10), old, Load16(d + l.l3 + 8)));
    return true;
  }
  if (!Ipv6Ok(l, f->length)) return false;
  d[l.l3 + 7] = static_cast<uint8_t>((d[l.l3 + 7] & ~mask.lo) | (value.lo & mask.lo));
  return true;
}

bool SetLabel(FrameView* f, const FrameLayout& l, U128 value, U128 mask) {
  if (!Ipv6Ok(l, f->length)) return false;
  uint8_t* d = f->data() + l.l3;
  uint32_t w = static_cast<uint32_t>(GetBe(d, 4));
  uint32_t m = static_cast<uint32_t>(mask.lo & 0xfffff);
  w = (w & ~m) | (static_cast<uint32_t>(value.lo) & m);
  PutBe(d, w, 4);
  return true;
}

bool SetPort(FrameView* f, const FrameLayout& l, Field field, U128 value, U128 mask) {
  if (l.l4 == kNoOffset || l.l3_end == kNoOffset || l.l3_end > f->length) return false;
  if (l.nw_proto != kProtoTcp && l.nw_proto != kProtoUdp && l.nw_proto != kProtoSctp) {
    return false;
  }
  uint32_t min_hdr = l.nw_proto == kProtoTcp ? 20 : (l.nw_proto == kProtoUdp ? 8 : 12);
  if (l.l4 + min_hdr > l.l3_end) return false;
  uint8_t* d = f->data();
  uint32_t at = l.l4 + (field == Field::kTpSrc ? 0 : 2);
  uint8_t nb[2];
  Store16(nb, static_cast<uint16_t>((Load16(d + at) & ~mask.lo) | (value.lo & mask.lo)));
  if (l.nw_proto == kProtoSctp) {
    std::memcpy(d + at, nb, 2);
    if (l.is_fragment) return true;  // CRC covers the whole datagram.
    std::memset(d + l.l4 + 8, 0, 4);
    uint32_t crc = Crc32c(d + l.l4, l.l3_end - l.l4);
    for (int i = 0; i < 4; ++i) d[l.l4 + 8 + i] = static_cast<uint8_t>(crc >> (8 * i));
    return true;
  }
  int l4c = L4ChecksumOffset(l, f->length);
  uint16_t csum = Load16(d + l4c);
  bool none = l.nw_proto == kProtoUdp && csum == 0 && l.dl_type == cls::kEthTypeIp;
  uint16_t* csums[1] = {none ? nullptr : &csum};
  RewriteWords(d + at, nb, 2, csums, 1);
  if (!none) {
    if (l.nw_proto == kProtoUdp && csum == 0) csum = 0xffff;
    Store16(d + l4c, csum);
  }
  return true;
}

}  // namespace

FrameLayout MakeFrameLayout(const ExtractResult& result, const cls::FlowKey& key) {
  FrameLayout l;
  l.l3 = result.offsets.l3;
  l.l3_end = result.offsets.l3_end;
  l.dl_type = key.dl_type();
  l.n_vlans = result.offsets.n_vlans;
  bool ip = l.dl_type == cls::kEthTypeIp || l.dl_type == cls::kEthTypeIpv6;
  if (ip) {
    l.nw_proto = key.nw_proto();
    l.is_fragment = (key.nw_frag() & cls::kFragAny) != 0;
    if ((key.nw_frag() & cls::kFragLater) == 0) l.l4 = result.offsets.l4;
  }
  return l;
}

bool EditSetField(FrameView* frame, const FrameLayout& layout, Field field, U128 value,
                  U128 mask) {
  switch (field) {
    case Field::kDlDst: return SetMac(frame, 0, value, mask);
    case Field::kDlSrc: return SetMac(frame, 6, value, mask);
    case Field::kVlanTci: return SetVlanTci(frame, layout, value, mask);
    case Field::kNwSrc:
    case Field::kNwDst: return SetIpv4Addr(frame, layout, field, value, mask);
    case Field::kIpv6Src:
    case Field::kIpv6Dst: return SetIpv6Addr(frame, layout, field, value, mask);
    case Field::kIpDscp:
    case Field::kNwEcn: return SetTos(frame, layout, field, value, mask);
    case Field::kNwTtl: return SetTtl(frame, layout, value, mask);
    case Field::kIpv6Label: return SetLabel(frame, layout, value, mask);
    case Field::kTpSrc:
    case Field::kTpDst: return SetPort(frame, layout, field, value, mask);
    default: return false;
  }
}

bool EditPushVlan(FrameView* frame, FrameLayout* layout, uint16_t tpid, uint16_t tci) {
  if (frame->offset < 4 || frame->length < 12) return false;
  frame->offset -= 4;
  frame->length += 4;
  uint8_t* d = frame->data();
  std::memmove(d, d + 4, 12);
  Store16(d + 12, tpid);
  Store16(d + 14, tci);
  for (uint32_t* off : {&layout->l3, &layout->l4, &layout->l3_end}) {
    if (*off != kNoOffset) *off += 4;
  }
  layout->n_vlans++;
  return true;
}

bool EditPopVlan(FrameView* frame, FrameLayout* layout) {
  if (layout->n_vlans == 0 || frame->length < 18) return false;
  uint8_t* d = frame->data();
  std::memmove(d + 4, d, 12);
  frame->offset += 4;
  frame->length -= 4;
  for (uint32_t* off : {&layout->l3, &layout->l4, &layout->l3_end}) {
    if (*off != kNoOffset) *off -= 4;
  }
  layout->n_vlans--;
  return true;
}

uint16_t ChecksumUpdate16(uint16_t csum, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~csum) + static_cast<uint16_t>(~old_word) +
                 static_cast<uint32_t>(new_word);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t InternetChecksum(const uint8_t* data, uint32_t len, uint32_t initial) {
  uint64_t sum = initial;
  uint32_t i = 0;
  for (; i + 1 < len; i += 2) sum += Load16(data + i);
  if (i < len) sum += static_cast<uint32_t>(data[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t Crc32c(const uint8_t* data, uint32_t len) {
  static const auto table = [] {
    struct T { uint32_t v[256]; } t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t.v[i] = c;
    }
    return t;
  }();
  uint32_t crc = ~0u;
  for (uint32_t i = 0; i < len; ++i) crc = table.v[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace spate::datapath
