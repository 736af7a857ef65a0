#include "classifier/trie.h"

#include <algorithm>
#include <cassert>
#include <unordered_set>

namespace spate::cls {
namespace {

constexpr u128 kAll = ~static_cast<u128>(0);

// Ones at positions [a, b), position 0 being the most significant bit.
u128 RangeMask(int a, int b) {
  if (b <= a) return 0;
  u128 from_a = a >= 128 ? 0 : kAll >> a;
  u128 from_b = b >= 128 ? 0 : kAll >> b;
  return from_a & ~from_b;
}

int Clz128(u128 x) {
  uint64_t hi = static_cast<uint64_t>(x >> 64);
  if (hi) return __builtin_clzll(hi);
  return 64 + __builtin_clzll(static_cast<uint64_t>(x));
}

int BitAt(u128 v, int pos) { return static_cast<int>(v >> (127 - pos) & 1); }

}  // namespace

PrefixTrie::~PrefixTrie() {
  // The published and working tries share nodes; collect each once.
  std::unordered_set<const Node*> all;
  std::vector<const Node*> stack = {working_, root_.load(std::memory_order_relaxed)};
  for (const Node* n : retired_) stack.push_back(n);
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (!n || !all.insert(n).second) continue;
    stack.push_back(n->edges[0]);
    stack.push_back(n->edges[1]);
  }
  for (const Node* n : all) delete n;
}

TrieResult PrefixTrie::Lookup(u128 key, int field_bits) const {
  TrieResult r;
  r.plens[0] = r.plens[1] = r.plens[2] = 0;
  r.checkbits = 0;
  const Node* node = root_.load(std::memory_order_acquire);
  int ofs = 0;
  while (node) {
    u128 diff = (key ^ node->value) & RangeMask(ofs, node->end);
    if (diff) {
      r.checkbits = static_cast<uint8_t>(Clz128(diff) + 1);
      return r;
    }
    ofs = node->end;
    if (node->n_rules) r.plens[ofs >> 6] |= 1ULL << (ofs & 63);
    if (ofs >= field_bits) {
      r.checkbits = static_cast<uint8_t>(field_bits);
      return r;
    }
    node = node->edges[BitAt(key, ofs)];
  }
  // The walk ended on a missing child, which depended on bit `ofs` (or, for
  // an empty trie, on nothing).
  r.checkbits = static_cast<uint8_t>(
      root_.load(std::memory_order_relaxed) ? std::min(ofs + 1, field_bits) : 0);
  return r;
}

PrefixTrie::Node* PrefixTrie::NewNode(u128 value, int end, uint32_t n_rules) {
  ++n_nodes_;
  return new Node{value & RangeMask(0, end), {nullptr, nullptr}, n_rules,
                  static_cast<uint8_t>(end), gen_};
}

PrefixTrie::Node* PrefixTrie::Mutable(const Node** link) {
  const Node* n = *link;
  if (n->gen == gen_) return const_cast<Node*>(n);
  Node* copy = new Node(*n);
  copy->gen = gen_;
  retired_.push_back(n);
  *link = copy;
  return copy;
}

void PrefixTrie::Drop(const Node* node) {
  --n_nodes_;
  if (node->gen == gen_) {
    delete node;
  } else {
    retired_.push_back(node);
  }
}

void PrefixTrie::Insert(u128 value, int plen) {
  assert(plen >= 1 && plen <= 128);
  dirty_ = true;
  value &= RangeMask(0, plen);
  const Node** link = &working_;
  int ofs = 0;
  for (;;) {
    if (!*link) {
      *link = NewNode(value, plen, 1);
      return;
    }
    Node* node = Mutable(link);
    int lim = std::min<int>(node->end, plen);
    u128 diff = (value ^ node->value) & RangeMask(ofs, lim);
    if (diff) {
      int d = Clz128(diff);
      Node* parent = NewNode(value, d, 0);
      Node* leaf = NewNode(value, plen, 1);
      parent->edges[BitAt(node->value, d)] = node;
      parent->edges[BitAt(value, d)] = leaf;
      *link = parent;
      return;
    }
    if (plen < node->end) {
      Node* parent = NewNode(value, plen, 1);
      parent->edges[BitAt(node->value, plen)] = node;
      *link = parent;
      return;
    }
    if (plen == node->end) {
      ++node->n_rules;
      return;
    }
    ofs = node->end;
    link = &node->edges[BitAt(value, ofs)];
  }
}

void PrefixTrie::Remove(u128 value, int plen) {
  value &= RangeMask(0, plen);
  // Find the node first, so that an absent prefix changes nothing.
  const Node* n = working_;
  int ofs = 0;
  while (n && n->end < plen) {
    if ((value ^ n->value) & RangeMask(ofs, n->end)) return;
    ofs = n->end;
    n = n->edges[BitAt(value, ofs)];
  }
  if (!n || n->end != plen || n->n_rules == 0 ||
      ((value ^ n->value) & RangeMask(ofs, n->end))) {
    return;
  }
  dirty_ = true;
  // Walk again with path copying, remembering the links.
  std::vector<const Node**> links;
  const Node** link = &working_;
  for (;;) {
    links.push_back(link);
    Node* node = Mutable(link);
    if (node->end == plen) break;
    link = &node->edges[BitAt(value, node->end)];
  }
  Node* node = const_cast<Node*>(*links.back());
  if (--node->n_rules > 0) return;
  // Splice out nodes that carry no prefix and fewer than two children.
  for (size_t i = links.size(); i-- > 0;) {
    const Node** l = links[i];
    Node* cur = const_cast<Node*>(*l);
    if (cur->n_rules > 0 || (cur->edges[0] && cur->edges[1])) break;
    const Node* child = cur->edges[0] ? cur->edges[0] : cur->edges[1];
    *l = child;
    Drop(cur);
  }
}

std::vector<const PrefixTrie::Node*> PrefixTrie::Publish() {
  root_.store(working_, std::memory_order_release);
  ++gen_;
  dirty_ = false;
  std::vector<const Node*> out;
  out.swap(retired_);
  return out;
}

void PrefixTrie::DeleteNodes(const std::vector<const Node*>& nodes) {
  for (const Node* n : nodes) delete n;
}

}  // namespace spate::cls
