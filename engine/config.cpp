// corvid-server's settings from flags and a config file
// (parse_engine_args, include/corvid/engine.hpp).
//
// The config file holds the same settings as the flags, one per line:
//
//     # comment
//     listen = 0.0.0.0:8080
//     jwt-secret-file = /etc/corvid/secret
//     workers = 4
//     allow-anonymous = true
//
// A name is a long flag without its dashes; "name value" (no '=') works too.
// List settings (listen, jwt-audience, allowed-origin, anonymous-channels,
// anonymous-publish) may repeat. Flags on the command line win over the file:
// a list given on the command line replaces the file's list.
//
// Durations take a unit: "250ms", "30s", "5m"; a bare number is seconds.
// Sizes take an optional K, M or G suffix (powers of 1024).

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "corvid/engine.hpp"

namespace corvid {

namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

bool parse_uint(std::string_view s, std::uint64_t& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

bool parse_size(std::string_view s, std::size_t& out) {
    std::uint64_t mult = 1;
    if (!s.empty()) {
        switch (s.back()) {
            case 'k':
            case 'K':
                mult = 1024;
                break;
            case 'm':
            case 'M':
                mult = 1024 * 1024;
                break;
            case 'g':
            case 'G':
                mult = 1024ull * 1024 * 1024;
                break;
            default:
                break;
        }
        if (mult != 1) {
            s.remove_suffix(1);
        }
    }
    std::uint64_t v = 0;
    if (!parse_uint(s, v) || v > (std::uint64_t{1} << 40) / mult) {
        return false;
    }
    out = static_cast<std::size_t>(v * mult);
    return true;
}

bool parse_bool(std::string_view s, bool& out) {
    if (s == "true" || s == "yes" || s == "on" || s == "1") {
        out = true;
        return true;
    }
    if (s == "false" || s == "no" || s == "off" || s == "0") {
        out = false;
        return true;
    }
    return false;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Splits "a,b , c" into its non-empty trimmed parts.
std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        auto comma = s.find(',');
        auto part = trim(s.substr(0, comma));
        if (!part.empty()) {
            out.emplace_back(part);
        }
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    }
    return out;
}

struct setting {
    bool takes_value = true;
    std::function<bool(engine_config&, std::string_view, std::string&)> apply;
    bool list = false;
};

std::map<std::string, setting, std::less<>> settings_table() {
    std::map<std::string, setting, std::less<>> t;
    auto size = [](std::size_t engine_config::*m) {
        return setting{true, [m](engine_config& c, std::string_view v, std::string& why) {
                           if (!parse_size(v, c.*m)) {
                               why = "expects a size such as 65536 or 64K";
                               return false;
                           }
                           return true;
                       }};
    };
    auto duration = [](std::chrono::milliseconds engine_config::*m) {
        return setting{true, [m](engine_config& c, std::string_view v, std::string& why) {
                           if (!parse_duration(v, c.*m)) {
                               why = "expects a duration such as 250ms, 30s or 5m";
                               return false;
                           }
                           return true;
                       }};
    };
    auto text = [](std::string engine_config::*m) {
        return setting{true, [m](engine_config& c, std::string_view v, std::string&) {
                           c.*m = std::string(v);
                           return true;
                       }};
    };
    auto list = [](std::vector<std::string> engine_config::*m) {
        return setting{true,
                       [m](engine_config& c, std::string_view v, std::string&) {
                           for (auto& item : split_list(v)) {
                               (c.*m).push_back(std::move(item));
                           }
                           return true;
                       },
                       true};
    };
    auto flag = [](bool engine_config::*m) {
        return setting{false, [m](engine_config& c, std::string_view v, std::string& why) {
                           if (v.empty()) {
                               c.*m = true;
                               return true;
                           }
                           if (!parse_bool(v, c.*m)) {
                               why = "expects true or false";
                               return false;
                           }
                           return true;
                       }};
    };
    t["listen"] = list(&engine_config::listen);
    t["tls-cert"] = text(&engine_config::tls_cert_file);
    t["tls-key"] = text(&engine_config::tls_key_file);
    t["jwt-secret"] = text(&engine_config::jwt_secret);
    t["jwt-secret-file"] =
        setting{true, [](engine_config& c, std::string_view v, std::string& why) {
                    auto s = read_file(std::string(v));
                    if (!s) {
                        why = "cannot read the file";
                        return false;
                    }
                    // A trailing newline is an editor's, not the secret's.
                    while (!s->empty() && (s->back() == '\n' || s->back() == '\r')) {
                        s->pop_back();
                    }
                    c.jwt_secret = std::move(*s);
                    return true;
                }};
    t["jwt-public-key"] = text(&engine_config::jwt_public_key_file);
    t["jwks"] = text(&engine_config::jwks_file);
    t["jwt-issuer"] = text(&engine_config::jwt_issuer);
    t["jwt-audience"] = list(&engine_config::jwt_audiences);
    t["jwt-leeway"] = setting{true, [](engine_config& c, std::string_view v, std::string& why) {
                                  std::chrono::milliseconds d{};
                                  if (!parse_duration(v, d)) {
                                      why = "expects a duration such as 30s";
                                      return false;
                                  }
                                  c.jwt_leeway =
                                      std::chrono::duration_cast<std::chrono::seconds>(d);
                                  return true;
                              }};
    t["allow-anonymous"] = flag(&engine_config::allow_anonymous);
    t["anonymous-channels"] = list(&engine_config::anonymous_channels);
    t["anonymous-publish"] = list(&engine_config::anonymous_publish);
    t["allowed-origin"] = list(&engine_config::allowed_origins);
    t["workers"] = setting{true, [](engine_config& c, std::string_view v, std::string& why) {
                               std::uint64_t n = 0;
                               if (!parse_uint(v, n) || n > 1024) {
                                   why = "expects a number of threads (0: one per core)";
                                   return false;
                               }
                               c.workers = n;
                               return true;
                           }};
    t["max-connections"] = size(&engine_config::max_connections);
    t["max-connections-per-ip"] = size(&engine_config::max_connections_per_ip);
    t["max-header-bytes"] = size(&engine_config::max_header_bytes);
    t["max-body-bytes"] = size(&engine_config::max_body_bytes);
    t["max-message-bytes"] = size(&engine_config::max_message_bytes);
    t["max-data-bytes"] = size(&engine_config::max_data_bytes);
    t["max-subscriptions"] = size(&engine_config::max_subscriptions);
    t["max-queued-bytes"] = size(&engine_config::max_queued_bytes);
    t["history-size"] = size(&engine_config::history_size);
    t["http-idle-timeout"] = duration(&engine_config::http_idle_timeout);
    t["ws-ping-interval"] = duration(&engine_config::ws_ping_interval);
    t["ws-idle-timeout"] = duration(&engine_config::ws_idle_timeout);
    t["sse-keepalive"] = duration(&engine_config::sse_keepalive);
    t["ws-deflate"] = flag(&engine_config::ws_deflate);
    t["history-ttl"] = setting{true, [](engine_config& c, std::string_view v, std::string& why) {
                                   std::chrono::milliseconds d{};
                                   if (!parse_duration(v, d)) {
                                       why = "expects a duration such as 300s or 5m";
                                       return false;
                                   }
                                   c.history_ttl =
                                       std::chrono::duration_cast<std::chrono::seconds>(d);
                                   return true;
                               }};
    return t;
}

struct assignment {
    std::string name;
    std::string value;
    std::string where;  // "--flag" or "FILE:LINE"
};

}  // namespace

bool parse_duration(std::string_view s, std::chrono::milliseconds& out) noexcept {
    std::uint64_t mult = 1000;
    if (s.ends_with("ms")) {
        mult = 1;
        s.remove_suffix(2);
    } else if (s.ends_with('s')) {
        s.remove_suffix(1);
    } else if (s.ends_with('m')) {
        mult = 60'000;
        s.remove_suffix(1);
    } else if (s.ends_with('h')) {
        mult = 3'600'000;
        s.remove_suffix(1);
    }
    std::uint64_t v = 0;
    if (!parse_uint(s, v) || v > 365ull * 24 * 3600 * 1000 / mult) {
        return false;
    }
    out = std::chrono::milliseconds(v * mult);
    return true;
}

result<engine_config> parse_engine_args(int argc, const char* const* argv, std::string* detail) {
    auto fail = [&](std::string why) -> result<engine_config> {
        if (detail != nullptr) {
            *detail = std::move(why);
        }
        return std::make_error_code(std::errc::invalid_argument);
    };
    const auto table = settings_table();
    std::vector<assignment> from_flags;
    std::string config_file;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (!arg.starts_with("--")) {
            return fail("unexpected argument '" + std::string(arg) +
                        "' (settings are --name VALUE)");
        }
        std::string_view name = arg.substr(2);
        std::optional<std::string_view> inline_value;
        if (auto eq = name.find('='); eq != std::string_view::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (name == "config") {
            if (inline_value) {
                config_file = std::string(*inline_value);
            } else if (i + 1 < argc) {
                config_file = argv[++i];
            } else {
                return fail("--config needs a file");
            }
            continue;
        }
        auto it = table.find(name);
        if (it == table.end()) {
            return fail("unknown option --" + std::string(name) + " (see corvid-server --help)");
        }
        std::string value;
        if (inline_value) {
            value = std::string(*inline_value);
        } else if (it->second.takes_value) {
            if (i + 1 >= argc) {
                return fail("--" + std::string(name) + " needs a value");
            }
            value = argv[++i];
        }
        from_flags.push_back({std::string(name), std::move(value), "--" + std::string(name)});
    }

    std::vector<assignment> all;
    if (!config_file.empty()) {
        auto text = read_file(config_file);
        if (!text) {
            return fail("cannot read the config file " + config_file);
        }
        std::istringstream lines(*text);
        std::string line;
        int number = 0;
        while (std::getline(lines, line)) {
            ++number;
            std::string_view l = trim(line);
            if (l.empty() || l.front() == '#') {
                continue;
            }
            auto sep = l.find_first_of("= \t");
            std::string_view name = trim(l.substr(0, sep));
            std::string_view value =
                sep == std::string_view::npos ? std::string_view{} : trim(l.substr(sep + 1));
            if (!value.empty() && value.front() == '=') {
                value = trim(value.substr(1));
            }
            std::string where = config_file + ":" + std::to_string(number);
            if (!table.contains(name)) {
                return fail(where + ": unknown setting '" + std::string(name) + "'");
            }
            all.push_back({std::string(name), std::string(value), std::move(where)});
        }
    }
    // Command-line lists replace the file's: drop the file's entries for any
    // list the flags set.
    std::set<std::string> flag_lists;
    for (const auto& a : from_flags) {
        if (table.at(a.name).list) {
            flag_lists.insert(a.name);
        }
    }
    std::erase_if(all, [&](const assignment& a) { return flag_lists.contains(a.name); });
    all.insert(all.end(), from_flags.begin(), from_flags.end());

    engine_config config;
    std::set<std::string> lists_started;  // the defaults of a list are replaced, not extended
    if (const char* env = std::getenv("CORVID_JWT_SECRET"); env != nullptr && *env != '\0') {
        config.jwt_secret = env;
    }
    for (const auto& a : all) {
        const auto& s = table.at(a.name);
        if (s.list && lists_started.insert(a.name).second) {
            if (a.name == "listen") {
                config.listen.clear();
            } else if (a.name == "anonymous-channels") {
                config.anonymous_channels.clear();
            }
        }
        std::string why;
        if (!s.apply(config, a.value, why)) {
            return fail(a.where + ": '" + a.value + "' " + why);
        }
    }
    if (config.listen.empty()) {
        return fail("no --listen address");
    }
    return config;
}

std::string describe(const engine_config& c) {
    std::string auth;
    if (!c.jwt_secret.empty()) {
        auth = "HS256 secret";
    } else if (!c.jwt_public_key_file.empty()) {
        auth = "public key " + c.jwt_public_key_file;
    } else if (!c.jwks_file.empty()) {
        auth = "JWKS " + c.jwks_file;
    } else {
        auth = "none";
    }
    if (c.allow_anonymous) {
        auth += ", anonymous allowed";
    }
    std::size_t workers =
        c.workers != 0 ? c.workers : std::max<std::size_t>(1, std::thread::hardware_concurrency());
    std::ostringstream s;
    s << "workers=" << workers << " auth=" << auth
      << " tls=" << (c.tls_cert_file.empty() ? "off" : "on")
      << " max-connections=" << c.max_connections
      << " max-connections-per-ip=" << c.max_connections_per_ip
      << " max-message-bytes=" << c.max_message_bytes
      << " max-subscriptions=" << c.max_subscriptions << " history-size=" << c.history_size
      << " history-ttl=" << c.history_ttl.count() << "s"
      << " ws-deflate=" << (c.ws_deflate ? "on" : "off");
    return s.str();
}

}  // namespace corvid
