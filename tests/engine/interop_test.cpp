// corvid-server's engine (include/corvid/engine.hpp) against clients written
// by someone else: python3-websockets 10.4 with python3-msgpack and the
// Python standard library (tests/support/engine_client.py, which also signs
// its own HS256 tokens with hmac; http.client reads the SSE stream and urllib
// calls the HTTP API), and Chromium headless running
// tests/support/engine_page.html (WebSocket and EventSource).
//
// Each test starts an in-process engine_server on a free port (two workers,
// so connections land on different workers and publications cross the
// broker) and runs one scenario of the client; the scenario prints one line
// per check and FAIL lines for mismatches, which end up in the failure
// message.

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "corvid/engine.hpp"
#include "engine/jwt.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/external_server.hpp"
#include "tls/test_pki.hpp"

namespace corvid {
namespace {

using namespace std::chrono_literals;

constexpr const char* secret = "interop-secret-interop-secret-0123456789";
constexpr std::size_t max_message_bytes = 4096;
const std::string client_script = CORVID_SOURCE_DIR "/tests/support/engine_client.py";
const std::string page = CORVID_SOURCE_DIR "/tests/support/engine_page.html";
const std::string chromium = "/usr/bin/chromium";
const std::string curl = "/usr/bin/curl";

std::string percent_encode(std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// The lines of `text` that start with `prefix` (or, with `anywhere`,
// contain it).
std::string lines_with(const std::string& text, std::string_view prefix, bool anywhere = false) {
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) {
            end = text.size();
        }
        std::string_view line(text.data() + pos, end - pos);
        if (anywhere ? line.find(prefix) != std::string_view::npos : line.starts_with(prefix)) {
            out += line;
            out += '\n';
        }
        pos = end + 1;
    }
    return out;
}

class EngineInterop : public ::testing::Test {
  protected:
    void SetUp() override {
        engine_config config;
        config.listen = {"127.0.0.1:0"};
        config.jwt_secret = secret;
        config.workers = 2;
        config.max_message_bytes = max_message_bytes;
        // Short enough for a test to wait for one.
        config.sse_keepalive = std::chrono::milliseconds(300);
        configure(config);
        std::string detail;
        auto created = engine_server::create(config, &detail);
        ASSERT_TRUE(created) << created.error().message() << ": " << detail;
        server_ = std::move(*created);
        auto started = server_->start();
        ASSERT_TRUE(started) << started.error().message();
        ASSERT_EQ(server_->ports().size(), 1u);
        port_ = server_->ports()[0];
        ASSERT_NE(port_, 0);
    }

    void TearDown() override {
        if (server_) {
            server_->shutdown(std::chrono::milliseconds(500));
        }
    }

    // Settings of a derived fixture (TLS, permessage-deflate).
    virtual void configure(engine_config&) {}

    test::child_process start_client(const std::vector<std::string>& args) {
        std::vector<std::string> argv{"/usr/bin/python3", client_script, "--port"};
        argv.push_back(std::to_string(port_));
        argv.insert(argv.end(), {"--secret", secret});
        if (!ca_file_.empty()) {
            argv.insert(argv.end(), {"--ca", ca_file_});
        }
        argv.insert(argv.end(), args.begin(), args.end());
        return test::child_process::spawn(std::move(argv));
    }

    // Runs one scenario to its end and checks it reported no failure.
    void run_scenario(const std::vector<std::string>& args) {
        auto client = start_client(args);
        auto status = client.wait_exit(60s);
        ASSERT_TRUE(status) << "engine_client.py did not finish within 60 s\n" << client.describe();
        const std::string out = client.out();
        EXPECT_EQ(*status, 0) << lines_with(out, "FAIL") << "\n" << client.describe();
        EXPECT_NE(out.find("\ndone\n"), std::string::npos) << client.describe();
        EXPECT_EQ(out.find("FAIL"), std::string::npos) << client.describe();
        EXPECT_NE(out.find("ok "), std::string::npos) << client.describe();
    }

    std::string page_token() const {
        const auto now = static_cast<long long>(std::time(nullptr));
        return engine::sign_hs256(
            secret, R"({"sub":"browser","exp":)" + std::to_string(now + 600) +
                        R"(,"channels":["browser.news"],"publish":["browser.result"]})");
    }

    // The browser test: the Python observer subscribes to browser.result;
    // Chromium loads the page, which says "ready" there once subscribed to
    // browser.news; the observer then publishes `data` to browser.news over
    // the HTTP API and collects what the page reports back.
    //
    // Chromium runs as root here, hence --no-sandbox; `extra_flags` go
    // before the URL.
    std::string run_browser(bool with_sse, int reports,
                            const std::vector<std::string>& extra_flags = {}) {
        if (::access(chromium.c_str(), X_OK) != 0) {
            return {};
        }
        auto observer = start_client({"observe", "--ch", "browser.result", "--publish-ch",
                                      "browser.news", "--data", R"({"n":42,"s":"h\u00e9"})",
                                      "--expect", std::to_string(reports)});
        if (!observer.wait_for_output("subscribed", 30s)) {
            ADD_FAILURE() << "the observer did not subscribe\n" << observer.describe();
            return {};
        }
        const std::string tok = page_token();
        const std::string base = "127.0.0.1:" + std::to_string(port_);
        std::string url = "file://" + page + "#ws=" +
                          percent_encode((tls_ ? "wss://" : "ws://") + base + "/ws?token=" + tok);
        if (with_sse) {
            url += "&sse=" + percent_encode((tls_ ? "https://" : "http://") + base +
                                            "/sse?ch=browser.news&token=" + tok);
        }
        test::temp_dir profile("chromium-profile");
        std::vector<std::string> argv{chromium,
                                      "--headless=new",
                                      "--no-sandbox",
                                      "--disable-gpu",
                                      "--no-first-run",
                                      "--no-default-browser-check",
                                      "--disable-extensions",
                                      "--disable-dev-shm-usage",
                                      "--enable-logging=stderr",
                                      "--v=0",
                                      "--user-data-dir=" + profile.path().string()};
        argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
        argv.push_back(url);
        auto browser = test::child_process::spawn(std::move(argv));
        auto status = observer.wait_exit(90s);
        browser.kill();
        const std::string browser_log = "\n--- chromium console (stderr, CONSOLE lines):\n" +
                                        lines_with(browser.err(), "CONSOLE", true);
        if (!status) {
            ADD_FAILURE() << "the observer did not finish within 90 s\n"
                          << observer.describe() << browser_log;
            return {};
        }
        const std::string out = observer.out();
        EXPECT_EQ(*status, 0) << observer.describe() << browser_log;
        EXPECT_EQ(out.find("FAIL"), std::string::npos) << observer.describe() << browser_log;
        return out;
    }

    // curl (libcurl with OpenSSL and nghttp2) with `args`; its stdout.
    std::string run_curl(const std::vector<std::string>& args) {
        std::vector<std::string> argv{curl, "--silent", "--show-error", "--max-time", "30"};
        if (!ca_file_.empty()) {
            argv.insert(argv.end(), {"--cacert", ca_file_});
        }
        argv.insert(argv.end(), args.begin(), args.end());
        auto p = test::child_process::spawn(std::move(argv));
        auto status = p.wait_exit(60s);
        EXPECT_TRUE(status && *status == 0) << p.describe();
        return p.out();
    }

    // An HTTP/2 client that is not corvid's: curl publishes over HTTP/2
    // (`version_flag`), a python3-websockets subscriber receives.
    void curl_publish_over_http2(const std::string& version_flag) {
        auto waiter = start_client({"wait-msgs", "--ch", "curl.news", "--expect", "2"});
        ASSERT_TRUE(waiter.wait_for_output("subscribed", 30s)) << waiter.describe();
        const auto now = static_cast<long long>(std::time(nullptr));
        const std::string admin = engine::sign_hs256(
            secret, R"({"sub":"ops","admin":true,"exp":)" + std::to_string(now + 600) + "}");
        const std::string base =
            std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
        EXPECT_EQ(run_curl({version_flag, "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                            base + "/healthz"}),
                  "2 200");
        for (int i = 1; i <= 2; ++i) {
            const std::string answer =
                run_curl({version_flag, "-H", "Authorization: Bearer " + admin, "-H",
                          "Content-Type: application/json", "--data-binary",
                          R"({"ch":"curl.news","data":{"i":)" + std::to_string(i) + "}}", "-w",
                          " %{http_version} %{http_code}", base + "/api/publish"});
            EXPECT_NE(answer.find(R"("offset":)" + std::to_string(i) + "}"), std::string::npos)
                << answer;
            EXPECT_TRUE(answer.ends_with(" 2 200")) << answer;
        }
        auto status = waiter.wait_exit(30s);
        ASSERT_TRUE(status) << waiter.describe();
        EXPECT_EQ(*status, 0) << waiter.describe();
        EXPECT_NE(waiter.out().find("msg 1 {\"i\":1}\nmsg 2 {\"i\":2}\n"), std::string::npos)
            << waiter.describe();
    }

    std::unique_ptr<engine_server> server_;
    bool tls_ = false;
    std::string ca_file_;
    std::uint16_t port_ = 0;
};

// The same server over TLS (a certificate from a throwaway CA for
// 127.0.0.1; ALPN h2 and http/1.1): Python's ssl and curl are OpenSSL
// clients of corvid's BoringSSL server.
class EngineInteropTls : public EngineInterop {
  protected:
    void configure(engine_config& config) override {
        auto ca = tls::test_ca::create();
        ASSERT_TRUE(ca);
        auto leaf = ca->issue({});
        ASSERT_TRUE(leaf);
        ca_file_ = files_.file("ca.pem");
        test::write_text_file(ca_file_, ca->cert_pem());
        test::write_text_file(files_.file("cert.pem"), leaf->cert_pem);
        test::write_text_file(files_.file("key.pem"), leaf->key_pem);
        config.tls_cert_file = files_.file("cert.pem");
        config.tls_key_file = files_.file("key.pem");
        tls_ = true;
    }

    test::temp_dir files_{"interop-tls"};
};

// The same server offering permessage-deflate (--ws-deflate): both
// python3-websockets and Chromium ask for it.
class EngineInteropDeflate : public EngineInterop {
  protected:
    void configure(engine_config& config) override { config.ws_deflate = true; }
};

// --- python3-websockets -----------------------------------------------------

TEST_F(EngineInterop, PythonRoundTripJsonTokenInQuery) {
    run_scenario({"roundtrip", "--format", "json", "--auth", "query"});
}

TEST_F(EngineInterop, PythonRoundTripJsonTokenInAuthorization) {
    run_scenario({"roundtrip", "--format", "json", "--auth", "header"});
}

TEST_F(EngineInterop, PythonRoundTripMsgpackTokenInQuery) {
    run_scenario({"roundtrip", "--format", "msgpack", "--auth", "query"});
}

TEST_F(EngineInterop, PythonRoundTripMsgpackTokenInAuthorization) {
    run_scenario({"roundtrip", "--format", "msgpack", "--auth", "header"});
}

TEST_F(EngineInterop, PythonJsonAndMsgpackSubscribersOfOneChannel) {
    run_scenario({"mixed"});
}

TEST_F(EngineInterop, PythonErrReplies) {
    run_scenario({"errors", "--format", "json"});
}

TEST_F(EngineInterop, PythonErrRepliesMsgpack) {
    run_scenario({"errors", "--format", "msgpack"});
}

TEST_F(EngineInterop, PythonRefusedHandshakesSayWhy) {
    run_scenario({"refused"});
}

TEST_F(EngineInterop, PythonCloseCodesForOversizeAndInvalidUtf8) {
    run_scenario({"close-codes", "--max-message", std::to_string(max_message_bytes)});
}

TEST_F(EngineInterop, PythonFragmentsInterleavedPingAndTheSizeLimit) {
    run_scenario(
        {"frames", "--format", "json", "--max-message", std::to_string(max_message_bytes)});
}

TEST_F(EngineInterop, PythonFragmentsMsgpack) {
    run_scenario({"frames", "--format", "msgpack"});
}

TEST_F(EngineInterop, PythonSseStreamAndResumeByLastEventId) {
    run_scenario({"sse", "--sse-keepalive"});
}

TEST_F(EngineInterop, PythonHttpApiRefusalsHealthzMetrics) {
    run_scenario({"api"});
}

TEST_F(EngineInteropDeflate, PythonRoundTripJsonCompressed) {
    run_scenario({"roundtrip", "--format", "json", "--deflate"});
}

TEST_F(EngineInteropDeflate, PythonRoundTripMsgpackCompressed) {
    run_scenario({"roundtrip", "--format", "msgpack", "--deflate"});
}

TEST_F(EngineInteropDeflate, PythonFragmentsCompressed) {
    run_scenario({"frames", "--deflate", "--max-message", std::to_string(max_message_bytes)});
}

// --- curl (HTTP/2) ------------------------------------------------------------

TEST_F(EngineInterop, CurlH2cPriorKnowledgePublishReachesSubscriber) {
    curl_publish_over_http2("--http2-prior-knowledge");
}

// --- over TLS -----------------------------------------------------------------

TEST_F(EngineInteropTls, PythonRoundTripJson) {
    run_scenario({"roundtrip", "--format", "json", "--auth", "query"});
}

TEST_F(EngineInteropTls, PythonRoundTripMsgpack) {
    run_scenario({"roundtrip", "--format", "msgpack", "--auth", "header"});
}

TEST_F(EngineInteropTls, PythonSseStreamAndResume) {
    run_scenario({"sse"});
}

TEST_F(EngineInteropTls, PythonHttpApi) {
    run_scenario({"api"});
}

TEST_F(EngineInteropTls, CurlHttp2ByAlpnPublishReachesSubscriber) {
    curl_publish_over_http2("--http2");
}

// --- Chromium headless ------------------------------------------------------

TEST_F(EngineInterop, ChromiumWebSocketSubscribesAndReceives) {
    if (::access(chromium.c_str(), X_OK) != 0) {
        GTEST_SKIP() << chromium << " is missing (Debian package chromium)";
    }
    const std::string out = run_browser(false, 1);
    EXPECT_NE(out.find("ok the page says ready"), std::string::npos) << out;
    EXPECT_NE(out.find(R"(data: {"ext":"","got":{"n":42,"s":"h\u00e9"}})"), std::string::npos)
        << out;
}

// What the page reports for the EventSource: the msg event's data, its
// lastEventId ("EPOCH:OFFSET" of the publication), channel and offset.
void expect_sse_report(const std::string& out) {
    EXPECT_NE(out.find("ok the page says ready"), std::string::npos) << out;
    EXPECT_NE(out.find(R"(data: {"ext":"","got":{"n":42,"s":"h\u00e9"}})"), std::string::npos)
        << out;
    // The observer printed "published EPOCH:OFFSET" for its publication.
    const auto at = out.find("published ");
    ASSERT_NE(at, std::string::npos) << out;
    const std::string id = out.substr(at + 10, out.find('\n', at) - at - 10);
    const std::string offset = id.substr(id.find(':') + 1);
    EXPECT_NE(out.find(R"(data: {"ch":"browser.news","id":")" + id + R"(","offset":)" + offset +
                       R"(,"sse":{"n":42,"s":"h\u00e9"}})"),
              std::string::npos)
        << out;
}

TEST_F(EngineInteropDeflate, ChromiumWebSocketCompressed) {
    if (::access(chromium.c_str(), X_OK) != 0) {
        GTEST_SKIP() << chromium << " is missing (Debian package chromium)";
    }
    const std::string out = run_browser(false, 1);
    EXPECT_NE(out.find("ok the page says ready"), std::string::npos) << out;
    EXPECT_NE(out.find(R"(data: {"ext":"permessage-deflate)"), std::string::npos) << out;
    EXPECT_NE(out.find(R"(,"got":{"n":42,"s":"h\u00e9"}})"), std::string::npos) << out;
}

// wss:// from the browser (the certificate's CA is not in Chromium's store,
// hence --ignore-certificate-errors).
TEST_F(EngineInteropTls, ChromiumWebSocketOverTls) {
    if (::access(chromium.c_str(), X_OK) != 0) {
        GTEST_SKIP() << chromium << " is missing (Debian package chromium)";
    }
    const std::string out = run_browser(false, 1, {"--ignore-certificate-errors"});
    EXPECT_NE(out.find("ok the page says ready"), std::string::npos) << out;
    EXPECT_NE(out.find(R"(data: {"ext":"","got":{"n":42,"s":"h\u00e9"}})"), std::string::npos)
        << out;
}

// The EventSource's view of the SSE stream (event names, id, data). The page
// is a file:// URL (origin "null") and /sse sends no CORS headers, so web
// security is off for this one; the next test is the cross-origin case.
TEST_F(EngineInterop, ChromiumEventSourceReceivesWithEpochOffsetId) {
    if (::access(chromium.c_str(), X_OK) != 0) {
        GTEST_SKIP() << chromium << " is missing (Debian package chromium)";
    }
    expect_sse_report(run_browser(true, 2, {"--disable-web-security"}));
}

// A page from another origin (every page but one served by corvid-server
// itself) can only read /sse when the response allows it by CORS
// (Access-Control-Allow-Origin). corvid-server sends none yet: Chromium
// blocks the stream ("No 'Access-Control-Allow-Origin' header is present").
// Disabled until /sse answers with CORS headers; reported to the lead.
TEST_F(EngineInterop, ChromiumEventSourceFromAnotherOrigin) {
    if (::access(chromium.c_str(), X_OK) != 0) {
        GTEST_SKIP() << chromium << " is missing (Debian package chromium)";
    }
    expect_sse_report(run_browser(true, 2));
}

}  // namespace
}  // namespace corvid
