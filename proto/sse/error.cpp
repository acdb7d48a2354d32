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
            case sse_errc::bad_status:
                return "the server answered the event stream request with a status other than "
                       "200 (not retried)";
            case sse_errc::no_content:
                return "the server answered 204 No Content: the event stream is over and must "
                       "not be reconnected";
            case sse_errc::bad_content_type:
                return "the response is not an event stream (its Content-Type is not "
                       "text/event-stream; not retried)";
            case sse_errc::stream_ended:
                return "the event stream ended and reconnecting is turned off or used up";
            case sse_errc::closed:
                return "the event source was closed";
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
