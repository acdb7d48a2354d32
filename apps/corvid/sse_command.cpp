#include "apps/corvid/sse_command.hpp"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "apps/corvid/cli_io.hpp"
#include "apps/corvid/exit_codes.hpp"
#include "apps/corvid/options.hpp"
#include "apps/corvid/request_builder.hpp"
#include "corvid/client.hpp"
#include "corvid/profile.hpp"
#include "corvid/sse.hpp"
#include "proto/sse/writer.hpp"

namespace corvid::cli {

namespace {

constexpr std::string_view help =
    "Usage: corvid sse [options...] <url>\n"
    "Follows a server-sent events stream and prints each event as it arrives:\n"
    "  event: TYPE / id: ID / data: LINE ... and a blank line.\n"
    "Reconnects with Last-Event-ID when the stream ends or drops; stops on 204.\n"
    "\n"
    " -H, --header <header>     Extra request header (repeatable)\n"
    " -A, --user-agent <name>   User-Agent to send\n"
    " -k, --insecure            Do not verify the server's certificate\n"
    "     --cacert <file>       CA certificates (PEM) to trust\n"
    "     --http1.1             Use HTTP/1.1\n"
    "     --http2               Require HTTP/2 (https)\n"
    "     --impersonate <name>  Browser profile (chrome, firefox, a file)\n"
    " -x, --proxy <url>         Proxy (http://, socks5://, socks5h://)\n"
    "     --connect-timeout <s> Connection timeout per attempt\n"
    " -m, --max-time <s>        Stop after this many seconds (exit 28)\n"
    " -v, --verbose             Show request and response heads and reconnections\n"
    " -s, --silent / -S, --show-error\n"
    "     --last-event-id <id>  Resume from this event ID\n"
    "     --max-reconnects <n>  Give up after n failed reconnections in a row\n"
    "                           (default: never; 0: do not reconnect)\n"
    "     --retry-delay <ms>    Reconnection time until the server sends retry\n"
    "                           (default 3000)\n"
    "     --max-event-size <n>  Largest event data in bytes (default 1048576)\n"
    "\n"
    "Exit codes: 0 when the server ends the stream with 204 (or it ends and\n"
    "reconnecting is off), 22 for a status other than 200, 8 when the response\n"
    "is not text/event-stream, 63 for a line or event over the limit, 28 at\n"
    "--max-time, otherwise curl's code for the network error.\n";

template <typename T>
bool parse_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

// The options only `corvid sse` has, taken out of the argument list before
// the common parser sees the rest.
struct sse_args {
    std::string last_event_id;
    int max_reconnects = -1;
    std::chrono::milliseconds retry_delay{3'000};
    std::size_t max_event_size = 1024 * 1024;
    bool help = false;
};

std::string split_sse_args(std::span<const std::string_view> args, sse_args& out,
                           std::vector<std::string_view>& rest) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        if (a == "--help" || a == "-h") {
            out.help = true;
            continue;
        }
        const bool takes_value = a == "--last-event-id" || a == "--max-reconnects" ||
                                 a == "--retry-delay" || a == "--max-event-size";
        if (!takes_value) {
            rest.push_back(a);
            continue;
        }
        if (i + 1 >= args.size()) {
            return "option " + std::string(a) + ": requires parameter";
        }
        const auto v = args[++i];
        if (a == "--last-event-id") {
            if (!sse::valid_event_id(v)) {
                return "option --last-event-id: an event ID cannot contain CR, LF or NUL";
            }
            out.last_event_id = std::string(v);
        } else if (a == "--max-reconnects") {
            if (!parse_number(v, out.max_reconnects) || out.max_reconnects < 0) {
                return "option --max-reconnects: expected a number >= 0";
            }
        } else if (a == "--retry-delay") {
            std::int64_t ms = 0;
            if (!parse_number(v, ms) || ms < 0) {
                return "option --retry-delay: expected milliseconds >= 0";
            }
            out.retry_delay = std::chrono::milliseconds(ms);
        } else {
            if (!parse_number(v, out.max_event_size) || out.max_event_size == 0) {
                return "option --max-event-size: expected a number of bytes > 0";
            }
        }
    }
    return {};
}

// The common options that make no sense for an event stream.
std::string unsupported_option(const options& o) {
    if (o.urls.size() != 1) {
        return o.urls.empty() ? "no URL specified" : "corvid sse follows one URL at a time";
    }
    if (!o.data.empty() || o.method || o.get) {
        return "corvid sse sends GET requests only (no -d, -X or -G)";
    }
    if (!o.outputs.empty() || !o.dump_header.empty() || o.include || o.head) {
        return "corvid sse writes events to stdout (no -o, -O, -D, -i or -I)";
    }
    if (o.write_out || !o.cookie_files.empty() || !o.cookie_jar.empty()) {
        return "corvid sse does not support -w or cookie files";
    }
    return {};
}

bool user_sets(const std::vector<std::string>& header_lines, std::string_view name) {
    for (const auto& line : header_lines) {
        if (line.size() > name.size() && (line[name.size()] == ':' || line[name.size()] == ';')) {
            bool same = true;
            for (std::size_t i = 0; i < name.size() && same; ++i) {
                same = std::tolower(static_cast<unsigned char>(line[i])) ==
                       std::tolower(static_cast<unsigned char>(name[i]));
            }
            if (same) {
                return true;
            }
        }
    }
    return false;
}

std::string head_text(const response& r) {
    std::string out = r.version == 20 ? "HTTP/2 " : r.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += std::to_string(r.status);
    if (!r.reason.empty()) {
        out += ' ' + r.reason;
    }
    out += "\r\n";
    for (const auto& f : r.headers) {
        out += f.name + ": " + f.value + "\r\n";
    }
    out += "\r\n";
    return out;
}

// The printed form of one event (see sse_command.hpp).
std::string format_event(const sse_event& ev) {
    std::string out;
    sse::outgoing_event o;
    o.type = ev.type;
    o.data = ev.data;
    if (!ev.id.empty()) {
        o.id = ev.id;
    }
    // The parser never yields CR or LF in a type or ID, nor NUL in an ID.
    (void)sse::append_event(out, o);
    return out;
}

class follower {
  public:
    follower(const options& opts, const sse_args& extra, event_source_options eo, client_options co,
             std::string url, asio::any_io_executor executor)
        : opts_(opts),
          extra_(extra),
          http_(executor, std::move(co)),
          es_(http_, std::move(url), std::move(eo)),
          timer_(executor) {}

    asio::awaitable<int> run() {
        if (opts_.max_time && *opts_.max_time > 0) {
            timer_.expires_after(seconds_to_ms(*opts_.max_time));
            timer_.async_wait([this](std::error_code ec) {
                if (!ec) {
                    timed_out_ = true;
                    es_.close();
                }
            });
        }
        int rc = exit_ok;
        for (;;) {
            auto ev = co_await es_.next_event();
            if (!ev) {
                rc = finish(ev.error());
                break;
            }
            if (auto ec = write_all(STDOUT_FILENO, format_event(*ev))) {
                error(exit_write_error, "Failure writing output to stdout: " + ec.message());
                rc = exit_write_error;
                break;
            }
        }
        timer_.cancel();
        es_.close();
        http_.close_idle();
        co_return rc;
    }

    // Called before each reconnection wait.
    void reconnecting(std::error_code why, std::chrono::milliseconds delay) {
        if (es_.connections_opened() == 0) {
            // As curl would: a URL that never gave a stream is an error now,
            // not something to retry forever.
            first_failure_ = why;
            es_.close();
            return;
        }
        if (opts_.verbose) {
            std::string line = "* event stream ";
            line += why == sse_errc::stream_ended ? std::string("ended") : "lost: " + why.message();
            line += "; reconnecting in " + std::to_string(delay.count()) + " ms";
            if (!es_.last_event_id().empty()) {
                line += " with Last-Event-ID: " + es_.last_event_id();
            }
            write_stderr(line + "\n");
        }
    }

    void head(const response& r) {
        if (opts_.verbose) {
            write_stderr(prefix_lines(r.request_head, "> "));
            write_stderr(prefix_lines(head_text(r), "< "));
        }
    }

  private:
    void error(int code, const std::string& message) {
        if (!opts_.silent || opts_.show_error) {
            write_stderr("corvid: (" + std::to_string(code) + ") " + message + "\n");
        }
    }

    int finish(std::error_code ec) {
        if (ec == sse_errc::closed) {
            if (first_failure_) {
                ec = first_failure_;
            } else if (timed_out_) {
                error(exit_operation_timedout,
                      "Operation timed out after " +
                          std::to_string(seconds_to_ms(*opts_.max_time).count()) +
                          " milliseconds while following the event stream");
                return exit_operation_timedout;
            }
        }
        if (ec == sse_errc::no_content || ec == sse_errc::stream_ended) {
            if (opts_.verbose) {
                write_stderr(ec == sse_errc::no_content
                                 ? "* the server ended the event stream (204 No Content)\n"
                                 : "* the event stream ended; not reconnecting\n");
            }
            return exit_ok;
        }
        if (ec == sse_errc::bad_status) {
            error(exit_http_returned_error,
                  "The requested URL returned error: " + std::to_string(es_.status()) +
                      " (an event stream needs 200)");
            return exit_http_returned_error;
        }
        if (ec == sse_errc::bad_content_type) {
            error(exit_weird_server_reply,
                  "the response is not an event stream: Content-Type is '" + es_.content_type() +
                      "', not text/event-stream");
            return exit_weird_server_reply;
        }
        if (ec == sse_errc::line_too_long || ec == sse_errc::event_too_large) {
            std::string hint = ec == sse_errc::event_too_large
                                   ? " (" + std::to_string(extra_.max_event_size) +
                                         " bytes; raise it with --max-event-size)"
                                   : "";
            error(exit_filesize_exceeded, ec.message() + hint);
            return exit_filesize_exceeded;
        }
        int code = exit_code_for(
            ec, es_.connections_opened() == 0 ? transfer_phase::head : transfer_phase::body);
        error(code, ec.message());
        return code;
    }

    const options& opts_;
    const sse_args& extra_;
    client http_;
    event_source es_;
    asio::steady_timer timer_;
    bool timed_out_ = false;
    std::error_code first_failure_;
};

}  // namespace

std::string_view sse_help_text() {
    return help;
}

int run_sse(std::span<const std::string_view> args) {
    sse_args extra;
    std::vector<std::string_view> rest;
    if (auto bad = split_sse_args(args, extra, rest); !bad.empty()) {
        write_stderr("corvid: " + bad + "\ncorvid: try 'corvid sse --help' for more information\n");
        return exit_bad_usage;
    }
    if (extra.help) {
        return write_all(STDOUT_FILENO, help) ? exit_write_error : exit_ok;
    }
    auto parsed = parse_args(rest);
    std::string bad = parsed.ok() ? unsupported_option(parsed.opts) : parsed.error;
    if (!bad.empty()) {
        write_stderr("corvid: " + bad + "\ncorvid: try 'corvid sse --help' for more information\n");
        return exit_bad_usage;
    }
    const options& opts = parsed.opts;

    std::shared_ptr<const profile> browser;
    if (!load_impersonation(opts, browser)) {
        return exit_bad_usage;
    }
    int failed = exit_ok;
    auto planned = plan_stream_request(opts, opts.urls[0], browser != nullptr, failed);
    if (!planned) {
        return failed;
    }

    // The request's own fields carry User-Agent and Accept (see below).
    client_options co = streaming_client_options(opts, browser);

    event_source_options eo;
    eo.last_event_id = extra.last_event_id;
    eo.max_reconnects = extra.max_reconnects;
    eo.default_retry = extra.retry_delay;
    eo.max_event_bytes = extra.max_event_size;
    eo.kind = request_kind::fetch;
    if (planned->plan.host_override) {
        eo.headers.add("Host", *planned->plan.host_override);
    }
    for (const auto& f : planned->plan.headers) {
        // curl's default Accept (*/*) would replace text/event-stream; one
        // the user gave with -H is kept.
        if (f.name == "Accept" && !user_sets(planned->inputs.header_lines, "Accept")) {
            continue;
        }
        eo.headers.add(f.name, f.value);
    }

    asio::io_context io;
    int rc = exit_bad_function_argument;
    {
        follower* self = nullptr;
        eo.on_response = [&self](const response& r) { self->head(r); };
        eo.on_reconnect = [&self](std::error_code why, std::chrono::milliseconds delay) {
            self->reconnecting(why, delay);
        };
        follower f(opts, extra, std::move(eo), std::move(co), planned->plan.url, io.get_executor());
        self = &f;
        rc = run_to_exit_code(io, f.run());
    }
    return rc;
}

}  // namespace corvid::cli
