#pragma once

// What every `corvid` command shares: writing to stdout and stderr, reading
// @files, loading --impersonate's profile, the client settings of the
// streaming subcommands, and running a command's coroutine to its exit code.
//
// @par Errors
// The functions that can fail return a std::error_code (an errno value in
// std::generic_category) or report on stderr in curl's form and say so.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include "apps/corvid/options.hpp"
#include "apps/corvid/request_builder.hpp"
#include "corvid/client.hpp"
#include "corvid/profile.hpp"
#include "corvid/result.hpp"

namespace corvid::cli {

void write_stderr(std::string_view s);
/// Writes all of `data` to `fd`, retrying on EINTR.
std::error_code write_all(int fd, std::string_view data);
/// A whole file; "-" is stdin.
result<std::string> read_whole_file(const std::string& path);

/// Seconds from the command line, rounded up to milliseconds.
std::chrono::milliseconds seconds_to_ms(double seconds);
/// `prefix` before every line of `text` (for -v's "> " and "< ").
std::string prefix_lines(std::string_view text, std::string_view prefix);

/// --impersonate's profile into `browser` (null for none). False after
/// printing "corvid: option --impersonate: ..." (the caller exits 2).
bool load_impersonation(const options& opts, std::shared_ptr<const profile>& browser);

/// The client settings of a subcommand that follows one stream (sse, ws):
/// the profile, --connect-timeout, -k/--cacert, -x, no cookie engine, no
/// default User-Agent or Accept (the request plan carries them), and -v's
/// connection trace on stderr.
client_options streaming_client_options(const options& opts,
                                        std::shared_ptr<const profile> browser);

/// A streaming subcommand's request as the main command would plan it for
/// `url` (prepare_inputs, then plan_request: -H, -A, -u, -e, -b STRING in
/// curl's order; corvid's User-Agent unless a browser profile sends its own).
struct stream_request {
    prepared_inputs inputs;
    request_plan plan;
};
/// nullopt after printing "corvid: (CODE) MESSAGE"; `exit_code` is CODE.
std::optional<stream_request> plan_stream_request(const options& opts, const std::string& url,
                                                  bool with_profile, int& exit_code);

/// Runs `task` on `io` until it finishes and returns its exit code; an
/// exception escaping it is reported as an internal error (exit 43).
int run_to_exit_code(asio::io_context& io, asio::awaitable<int> task);

}  // namespace corvid::cli
