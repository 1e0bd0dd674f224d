#include "core/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace lepus {

void assertion_failed(const char* expression, const char* message,
                      std::source_location where) noexcept {
    std::fprintf(stderr, "lepus: assertion failed: %s %s at %s:%u in %s\n", expression, message,
                 where.file_name(), static_cast<unsigned>(where.line()), where.function_name());
    std::fflush(stderr);
    std::abort();
}

}  // namespace lepus
