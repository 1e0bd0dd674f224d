#include "core/routing/topic_trie.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/core/routing/topic_reference.h"

namespace lepus::routing {
namespace {

using testing::reference_topic_match;

std::set<std::string> route_names(const TopicTrie& trie, std::string_view key) {
    std::vector<const Destination*> out;
    trie.route(key, out);
    std::set<std::string> names;
    for (const Destination* d : out) {
        bool fresh = names.insert(d->name).second;
        EXPECT_TRUE(fresh) << "duplicate " << d->name << " for key '" << key << "'";
    }
    return names;
}

bool trie_matches(std::string_view pattern, std::string_view key) {
    TopicTrie trie;
    EXPECT_TRUE(trie.add(pattern, Destination::queue("q")));
    return !route_names(trie, key).empty();
}

struct TopicCase {
    const char* pattern;
    const char* key;
    bool matches;
};

// RabbitMQ's behaviour, including its word split: "" has no words, "." has two empty words.
const TopicCase topic_cases[] = {
    {"#", "", true},
    {"#", "a", true},
    {"#", "a.b.c", true},
    {"#", ".", true},
    {"#", "..", true},
    {"*", "a", true},
    {"*", "", false},
    {"*", "a.b", false},
    {"*", ".", false},
    {"a.*.c", "a.b.c", true},
    {"a.*.c", "a..c", true},
    {"a.*.c", "a.c", false},
    {"a.*.c", "a.b.b.c", false},
    {"a.#.c", "a.c", true},
    {"a.#.c", "a.b.c", true},
    {"a.#.c", "a.b.b.c", true},
    {"a.#.c", "a.c.c", true},
    {"a.#.c", "a.b", false},
    {"a.#.c", "a.c.d", false},
    {"a.#.c", "c", false},
    {"#.#", "", true},
    {"#.#", "a", true},
    {"#.#", "a.b.c", true},
    {"a.#", "a", true},
    {"a.#", "a.b", true},
    {"a.#", "a.b.c", true},
    {"a.#", "b", false},
    {"a.#", "", false},
    {"#.a", "a", true},
    {"#.a", "b.a", true},
    {"#.a", "a.a", true},
    {"#.a", "a.b", false},
    {"#.a", "", false},
    {"*.*", ".", true},
    {"*.*", "a.b", true},
    {"*.*", "a.", true},
    {"*.*", "a", false},
    {"*.*", "", false},
    {"*.*", "a.b.c", false},
    {"", "", true},
    {"", "a", false},
    {"", ".", false},
    {"a..c", "a..c", true},
    {"a..c", "a.b.c", false},
    {"a..c", "a.c", false},
    {".", ".", true},
    {".", "", false},
    {"*.", "a.", true},
    {"*.", ".", true},
    {"*.", "a", false},
    {"*.a", ".a", true},
    {"a.", "a.", true},
    {"a.", "a", false},
    {"#.*", "", false},
    {"#.*", "a", true},
    {"#.*", "a.b", true},
    {"*.#", "a", true},
    {"*.#", "", false},
    {"*.#", "a.b.c", true},
    {"a.#.#.b", "a.b", true},
    {"a.#.#.b", "a.x.y.b", true},
    {"a.#.#.b", "a.x.y", false},
    {"#.a.#", "a", true},
    {"#.a.#", "x.a.y", true},
    {"#.a.#", "x.y", false},
    {"a.*.#", "a", false},
    {"a.*.#", "a.b", true},
    {"a.*.#", "a.b.c", true},
    {"#.b.#.d", "a.b.c.d", true},
    {"#.b.#.d", "b.d", true},
    {"#.b.#.d", "a.b.c.d.e", false},
    {"a.b", "a.b", true},
    {"a.b", "a.b.", false},
    {"a.b", "a.b.c", false},
    {"a.b", "a", false},
    {"A", "a", false},  // words are bytes, compared exactly
    // Wildcard characters in a routing key are ordinary words, matched only by wildcards.
    {"#", "#", true},
    {"*", "*", true},
    {"a", "*", false},
    {"a", "#", false},
    {"a#", "a#", true},
    {"a*", "ab", false},
};

TEST(TopicTrieTest, RabbitMqCases) {
    for (const TopicCase& c : topic_cases) {
        EXPECT_EQ(trie_matches(c.pattern, c.key), c.matches)
            << "pattern '" << c.pattern << "' key '" << c.key << "'";
        EXPECT_EQ(reference_topic_match(c.pattern, c.key), c.matches)
            << "reference: pattern '" << c.pattern << "' key '" << c.key << "'";
    }
}

TEST(TopicTrieTest, AllCasesInOneTrieRouteTogether) {
    // Every pattern in one trie, each to its own queue: a route returns exactly the patterns
    // that match, so patterns sharing prefixes do not disturb each other.
    TopicTrie trie;
    std::map<std::string, std::string> queue_of_pattern;
    for (const TopicCase& c : topic_cases) {
        std::string queue = "q-" + std::string(c.pattern);
        queue_of_pattern[c.pattern] = queue;
        trie.add(c.pattern, Destination::queue(queue));
    }
    for (const TopicCase& c : topic_cases) {
        std::set<std::string> expected;
        for (const auto& [pattern, queue] : queue_of_pattern) {
            if (reference_topic_match(pattern, c.key)) expected.insert(queue);
        }
        EXPECT_EQ(route_names(trie, c.key), expected) << "key '" << c.key << "'";
    }
}

TEST(TopicTrieTest, DestinationReachedByTwoPatternsAppearsOnce) {
    TopicTrie trie;
    Destination q = Destination::queue("q");
    EXPECT_TRUE(trie.add("a.*", q));
    EXPECT_TRUE(trie.add("#", q));
    EXPECT_TRUE(trie.add("a.b", q));
    EXPECT_TRUE(trie.add("#.b", q));
    EXPECT_TRUE(trie.add("a.b", Destination::queue("r")));
    std::vector<const Destination*> out;
    trie.route("a.b", out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_NE(*out[0], *out[1]);
    // A second route starts a fresh deduplication.
    out.clear();
    trie.route("a.b", out);
    EXPECT_EQ(out.size(), 2u);
}

TEST(TopicTrieTest, QueueAndExchangeOfTheSameNameAreDistinct) {
    TopicTrie trie;
    trie.add("a", Destination::queue("x"));
    trie.add("a", Destination::exchange("x"));
    std::vector<const Destination*> out;
    trie.route("a", out);
    EXPECT_EQ(out.size(), 2u);
}

TEST(TopicTrieTest, RouteAppendsAfterExistingEntries) {
    TopicTrie trie;
    trie.add("a", Destination::queue("q"));
    Destination other = Destination::queue("other");
    std::vector<const Destination*> out{&other};
    trie.route("a", out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0], &other);
    EXPECT_EQ(out[1]->name, "q");
}

TEST(TopicTrieTest, AddIsASetAndRemoveUndoesAdd) {
    TopicTrie trie;
    Destination q = Destination::queue("q");
    EXPECT_TRUE(trie.empty());
    EXPECT_TRUE(trie.add("a.#.b", q));
    EXPECT_FALSE(trie.add("a.#.b", q));
    EXPECT_EQ(trie.size(), 1u);
    EXPECT_TRUE(trie.contains("a.#.b", q));
    EXPECT_FALSE(trie.contains("a.#", q));
    EXPECT_FALSE(trie.contains("a.#.b", Destination::queue("r")));
    EXPECT_FALSE(trie.remove("a.#", q));
    EXPECT_FALSE(trie.remove("a.#.b", Destination::queue("r")));
    EXPECT_TRUE(trie.remove("a.#.b", q));
    EXPECT_FALSE(trie.remove("a.#.b", q));
    EXPECT_TRUE(trie.empty());
    EXPECT_EQ(trie.node_count(), 0u);
    EXPECT_TRUE(route_names(trie, "a.x.b").empty());
}

TEST(TopicTrieTest, RemovePrunesOnlyUnusedNodes) {
    TopicTrie trie;
    Destination q = Destination::queue("q");
    trie.add("a.b.c", q);
    trie.add("a.b", q);
    trie.add("a.*.#", q);
    EXPECT_EQ(trie.node_count(), 5u);  // a, a.b, a.b.c, a.*, a.*.#
    trie.remove("a.b.c", q);
    EXPECT_EQ(trie.node_count(), 4u);
    EXPECT_EQ(route_names(trie, "a.b"), std::set<std::string>{"q"});
    trie.remove("a.b", q);
    EXPECT_EQ(trie.node_count(), 3u);
    EXPECT_EQ(route_names(trie, "a.b.c"), std::set<std::string>{"q"});
    trie.remove("a.*.#", q);
    EXPECT_EQ(trie.node_count(), 0u);
}

TEST(TopicTrieTest, ManyHashesDoNotBlowUp) {
    // Without memoisation each "#" multiplies the ways to split the key: 20 hashes over 200
    // words would not finish.
    std::string pattern;
    for (int i = 0; i < 20; i++) pattern += "#.";
    pattern += "z";
    std::string key = "a";
    for (int i = 0; i < 199; i++) key += ".a";
    TopicTrie trie;
    trie.add(pattern, Destination::queue("q"));
    trie.add("#.a.#.a.#.a.#.a.#.a.#.a.#.b", Destination::queue("r"));
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(route_names(trie, key).empty());
    EXPECT_EQ(route_names(trie, key + ".z"), std::set<std::string>{"q"});
    EXPECT_EQ(route_names(trie, key + ".b"), std::set<std::string>{"r"});
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LT(elapsed, std::chrono::seconds(1));
}

std::string random_string(std::mt19937& rng, const std::vector<std::string>& alphabet,
                          int words_max) {
    int words = std::uniform_int_distribution<int>(0, words_max)(rng);
    std::string s;
    for (int i = 0; i < words; i++) {
        if (i > 0) s += '.';
        s += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    }
    return s;
}

TEST(TopicTrieTest, AgreesWithReferenceMatcherOnRandomBindings) {
    using testing::reference_match_words;
    using testing::split_words;
    std::mt19937 rng(20240611);
    const std::vector<std::string> pattern_words = {"a", "b", "", "*", "#", "ab"};
    const std::vector<std::string> key_words = {"a", "b", "", "ab", "*", "#"};
    TopicTrie trie;
    // (pattern, queue) -> the pattern's words, split once for the reference matcher.
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> bound;
    for (int i = 0; i < 2500; i++) {
        std::string pattern = random_string(rng, pattern_words, 6);
        std::string queue = "q" + std::to_string(std::uniform_int_distribution<int>(0, 199)(rng));
        bool fresh = bound.emplace(std::make_pair(pattern, queue), split_words(pattern)).second;
        EXPECT_EQ(trie.add(pattern, Destination::queue(queue)), fresh);
    }
    EXPECT_EQ(trie.size(), bound.size());

    auto check = [&](int keys) {
        for (int i = 0; i < keys; i++) {
            std::string key = random_string(rng, key_words, 8);
            std::vector<std::string> words = split_words(key);
            std::set<std::string> expected;
            for (const auto& [binding, pattern] : bound) {
                if (reference_match_words(pattern, 0, words, 0)) expected.insert(binding.second);
            }
            ASSERT_EQ(route_names(trie, key), expected) << "key '" << key << "'";
        }
    };
    check(1500);

    // Remove about half and check again: pruning must not lose bindings that share nodes.
    for (auto it = bound.begin(); it != bound.end();) {
        if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) {
            EXPECT_TRUE(trie.remove(it->first.first, Destination::queue(it->first.second)));
            it = bound.erase(it);
        } else {
            ++it;
        }
    }
    EXPECT_EQ(trie.size(), bound.size());
    check(1500);

    for (const auto& [binding, pattern] : bound) {
        EXPECT_TRUE(trie.remove(binding.first, Destination::queue(binding.second)));
    }
    EXPECT_TRUE(trie.empty());
    EXPECT_EQ(trie.node_count(), 0u);
}

}  // namespace
}  // namespace lepus::routing
