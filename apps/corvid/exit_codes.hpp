#pragma once

// The corvid CLI's exit codes: curl's numbers, so scripts written for curl need
// nothing new, and the mapping from corvid's std::error_code categories to them.

#include <span>
#include <string_view>
#include <system_error>

namespace corvid::cli {

/// curl's exit codes that corvid can return (curl's CURLE_* numbers).
enum exit_code : int {
    exit_ok = 0,
    exit_unsupported_protocol = 1,
    exit_bad_usage = 2,  ///< bad command line (curl's CURLE_FAILED_INIT)
    exit_url_malformat = 3,
    exit_couldnt_resolve_proxy = 5,
    exit_couldnt_resolve_host = 6,
    exit_couldnt_connect = 7,
    exit_weird_server_reply = 8,
    exit_partial_file = 18,  ///< the connection ended before the whole body arrived
    exit_http_returned_error = 22,
    exit_write_error = 23,
    exit_read_error = 26,
    exit_operation_timedout = 28,
    exit_ssl_connect_error = 35,
    exit_aborted = 42,
    exit_bad_function_argument = 43,  ///< corvid misused its own library (a bug)
    exit_too_many_redirects = 47,
    exit_got_nothing = 52,
    exit_send_error = 55,
    exit_recv_error = 56,
    exit_peer_failed_verification = 60,
    exit_bad_content_encoding = 61,
    exit_filesize_exceeded = 63,
    exit_ssl_cacert_badfile = 77,
    exit_proxy = 97,
};

/// Where in a transfer an error happened: the same error means different
/// things before the response head (nothing usable arrived) and while the
/// body streams (the body is cut short).
enum class transfer_phase {
    head,  ///< connecting, handshaking, sending, or waiting for the response head
    body,  ///< reading the response body
};

/// The curl exit code for `ec`, an error from corvid's client (any category
/// in corvid/error.hpp, or a std::errc / system error from the OS).
/// Errors from categories it does not know map to 56 (receive failure).
/// A success code maps to 0.
int exit_code_for(std::error_code ec, transfer_phase phase = transfer_phase::head);

/// The X.509 verification result `-w %{ssl_verify_result}` prints for a
/// failed transfer (BoringSSL's X509_V_ERR_* numbers; 0 for anything that is
/// not a certificate error).
long ssl_verify_result_for(std::error_code ec);

/// A short description of `code` for `corvid --help` and docs/cli.md; empty
/// for a number corvid never returns.
std::string_view exit_code_description(int code);

/// Every exit code corvid can return, in ascending order.
std::span<const int> all_exit_codes();

}  // namespace corvid::cli
