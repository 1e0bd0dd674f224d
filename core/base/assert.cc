#include "core/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace lepus {

void assertion_failed(const char* expression, const char* message, AssertionSite where) noexcept {
    std::fprintf(stderr, "lepus: assertion failed: %s %s at %s:%u in %s\n", expression, message,
                 where.file, where.line, where.function);
    std::fflush(stderr);
    std::abort();
}

}  // namespace lepus
