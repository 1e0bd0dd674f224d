#include "core/routing/topic_trie.h"

#include "core/base/assert.h"

namespace lepus::routing {
namespace {

// RabbitMQ's split: "" has no words; otherwise every dot ends a word, including empty ones.
template <typename F>
void for_each_word(std::string_view key, F&& f) {
    if (key.empty()) return;
    usize start = 0;
    while (true) {
        usize dot = key.find('.', start);
        if (dot == std::string_view::npos) {
            f(key.substr(start));
            return;
        }
        f(key.substr(start, dot - start));
        start = dot + 1;
    }
}

}  // namespace

TopicTrie::TopicTrie() : root_(std::make_unique<Node>()) {}

TopicTrie::~TopicTrie() = default;

bool TopicTrie::add(std::string_view pattern, const Destination& destination) {
    LEPUS_ASSERT(pattern.size() <= topic_pattern_size_max);
    Node* node = root_.get();
    for_each_word(pattern, [&](std::string_view word) {
        std::unique_ptr<Node>* slot;
        if (word == "*") {
            slot = &node->star;
        } else if (word == "#") {
            slot = &node->hash;
        } else {
            auto it = node->children.find(word);
            if (it == node->children.end()) {
                it = node->children.emplace(std::string(word), nullptr).first;
            }
            slot = &it->second;
        }
        if (!*slot) {
            *slot = std::make_unique<Node>();
            (*slot)->parent = node;
            (*slot)->word = std::string(word);
            node_count_++;
        }
        node = slot->get();
    });

    auto [target, inserted] = targets_.try_emplace(destination);
    if (!inserted) {
        for (const TargetEntry* existing : node->targets) {
            if (existing == &*target) return false;
        }
    }
    target->second.references++;
    node->targets.push_back(&*target);
    size_++;
    return true;
}

bool TopicTrie::remove(std::string_view pattern, const Destination& destination) {
    LEPUS_ASSERT(pattern.size() <= topic_pattern_size_max);
    Node* node = find_node(pattern);
    if (node == nullptr) return false;
    auto target = targets_.find(destination);
    if (target == targets_.end()) return false;

    auto& targets = node->targets;
    for (usize i = 0; i < targets.size(); i++) {
        if (targets[i] != &*target) continue;
        targets[i] = targets.back();
        targets.pop_back();
        size_--;
        LEPUS_ASSERT(target->second.references > 0);
        if (--target->second.references == 0) targets_.erase(target);
        prune(node);
        return true;
    }
    return false;
}

bool TopicTrie::contains(std::string_view pattern, const Destination& destination) const {
    const Node* node = find_node(pattern);
    if (node == nullptr) return false;
    auto target = targets_.find(destination);
    if (target == targets_.end()) return false;
    for (const TargetEntry* entry : node->targets) {
        if (entry == &*target) return true;
    }
    return false;
}

TopicTrie::Node* TopicTrie::find_node(std::string_view pattern) const {
    Node* node = root_.get();
    for_each_word(pattern, [&](std::string_view word) {
        if (node == nullptr) return;
        if (word == "*") {
            node = node->star.get();
        } else if (word == "#") {
            node = node->hash.get();
        } else {
            auto it = node->children.find(word);
            node = it == node->children.end() ? nullptr : it->second.get();
        }
    });
    return node;
}

void TopicTrie::prune(Node* node) {
    while (node != root_.get() && node->is_prunable()) {
        Node* parent = node->parent;
        if (node->word == "*") {
            LEPUS_ASSERT(parent->star.get() == node);
            parent->star.reset();
        } else if (node->word == "#") {
            LEPUS_ASSERT(parent->hash.get() == node);
            parent->hash.reset();
        } else {
            usize erased = parent->children.erase(node->word);
            LEPUS_ASSERT(erased == 1);
        }
        node_count_--;
        node = parent;
    }
}

void TopicTrie::route(std::string_view routing_key, std::vector<const Destination*>& out) const {
    if (size_ == 0) return;
    words_.clear();
    for_each_word(routing_key, [&](std::string_view word) { words_.push_back(word); });
    const u32 word_count = static_cast<u32>(words_.size());
    LEPUS_ASSERT(word_count == words_.size());
    next_epoch();

    stack_.clear();
    stack_.push_back({root_.get(), 0});
    while (!stack_.empty()) {
        const State state = stack_.back();
        stack_.pop_back();
        const Node* node = state.node;
        if (state.position == word_count) emit(node, out);
        if (node->hash) enter_hash(node->hash.get(), state.position, word_count);
        if (state.position == word_count) continue;
        if (node->star) stack_.push_back({node->star.get(), state.position + 1});
        if (!node->children.empty()) {
            auto it = node->children.find(words_[state.position]);
            if (it != node->children.end()) {
                stack_.push_back({it->second.get(), state.position + 1});
            }
        }
    }
}

// "#" entered with `position` words consumed may swallow any number of the remaining words, so
// its subtree continues from every position in [position, word_count]. Positions at or above
// low_position were pushed by an earlier entry during this route.
void TopicTrie::enter_hash(const Node* hash, u32 position, u32 word_count) const {
    if (hash->visit_epoch != epoch_) {
        hash->visit_epoch = epoch_;
        hash->low_position = word_count + 1;
    }
    const u32 end = hash->low_position;
    if (position >= end) return;
    hash->low_position = position;
    if (!hash->has_successors()) {
        // A pattern ending in "#" matches whatever remains; only the final state can emit.
        if (end > word_count) stack_.push_back({hash, word_count});
        return;
    }
    for (u32 p = position; p < end; p++) stack_.push_back({hash, p});
}

void TopicTrie::emit(const Node* node, std::vector<const Destination*>& out) const {
    for (const TargetEntry* entry : node->targets) {
        if (entry->second.route_stamp == epoch_) continue;
        entry->second.route_stamp = epoch_;
        out.push_back(&entry->first);
    }
}

void TopicTrie::next_epoch() const {
    if (++epoch_ == 0) {
        // After 2^32 routes a stale stamp could equal the new epoch; clear them all once.
        reset_stamps(root_.get());
        for (const auto& [destination, target] : targets_) target.route_stamp = 0;
        epoch_ = 1;
    }
}

void TopicTrie::reset_stamps(const Node* node) const {
    node->visit_epoch = 0;
    for (const auto& [word, child] : node->children) reset_stamps(child.get());
    if (node->star) reset_stamps(node->star.get());
    if (node->hash) reset_stamps(node->hash.get());
}

}  // namespace lepus::routing
