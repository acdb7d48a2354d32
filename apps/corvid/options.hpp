#pragma once

// Command-line parsing for the `corvid` tool: argv in, an `options` value or a
// usage error out. Pure: it reads no files and touches no network, so `@file`
// arguments are kept as written and resolved later (see request_builder.hpp).
//
// The syntax is curl's: short options may be grouped (`-sSL`) and take their
// argument attached or as the next word (`-XPOST`, `-X POST`); long options
// take theirs as the next word (`--request POST`); boolean long options have a
// `--no-` form; words that are not options are URLs.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace corvid::cli {

/// One request-body argument, in command-line order.
struct data_item {
    enum class kind {
        ascii,      ///< -d/--data/--data-ascii: `@file` read with CR and LF removed
        binary,     ///< --data-binary: `@file` read verbatim
        raw,        ///< --data-raw: never a file
        urlencode,  ///< --data-urlencode: `content`, `=content`, `name=content`, `@file`,
                    ///< `name@file`
        json,       ///< --json: like --data-binary, plus JSON Content-Type and Accept
    };
    kind type = kind::ascii;
    std::string value;  ///< as written on the command line
    friend bool operator==(const data_item&, const data_item&) = default;
};

/// Where one URL's body goes: -o FILE, or -O (the URL's last path segment).
struct output_spec {
    bool remote_name = false;  ///< -O
    std::string path;          ///< -o FILE; "-" is stdout
    friend bool operator==(const output_spec&, const output_spec&) = default;
};

struct options {
    std::vector<std::string> urls;
    std::vector<output_spec> outputs;  ///< the i-th applies to the i-th URL

    std::optional<std::string> method;  ///< -X
    std::vector<std::string> headers;   ///< -H arguments as written ("@file" kept)
    std::vector<data_item> data;        ///< -d and friends
    bool get = false;                   ///< -G: data goes into the query string

    bool include = false;     ///< -i
    bool head = false;        ///< -I
    std::string dump_header;  ///< -D FILE ("-" is stdout)

    bool location = false;  ///< -L
    int max_redirs = 50;    ///< --max-redirs; -1 is unlimited (curl's default is 50)

    bool verbose = false;
    bool silent = false;
    bool show_error = false;
    bool progress_bar = true;     ///< false with --no-progress-meter
    bool fail = false;            ///< -f
    bool fail_with_body = false;  ///< --fail-with-body

    bool insecure = false;  ///< -k
    std::string cacert;
    bool compressed = false;
    bool http1_1 = false;
    bool http2 = false;
    bool http2_prior_knowledge = false;
    /// --impersonate: a built-in browser profile ("chrome", "firefox"), a
    /// profile file (a path, or a name ending in .json), or "none".
    std::string impersonate;
    bool list_profiles = false;  ///< --list-profiles

    std::string proxy;  ///< normalised to scheme://host:port; empty: none

    std::vector<std::string> cookie_strings;  ///< -b "n=v; ..." (joined with "; ")
    std::vector<std::string> cookie_files;    ///< -b FILE
    std::string cookie_jar;                   ///< -c FILE

    std::optional<double> max_time;         ///< seconds; 0 means none
    std::optional<double> connect_timeout;  ///< seconds; 0 means the default

    std::optional<std::string> user_agent;  ///< -A ("" sends none)
    std::optional<std::string> referer;     ///< -e
    std::optional<std::string> user;        ///< -u user:password
    std::optional<std::string> bearer;      ///< --oauth2-bearer

    std::optional<std::string> write_out;  ///< -w as written ("@file", "@-" kept)

    bool help = false;
    bool version = false;
};

/// The outcome of parsing: `error` is empty on success and otherwise a
/// curl-style message without the "corvid: " prefix (exit code 2).
struct parse_result {
    options opts;
    std::string error;
    bool ok() const noexcept { return error.empty(); }
};

/// Parses the arguments after the program name.
parse_result parse_args(std::span<const std::string_view> args);
/// Convenience for main(): argv[1..argc).
parse_result parse_args(int argc, const char* const* argv);

/// `corvid --help`: every supported option and the exit codes.
std::string help_text();

/// Normalises a -x argument: adds "http://" when no scheme is given and
/// curl's default port 1080 when none is. "" stays "" (no proxy). nullopt
/// when the scheme is not one corvid supports (http, socks5, socks5h) or the
/// host or port is malformed.
std::optional<std::string> normalize_proxy(std::string_view spec);

}  // namespace corvid::cli
