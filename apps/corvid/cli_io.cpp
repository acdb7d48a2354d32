#include "apps/corvid/cli_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <exception>

#include <asio/co_spawn.hpp>

#include "apps/corvid/exit_codes.hpp"

#ifndef CORVID_VERSION
#define CORVID_VERSION "0.0.0"
#endif

namespace corvid::cli {

namespace {

std::error_code errno_code() {
    return {errno, std::generic_category()};
}

}  // namespace

void write_stderr(std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), stderr);
}

std::error_code write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno_code();
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

result<std::string> read_whole_file(const std::string& path) {
    int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno_code();
    }
    std::string out;
    char buf[65536];
    std::error_code ec;
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            ec = errno_code();
            break;
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    if (fd != STDIN_FILENO) {
        ::close(fd);
    }
    if (ec) {
        return ec;
    }
    return out;
}

std::chrono::milliseconds seconds_to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
}

std::string prefix_lines(std::string_view text, std::string_view prefix) {
    std::string out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1);
        out += prefix;
        out += line;
        text.remove_prefix(line.size());
    }
    return out;
}

bool load_impersonation(const options& opts, std::shared_ptr<const profile>& browser) {
    browser.reset();
    if (opts.impersonate.empty() || opts.impersonate == "none") {
        return true;
    }
    std::string detail;
    auto loaded = profile::load(opts.impersonate, &detail);
    if (!loaded) {
        write_stderr("corvid: option --impersonate: " + loaded.error().message() +
                     (detail.empty() ? "" : " (" + detail + ")") + "\n");
        return false;
    }
    browser = *loaded;
    return true;
}

client_options streaming_client_options(const options& opts,
                                        std::shared_ptr<const profile> browser) {
    client_options co;
    co.profile = std::move(browser);
    if (opts.connect_timeout && *opts.connect_timeout > 0) {
        co.connect_timeout = seconds_to_ms(*opts.connect_timeout);
    }
    co.decompress = opts.compressed;
    co.enable_cookies = false;
    co.tls.verify_peer = !opts.insecure;
    co.tls.ca_file = opts.cacert;
    co.http_version = opts.http2_prior_knowledge ? http_version_policy::http2_prior_knowledge
                      : opts.http2               ? http_version_policy::http2
                      : opts.http1_1             ? http_version_policy::http1_1
                                                 : http_version_policy::any;
    co.proxy = opts.proxy;
    co.user_agent.clear();
    co.accept.clear();
    if (opts.verbose) {
        co.trace = [](std::string_view line) { write_stderr("* " + std::string(line) + "\n"); };
    }
    return co;
}

std::optional<stream_request> plan_stream_request(const options& opts, const std::string& url,
                                                  bool with_profile, int& exit_code) {
    auto prepared = prepare_inputs(opts, read_whole_file);
    if (prepared.error) {
        write_stderr("corvid: (" + std::to_string(prepared.error->exit_code) + ") " +
                     prepared.error->message + "\n");
        exit_code = prepared.error->exit_code;
        return std::nullopt;
    }
    const std::string default_ua = with_profile ? "" : std::string("corvid/") + CORVID_VERSION;
    auto planned = plan_request(opts, prepared.inputs, url, default_ua);
    if (planned.error) {
        write_stderr("corvid: (" + std::to_string(planned.error->exit_code) + ") " +
                     planned.error->message + "\n");
        exit_code = planned.error->exit_code;
        return std::nullopt;
    }
    return stream_request{std::move(prepared.inputs), std::move(planned.plan)};
}

int run_to_exit_code(asio::io_context& io, asio::awaitable<int> task) {
    int rc = exit_bad_function_argument;
    asio::co_spawn(io, std::move(task), [&rc](std::exception_ptr e, int code) {
        if (!e) {
            rc = code;
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            write_stderr(std::string("corvid: internal error: ") + ex.what() + "\n");
        }
    });
    io.run();
    return rc;
}

}  // namespace corvid::cli
