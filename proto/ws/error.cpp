#include "corvid/error.hpp"

namespace corvid {

namespace {

class websocket_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.websocket"; }
    std::string message(int ev) const override {
        switch (static_cast<websocket_errc>(ev)) {
            case websocket_errc::reserved_bits:
                return "the WebSocket peer set reserved bits no extension uses";
            case websocket_errc::reserved_opcode:
                return "the WebSocket peer sent a reserved opcode";
            case websocket_errc::unmasked_client_frame:
                return "the WebSocket client sent an unmasked frame";
            case websocket_errc::masked_server_frame:
                return "the WebSocket server sent a masked frame";
            case websocket_errc::control_frame_too_long:
                return "the WebSocket peer sent a control frame over 125 bytes";
            case websocket_errc::fragmented_control_frame:
                return "the WebSocket peer fragmented a control frame";
            case websocket_errc::unexpected_continuation:
                return "the WebSocket peer sent a continuation frame without a message to continue";
            case websocket_errc::expected_continuation:
                return "the WebSocket peer started a new message before finishing the last one";
            case websocket_errc::non_minimal_length:
                return "the WebSocket peer encoded a frame length in more bytes than needed";
            case websocket_errc::length_too_large:
                return "the WebSocket peer sent a frame length with the top bit set";
            case websocket_errc::bad_close_payload:
                return "the WebSocket peer sent a close frame with a 1-byte payload";
            case websocket_errc::invalid_close_code:
                return "the WebSocket peer sent a close code that may not be used on the wire";
            case websocket_errc::invalid_utf8:
                return "the WebSocket peer sent text that is not valid UTF-8";
            case websocket_errc::frame_too_large:
                return "the WebSocket peer sent a frame larger than the limit";
            case websocket_errc::message_too_large:
                return "the WebSocket peer sent a message larger than the limit";
            case websocket_errc::bad_extension_offer:
                return "a WebSocket extension offer or answer that cannot be accepted";
            case websocket_errc::compressed_control_frame:
                return "the WebSocket peer compressed a control frame";
            case websocket_errc::rsv1_on_continuation:
                return "the WebSocket peer set RSV1 on a continuation frame";
            case websocket_errc::inflate_failed:
                return "a compressed WebSocket message could not be inflated";
            case websocket_errc::inflated_too_large:
                return "a compressed WebSocket message inflates beyond the limit";
            case websocket_errc::closed:
                return "the WebSocket connection is closing or closed";
            case websocket_errc::ping_timeout:
                return "the WebSocket peer did not answer a ping in time";
            case websocket_errc::handshake_status:
                return "the server did not switch protocols (no 101 response to the WebSocket "
                       "handshake)";
            case websocket_errc::handshake_accept:
                return "the server's Sec-WebSocket-Accept is missing or wrong";
            case websocket_errc::handshake_upgrade:
                return "the server's 101 response lacks Upgrade: websocket or Connection: Upgrade";
            case websocket_errc::handshake_extension:
                return "the server accepted a WebSocket extension or parameter that was not "
                       "offered";
            case websocket_errc::handshake_subprotocol:
                return "the server chose a WebSocket subprotocol that was not offered";
            case websocket_errc::extended_connect_unsupported:
                return "the server's HTTP/2 connection does not allow WebSockets (no "
                       "SETTINGS_ENABLE_CONNECT_PROTOCOL); use HTTP/1.1 (--http1.1)";
            case websocket_errc::queue_full:
                return "the WebSocket send queue is full (the peer reads too slowly); the "
                       "message was not queued";
        }
        return "unknown corvid.websocket error";
    }
};

}  // namespace

const std::error_category& websocket_category() noexcept {
    static const websocket_errc_category_impl category;
    return category;
}

std::uint16_t close_code_for(websocket_errc e) noexcept {
    switch (e) {
        case websocket_errc::invalid_utf8:
        case websocket_errc::inflate_failed:
            return 1007;
        case websocket_errc::frame_too_large:
        case websocket_errc::message_too_large:
        case websocket_errc::inflated_too_large:
            return 1009;
        default:
            return 1002;
    }
}

}  // namespace corvid
