#include "corvid/error.hpp"

namespace corvid {

namespace {

class sse_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.sse"; }
    std::string message(int ev) const override {
        switch (static_cast<sse_errc>(ev)) {
            case sse_errc::line_too_long:
                return "a server-sent events line is longer than the limit";
            case sse_errc::event_too_large:
                return "a server-sent event's data is larger than the limit";
        }
        return "unknown corvid.sse error";
    }
};

}  // namespace

const std::error_category& sse_category() noexcept {
    static const sse_errc_category_impl category;
    return category;
}

}  // namespace corvid
