#include "corvid/error.hpp"

namespace corvid {

namespace {

class http2_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.http2"; }
    std::string message(int ev) const override {
        switch (static_cast<http2_errc>(ev)) {
            case http2_errc::protocol_error:
                return "the HTTP/2 peer violated the protocol";
            case http2_errc::flow_control_error:
                return "the HTTP/2 peer exceeded a flow-control window";
            case http2_errc::frame_size_error:
                return "the HTTP/2 peer sent a frame of an invalid size";
            case http2_errc::compression_error:
                return "the HTTP/2 peer sent header data that cannot be decoded (HPACK)";
            case http2_errc::flooded:
                return "the HTTP/2 peer sent too many control frames, resets or CONTINUATION "
                       "frames (flood protection)";
            case http2_errc::bad_preface:
                return "the peer did not start an HTTP/2 connection (bad connection preface)";
            case http2_errc::internal_error:
                return "internal error in the HTTP/2 codec (out of memory)";
            case http2_errc::stream_refused:
                return "the HTTP/2 peer refused the stream before processing it";
            case http2_errc::stream_reset:
                return "the HTTP/2 stream was reset";
            case http2_errc::goaway:
                return "the HTTP/2 peer is closing the connection and did not process the stream";
            case http2_errc::connect_protocol_not_enabled:
                return "the HTTP/2 peer has not enabled extended CONNECT "
                       "(SETTINGS_ENABLE_CONNECT_PROTOCOL)";
            case http2_errc::header_list_too_large:
                return "HTTP/2 header list is larger than the limit";
            case http2_errc::invalid_header:
                return "header field not allowed in HTTP/2";
            case http2_errc::stream_closed:
                return "the HTTP/2 stream is unknown or closed for sending";
            case http2_errc::session_closing:
                return "the HTTP/2 connection is closing";
            case http2_errc::stream_ids_exhausted:
                return "no HTTP/2 stream ids left on this connection";
            case http2_errc::invalid_settings:
                return "invalid HTTP/2 SETTINGS value or connection profile";
            case http2_errc::events_pending:
                return "HTTP/2 events must be pulled before more input is received";
            case http2_errc::invalid_argument:
                return "invalid argument to an HTTP/2 session call";
            case http2_errc::too_many_headers:
                return "HTTP/2 header list has more fields than the limit";
            case http2_errc::ping_timeout:
                return "the HTTP/2 peer did not answer a keepalive PING in time: the connection "
                       "is dead or stalled";
        }
        return "unknown corvid.http2 error";
    }
};

}  // namespace

const std::error_category& http2_category() noexcept {
    static const http2_errc_category_impl category;
    return category;
}

}  // namespace corvid
