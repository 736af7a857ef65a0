// PrefixTrie: a path-compressed binary trie of address prefixes, used to
// skip subtables whose address prefix cannot match and to report how few
// address bits that decision needed (so megaflows stay wide).
//
// Design
//   Values are up to 128 bits, left-aligned (an IPv4 address occupies the
//   top 32 bits).  Each node holds the absolute prefix that reaches its end,
//   its end position, how many rules end exactly there, and two children.
//   Because positions are absolute, a node can be re-parented unchanged.
//   Lookup walks the key down the trie and returns the set of prefix lengths
//   at which some prefix equals the key's leading bits, plus `checkbits`,
//   the number of leading key bits the walk depended on: every key sharing
//   those bits gets the same answer for every length.
//
//   Published nodes are immutable.  The writer edits a working copy by path
//   copying: a node created since the last Publish() is private and edited in
//   place; an older one is copied and the original retired.  Publish()
//   stores the working root for readers and hands back the retired nodes,
//   which the caller frees after a grace period (VersionDomain::Defer).
//
// Thread-safety
//   Lookup() is lock-free and may run concurrently with the writer
//   functions (Insert, Remove, Publish), which must be serialised.
#ifndef SPATE_CLASSIFIER_TRIE_H
#define SPATE_CLASSIFIER_TRIE_H

#include <atomic>
#include <cstdint>
#include <vector>

namespace spate::cls {

using u128 = unsigned __int128;

// What a trie lookup found.
// Deliberately not zero-initialised (lookups keep four of these on the
// stack); PrefixTrie::Lookup() fills every member.
struct TrieResult {
  uint64_t plens[3];   // Bit L set: a prefix of length L matches.
  uint8_t checkbits;   // Leading key bits the answer depends on.
  // True when some prefix of length `plen` equals the key's first bits.
  bool Has(int plen) const { return plens[plen >> 6] >> (plen & 63) & 1; }
};

class PrefixTrie {
 public:
  struct Node {
    u128 value;             // Absolute prefix bits up to `end`, rest zero.
    const Node* edges[2];   // Children by the bit at position `end`.
    uint32_t n_rules;       // Prefixes ending exactly at `end` (a count).
    uint8_t end;            // Prefix length at this node (1..128).
    uint64_t gen;           // Writer generation that created the node.
  };

  PrefixTrie() = default;
  ~PrefixTrie();  // Frees every node; no reader may be active.
  PrefixTrie(const PrefixTrie&) = delete;
  PrefixTrie& operator=(const PrefixTrie&) = delete;

  // Readers: walks `key` (left-aligned) through the published trie, for a
  // field `field_bits` wide.
  TrieResult Lookup(u128 key, int field_bits) const;

  // Writer: counts one more / one fewer prefix (value left-aligned,
  // 1 <= plen <= 128).  Remove of an absent prefix is a no-op.
  void Insert(u128 value, int plen);
  void Remove(u128 value, int plen);
  // Writer: makes the working trie visible to readers.  Returns the nodes
  // that readers may still see but the trie no longer uses; the caller must
  // delete them (DeleteNodes) after a grace period.
  std::vector<const Node*> Publish();
  // True when the working trie differs from the published one.
  bool dirty() const { return dirty_; }
  // Number of nodes in the working trie (for memory accounting).
  size_t n_nodes() const { return n_nodes_; }

  static void DeleteNodes(const std::vector<const Node*>& nodes);

 private:
  Node* NewNode(u128 value, int end, uint32_t n_rules);
  // Returns a node the writer may edit in place for `*link`.
  Node* Mutable(const Node** link);
  // Drops `node` from the working trie (deleting it now if never published).
  void Drop(const Node* node);

  std::atomic<const Node*> root_{nullptr};  // Published root (readers).
  const Node* working_{nullptr};            // Writer's root.
  uint64_t gen_ = 1;                        // Current private generation.
  bool dirty_ = false;                      // working_ != published state.
  size_t n_nodes_ = 0;                      // Nodes in the working trie.
  std::vector<const Node*> retired_;        // Published nodes dropped.
};

}  // namespace spate::cls

#endif  // SPATE_CLASSIFIER_TRIE_H
