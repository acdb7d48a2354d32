#include "apps/corvid/exit_codes.hpp"

#include <gtest/gtest.h>

#include <asio/error.hpp>

#include "corvid/error.hpp"

namespace corvid::cli {
namespace {

TEST(CliExitCodes, NetErrors) {
    EXPECT_EQ(exit_code_for(net_errc::dns_failed), 6);
    EXPECT_EQ(exit_code_for(net_errc::no_addresses), 6);
    EXPECT_EQ(exit_code_for(net_errc::connect_failed), 7);
    EXPECT_EQ(exit_code_for(net_errc::connect_timeout), 28);
    EXPECT_EQ(exit_code_for(net_errc::read_timeout), 28);
    EXPECT_EQ(exit_code_for(net_errc::total_timeout, transfer_phase::body), 28);
    EXPECT_EQ(exit_code_for(net_errc::cancelled), 42);
}

TEST(CliExitCodes, ClosedConnectionDependsOnPhase) {
    EXPECT_EQ(exit_code_for(net_errc::connection_closed, transfer_phase::head), 52);
    EXPECT_EQ(exit_code_for(net_errc::connection_closed, transfer_phase::body), 18);
    EXPECT_EQ(exit_code_for(http1_errc::partial_message, transfer_phase::head), 8);
    EXPECT_EQ(exit_code_for(http1_errc::partial_message, transfer_phase::body), 18);
    EXPECT_EQ(exit_code_for(asio::error::eof, transfer_phase::head), 52);
}

TEST(CliExitCodes, TlsErrors) {
    EXPECT_EQ(exit_code_for(tls_errc::handshake_failed), 35);
    EXPECT_EQ(exit_code_for(tls_errc::alpn_mismatch), 35);
    for (auto e : {tls_errc::cert_untrusted, tls_errc::cert_self_signed, tls_errc::cert_expired,
                   tls_errc::cert_not_yet_valid, tls_errc::cert_hostname_mismatch,
                   tls_errc::cert_verify_failed}) {
        EXPECT_EQ(exit_code_for(e), 60) << make_error_code(e).message();
    }
    EXPECT_EQ(exit_code_for(tls_errc::bad_credentials), 77);
}

TEST(CliExitCodes, HttpSyntaxErrorsAreWeirdReplies) {
    for (auto e : {http1_errc::bad_status_line, http1_errc::bad_version, http1_errc::bad_header,
                   http1_errc::obs_fold, http1_errc::header_too_large, http1_errc::bad_chunk_size,
                   http1_errc::conflicting_content_length}) {
        EXPECT_EQ(exit_code_for(e), 8) << make_error_code(e).message();
    }
    EXPECT_EQ(exit_code_for(http1_errc::body_too_large), 63);
}

TEST(CliExitCodes, ClientErrors) {
    EXPECT_EQ(exit_code_for(client_errc::bad_url), 3);
    EXPECT_EQ(exit_code_for(client_errc::unsupported_scheme), 1);
    EXPECT_EQ(exit_code_for(client_errc::too_many_redirects), 47);
    EXPECT_EQ(exit_code_for(client_errc::decode_failed), 61);
    EXPECT_EQ(exit_code_for(client_errc::unsupported_encoding), 61);
    EXPECT_EQ(exit_code_for(client_errc::proxy_failed), 97);
    EXPECT_EQ(exit_code_for(client_errc::proxy_auth_required), 97);
    EXPECT_EQ(exit_code_for(client_errc::request_body_failed), 26);
}

TEST(CliExitCodes, EverySocksErrorIsAProxyError) {
    for (int v = 1; v <= static_cast<int>(socks5_errc::bad_credentials); ++v) {
        EXPECT_EQ(exit_code_for(make_error_code(static_cast<socks5_errc>(v))), 97) << v;
    }
}

TEST(CliExitCodes, SystemErrors) {
    EXPECT_EQ(exit_code_for(std::make_error_code(std::errc::connection_refused)), 7);
    EXPECT_EQ(exit_code_for(std::make_error_code(std::errc::connection_reset)), 56);
    EXPECT_EQ(exit_code_for(std::make_error_code(std::errc::timed_out)), 28);
    EXPECT_EQ(exit_code_for(std::make_error_code(std::errc::broken_pipe)), 55);
    EXPECT_EQ(exit_code_for(asio::error::connection_reset), 56);
    EXPECT_EQ(exit_code_for(asio::error::host_not_found), 6);
    EXPECT_EQ(exit_code_for(std::error_code{}), 0);
}

TEST(CliExitCodes, EveryCodeIsDescribed) {
    int previous = -1;
    for (int code : all_exit_codes()) {
        EXPECT_GT(code, previous);
        previous = code;
        EXPECT_FALSE(exit_code_description(code).empty()) << code;
    }
    EXPECT_TRUE(exit_code_description(4).empty());
}

TEST(CliExitCodes, SslVerifyResult) {
    EXPECT_EQ(ssl_verify_result_for(tls_errc::cert_self_signed), 18);
    EXPECT_EQ(ssl_verify_result_for(tls_errc::cert_untrusted), 20);
    EXPECT_EQ(ssl_verify_result_for(tls_errc::handshake_failed), 0);
    EXPECT_EQ(ssl_verify_result_for(net_errc::dns_failed), 0);
}

}  // namespace
}  // namespace corvid::cli
