// corvid-server's settings (parse_engine_args, include/corvid/engine.hpp):
// flags, the config file with the same names, precedence, units and the
// errors a user sees.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "corvid/engine.hpp"

namespace {

corvid::result<corvid::engine_config> parse(std::vector<std::string> args,
                                            std::string* detail = nullptr) {
    std::vector<const char*> argv{"corvid-server"};
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    std::string ignored;
    return corvid::parse_engine_args(static_cast<int>(argv.size()), argv.data(),
                                     detail != nullptr ? detail : &ignored);
}

std::string write_temp(const std::string& text) {
    char path[] = "/tmp/corvid-config-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    close(fd);
    std::ofstream(path) << text;
    return path;
}

TEST(EngineConfig, DefaultsAreSafe) {
    unsetenv("CORVID_JWT_SECRET");
    auto c = parse({});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->listen, std::vector<std::string>{"127.0.0.1:8080"});
    EXPECT_FALSE(c->allow_anonymous);
    EXPECT_TRUE(c->jwt_secret.empty());
    EXPECT_EQ(c->max_message_bytes, 64u * 1024);
    EXPECT_EQ(c->jwt_leeway, std::chrono::seconds(30));
}

TEST(EngineConfig, FlagsWithUnits) {
    auto c = parse({"--listen",
                    "0.0.0.0:9000",
                    "--listen=[::1]:9001",
                    "--workers",
                    "3",
                    "--max-message-bytes",
                    "1M",
                    "--max-queued-bytes=64K",
                    "--ws-ping-interval",
                    "250ms",
                    "--ws-idle-timeout",
                    "2m",
                    "--history-ttl",
                    "90",
                    "--allow-anonymous",
                    "--anonymous-channels",
                    "public.*, news.**",
                    "--jwt-audience",
                    "a",
                    "--jwt-audience",
                    "b"});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->listen, (std::vector<std::string>{"0.0.0.0:9000", "[::1]:9001"}));
    EXPECT_EQ(c->workers, 3u);
    EXPECT_EQ(c->max_message_bytes, 1024u * 1024);
    EXPECT_EQ(c->max_queued_bytes, 64u * 1024);
    EXPECT_EQ(c->ws_ping_interval, std::chrono::milliseconds(250));
    EXPECT_EQ(c->ws_idle_timeout, std::chrono::minutes(2));
    EXPECT_EQ(c->history_ttl, std::chrono::seconds(90));
    EXPECT_TRUE(c->allow_anonymous);
    EXPECT_EQ(c->anonymous_channels, (std::vector<std::string>{"public.*", "news.**"}));
    EXPECT_EQ(c->jwt_audiences, (std::vector<std::string>{"a", "b"}));
}

TEST(EngineConfig, FileAndFlagPrecedence) {
    auto secret_file = write_temp("file-secret-0123456789abcdef0123456789\n");
    auto file = write_temp(
        "# corvid-server settings\n"
        "listen = 127.0.0.1:7001\n"
        "listen 127.0.0.1:7002\n"
        "workers = 2\n"
        "jwt-secret-file = " +
        secret_file +
        "\n"
        "ws-deflate = true\n"
        "\n"
        "max-subscriptions = 10\n");
    auto c = parse({"--config", file, "--workers", "5"});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->listen, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
    EXPECT_EQ(c->workers, 5u);                                           // the flag wins
    EXPECT_EQ(c->jwt_secret, "file-secret-0123456789abcdef0123456789");  // newline dropped
    EXPECT_TRUE(c->ws_deflate);
    EXPECT_EQ(c->max_subscriptions, 10u);
    // A list on the command line replaces the file's list.
    auto d = parse({"--config", file, "--listen", "127.0.0.1:7003"});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->listen, std::vector<std::string>{"127.0.0.1:7003"});
    std::remove(file.c_str());
    std::remove(secret_file.c_str());
}

TEST(EngineConfig, ErrorsNameTheSetting) {
    std::string detail;
    EXPECT_FALSE(parse({"--bogus", "1"}, &detail));
    EXPECT_NE(detail.find("unknown option --bogus"), std::string::npos) << detail;
    EXPECT_FALSE(parse({"--workers", "many"}, &detail));
    EXPECT_NE(detail.find("--workers"), std::string::npos) << detail;
    EXPECT_FALSE(parse({"--ws-idle-timeout", "soon"}, &detail));
    EXPECT_NE(detail.find("duration"), std::string::npos) << detail;
    EXPECT_FALSE(parse({"--max-message-bytes", "12Q"}, &detail));
    EXPECT_FALSE(parse({"--jwt-secret"}, &detail));
    EXPECT_NE(detail.find("needs a value"), std::string::npos) << detail;
    EXPECT_FALSE(parse({"--config", "/nonexistent/corvid.conf"}, &detail));
    EXPECT_NE(detail.find("cannot read"), std::string::npos) << detail;
    auto file = write_temp("workers = 2\nlisten-everywhere = yes\n");
    EXPECT_FALSE(parse({"--config", file}, &detail));
    EXPECT_NE(detail.find(":2: unknown setting 'listen-everywhere'"), std::string::npos) << detail;
    std::remove(file.c_str());
    EXPECT_FALSE(parse({"positional"}, &detail));
}

TEST(EngineConfig, SecretFromEnvironment) {
    setenv("CORVID_JWT_SECRET", "env-secret-0123456789abcdef0123456789", 1);
    auto c = parse({});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->jwt_secret, "env-secret-0123456789abcdef0123456789");
    auto d = parse({"--jwt-secret", "flag-secret-0123456789abcdef012345678"});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->jwt_secret, "flag-secret-0123456789abcdef012345678");
    unsetenv("CORVID_JWT_SECRET");
}

TEST(EngineConfig, EngineServerRefusesUnsafeOrInconsistentSettings) {
    corvid::engine_config c;
    std::string detail;
    auto none = corvid::engine_server::create(c, &detail);
    EXPECT_FALSE(none);
    EXPECT_NE(detail.find("no JWT key"), std::string::npos) << detail;
    c.jwt_secret = "short";
    EXPECT_FALSE(corvid::engine_server::create(c, &detail));
    EXPECT_EQ(corvid::engine_server::create(c).error(), corvid::jwt_errc::key_too_weak);
    c.jwt_secret = "0123456789abcdef0123456789abcdef";
    c.jwks_file = "/tmp/x.jwks";
    EXPECT_FALSE(corvid::engine_server::create(c, &detail));
    EXPECT_NE(detail.find("not several"), std::string::npos) << detail;
    c.jwks_file.clear();
    c.listen = {"localhost"};
    EXPECT_FALSE(corvid::engine_server::create(c, &detail));
    EXPECT_NE(detail.find("HOST:PORT"), std::string::npos) << detail;
    c.listen = {"127.0.0.1:0"};
    c.tls_cert_file = "/tmp/cert.pem";
    EXPECT_FALSE(corvid::engine_server::create(c, &detail));
    EXPECT_NE(detail.find("both --tls-cert and --tls-key"), std::string::npos) << detail;
    c.tls_cert_file.clear();
    EXPECT_TRUE(corvid::engine_server::create(c, &detail)) << detail;
}

}  // namespace
