#pragma once
// Readable test failures for reply codes: gtest prints "NOT_FOUND (404)" instead of the bytes
// of an enum. gtest finds PrintTo by argument-dependent lookup, so it lives in the codec's
// namespace; it is for tests only, and production code keeps reply_code_name.
#include <ostream>

#include "net/amqp/methods.h"

namespace lepus::amqp {

inline void PrintTo(ReplyCode code, std::ostream* out) {
    *out << reply_code_name(code) << " (" << wire_code(code) << ")";
}

}  // namespace lepus::amqp
