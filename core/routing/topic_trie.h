#pragma once
// Topic-exchange bindings as a trie over the dot-separated words of their patterns.
//
// Words are split as RabbitMQ splits them: the empty key has no words, otherwise a key of d dots
// has d + 1 words, some of which may be empty ("a..b" is "a", "", "b"; "." is "", ""). In a
// pattern, "*" matches exactly one word (possibly empty) and "#" matches zero or more words.
//
// Routing walks only trie paths that can match the key. A state is (node, words consumed); a
// "#" node may be entered at many word positions, so each "#" node remembers the lowest position
// it has been expanded from during the current route and never expands a position twice. Every
// state is then visited at most once per route, which keeps patterns such as "#.#.#.a" linear in
// the key instead of exponential.
//
// Ownership: the trie owns its nodes and one interned copy of each bound Destination. It lives
// on the shard that owns the exchange and is not safe to use from two threads: route() is const
// but stamps nodes and destinations with a per-route epoch and reuses scratch vectors, so that a
// route allocates nothing once the scratch has grown to the largest key seen.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/types.h"
#include "core/routing/destination.h"

namespace lepus::routing {

// Routing keys and binding keys are AMQP short strings, so a pattern has at most 256 words and
// the trie at most that depth; recursion over the trie relies on this bound.
inline constexpr usize topic_pattern_size_max = 255;

// Transparent hashing so that lookups by std::string_view never build a std::string.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

class TopicTrie {
public:
    TopicTrie();
    ~TopicTrie();
    TopicTrie(const TopicTrie&) = delete;
    TopicTrie& operator=(const TopicTrie&) = delete;

    // Set semantics: false if the pair is already present. The pattern is at most
    // topic_pattern_size_max bytes.
    bool add(std::string_view pattern, const Destination& destination);
    // False if the pair is not present. Nodes left without bindings or children are freed.
    bool remove(std::string_view pattern, const Destination& destination);
    bool contains(std::string_view pattern, const Destination& destination) const;

    // Appends every destination bound by a pattern that matches the key, each once, in no
    // particular order. The pointers stay valid until the next remove().
    void route(std::string_view routing_key, std::vector<const Destination*>& out) const;

    usize size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // Nodes other than the root; lets tests check that remove() prunes.
    usize node_count() const { return node_count_; }

private:
    struct Target {
        u32 references = 0;  // how many patterns bind this destination
        mutable u32 route_stamp = 0;
    };
    using TargetMap = std::unordered_map<Destination, Target>;
    using TargetEntry = TargetMap::value_type;

    struct Node;
    using ChildMap =
        std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>>;
    struct Node {
        Node* parent = nullptr;
        std::string word;  // the edge from the parent: a literal word, "*" or "#"
        ChildMap children;
        std::unique_ptr<Node> star;
        std::unique_ptr<Node> hash;
        std::vector<TargetEntry*> targets;  // bound by the pattern that ends here
        // Route scratch, valid when visit_epoch is the current epoch: the lowest word position
        // this "#" node has been expanded from.
        mutable u32 visit_epoch = 0;
        mutable u32 low_position = 0;

        bool has_successors() const { return !children.empty() || star || hash; }
        bool is_prunable() const { return targets.empty() && !has_successors(); }
    };
    struct State {
        const Node* node;
        u32 position;  // words consumed so far
    };

    Node* find_node(std::string_view pattern) const;
    void prune(Node* node);
    void enter_hash(const Node* hash, u32 position, u32 word_count) const;
    void emit(const Node* node, std::vector<const Destination*>& out) const;
    void next_epoch() const;
    void reset_stamps(const Node* node) const;

    std::unique_ptr<Node> root_;
    TargetMap targets_;
    usize size_ = 0;
    usize node_count_ = 0;
    mutable u32 epoch_ = 0;
    mutable std::vector<std::string_view> words_;
    mutable std::vector<State> stack_;
};

}  // namespace lepus::routing
