#pragma once
// Assertions are on in every build: an invariant that does not hold is a bug, and a broker
// that carries on past a bug can lose messages. A failed assertion prints where and aborts.
namespace lepus {

// Where a failed assertion was: file, line and function, as the macros below capture them.
// (std::source_location would do, but clang 14, which builds the fuzz targets, lacks it.)
struct AssertionSite {
    const char* file;
    unsigned line;
    const char* function;
};

[[noreturn]] void assertion_failed(const char* expression, const char* message,
                                   AssertionSite where) noexcept;

}  // namespace lepus

#define LEPUS_ASSERTION_SITE (::lepus::AssertionSite{__FILE__, __LINE__, __PRETTY_FUNCTION__})

#define LEPUS_ASSERT(expression)                                              \
    do {                                                                      \
        if (!(expression)) [[unlikely]]                                       \
            ::lepus::assertion_failed(#expression, "", LEPUS_ASSERTION_SITE); \
    } while (0)

#define LEPUS_ASSERT_MSG(expression, message)                                      \
    do {                                                                           \
        if (!(expression)) [[unlikely]]                                            \
            ::lepus::assertion_failed(#expression, message, LEPUS_ASSERTION_SITE); \
    } while (0)

#define LEPUS_UNREACHABLE() ::lepus::assertion_failed("unreachable", "", LEPUS_ASSERTION_SITE)
