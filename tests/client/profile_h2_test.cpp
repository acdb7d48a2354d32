// The HTTP/2 frames and headers a browser profile sends, as a real server
// sees them: the python3-h2 test server decodes the client's bytes itself
// (/frames) and reports the SETTINGS in order, the connection WINDOW_UPDATE,
// each HEADERS frame's priority, stream WINDOW_UPDATEs and the header list in
// wire order. They must equal the captures of Chromium 156 and Firefox ESR
// 153 (tests/data/fingerprints/*-h2-frames.txt).

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "corvid/client.hpp"
#include "corvid/profile.hpp"
#include "support/async.hpp"
#include "support/external_server.hpp"

namespace corvid {
namespace {

class ProfileH2 : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { server_ = new test::external_server(test::start_h2_server({})); }
    static void TearDownTestSuite() { delete server_; }

    // GET /frames on a fresh connection with profile `name`; the body.
    std::string frames(const char* name, request_kind kind = request_kind::navigation,
                       corvid::headers extra = {}) {
        std::string detail;
        auto p = profile::load(name, &detail);
        EXPECT_TRUE(p) << detail;
        client_options o;
        o.http_version = http_version_policy::http2_prior_knowledge;
        o.profile = p ? *p : nullptr;
        client c(io_.get_executor(), o);
        // A first request, so that everything its stream caused (Firefox's
        // stream WINDOW_UPDATE follows the HEADERS) is in the report.
        request first;
        first.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/hello";
        first.kind = kind;
        EXPECT_TRUE(test::run(io_, c.fetch(std::move(first))));
        request req;
        req.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/frames";
        req.kind = kind;
        req.headers = std::move(extra);
        auto res = test::run(io_, c.fetch(std::move(req)));
        EXPECT_TRUE(res) << res.error().message();
        c.close_idle();
        return res ? res->body : std::string();
    }

    static bool has(const std::string& body, const std::string& text) {
        return body.find(text) != std::string::npos;
    }

    asio::io_context io_{1};
    static inline test::external_server* server_ = nullptr;
};

TEST_F(ProfileH2, ChromeSendsChromiumsPrefaceAndHeaders) {
    const auto body = frames("chrome");
    // Akamai: 1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p
    EXPECT_TRUE(has(body, R"("entries": [{"id": 1, "name": "HEADER_TABLE_SIZE", "value": 65536}, )"
                          R"({"id": 2, "name": "ENABLE_PUSH", "value": 0}, )"
                          R"({"id": 4, "name": "INITIAL_WINDOW_SIZE", "value": 6291456}, )"
                          R"({"id": 6, "name": "MAX_HEADER_LIST_SIZE", "value": 262144}])"))
        << body;
    EXPECT_TRUE(has(body, R"("after_first_settings": 1, "increment": 15663105})")) << body;
    EXPECT_TRUE(has(body, R"("priority": {"exclusive": true, "depends_on": 0, "weight": 256})"))
        << body;
    EXPECT_TRUE(has(body, R"("priority_frames": [])")) << body;
    EXPECT_TRUE(
        has(body, R"("pseudo_header_order": [":method", ":authority", ":scheme", ":path"])"))
        << body;
    EXPECT_TRUE(has(body,
                    R"("header_order": ["sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", )"
                    R"("upgrade-insecure-requests", "user-agent", "accept", "sec-fetch-site", )"
                    R"("sec-fetch-mode", "sec-fetch-user", "sec-fetch-dest", "accept-encoding", )"
                    R"("accept-language", "priority"])"))
        << body;
}

TEST_F(ProfileH2, ChromeFetchUsesItsOwnHeadersAndWeight) {
    const auto body = frames("chrome", request_kind::fetch);
    EXPECT_TRUE(has(body, R"("priority": {"exclusive": true, "depends_on": 0, "weight": 220})"))
        << body;
    EXPECT_TRUE(has(body, R"("header_order": ["sec-ch-ua-platform", "user-agent", "sec-ch-ua", )"
                          R"("sec-ch-ua-mobile", "accept", "sec-fetch-site", "sec-fetch-mode", )"
                          R"("sec-fetch-dest", "accept-encoding", "accept-language", "priority"])"))
        << body;
}

TEST_F(ProfileH2, UserHeadersReplaceInPlaceAndNewOnesGoWhereTheBrowserPutsThem) {
    const auto body = frames("chrome", request_kind::fetch,
                             {{"User-Agent", "custom/1"}, {"Referer", "https://example.com/"}});
    EXPECT_TRUE(has(body, R"("header_order": ["sec-ch-ua-platform", "user-agent", "sec-ch-ua", )"
                          R"("sec-ch-ua-mobile", "accept", "sec-fetch-site", "sec-fetch-mode", )"
                          R"("sec-fetch-dest", "referer", "accept-encoding", "accept-language", )"
                          R"("priority"])"))
        << body;
    EXPECT_TRUE(has(body, R"(["user-agent", "custom/1"])")) << body;
}

TEST_F(ProfileH2, FirefoxSendsFirefoxsPrefaceAndHeaders) {
    const auto body = frames("firefox");
    // Akamai: 1:65536;2:0;4:131072;5:16384|12517377|0|m,p,a,s
    EXPECT_TRUE(has(body, R"("entries": [{"id": 1, "name": "HEADER_TABLE_SIZE", "value": 65536}, )"
                          R"({"id": 2, "name": "ENABLE_PUSH", "value": 0}, )"
                          R"({"id": 4, "name": "INITIAL_WINDOW_SIZE", "value": 131072}, )"
                          R"({"id": 5, "name": "MAX_FRAME_SIZE", "value": 16384}])"))
        << body;
    EXPECT_TRUE(has(body, R"("after_first_settings": 1, "increment": 12517377})")) << body;
    EXPECT_TRUE(has(body, R"("priority": {"exclusive": false, "depends_on": 0, "weight": 42})"))
        << body;
    EXPECT_TRUE(
        has(body, R"("pseudo_header_order": [":method", ":path", ":authority", ":scheme"])"))
        << body;
    EXPECT_TRUE(has(body, R"("header_order": ["user-agent", "accept", "accept-language", )"
                          R"("accept-encoding", "upgrade-insecure-requests", "sec-fetch-dest", )"
                          R"("sec-fetch-mode", "sec-fetch-site", "priority", "te"])"))
        << body;
    // The stream's WINDOW_UPDATE right behind its HEADERS (12451840).
    const auto headers = body.find(R"("type": "HEADERS")");
    const auto update =
        body.find(R"("type": "WINDOW_UPDATE", "type_id": 8, "flags": 0, "stream_id": 1,)");
    ASSERT_NE(headers, std::string::npos) << body;
    ASSERT_NE(update, std::string::npos) << body;
    EXPECT_LT(headers, update);
}

}  // namespace
}  // namespace corvid
