#include "apps/corvid/ws_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "apps/corvid/cli_io.hpp"
#include "apps/corvid/exit_codes.hpp"
#include "apps/corvid/options.hpp"
#include "apps/corvid/request_builder.hpp"
#include "corvid/client.hpp"
#include "corvid/profile.hpp"
#include "corvid/websocket.hpp"

namespace corvid::cli {

namespace {

constexpr std::string_view help =
    "Usage: corvid ws [options...] <url>\n"
    "Opens a WebSocket (ws://, wss://). Each line of stdin is sent as a text\n"
    "message; each message received is printed on its own line. After the end\n"
    "of stdin the connection is closed (1000) once the server is quiet.\n"
    "\n"
    " -n, --count <n>           Send n binary messages of --size bytes and print\n"
    "                           the rate at which n replies came back\n"
    "     --size <bytes>        Message size for -n (default 1024)\n"
    "     --binary              Send stdin lines as binary messages\n"
    "     --subprotocol <p>     Offer subprotocol p (repeatable, preferred first)\n"
    "     --no-deflate          Do not offer permessage-deflate\n"
    "     --ping-interval <s>   Keepalive ping after s idle seconds (0: off; default 30)\n"
    "     --linger <s>          After stdin ends, close once the server has been\n"
    "                           quiet for s seconds (default 1)\n"
    "     --listen              After stdin ends, keep printing until the server\n"
    "                           closes (or -m)\n"
    "     --http1.1             WebSocket over HTTP/1.1 (Upgrade)\n"
    "     --http2               WebSocket over HTTP/2 (extended CONNECT, RFC 8441)\n"
    " -H, --header <header>     Extra request header (repeatable), e.g. Origin\n"
    " -A, --user-agent <name>   User-Agent to send\n"
    " -k, --insecure            Do not verify the server's certificate\n"
    "     --cacert <file>       CA certificates (PEM) to trust\n"
    "     --impersonate <name>  Browser profile (chrome, firefox, a file)\n"
    " -x, --proxy <url>         Proxy (http://, socks5://, socks5h://)\n"
    "     --connect-timeout <s> Connection timeout per attempt\n"
    " -m, --max-time <s>        Stop after this many seconds (exit 28)\n"
    " -v, --verbose             Show the handshake and the close\n"
    " -s, --silent / -S, --show-error\n"
    "\n"
    "Exit codes: 0 after a normal close, 22 when the server refuses the\n"
    "handshake, 56 for another close code or a protocol error, 28 at\n"
    "--max-time, otherwise curl's code for the network error.\n";

// The options only `corvid ws` has, taken out before the common parser.
struct ws_args {
    std::vector<std::string> subprotocols;
    bool deflate = true;
    bool binary = false;
    std::uint64_t count = 0;
    std::size_t size = 1024;
    double ping_interval = 30;
    double linger = 1;    ///< after stdin's end: close once the server is quiet this long
    bool listen = false;  ///< after stdin's end: keep receiving until the server closes
    bool help = false;
};

template <typename T>
bool parse_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

std::string split_ws_args(std::span<const std::string_view> args, ws_args& out,
                          std::vector<std::string_view>& rest) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto a = args[i];
        if (a == "--help" || a == "-h") {
            out.help = true;
            continue;
        }
        if (a == "--no-deflate") {
            out.deflate = false;
            continue;
        }
        if (a == "--binary") {
            out.binary = true;
            continue;
        }
        if (a == "--listen") {
            out.listen = true;
            continue;
        }
        const bool takes_value = a == "--subprotocol" || a == "-n" || a == "--count" ||
                                 a == "--size" || a == "--ping-interval" || a == "--linger";
        if (!takes_value) {
            rest.push_back(a);
            continue;
        }
        if (i + 1 >= args.size()) {
            return "option " + std::string(a) + ": requires parameter";
        }
        const auto v = args[++i];
        if (a == "--subprotocol") {
            if (v.empty() || v.find_first_of(" ,\t\r\n") != std::string_view::npos) {
                return "option --subprotocol: a subprotocol is one token (no spaces or commas)";
            }
            out.subprotocols.emplace_back(v);
        } else if (a == "-n" || a == "--count") {
            if (!parse_number(v, out.count) || out.count == 0) {
                return "option " + std::string(a) + ": expected a number of messages > 0";
            }
        } else if (a == "--size") {
            if (!parse_number(v, out.size) || out.size > (64u << 20)) {
                return "option --size: expected a number of bytes up to 67108864";
            }
        } else {
            std::string text(v);
            char* end = nullptr;
            double& target = a == "--linger" ? out.linger : out.ping_interval;
            target = std::strtod(text.c_str(), &end);
            if (end != text.c_str() + text.size() || !(target >= 0) || target > 86400 * 365) {
                return "option " + std::string(a) + ": expected seconds >= 0";
            }
        }
    }
    return {};
}

std::string unsupported_option(const options& o) {
    if (o.urls.size() != 1) {
        return o.urls.empty() ? "no URL specified" : "corvid ws opens one URL at a time";
    }
    if (!o.data.empty() || o.method || o.get) {
        return "corvid ws sends its messages from stdin or -n (no -d, -X or -G)";
    }
    if (!o.outputs.empty() || !o.dump_header.empty() || o.include || o.head || o.write_out) {
        return "corvid ws writes messages to stdout (no -o, -O, -D, -i, -I or -w)";
    }
    if (o.http2_prior_knowledge) {
        return "corvid ws: use --http2 (the WebSocket needs the server's SETTINGS)";
    }
    return {};
}

class session {
  public:
    session(const options& opts, const ws_args& extra, client_options co, std::string url,
            websocket_options wo, asio::io_context& io)
        : opts_(opts),
          extra_(extra),
          io_(io),
          http_(io.get_executor(), std::move(co)),
          url_(std::move(url)),
          wo_(std::move(wo)),
          timer_(io),
          linger_(io) {}

    asio::awaitable<int> run() {
        if (opts_.max_time && *opts_.max_time > 0) {
            timer_.expires_after(seconds_to_ms(*opts_.max_time));
            timer_.async_wait([this](std::error_code ec) {
                if (!ec) {
                    timed_out_ = true;
                    ws_.reset();  // fails what is pending
                    http_.close_idle();
                }
            });
        }
        buffered_response refusal;
        auto opened = co_await websocket::connect(http_, url_, wo_, &refusal);
        if (!opened) {
            timer_.cancel();
            http_.close_idle();
            co_return refused(opened.error(), refusal);
        }
        ws_.emplace(std::move(*opened));
        if (opts_.verbose) {
            write_stderr(prefix_lines(ws_->request_head(), "> "));
            std::string head = ws_->http_version() == 20 ? "HTTP/2 " : "HTTP/1.1 ";
            head += std::to_string(ws_->handshake_status()) + "\r\n";
            for (const auto& f : ws_->handshake_headers()) {
                head += f.name + ": " + f.value + "\r\n";
            }
            write_stderr(prefix_lines(head + "\r\n", "< "));
            write_stderr(
                "* WebSocket open over " +
                std::string(ws_->http_version() == 20 ? "HTTP/2" : "HTTP/1.1") +
                (ws_->extensions().empty() ? "" : "; extensions: " + ws_->extensions()) +
                (ws_->subprotocol().empty() ? "" : "; subprotocol: " + ws_->subprotocol()) + "\n");
        }
        int rc = extra_.count > 0 ? co_await load() : co_await interactive();
        timer_.cancel();
        ws_.reset();
        http_.close_idle();
        co_return rc;
    }

  private:
    void error(int code, const std::string& message) {
        if (!opts_.silent || opts_.show_error) {
            write_stderr("corvid: (" + std::to_string(code) + ") " + message + "\n");
        }
    }

    int refused(std::error_code ec, const buffered_response& refusal) {
        if (timed_out_) {
            return timeout();
        }
        if (ec == websocket_errc::handshake_status && refusal.status != 0) {
            std::string msg = "the server refused the WebSocket: HTTP " +
                              std::to_string(refusal.status) +
                              (refusal.reason.empty() ? "" : " " + refusal.reason);
            if (!refusal.body.empty() && refusal.body.size() <= 512) {
                msg +=
                    " (" + refusal.body.substr(0, refusal.body.find_last_not_of("\r\n") + 1) + ")";
            }
            error(exit_http_returned_error, msg);
            return exit_http_returned_error;
        }
        if (ec.category() == websocket_category()) {
            error(exit_weird_server_reply, ec.message());
            return exit_weird_server_reply;
        }
        const int code = exit_code_for(ec, transfer_phase::head);
        error(code, ec.message());
        return code;
    }

    int timeout() {
        error(exit_operation_timedout, "Operation timed out after " +
                                           std::to_string(seconds_to_ms(*opts_.max_time).count()) +
                                           " milliseconds");
        return exit_operation_timedout;
    }

    // How the connection ended: the server's close code, or the failure.
    int ended(std::error_code ec) {
        if (timed_out_) {
            return timeout();
        }
        if (!ws_) {
            return exit_ok;
        }
        if (ec == websocket_errc::closed) {
            const auto code = ws_->close_code();
            if (opts_.verbose) {
                write_stderr("* closed: " + std::to_string(code) +
                             (ws_->close_reason().empty() ? "" : " " + ws_->close_reason()) + "\n");
            }
            if (code == 1000 || code == 1001 || code == 1005 || closing_) {
                return exit_ok;
            }
            error(exit_recv_error,
                  "the server closed the WebSocket with " + std::to_string(code) +
                      (ws_->close_reason().empty() ? "" : " (" + ws_->close_reason() + ")"));
            return exit_recv_error;
        }
        const int code = ec.category() == websocket_category()
                             ? exit_recv_error
                             : exit_code_for(ec, transfer_phase::body);
        error(code, ec.message());
        return code;
    }

    asio::awaitable<int> interactive() {
        // stdin is read by a thread (it may be a file, a pipe or a tty); each
        // line waits until it has been sent, so a slow server holds the
        // reader back instead of a queue growing.
        auto state = std::make_shared<stdin_state>();
        std::thread reader([this, state] {
            std::string line;
            while (std::getline(std::cin, line)) {
                std::promise<bool> sent;
                auto done = sent.get_future();
                asio::post(io_, [this, state, line, &sent]() mutable {
                    asio::co_spawn(
                        io_,
                        [this, line = std::move(line), &sent]() -> asio::awaitable<void> {
                            bool ok = false;
                            if (ws_ && ws_->is_open()) {
                                auto r = co_await ws_->send(extra_.binary
                                                                ? websocket_message_type::binary
                                                                : websocket_message_type::text,
                                                            line);
                                ok = static_cast<bool>(r);
                            }
                            sent.set_value(ok);
                        },
                        asio::detached);
                });
                if (!done.get()) {
                    break;
                }
            }
            asio::post(io_, [this] { input_ended(); });
        });
        reader.detach();  // a tty read cannot be interrupted; exit() ends it
        int rc = exit_ok;
        for (;;) {
            auto m = co_await ws_->receive();
            if (!m) {
                rc = ended(m.error());
                break;
            }
            if (input_ended_) {
                arm_linger();  // the server is still talking: give it more time
            }
            m->data += '\n';
            if (auto ec = write_all(STDOUT_FILENO, m->data)) {
                error(exit_write_error, "Failure writing output to stdout: " + ec.message());
                rc = exit_write_error;
                break;
            }
        }
        linger_.cancel();
        co_return rc;
    }

    struct stdin_state {};

    // End of stdin. Replies to the last lines may still be on their way (a
    // close sent now would make the server drop them): close once the
    // server has been quiet for --linger, or never with --listen.
    void input_ended() {
        input_ended_ = true;
        if (!extra_.listen) {
            arm_linger();
        }
    }

    void arm_linger() {
        if (extra_.listen) {
            return;
        }
        linger_.expires_after(seconds_to_ms(extra_.linger));
        linger_.async_wait([this](std::error_code ec) {
            if (!ec) {
                start_close();
            }
        });
    }

    // End of stdin: send the close; receive() goes on until the server's.
    void start_close() {
        if (!ws_ || !ws_->is_open() || closing_) {
            return;
        }
        closing_ = true;
        asio::co_spawn(
            io_,
            [this]() -> asio::awaitable<void> {
                if (ws_) {
                    (void)co_await ws_->send_close(1000);
                }
            },
            asio::detached);
    }

    asio::awaitable<int> load() {
        std::string payload(extra_.size, '\0');
        std::mt19937 rng(12345);
        for (auto& c : payload) {
            c = static_cast<char>(rng());
        }
        const auto n = extra_.count;
        std::uint64_t received = 0;
        std::error_code failure;
        const auto start = std::chrono::steady_clock::now();
        bool sending_done = false;
        asio::co_spawn(
            io_,
            [&]() -> asio::awaitable<void> {
                for (std::uint64_t i = 0; i < n && ws_; ++i) {
                    auto r = co_await ws_->send_binary(payload);
                    if (!r) {
                        break;
                    }
                }
                sending_done = true;
            },
            asio::detached);
        while (received < n) {
            auto m = co_await ws_->receive();
            if (!m) {
                failure = m.error();
                break;
            }
            if (m->data.size() != payload.size()) {
                error(exit_weird_server_reply, "reply " + std::to_string(received + 1) + " has " +
                                                   std::to_string(m->data.size()) + " bytes, not " +
                                                   std::to_string(payload.size()));
                co_return exit_weird_server_reply;
            }
            ++received;
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::ostringstream line;
        line.setf(std::ios::fixed);
        line.precision(3);
        line << "sent " << n << " messages of " << payload.size() << " bytes, received " << received
             << " replies in " << seconds << " s: ";
        line.precision(0);
        line << (static_cast<double>(received) / seconds) << " messages/s, ";
        line.precision(1);
        line << (static_cast<double>(received * payload.size()) / seconds / 1048576.0)
             << " MiB/s each way\n";
        write_stderr(line.str());
        if (failure) {
            co_return ended(failure);
        }
        (void)sending_done;
        closing_ = true;
        auto closed = co_await ws_->close(1000);
        if (!closed && opts_.verbose) {
            write_stderr("* close: " + closed.error().message() + "\n");
        }
        co_return exit_ok;
    }

    const options& opts_;
    const ws_args& extra_;
    asio::io_context& io_;
    client http_;
    std::string url_;
    websocket_options wo_;
    asio::steady_timer timer_;
    asio::steady_timer linger_;  // after stdin's end: how long the server may stay quiet
    bool input_ended_ = false;
    std::optional<websocket> ws_;
    bool timed_out_ = false;
    bool closing_ = false;
};

}  // namespace

int run_ws(std::span<const std::string_view> args) {
    ws_args extra;
    std::vector<std::string_view> rest;
    if (auto bad = split_ws_args(args, extra, rest); !bad.empty()) {
        write_stderr("corvid: " + bad + "\ncorvid: try 'corvid ws --help' for more information\n");
        return exit_bad_usage;
    }
    if (extra.help) {
        return write_all(STDOUT_FILENO, help) ? exit_write_error : exit_ok;
    }
    auto parsed = parse_args(rest);
    std::string bad = parsed.ok() ? unsupported_option(parsed.opts) : parsed.error;
    if (!bad.empty()) {
        write_stderr("corvid: " + bad + "\ncorvid: try 'corvid ws --help' for more information\n");
        return exit_bad_usage;
    }
    const options& opts = parsed.opts;

    std::shared_ptr<const profile> browser;
    if (!load_impersonation(opts, browser)) {
        return exit_bad_usage;
    }
    // The common request planning (headers in curl's order, -A, -H) works
    // on http(s) URLs: plan with the ws(s) scheme swapped, connect to the
    // URL as given.
    std::string target = opts.urls[0];
    std::string plan_url = target;
    if (plan_url.rfind("ws://", 0) == 0) {
        plan_url = "http://" + plan_url.substr(5);
    } else if (plan_url.rfind("wss://", 0) == 0) {
        plan_url = "https://" + plan_url.substr(6);
    } else if (plan_url.find("://") == std::string::npos) {
        target = "ws://" + target;
        plan_url = "http://" + plan_url;
    }
    int failed = exit_ok;
    auto planned = plan_stream_request(opts, plan_url, browser != nullptr, failed);
    if (!planned) {
        return failed;
    }

    client_options co = streaming_client_options(opts, browser);

    websocket_options wo;
    wo.subprotocols = extra.subprotocols;
    wo.deflate.enabled = extra.deflate;
    wo.ping_interval = seconds_to_ms(extra.ping_interval);
    wo.transport = opts.http2     ? websocket_transport::http2
                   : opts.http1_1 ? websocket_transport::http1_1
                                  : websocket_transport::automatic;
    wo.handshake_timeout = std::chrono::milliseconds(0);  // -m covers it
    if (planned->plan.host_override) {
        wo.headers.add("Host", *planned->plan.host_override);
    }
    for (const auto& f : planned->plan.headers) {
        // curl's default Accept (*/*) means nothing to a WebSocket.
        if (f.name == "Accept" && f.value == "*/*") {
            continue;
        }
        wo.headers.add(f.name, f.value);
    }

    asio::io_context io;
    int rc = exit_bad_function_argument;
    {
        session s(opts, extra, std::move(co), target, std::move(wo), io);
        rc = run_to_exit_code(io, s.run());
    }
    std::fflush(stderr);
    // The stdin reader thread may be blocked in a read: end the process
    // without waiting for it.
    std::_Exit(rc);
}

}  // namespace corvid::cli
