#include "corvid/error.hpp"

namespace corvid {

namespace {

class client_hello_errc_category_impl final : public std::error_category {
  public:
    const char* name() const noexcept override { return "corvid.client_hello"; }
    std::string message(int ev) const override {
        switch (static_cast<client_hello_errc>(ev)) {
            case client_hello_errc::truncated:
                return "the ClientHello is truncated (the input ends before a length says)";
            case client_hello_errc::not_handshake:
                return "the TLS record is not a handshake record";
            case client_hello_errc::bad_record:
                return "the TLS record header does not carry a 3.x protocol version";
            case client_hello_errc::not_client_hello:
                return "the handshake message is not a ClientHello";
            case client_hello_errc::bad_length:
                return "a length field in the ClientHello disagrees with its contents";
            case client_hello_errc::fragmented:
                return "the ClientHello continues in another TLS record (not supported)";
            case client_hello_errc::too_large:
                return "the TLS record or ClientHello exceeds the size limit";
            case client_hello_errc::duplicate_extension:
                return "the ClientHello carries the same extension twice";
            case client_hello_errc::bad_extension:
                return "a ClientHello extension is malformed";
        }
        return "unknown corvid.client_hello error";
    }
};

}  // namespace

const std::error_category& client_hello_category() noexcept {
    static const client_hello_errc_category_impl category;
    return category;
}

}  // namespace corvid
