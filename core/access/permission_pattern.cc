#include "core/access/permission_pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/base/assert.h"

namespace lepus::access {

std::optional<PermissionPattern> PermissionPattern::compile(std::string_view source) {
    // rabbit_auth_backend_internal:check_resource_access/4: <<"">> is replaced by <<"^$">>.
    const std::string_view effective = source.empty() ? std::string_view("^$") : source;
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(effective.data()),
                                     effective.size(), 0, &error, &error_offset, nullptr);
    if (code == nullptr) return std::nullopt;
    return PermissionPattern(
        std::string(source),
        std::shared_ptr<pcre2_code>(code, [](pcre2_code* c) { pcre2_code_free(c); }));
}

bool PermissionPattern::matches(std::string_view name) const {
    pcre2_match_data* data = pcre2_match_data_create_from_pattern(code_.get(), nullptr);
    LEPUS_ASSERT(data != nullptr);
    // An empty view may have no data at all, and PCRE2 before 10.43 refuses a null subject.
    const char* subject = name.empty() ? "" : name.data();
    const int result = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject), name.size(),
                                   0, 0, data, nullptr);
    pcre2_match_data_free(data);
    // Anything but a match (no match, or PCRE's match limit on a pathological pattern) refuses,
    // as RabbitMQ's re:run returning anything but `match` does.
    return result >= 0;
}

}  // namespace lepus::access
