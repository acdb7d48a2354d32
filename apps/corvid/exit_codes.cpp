#include "apps/corvid/exit_codes.hpp"

#include <array>
#include <string>

#include "corvid/error.hpp"

namespace corvid::cli {

namespace {

int from_net(net_errc e, transfer_phase phase) {
    switch (e) {
        case net_errc::dns_failed:
        case net_errc::no_addresses:
            return exit_couldnt_resolve_host;
        case net_errc::connect_failed:
            return exit_couldnt_connect;
        case net_errc::connect_timeout:
        case net_errc::read_timeout:
        case net_errc::total_timeout:
            return exit_operation_timedout;
        case net_errc::cancelled:
            return exit_aborted;
        case net_errc::connection_closed:
            // Closed before a response head: curl's "Empty reply from server".
            return phase == transfer_phase::head ? exit_got_nothing : exit_partial_file;
    }
    return exit_recv_error;
}

int from_tls(tls_errc e) {
    switch (e) {
        case tls_errc::handshake_failed:
        case tls_errc::alpn_mismatch:
            return exit_ssl_connect_error;
        case tls_errc::cert_untrusted:
        case tls_errc::cert_self_signed:
        case tls_errc::cert_expired:
        case tls_errc::cert_not_yet_valid:
        case tls_errc::cert_hostname_mismatch:
        case tls_errc::cert_verify_failed:
            return exit_peer_failed_verification;
        case tls_errc::bad_credentials:
            return exit_ssl_cacert_badfile;
        case tls_errc::bad_profile:
            return exit_ssl_connect_error;  // the profile's TLS settings: nothing was sent
    }
    return exit_ssl_connect_error;
}

int from_http1(http1_errc e, transfer_phase phase) {
    switch (e) {
        case http1_errc::partial_message:
            // A body cut short is curl's "transfer closed with N bytes
            // remaining"; a head cut short is a reply curl cannot parse.
            return phase == transfer_phase::body ? exit_partial_file : exit_weird_server_reply;
        case http1_errc::body_too_large:
            return exit_filesize_exceeded;
        default:
            return exit_weird_server_reply;
    }
}

int from_client(client_errc e) {
    switch (e) {
        case client_errc::bad_url:
        case client_errc::bad_redirect:
            return exit_url_malformat;
        case client_errc::unsupported_scheme:
            return exit_unsupported_protocol;
        case client_errc::too_many_redirects:
            return exit_too_many_redirects;
        case client_errc::decode_failed:
        case client_errc::unsupported_encoding:
            return exit_bad_content_encoding;
        case client_errc::decoded_too_large:
            return exit_filesize_exceeded;
        case client_errc::proxy_failed:
        case client_errc::proxy_auth_required:
            return exit_proxy;
        case client_errc::proxy_resolve_failed:
            return exit_couldnt_resolve_proxy;
        case client_errc::body_in_progress:
            return exit_bad_function_argument;
        case client_errc::request_body_failed:
            return exit_read_error;
    }
    return exit_recv_error;
}

// Errors that reach us straight from the OS or Asio (system, generic, netdb
// and misc categories) compare equal to portable std::errc conditions.
int from_system(std::error_code ec, transfer_phase phase) {
    const std::string_view name = ec.category().name();
    if (name == "asio.netdb" || name == "asio.addrinfo") {
        return exit_couldnt_resolve_host;
    }
    if (name == "asio.misc") {
        // asio::error::eof (2): the peer closed the connection.
        return phase == transfer_phase::head ? exit_got_nothing : exit_partial_file;
    }
    if (ec == std::errc::connection_refused || ec == std::errc::network_unreachable ||
        ec == std::errc::host_unreachable || ec == std::errc::address_not_available) {
        return exit_couldnt_connect;
    }
    if (ec == std::errc::timed_out) {
        return exit_operation_timedout;
    }
    if (ec == std::errc::operation_canceled) {
        return exit_aborted;
    }
    if (ec == std::errc::broken_pipe) {
        return exit_send_error;
    }
    return exit_recv_error;
}

constexpr std::array<int, 25> codes = {
    exit_ok,
    exit_unsupported_protocol,
    exit_bad_usage,
    exit_url_malformat,
    exit_couldnt_resolve_proxy,
    exit_couldnt_resolve_host,
    exit_couldnt_connect,
    exit_weird_server_reply,
    exit_partial_file,
    exit_http_returned_error,
    exit_write_error,
    exit_read_error,
    exit_operation_timedout,
    exit_ssl_connect_error,
    exit_aborted,
    exit_bad_function_argument,
    exit_too_many_redirects,
    exit_got_nothing,
    exit_send_error,
    exit_recv_error,
    exit_peer_failed_verification,
    exit_bad_content_encoding,
    exit_filesize_exceeded,
    exit_ssl_cacert_badfile,
    exit_proxy,
};

}  // namespace

int exit_code_for(std::error_code ec, transfer_phase phase) {
    if (!ec) {
        return exit_ok;
    }
    const auto& cat = ec.category();
    if (cat == net_category()) {
        return from_net(static_cast<net_errc>(ec.value()), phase);
    }
    if (cat == tls_category()) {
        return from_tls(static_cast<tls_errc>(ec.value()));
    }
    if (cat == http1_category()) {
        return from_http1(static_cast<http1_errc>(ec.value()), phase);
    }
    if (cat == client_category()) {
        return from_client(static_cast<client_errc>(ec.value()));
    }
    if (cat == socks5_category()) {
        // Every SOCKS failure, the proxy's refusals included, is curl's 97.
        return exit_proxy;
    }
    return from_system(ec, phase);
}

long ssl_verify_result_for(std::error_code ec) {
    if (!ec || ec.category() != tls_category()) {
        return 0;
    }
    switch (static_cast<tls_errc>(ec.value())) {
        case tls_errc::cert_untrusted:
            return 20;  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        case tls_errc::cert_self_signed:
            return 18;  // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        case tls_errc::cert_expired:
            return 10;  // X509_V_ERR_CERT_HAS_EXPIRED
        case tls_errc::cert_not_yet_valid:
            return 9;  // X509_V_ERR_CERT_NOT_YET_VALID
        case tls_errc::cert_hostname_mismatch:
            return 62;  // X509_V_ERR_HOSTNAME_MISMATCH
        case tls_errc::cert_verify_failed:
            return 1;  // X509_V_ERR_UNSPECIFIED
        default:
            return 0;
    }
}

std::string_view exit_code_description(int code) {
    switch (code) {
        case exit_ok:
            return "success";
        case exit_unsupported_protocol:
            return "unsupported protocol (only http:// and https://)";
        case exit_bad_usage:
            return "bad command line";
        case exit_url_malformat:
            return "malformed URL";
        case exit_couldnt_resolve_proxy:
            return "could not resolve the proxy's host name";
        case exit_couldnt_resolve_host:
            return "could not resolve the host name";
        case exit_couldnt_connect:
            return "failed to connect (refused or unreachable)";
        case exit_weird_server_reply:
            return "the server's reply is not valid HTTP";
        case exit_partial_file:
            return "the connection ended before the whole body arrived";
        case exit_http_returned_error:
            return "HTTP status >= 400 with -f/--fail";
        case exit_write_error:
            return "could not write the output (file, stdout or cookie jar)";
        case exit_read_error:
            return "could not read an input file (-d @file, -H @file, -w @file)";
        case exit_operation_timedout:
            return "timeout (--connect-timeout, --max-time)";
        case exit_ssl_connect_error:
            return "TLS handshake failed";
        case exit_aborted:
            return "transfer cancelled";
        case exit_bad_function_argument:
            return "internal error in corvid (please report it)";
        case exit_too_many_redirects:
            return "too many redirects (--max-redirs)";
        case exit_got_nothing:
            return "empty reply: the server closed the connection without answering";
        case exit_send_error:
            return "failed sending the request";
        case exit_recv_error:
            return "failure receiving data (connection reset or closed)";
        case exit_peer_failed_verification:
            return "server certificate verification failed (untrusted, self-signed, expired, wrong "
                   "host)";
        case exit_bad_content_encoding:
            return "bad or unsupported Content-Encoding (--compressed)";
        case exit_filesize_exceeded:
            return "the body exceeded a size limit";
        case exit_ssl_cacert_badfile:
            return "could not load the CA file (--cacert)";
        case exit_proxy:
            return "proxy handshake failed (SOCKS5 or HTTP CONNECT)";
        default:
            return {};
    }
}

std::span<const int> all_exit_codes() {
    return codes;
}

}  // namespace corvid::cli
