// libFuzzer target for the ClientHello parser (proto/tls/client_hello) and
// the fingerprints computed from what it accepts (tls/fingerprint): a
// captured hello is attacker-shaped input. The whole input is tried as a
// record and, past its 5-byte header, as a bare handshake message; whatever
// parses must give well-formed fingerprints and compare equal to itself.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "proto/tls/client_hello.hpp"
#include "tls/fingerprint.hpp"

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

void exercise(const corvid::tls_wire::client_hello& h, std::size_t input_size) {
    check(h.wire_size <= input_size);
    check(h.session_id.size() <= 32);
    check(!h.cipher_suites.empty() && !h.compression_methods.empty());
    const auto f = corvid::tls::compute_fingerprints(h);
    check(f.ja3_md5.size() == 32 && f.ja3n_md5.size() == 32);
    // a (10 characters) _ 12 hex _ 12 hex
    check(f.ja4.size() == 36 && f.ja4[10] == '_' && f.ja4[23] == '_');
    for (const auto& row : corvid::tls::compare(h, h, {}, {})) {
        check(row.verdict == corvid::tls::row_verdict::match);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);
    auto record = corvid::tls_wire::parse_client_hello_record(in);
    if (record) {
        exercise(*record, size);
    }
    if (size > 5) {
        auto message = corvid::tls_wire::parse_client_hello_message(in.subspan(5));
        if (message) {
            exercise(*message, size - 5);
        }
    }
    return 0;
}
