#pragma once
// Lets GoogleTest print a Refusal as its code and text when an expectation fails.
#include <ostream>

#include "core/access/refusal.h"

namespace lepus::access {

inline void PrintTo(const Refusal& refusal, std::ostream* out) {
    *out << refusal.reply_code << " \"" << refusal.text << "\"";
}

}  // namespace lepus::access
