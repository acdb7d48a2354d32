// Fuzzes the engine's reading of request fields a client controls
// (engine/auth.hpp): the token lookup in Authorization, Cookie and the query
// string, query parameters, cookies and the cross-site check. Input layout:
// the first line is the request target, the rest "Name: value" lines.
// Invariants: nothing crashes; a token found is a substring-derived value
// (never longer than the input); query values decode to at most their
// encoded length.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/auth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto nl = in.find('\n');
    std::string_view target = in.substr(0, nl);
    corvid::headers fields;
    std::string_view rest = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    while (!rest.empty()) {
        auto end = rest.find('\n');
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        auto colon = line.find(':');
        if (colon != std::string_view::npos && colon > 0) {
            fields.add(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
        }
    }
    auto found = corvid::engine::find_token(fields, target);
    if (found.token.size() > size) {
        std::abort();
    }
    for (const auto& v : corvid::engine::query_values(target, "ch")) {
        if (v.size() > target.size()) {
            std::abort();
        }
    }
    (void)corvid::engine::target_path(target);
    (void)corvid::engine::cookie_value(fields, "access_token");
    corvid::engine::principal p;
    p.source = corvid::engine::token_source::cookie;
    std::string allowed[] = {"https://app.example"};
    (void)corvid::engine::cross_site_cookie(p, fields, allowed);
    return 0;
}
