#pragma once
// Assertions are on in every build: an invariant that does not hold is a bug, and a broker
// that carries on past a bug can lose messages. A failed assertion prints where and aborts.
#include <source_location>

namespace lepus {

[[noreturn]] void assertion_failed(const char* expression, const char* message,
                                   std::source_location where) noexcept;

}  // namespace lepus

#define LEPUS_ASSERT(expression)                                                               \
    do {                                                                                       \
        if (!(expression)) [[unlikely]]                                                        \
            ::lepus::assertion_failed(#expression, "", std::source_location::current());       \
    } while (0)

#define LEPUS_ASSERT_MSG(expression, message)                                                  \
    do {                                                                                       \
        if (!(expression)) [[unlikely]]                                                        \
            ::lepus::assertion_failed(#expression, message, std::source_location::current());  \
    } while (0)

#define LEPUS_UNREACHABLE() \
    ::lepus::assertion_failed("unreachable", "", std::source_location::current())
