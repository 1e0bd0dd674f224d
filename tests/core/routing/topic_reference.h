#pragma once
// A deliberately naive topic matcher for tests: splits both strings the way RabbitMQ does and
// matches recursively, trying every split for "#". Exponential in the worst case, obviously
// correct, and independent of TopicTrie.
#include <string>
#include <string_view>
#include <vector>

namespace lepus::routing::testing {

inline std::vector<std::string> split_words(std::string_view s) {
    std::vector<std::string> words;
    if (s.empty()) return words;
    std::string word;
    for (char c : s) {
        if (c == '.') {
            words.push_back(word);
            word.clear();
        } else {
            word += c;
        }
    }
    words.push_back(word);
    return words;
}

inline bool reference_match_words(const std::vector<std::string>& pattern, size_t p,
                                  const std::vector<std::string>& key, size_t k) {
    if (p == pattern.size()) return k == key.size();
    if (pattern[p] == "#") {
        for (size_t skip = k; skip <= key.size(); skip++) {
            if (reference_match_words(pattern, p + 1, key, skip)) return true;
        }
        return false;
    }
    if (k == key.size()) return false;
    if (pattern[p] != "*" && pattern[p] != key[k]) return false;
    return reference_match_words(pattern, p + 1, key, k + 1);
}

inline bool reference_topic_match(std::string_view pattern, std::string_view key) {
    return reference_match_words(split_words(pattern), 0, split_words(key), 0);
}

}  // namespace lepus::routing::testing
