#include "apps/corvid/fingerprint.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>

#include "corvid/client.hpp"
#include "corvid/profile.hpp"
#include "proto/h2/frame_log.hpp"
#include "proto/h2/nghttpd_log.hpp"
#include "proto/h2/session.hpp"
#include "proto/tls/client_hello.hpp"
#include "tls/context.hpp"
#include "tls/fingerprint.hpp"
#include "tls/test_pki.hpp"

namespace corvid::cli {

namespace {

constexpr std::size_t max_record = 5 + 16384;
constexpr std::size_t max_h1_head = 64 * 1024;
constexpr std::size_t max_reference_file = 1 << 20;

struct fingerprint_args {
    std::string impersonate;
    request_kind kind = request_kind::navigation;
    bool http1 = false;
    std::string compare;     // REF.bin
    std::string compare_h2;  // nghttpd -v log
};

// What the capture endpoint saw.
struct capture {
    std::vector<std::uint8_t> hello_record;
    std::string alpn;
    h2::frame_log frames;                                 // HTTP/2
    std::vector<std::pair<std::string, std::string>> h1;  // HTTP/1.1 head fields, in order
    std::string h1_request_line;
    std::string error;
};

// Waits until the whole first TLS record is in the socket's receive queue
// and copies it without consuming it, so the TLS handshake still reads it.
asio::awaitable<std::vector<std::uint8_t>> peek_record(asio::ip::tcp::socket& sock) {
    std::vector<std::uint8_t> buf(max_record);
    for (int attempt = 0; attempt < 1000; ++attempt) {
        co_await sock.async_wait(asio::ip::tcp::socket::wait_read, asio::use_awaitable);
        const ssize_t n = ::recv(sock.native_handle(), buf.data(), buf.size(), MSG_PEEK);
        if (n <= 0) {
            break;
        }
        if (n >= 5) {
            const std::size_t need = 5 + ((std::size_t{buf[3]} << 8) | buf[4]);
            if (need > max_record) {
                break;
            }
            if (static_cast<std::size_t>(n) >= need) {
                buf.resize(need);
                co_return buf;
            }
        }
        // Only part of the record has arrived: let more come.
        asio::steady_timer t(sock.get_executor(), std::chrono::milliseconds(1));
        co_await t.async_wait(asio::use_awaitable);
    }
    co_return std::vector<std::uint8_t>{};
}

asio::awaitable<void> serve_h2(tls::tls_stream& stream, capture& cap) {
    auto session = h2::server_session::create({});
    if (!session) {
        cap.error = "HTTP/2 session: " + session.error().message();
        co_return;
    }
    h2::frame_log_decoder decoder;
    std::array<char, 16384> buf{};
    bool answered = false;
    while (!answered) {
        auto n = co_await stream.read_some(buf);
        if (!n || *n == 0) {
            break;
        }
        const std::string_view bytes(buf.data(), *n);
        (void)decoder.feed(bytes);
        if (auto ec = session->receive(bytes)) {
            cap.error = "HTTP/2: " + ec.message();
            break;
        }
        while (auto e = session->next_event()) {
            if (auto* req = std::get_if<h2::request_event>(&*e)) {
                (void)session->submit_response(req->stream_id, 200,
                                               {{"content-type", "text/plain"}}, false);
                (void)session->submit_data(req->stream_id, std::string_view("captured\n"), true);
                answered = true;
            } else if (auto* d = std::get_if<h2::data_event>(&*e)) {
                session->consume(d->stream_id, d->data.size());
            }
        }
        for (auto out = session->pending_output(); !out.empty(); out = session->pending_output()) {
            std::array<asio::const_buffer, 1> b{asio::buffer(out.data(), out.size())};
            if (!co_await stream.write(b)) {
                break;
            }
            session->consume_output(out.size());
        }
    }
    cap.frames = decoder.log();
}

asio::awaitable<void> serve_h1(tls::tls_stream& stream, capture& cap) {
    std::string head;
    std::array<char, 4096> buf{};
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < max_h1_head) {
        auto n = co_await stream.read_some(buf);
        if (!n || *n == 0) {
            break;
        }
        head.append(buf.data(), *n);
    }
    const auto end = head.find("\r\n\r\n");
    if (end == std::string::npos) {
        cap.error = "no complete HTTP/1.1 request head";
        co_return;
    }
    std::istringstream lines(head.substr(0, end));
    std::string line;
    std::getline(lines, line);
    cap.h1_request_line = line.substr(0, line.find('\r'));
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            cap.h1.emplace_back(line.substr(0, colon), value);
        }
    }
    static constexpr std::string_view reply =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: "
        "close\r\n\r\ncaptured\n";
    std::array<asio::const_buffer, 1> b{asio::buffer(reply.data(), reply.size())};
    (void)co_await stream.write(b);
}

asio::awaitable<void> capture_endpoint(asio::ip::tcp::acceptor& acceptor,
                                       std::shared_ptr<tls::server_context> ctx, capture& cap) {
    auto sock = co_await acceptor.async_accept(asio::use_awaitable);
    cap.hello_record = co_await peek_record(sock);
    tls::tls_stream stream(std::move(sock), ctx->native());
    if (auto hs = co_await stream.handshake_server(); !hs) {
        cap.error = "TLS handshake: " + hs.error().message();
        co_return;
    }
    cap.alpn = stream.info().alpn;
    if (cap.alpn == "h2") {
        co_await serve_h2(stream, cap);
    } else {
        co_await serve_h1(stream, cap);
    }
    stream.close();
}

// The profile's gap records as the comparison's gap list.
tls::gap_list gaps_of(const profile* p) {
    tls::gap_list g;
    if (p == nullptr) {
        return g;
    }
    for (const auto& gap : p->gaps) {
        std::uint16_t code = 0;
        const bool numeric =
            std::from_chars(gap.item.data(), gap.item.data() + gap.item.size(), code).ec ==
            std::errc();
        const std::uint16_t value = gap.item == "GREASE" ? 0x0a0a : code;
        if (gap.field == "extension_order") {
            g.extension_order = true;
        } else if (gap.field == "cipher_suites") {
            g.cipher_order = true;
        } else if (!numeric && gap.item != "GREASE") {
            continue;
        } else if (gap.field == "groups") {
            g.groups.push_back(value);
        } else if (gap.field == "key_shares") {
            g.key_share_groups.push_back(value);
        } else if (gap.field == "extensions") {
            g.extensions.push_back(value);
        } else if (gap.field == "extra_extensions") {
            g.extra_extensions.push_back(value);
        } else if (gap.field == "signature_algorithms") {
            g.signature_algorithms.push_back(value);
        }
    }
    // ALPS on the old codepoint stands in for the new one when the latter is
    // a gap and the profile sends ALPS at all.
    if (!p->tls.alps.empty() &&
        std::find(g.extensions.begin(), g.extensions.end(), 17613) != g.extensions.end()) {
        g.extra_extensions.push_back(17513);
    }
    return g;
}

std::string pseudo_order(const h2::frame_log& log) {
    std::string out;
    if (log.header_blocks.empty()) {
        return "(none)";
    }
    for (const auto& [name, value] : log.header_blocks.front().fields) {
        if (!name.empty() && name[0] == ':') {
            out += (out.empty() ? "" : ",") + name;
        }
    }
    return out;
}

std::string header_order(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!name.empty() && name[0] != ':') {
            out += (out.empty() ? "" : ",") + name;
        }
    }
    return out.empty() ? "(none)" : out;
}

std::string settings_text(const h2::frame_log& log) {
    if (!log.settings) {
        return "(none)";
    }
    std::string out;
    for (const auto& s : *log.settings) {
        out += (out.empty() ? "" : ";") + std::to_string(s.id) + ":" + std::to_string(s.value);
    }
    return out;
}

std::string window_text(const h2::frame_log& log) {
    return log.connection_window_updates.empty()
               ? "(none)"
               : std::to_string(log.connection_window_updates.front());
}

std::string priority_text(const h2::frame_log& log) {
    if (log.header_blocks.empty() || !log.header_blocks.front().priority) {
        return "(none)";
    }
    const auto& p = *log.header_blocks.front().priority;
    return "exclusive=" + std::to_string(p.exclusive ? 1 : 0) +
           " weight=" + std::to_string(p.weight) + " depends_on=" + std::to_string(p.dependency);
}

tls::fingerprint_row plain_row(std::string field, std::string ours, std::string reference) {
    tls::fingerprint_row row;
    row.field = std::move(field);
    row.verdict = ours == reference ? tls::row_verdict::match : tls::row_verdict::differs;
    row.ours = std::move(ours);
    row.reference = std::move(reference);
    return row;
}

std::optional<std::string> read_small_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::string text(max_reference_file + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_reference_file) {
        return std::nullopt;
    }
    return text;
}

int usage(const std::string& why) {
    std::cerr << "corvid fingerprint: " << why << "\n"
              << "usage: corvid fingerprint [--impersonate NAME|FILE] "
                 "[--kind navigation|fetch|websocket] [--http1.1] [--compare REF.bin "
                 "[--compare-h2 FRAMES.txt]]\n";
    return 2;
}

}  // namespace

int run_fingerprint(std::span<const std::string_view> args) {
    fingerprint_args a;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto arg = args[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) {
                return std::nullopt;
            }
            return std::string(args[++i]);
        };
        if (arg == "--impersonate" || arg == "--compare" || arg == "--compare-h2" ||
            arg == "--kind") {
            auto v = value();
            if (!v) {
                return usage("option " + std::string(arg) + ": requires parameter");
            }
            if (arg == "--impersonate") {
                a.impersonate = *v;
            } else if (arg == "--compare") {
                a.compare = *v;
            } else if (arg == "--compare-h2") {
                a.compare_h2 = *v;
            } else if (*v == "navigation") {
                a.kind = request_kind::navigation;
            } else if (*v == "fetch") {
                a.kind = request_kind::fetch;
            } else if (*v == "websocket") {
                a.kind = request_kind::websocket;
            } else {
                return usage("--kind is navigation, fetch or websocket");
            }
        } else if (arg == "--http1.1") {
            a.http1 = true;
        } else {
            return usage("unknown option '" + std::string(arg) + "'");
        }
    }

    std::shared_ptr<const profile> browser;
    if (!a.impersonate.empty() && a.impersonate != "none") {
        std::string detail;
        auto loaded = profile::load(a.impersonate, &detail);
        if (!loaded) {
            return usage("--impersonate: " + loaded.error().message() + " (" + detail + ")");
        }
        browser = *loaded;
    }

    // The capture endpoint: a throwaway CA and a leaf for localhost.
    auto ca = tls::test_ca::create("corvid fingerprint CA");
    auto leaf = ca ? ca->issue({}) : result<tls::pem_pair>(ca.error());
    if (!leaf) {
        std::cerr << "corvid fingerprint: cannot make a certificate: " << leaf.error().message()
                  << "\n";
        return 1;
    }
    // A WebSocket is an HTTP/1.1 upgrade here: prefer http/1.1 when the
    // profile offers both for it (Firefox does).
    std::vector<std::string> server_alpn{"h2", "http/1.1"};
    if (a.kind == request_kind::websocket) {
        std::swap(server_alpn[0], server_alpn[1]);
    }
    auto ctx = tls::server_context::create({leaf->cert_pem, leaf->key_pem, server_alpn});
    if (!ctx) {
        std::cerr << "corvid fingerprint: " << ctx.error().message() << "\n";
        return 1;
    }
    const auto ca_path = std::filesystem::temp_directory_path() /
                         ("corvid-fingerprint-" + std::to_string(getpid()) + ".pem");
    if (!tls::write_file(ca_path.string(), ca->cert_pem())) {
        std::cerr << "corvid fingerprint: cannot write " << ca_path << "\n";
        return 1;
    }

    asio::io_context io(1);
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    capture cap;
    bool served = false;
    asio::co_spawn(io, capture_endpoint(acceptor, *ctx, cap),
                   [&](std::exception_ptr) { served = true; });
    client_options o;
    o.profile = browser;
    o.tls.ca_file = ca_path.string();
    o.enable_cookies = false;
    // A WebSocket request offers the profile's WebSocket ALPN (Chrome:
    // http/1.1 alone; without a profile: http/1.1).
    o.http_version = a.http1 || (a.kind == request_kind::websocket && !browser)
                         ? http_version_policy::http1_1
                         : http_version_policy::any;
    std::optional<result<buffered_response>> response;
    {
        client c(io.get_executor(), o);
        request req;
        req.url = "https://localhost:" + std::to_string(acceptor.local_endpoint().port()) + "/";
        req.kind = a.kind;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                response = co_await c.fetch(std::move(req));
                c.close_idle();
            },
            asio::detached);
        io.run();
    }
    std::filesystem::remove(ca_path);
    if (!response || !*response || cap.hello_record.empty()) {
        std::cerr << "corvid fingerprint: the capture failed: "
                  << (response && !*response ? (*response).error().message() : cap.error) << "\n";
        return 1;
    }
    auto hello = tls_wire::parse_client_hello_record(cap.hello_record);
    if (!hello) {
        std::cerr << "corvid fingerprint: cannot decode our own ClientHello: "
                  << hello.error().message() << "\n";
        return 1;
    }

    const auto fp = tls::compute_fingerprints(*hello);
    std::ostringstream out;
    out << "profile   " << (browser ? browser->name : std::string("none")) << "\n"
        << "TLS\n"
        << "  JA3     " << fp.ja3 << "\n"
        << "  JA3 md5 " << fp.ja3_md5 << "\n"
        << "  JA3N    " << fp.ja3n << "\n"
        << "  JA3N md5 " << fp.ja3n_md5 << "\n"
        << "  JA4     " << fp.ja4 << "\n"
        << "  ALPN    " << (cap.alpn.empty() ? std::string("(none)") : cap.alpn) << "\n";
    if (cap.alpn == "h2") {
        out << "HTTP/2\n"
            << "  Akamai  " << h2::akamai_string(cap.frames) << "\n"
            << "  HEADERS priority  " << priority_text(cap.frames) << "\n"
            << "  pseudo-header order  " << pseudo_order(cap.frames) << "\n"
            << "  header order  "
            << (cap.frames.header_blocks.empty()
                    ? std::string("(none)")
                    : header_order(cap.frames.header_blocks.front().fields))
            << "\n";
    } else {
        out << "HTTP/1.1\n"
            << "  request  " << cap.h1_request_line << "\n"
            << "  header order  " << header_order(cap.h1) << "\n";
    }
    int status = 0;
    if (!a.compare.empty()) {
        auto ref_bytes = read_small_file(a.compare);
        if (!ref_bytes) {
            return usage("cannot read " + a.compare);
        }
        auto ref = tls_wire::parse_client_hello_record(
            std::span(reinterpret_cast<const std::uint8_t*>(ref_bytes->data()), ref_bytes->size()));
        if (!ref) {
            return usage(a.compare + " is not a ClientHello record: " + ref.error().message());
        }
        tls::compare_options co;
        // A profile that permutes models a browser that does (one capture
        // cannot show it).
        co.ours_permutes = co.reference_permutes = browser && browser->tls.permute_extensions;
        auto rows = tls::compare(*hello, *ref, gaps_of(browser.get()), co);
        rows.push_back(plain_row("JA4", fp.ja4, tls::ja4(*ref)));
        rows.back().verdict = rows.back().ours == rows.back().reference
                                  ? tls::row_verdict::match
                                  : tls::row_verdict::cannot;  // follows from the rows above
        if (rows.back().verdict == tls::row_verdict::cannot) {
            rows.back().note = "follows from the gaps above";
        }
        std::string h2_path = a.compare_h2;
        if (h2_path.empty()) {
            const std::filesystem::path p(a.compare);
            const auto sibling = p.parent_path() / (p.stem().string() + "-h2-frames.txt");
            if (std::filesystem::exists(sibling)) {
                h2_path = sibling.string();
            }
        }
        if (!h2_path.empty() && cap.alpn == "h2") {
            auto text = read_small_file(h2_path);
            auto ref_frames = text ? h2::parse_nghttpd_log(*text) : std::nullopt;
            if (!ref_frames) {
                return usage(h2_path + " holds no nghttpd -v request log");
            }
            rows.push_back(plain_row("HTTP/2 settings", settings_text(cap.frames),
                                     settings_text(*ref_frames)));
            rows.push_back(plain_row("HTTP/2 connection window", window_text(cap.frames),
                                     window_text(*ref_frames)));
            rows.push_back(plain_row("HTTP/2 HEADERS priority", priority_text(cap.frames),
                                     priority_text(*ref_frames)));
            rows.push_back(plain_row("pseudo-header order", pseudo_order(cap.frames),
                                     pseudo_order(*ref_frames)));
            rows.push_back(plain_row("header order",
                                     cap.frames.header_blocks.empty()
                                         ? std::string("(none)")
                                         : header_order(cap.frames.header_blocks.front().fields),
                                     header_order(ref_frames->header_blocks.front().fields)));
            rows.push_back(
                plain_row("Akamai", h2::akamai_string(cap.frames), h2::akamai_string(*ref_frames)));
        }
        int counts[3] = {0, 0, 0};
        out << "\ncompared with " << a.compare << (h2_path.empty() ? "" : " and " + h2_path)
            << "\n";
        for (const auto& r : rows) {
            ++counts[static_cast<int>(r.verdict)];
            out << "  " << r.field
                << std::string(r.field.size() < 26 ? 26 - r.field.size() : 1, ' ')
                << tls::to_string(r.verdict) << "\n"
                << "      ours       " << r.ours << "\n"
                << "      reference  " << r.reference << "\n";
            if (!r.note.empty()) {
                out << "      note       " << r.note << "\n";
            }
        }
        out << "total: " << counts[0] << " match, " << counts[2] << " cannot (library limit), "
            << counts[1] << " differs\n";
        status = counts[1] == 0 ? 0 : 1;
    }
    std::cout << out.str() << std::flush;
    return status;
}

}  // namespace corvid::cli
