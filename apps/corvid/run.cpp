#include "apps/corvid/run.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "apps/corvid/cli_io.hpp"
#include "apps/corvid/exit_codes.hpp"
#include "apps/corvid/fingerprint.hpp"
#include "apps/corvid/options.hpp"
#include "apps/corvid/progress.hpp"
#include "apps/corvid/request_builder.hpp"
#include "apps/corvid/sse_command.hpp"
#include "apps/corvid/write_out.hpp"
#include "apps/corvid/ws_command.hpp"
#include "corvid/client.hpp"

#ifndef CORVID_VERSION
#define CORVID_VERSION "0.0.0"
#endif

namespace corvid::cli {

namespace {

using steady = std::chrono::steady_clock;

std::error_code errno_code() {
    return {errno, std::generic_category()};
}

/// Where a body (and -i headers) go: stdout, or a file created on the first
/// write, so a transfer that fails before its body leaves no file behind.
class output_target {
  public:
    output_target() = default;
    explicit output_target(std::string path) : path_(std::move(path)) {}
    ~output_target() { close(); }
    output_target(const output_target&) = delete;
    output_target& operator=(const output_target&) = delete;

    bool is_stdout() const { return path_.empty() || path_ == "-"; }
    const std::string& path() const { return path_; }

    std::error_code open() {
        if (fd_ >= 0) {
            return {};
        }
        if (is_stdout()) {
            fd_ = STDOUT_FILENO;
            return {};
        }
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd_ < 0) {
            return errno_code();
        }
        owned_ = true;
        return {};
    }

    std::error_code write(std::string_view data) {
        if (auto ec = open()) {
            return ec;
        }
        return write_all(fd_, data);
    }

    std::error_code close() {
        std::error_code ec;
        if (owned_ && fd_ >= 0 && ::close(fd_) != 0) {
            ec = errno_code();
        }
        fd_ = -1;
        owned_ = false;
        return ec;
    }

  private:
    std::string path_;
    int fd_ = -1;
    bool owned_ = false;
};

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
}

int terminal_width() {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) {
        return ws.ws_col;
    }
    return 80;
}

std::string response_head_text(const response& r) {
    std::string out = r.version == 20 ? "HTTP/2 " : r.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += std::to_string(r.status);
    if (!r.reason.empty()) {
        out += ' ';
        out += r.reason;
    }
    out += "\r\n";
    for (const auto& f : r.headers) {
        out += f.name;
        out += ": ";
        out += f.value;
        out += "\r\n";
    }
    out += "\r\n";
    return out;
}

std::optional<std::uint64_t> content_length(const corvid::headers& h) {
    auto v = h.get("Content-Length");
    if (!v) {
        return std::nullopt;
    }
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size()) {
        return std::nullopt;
    }
    return n;
}

client_options make_client_options(const options& o, std::shared_ptr<const profile> browser) {
    client_options c;
    c.profile = std::move(browser);
    if (o.connect_timeout && *o.connect_timeout > 0) {
        c.connect_timeout = to_ms(*o.connect_timeout);
    }
    // corvid follows redirects itself so -i and -v can show every hop.
    c.follow_redirects = false;
    c.decompress = o.compressed;
    // curl's cookie engine runs only with a cookie file (-b FILE) or a jar (-c).
    c.enable_cookies = !o.cookie_files.empty() || !o.cookie_jar.empty();
    c.tls.verify_peer = !o.insecure;
    c.tls.ca_file = o.cacert;
    // As in curl, the last of --http1.1 / --http2 / --http2-prior-knowledge
    // given is not tracked: the most specific wins.
    c.http_version = o.http2_prior_knowledge ? http_version_policy::http2_prior_knowledge
                     : o.http2               ? http_version_policy::http2
                     : o.http1_1             ? http_version_policy::http1_1
                                             : http_version_policy::any;
    c.proxy = o.proxy;
    // User-Agent and Accept go into the request's own fields, where -H can
    // override or remove them.
    c.user_agent.clear();
    c.accept.clear();
    return c;
}

std::string user_agent() {
    return std::string("corvid/") + CORVID_VERSION;
}

class runner {
  public:
    runner(const options& opts, prepared_inputs inputs, std::shared_ptr<const profile> browser,
           asio::any_io_executor executor)
        : opts_(opts),
          inputs_(std::move(inputs)),
          browser_(std::move(browser)),
          client_(executor, client_options_with_trace()) {
        for (const auto& f : opts_.cookie_files) {
            if (auto loaded = client_.cookies().load_file(f); !loaded && opts_.verbose) {
                // curl ignores a cookie file it cannot read; -v says so.
                trace("WARNING: failed to read cookie file " + f + ": " + loaded.error().message());
            }
        }
    }

    asio::awaitable<int> run_all() {
        int rc = exit_ok;
        for (std::size_t i = 0; i < opts_.urls.size(); ++i) {
            // As with curl, the exit code is the last transfer's.
            rc = co_await run_one(i);
        }
        // HTTP/2 connections keep a read pending: close them so the event
        // loop can finish.
        client_.close_idle();
        if (!opts_.cookie_jar.empty()) {
            rc = save_cookie_jar(rc);
        }
        co_return rc;
    }

  private:
    client_options client_options_with_trace() {
        auto c = make_client_options(opts_, browser_);
        if (opts_.verbose) {
            c.trace = [this](std::string_view line) { trace(line); };
        }
        return c;
    }

    void trace(std::string_view line) {
        std::string text = "* " + std::string(line) + "\n";
        if (bar_active_) {
            // Keep the progress line whole: connection events that happen
            // while it is drawn are shown after it.
            deferred_trace_ += text;
        } else {
            write_stderr(text);
        }
    }

    void error_message(int code, std::string_view message) {
        if (!opts_.silent || opts_.show_error) {
            write_stderr("corvid: (" + std::to_string(code) + ") " + std::string(message) + "\n");
        }
    }

    int save_cookie_jar(int rc) {
        if (opts_.cookie_jar == "-") {
            auto text = client_.cookies().to_netscape();
            if (write_all(STDOUT_FILENO, text)) {
                error_message(exit_write_error, "could not write the cookie jar to stdout");
                return rc == exit_ok ? exit_write_error : rc;
            }
            return rc;
        }
        if (auto saved = client_.cookies().save_file(opts_.cookie_jar); !saved) {
            error_message(exit_write_error, "could not write cookie jar '" + opts_.cookie_jar +
                                                "': " + saved.error().message());
            return rc == exit_ok ? exit_write_error : rc;
        }
        return rc;
    }

    // The -o/-O destination for URL `index` ("" is stdout); nullopt when -O
    // finds no file name in the URL.
    std::optional<std::string> output_path(std::size_t index, const corvid::url& u,
                                           bool& explicit_stdout) {
        explicit_stdout = false;
        if (index >= opts_.outputs.size()) {
            return std::string();
        }
        const auto& spec = opts_.outputs[index];
        if (!spec.remote_name) {
            explicit_stdout = spec.path == "-";
            return spec.path;
        }
        return remote_file_name(u);
    }

    void write_out(const transfer_report& report) {
        if (inputs_.write_out.empty()) {
            return;
        }
        auto w = format_write_out(inputs_.write_out, report);
        for (const auto& name : w.unknown) {
            write_stderr("corvid: unknown --write-out variable: '" + name + "'\n");
        }
        for (const auto& piece : w.pieces) {
            if (piece.stream == write_out_stream::out) {
                (void)write_all(STDOUT_FILENO, piece.text);
            } else {
                write_stderr(piece.text);
            }
        }
    }

    std::error_code dump_headers(std::string_view text) {
        if (opts_.dump_header.empty()) {
            return {};
        }
        if (!dump_) {
            dump_ = std::make_unique<output_target>(opts_.dump_header);
        }
        return dump_->write(text);
    }

    asio::awaitable<int> run_one(std::size_t index) {
        const auto t0 = steady::now();
        const std::string& url_arg = opts_.urls[index];
        transfer_report report;
        report.urlnum = index;
        report.url = url_arg;

        int code = exit_ok;
        std::string message;
        auto fail = [&](int c, std::string m) {
            code = c;
            message = std::move(m);
        };

        // Under a browser profile the profile's User-Agent and Accept go out
        // (in its order); -A and -H still replace them.
        auto planned = plan_request(opts_, inputs_, url_arg, browser_ ? "" : user_agent());
        std::unique_ptr<output_target> out;
        bool explicit_stdout = false;
        if (planned.error) {
            fail(planned.error->exit_code, planned.error->message);
        } else if (auto path = output_path(index, planned.plan.parsed, explicit_stdout); !path) {
            fail(exit_write_error,
                 "Remote file name has no length! (-O needs a URL that ends in "
                 "a file name)");
        } else {
            out = std::make_unique<output_target>(*path);
            report.filename_effective = out->is_stdout() ? "" : *path;
            co_await transfer(planned.plan, *out, explicit_stdout, t0, report, fail);
        }

        if (out && code == exit_ok) {
            // An empty body still creates its file, as curl does.
            if (auto ec = out->open()) {
                fail(exit_write_error, "could not write to '" + out->path() + "': " + ec.message());
            }
        }
        if (out) {
            if (auto ec = out->close(); ec && code == exit_ok) {
                fail(exit_write_error, "could not write to '" + out->path() + "': " + ec.message());
            }
        }
        report.time_total = std::chrono::duration<double>(steady::now() - t0).count();
        report.exitcode = code;
        report.errormsg = message;
        if (code != exit_ok) {
            error_message(code, message);
        }
        write_out(report);
        co_return code;
    }

    template <typename Fail>
    asio::awaitable<void> transfer(request_plan plan, output_target& out, bool explicit_stdout,
                                   steady::time_point t0, transfer_report& report, Fail& fail) {
        for (;;) {
            corvid::request req;
            req.method = plan.method;
            req.url = plan.url;
            if (plan.host_override) {
                req.headers.add("Host", *plan.host_override);
            }
            for (const auto& f : plan.headers) {
                req.headers.add(f.name, f.value);
            }
            req.body = plan.body;
            if (opts_.max_time && *opts_.max_time > 0) {
                auto remaining =
                    to_ms(*opts_.max_time) -
                    std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
                if (remaining.count() <= 0) {
                    fail(exit_operation_timedout,
                         make_error_code(net_errc::total_timeout).message());
                    co_return;
                }
                req.timeout = remaining;
            }
            report.method = plan.method;
            report.url_effective = plan.url;
            report.scheme = plan.parsed.scheme;

            auto sent = co_await client_.send(std::move(req));
            if (!sent) {
                auto ec = sent.error();
                int code = exit_code_for(ec, transfer_phase::head);
                std::string msg = ec.message();
                report.ssl_verify_result = ssl_verify_result_for(ec);
                fail(code, msg);
                co_return;
            }
            response& res = *sent;

            std::string head = response_head_text(res);
            // -v shows the request head exactly as the client sent it.
            const std::string head_shown = prefix_lines(res.request_head, "> ");
            report.http_code = res.status;
            report.http_version = res.version;
            report.num_headers = res.headers.size();
            report.response_headers = res.headers;
            report.content_type = std::string(res.headers.get("Content-Type").value_or(""));
            report.remote_ip = res.connection.remote_address;
            report.remote_port = res.connection.remote_port;
            report.local_ip = res.connection.local_address;
            report.local_port = res.connection.local_port;
            report.num_connects += res.connects;
            report.size_header += head.size();
            report.size_request += res.request_head.size();
            report.size_upload += plan.body.size();

            if (opts_.verbose) {
                write_stderr(head_shown);
                write_stderr(prefix_lines(head, "< "));
            }

            // A redirect to follow (-L).
            auto location = res.headers.get("Location");
            auto change = redirect_for(res.status, plan.method);
            std::optional<corvid::url> next;
            if (location && change) {
                auto resolved = plan.parsed.resolve(*location);
                if (resolved) {
                    next = *resolved;
                }
                if (!opts_.location && resolved) {
                    report.redirect_url = resolved->to_string();
                }
            }
            const bool follow = opts_.location && location && change;
            const bool fails = res.status >= 400 && (opts_.fail || opts_.fail_with_body);
            const bool show_head =
                (opts_.include || opts_.head) && !(fails && !opts_.fail_with_body);

            if (show_head) {
                if (auto ec = out.write(head)) {
                    fail(exit_write_error,
                         "could not write to " + describe(out) + ": " + ec.message());
                    co_return;
                }
            }
            if (!(fails && !opts_.fail_with_body)) {
                if (auto ec = dump_headers(head)) {
                    fail(exit_write_error,
                         "could not write headers to '" + opts_.dump_header + "': " + ec.message());
                    co_return;
                }
            }

            if (follow) {
                if (!next) {
                    fail(exit_url_malformat, "the redirect's Location is not a valid URL: '" +
                                                 std::string(*location) + "'");
                    co_return;
                }
                if (next->scheme != "http" && next->scheme != "https") {
                    fail(exit_unsupported_protocol, "Protocol \"" + next->scheme +
                                                        "\" not supported (redirect to " +
                                                        next->to_string() + ")");
                    co_return;
                }
                if (opts_.max_redirs >= 0 &&
                    report.num_redirects >= static_cast<std::size_t>(opts_.max_redirs)) {
                    fail(exit_too_many_redirects, "Maximum (" + std::to_string(opts_.max_redirs) +
                                                      ") redirects followed (raise --max-redirs)");
                    co_return;
                }
                // Read the redirect's body so its connection can be reused.
                auto drained = co_await res.discard();
                accumulate(report, res);
                if (!drained) {
                    fail(exit_code_for(drained.error(), transfer_phase::body),
                         drained.error().message());
                    co_return;
                }
                ++report.num_redirects;
                report.time_redirect = std::chrono::duration<double>(steady::now() - t0).count();
                if (opts_.verbose) {
                    trace("Issue another request to this URL: '" + next->to_string() + "'");
                }
                plan = follow_redirect(plan, *next, *change);
                continue;
            }

            if (fails && !opts_.fail_with_body) {
                accumulate(report, res);
                fail(exit_http_returned_error,
                     "The requested URL returned error: " + std::to_string(res.status));
                co_return;
            }

            co_await stream_body(res, out, explicit_stdout, fail);
            accumulate(report, res);
            report.size_download = res.wire_body_bytes();
            if (fails) {
                fail(exit_http_returned_error,
                     "The requested URL returned error: " + std::to_string(res.status));
            }
            co_return;
        }
    }

    static std::string describe(const output_target& out) {
        return out.is_stdout() ? std::string("stdout") : "'" + out.path() + "'";
    }

    // curl's times accumulate over redirect hops.
    static void accumulate(transfer_report& report, const response& res) {
        auto t = res.timings();
        report.time_namelookup += t.name_lookup;
        report.time_connect += t.connect;
        report.time_appconnect += t.app_connect;
        report.time_pretransfer += std::max(t.connect, t.app_connect);
        report.time_starttransfer += t.start_transfer;
    }

    template <typename Fail>
    asio::awaitable<void> stream_body(response& res, output_target& out, bool explicit_stdout,
                                      Fail& fail) {
        std::optional<progress_meter> meter;
        if (!opts_.silent && opts_.progress_bar && !out.is_stdout() && ::isatty(STDERR_FILENO)) {
            // Content-Length counts wire bytes, and so does the meter.
            meter.emplace(content_length(res.headers), steady::now(), terminal_width());
        }
        const bool check_binary = out.is_stdout() && !explicit_stdout && ::isatty(STDOUT_FILENO);
        auto finish_meter = [&] {
            if (meter) {
                write_stderr(meter->finish(res.wire_body_bytes(), steady::now()));
                meter.reset();
            }
            bar_active_ = false;
            if (!deferred_trace_.empty()) {
                write_stderr(deferred_trace_);
                deferred_trace_.clear();
            }
        };
        for (;;) {
            auto piece = co_await res.read_some();
            if (!piece) {
                finish_meter();
                fail(exit_code_for(piece.error(), transfer_phase::body), piece.error().message());
                co_return;
            }
            if (piece->empty()) {
                break;
            }
            if (check_binary && std::memchr(piece->data(), 0, piece->size()) != nullptr) {
                finish_meter();
                fail(exit_write_error,
                     "Binary output can mess up your terminal. Use \"--output -\" to tell corvid "
                     "to output it to your terminal anyway, or consider \"--output <FILE>\" to "
                     "save to a file.");
                co_return;
            }
            if (auto ec = out.write(*piece)) {
                finish_meter();
                fail(exit_write_error,
                     "Failure writing output to " + describe(out) + ": " + ec.message());
                co_return;
            }
            if (meter) {
                if (auto line = meter->update(res.wire_body_bytes(), steady::now())) {
                    bar_active_ = true;
                    write_stderr(*line);
                }
            }
        }
        finish_meter();
    }

    const options& opts_;
    prepared_inputs inputs_;
    std::shared_ptr<const profile> browser_;  // --impersonate; null: none
    corvid::client client_;
    std::unique_ptr<output_target> dump_;
    bool bar_active_ = false;
    std::string deferred_trace_;
};

std::string version_text() {
    return std::string("corvid ") + CORVID_VERSION +
           " (x86_64-linux) BoringSSL zlib brotli zstd\n"
           "Protocols: http https\n"
           "Features: HTTP/1.1 cookies content-decoding (gzip deflate br zstd) "
           "proxies (http CONNECT, socks5, socks5h) IPv6 Happy-Eyeballs\n";
}

}  // namespace

int run_main(int argc, const char* const* argv) {
    // A closed stdout pipe is a write error (exit 23), not a silent death.
    std::signal(SIGPIPE, SIG_IGN);

    // Subcommands: `corvid NAME ARGS...` hands ARGS to NAME's runner.
    struct subcommand {
        std::string_view name;
        int (*run)(std::span<const std::string_view> args);
    };
    static constexpr subcommand subcommands[] = {
        {"fingerprint", run_fingerprint},
        {"sse", run_sse},
        {"ws", run_ws},
    };
    if (argc >= 2) {
        for (const auto& sub : subcommands) {
            if (std::string_view(argv[1]) == sub.name) {
                std::vector<std::string_view> rest(argv + 2, argv + argc);
                return sub.run(rest);
            }
        }
    }
    auto parsed = parse_args(argc, argv);
    if (!parsed.ok()) {
        write_stderr("corvid: " + parsed.error + "\n");
        write_stderr("corvid: try 'corvid --help' for more information\n");
        return exit_bad_usage;
    }
    const options& opts = parsed.opts;
    if (opts.help) {
        auto text = help_text();
        return write_all(STDOUT_FILENO, text) ? exit_write_error : exit_ok;
    }
    if (opts.version) {
        auto text = version_text();
        return write_all(STDOUT_FILENO, text) ? exit_write_error : exit_ok;
    }

    if (opts.list_profiles) {
        std::string text;
        for (const auto& name : profile::builtin_names()) {
            std::string description = "corvid's own plain, fast client (the default)";
            if (name != "none") {
                auto p = profile::load(name);
                description = p ? (*p)->description : p.error().message();
            }
            text += name + std::string(name.size() < 10 ? 10 - name.size() : 1, ' ') + description +
                    "\n";
        }
        return write_all(STDOUT_FILENO, text) ? exit_write_error : exit_ok;
    }
    std::shared_ptr<const profile> browser;
    if (!load_impersonation(opts, browser)) {
        return exit_bad_usage;
    }

    auto prepared = prepare_inputs(opts, read_whole_file);
    if (prepared.error) {
        if (!opts.silent || opts.show_error) {
            write_stderr("corvid: (" + std::to_string(prepared.error->exit_code) + ") " +
                         prepared.error->message + "\n");
        }
        return prepared.error->exit_code;
    }

    asio::io_context io;
    runner r(opts, std::move(prepared.inputs), std::move(browser), io.get_executor());
    return run_to_exit_code(io, r.run_all());
}

}  // namespace corvid::cli
