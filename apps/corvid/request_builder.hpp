#pragma once

// Turns parsed options into the requests corvid sends, following curl's
// rules: which method, which default headers in which order, how -H removes
// or empties them, how -d pieces join into a body, how a redirect changes
// the method. Pure apart from the file reads, which go through a
// caller-supplied `file_reader` so tests can feed in-memory files.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/corvid/options.hpp"
#include "core/encoding.hpp"  // base64_encode, percent_decode, percent_encode
#include "corvid/headers.hpp"
#include "corvid/result.hpp"
#include "corvid/url.hpp"

namespace corvid::cli {

/// Reads a whole file; the path "-" means standard input. Fails with a
/// std::errc code (e.g. no_such_file_or_directory).
using file_reader = std::function<result<std::string>(const std::string& path)>;

/// The command line's file arguments, read once for every URL.
struct prepared_inputs {
    bool has_body = false;                  ///< any -d/--data-*/--json was given
    bool json = false;                      ///< --json was among them
    std::string body;                       ///< the pieces joined as curl joins them
    std::vector<std::string> header_lines;  ///< -H arguments, @FILE expanded to its lines
    std::string write_out;                  ///< -w, @FILE read
};

/// A failure before any request: a message for "corvid: (CODE) MESSAGE".
struct input_error {
    int exit_code = 0;
    std::string message;
};

struct prepare_result {
    prepared_inputs inputs;
    std::optional<input_error> error;
};

/// Reads every @file the options name and joins the body: pieces are joined
/// with '&' (a --json piece is appended without one); -d @file drops CR and
/// LF; --data-urlencode encodes as curl does. A file that cannot be read is
/// exit code 26.
prepare_result prepare_inputs(const options& opts, const file_reader& read);

/// One request as corvid will send it (the Host field is the client's).
struct request_plan {
    std::string method;
    std::string url;                           ///< absolute, userinfo removed, -G query appended
    corvid::url parsed;                        ///< `url`, parsed
    corvid::headers headers;                   ///< in curl's order, without Host
    std::optional<std::string> host_override;  ///< -H "Host: value"
    std::string body;
    bool has_body = false;
};

struct plan_result {
    request_plan plan;
    std::optional<input_error> error;  ///< 1 (scheme), 3 (malformed URL)
};

/// The first request for `url_arg`. `default_user_agent` is sent unless -A
/// or -H override it. Headers come in curl's order: Authorization,
/// User-Agent, Accept, Referer, Cookie (from -b strings), then -H fields in
/// command-line order, then Content-Type for a body.
plan_result plan_request(const options& opts, const prepared_inputs& inputs,
                         std::string_view url_arg, std::string_view default_user_agent);

/// Adds "http://" to a URL given without a scheme, as curl does.
std::string with_default_scheme(std::string_view url_arg);

/// How a redirect changes the request: 301/302 turn POST into GET, 303 turns
/// everything but HEAD into GET (dropping the body), 300/307/308 keep method
/// and body. nullopt for statuses corvid does not follow (304, 305, 306,
/// non-3xx).
struct redirect_change {
    std::string method;
    bool keep_body = true;
};
std::optional<redirect_change> redirect_for(int status, std::string_view method);

/// The request for the next hop of a redirect, from the plan of the previous
/// hop, the response status and its resolved Location. Credentials
/// (Authorization, custom Cookie) are dropped when the origin changes.
request_plan follow_redirect(const request_plan& previous, const corvid::url& next,
                             const redirect_change& change);

/// -O's file name: the last segment of the URL's path (without the query);
/// nullopt when it is empty.
std::optional<std::string> remote_file_name(const corvid::url& u);

}  // namespace corvid::cli
