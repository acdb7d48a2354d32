#include "apps/corvid/options.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <string>

#include "apps/corvid/exit_codes.hpp"

namespace corvid::cli {

namespace {

// A handler gets the option's argument (empty for flags) and `on` (false for
// the --no- form of a boolean); it returns an error message or "".
using handler = std::function<std::string(options&, std::string_view arg, bool on)>;

struct option_def {
    std::string_view long_name;
    char short_name;  // 0: none
    bool takes_arg;
    std::string_view arg_name;  // for --help
    std::string_view help;
    handler apply;
};

std::string bad_number(std::string_view name) {
    return "option " + std::string(name) + ": expected a proper numerical parameter";
}

// Seconds as curl takes them: a non-negative decimal, fractions allowed.
std::optional<double> parse_seconds(std::string_view s) {
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v) ||
        v < 0) {
        return std::nullopt;
    }
    return v;
}

std::optional<int> parse_int(std::string_view s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
        return std::nullopt;
    }
    return v;
}

handler flag(bool options::*member) {
    return [member](options& o, std::string_view, bool on) {
        o.*member = on;
        return std::string();
    };
}

handler text(std::optional<std::string> options::*member) {
    return [member](options& o, std::string_view arg, bool) {
        o.*member = std::string(arg);
        return std::string();
    };
}

handler data(data_item::kind k) {
    return [k](options& o, std::string_view arg, bool) {
        o.data.push_back({k, std::string(arg)});
        return std::string();
    };
}

handler proxy_with_scheme(std::string_view scheme, std::string_view name) {
    return [scheme, name](options& o, std::string_view arg, bool) {
        auto p = normalize_proxy(std::string(scheme) + "://" + std::string(arg));
        if (!p || arg.empty()) {
            return "option " + std::string(name) + ": expected HOST[:PORT]";
        }
        o.proxy = *p;
        return std::string();
    };
}

const std::vector<option_def>& table() {
    static const std::vector<option_def> defs = {
        {"url", 0, true, "URL", "URL to fetch (same as a bare URL argument)",
         [](options& o, std::string_view a, bool) {
             o.urls.emplace_back(a);
             return std::string();
         }},
        {"request", 'X', true, "METHOD", "request method to use (default GET, POST with -d)",
         text(&options::method)},
        {"header", 'H', true, "LINE",
         "extra header \"Name: value\"; \"Name:\" removes a default header, \"Name;\" sends it "
         "empty, @FILE reads one per line",
         [](options& o, std::string_view a, bool) {
             o.headers.emplace_back(a);
             return std::string();
         }},
        {"data", 'd', true, "DATA", "POST data (form-urlencoded); @FILE reads a file without CR/LF",
         data(data_item::kind::ascii)},
        {"data-ascii", 0, true, "DATA", "same as -d", data(data_item::kind::ascii)},
        {"data-binary", 0, true, "DATA", "POST data; @FILE read verbatim, @- reads stdin",
         data(data_item::kind::binary)},
        {"data-raw", 0, true, "DATA", "POST data, '@' has no special meaning",
         data(data_item::kind::raw)},
        {"data-urlencode", 0, true, "DATA", "POST data, URL-encoded (content, name=content, @file)",
         data(data_item::kind::urlencode)},
        {"json", 0, true, "DATA", "POST JSON (like --data-binary, with JSON Content-Type/Accept)",
         data(data_item::kind::json)},
        {"get", 'G', false, "", "put -d data in the URL query and use GET", flag(&options::get)},
        {"output", 'o', true, "FILE",
         "write the body to FILE instead of stdout (one -o per URL, in order)",
         [](options& o, std::string_view a, bool) {
             o.outputs.push_back({false, std::string(a)});
             return std::string();
         }},
        {"remote-name", 'O', false, "",
         "write the body to a file named like the URL's last segment",
         [](options& o, std::string_view, bool) {
             o.outputs.push_back({true, {}});
             return std::string();
         }},
        {"include", 'i', false, "", "include the response status line and headers in the output",
         flag(&options::include)},
        {"head", 'I', false, "", "send HEAD and show the response headers", flag(&options::head)},
        {"dump-header", 'D', true, "FILE", "write the response headers to FILE (- for stdout)",
         [](options& o, std::string_view a, bool) {
             o.dump_header = std::string(a);
             return std::string();
         }},
        {"location", 'L', false, "", "follow redirects", flag(&options::location)},
        {"max-redirs", 0, true, "N", "follow at most N redirects (default 50, -1: no limit)",
         [](options& o, std::string_view a, bool) {
             auto n = parse_int(a);
             if (!n || *n < -1) {
                 return bad_number("--max-redirs");
             }
             o.max_redirs = *n;
             return std::string();
         }},
        {"verbose", 'v', false, "", "show connection details and headers on stderr",
         flag(&options::verbose)},
        {"silent", 's', false, "", "no progress bar and no error messages", flag(&options::silent)},
        {"show-error", 'S', false, "", "show error messages even with -s",
         flag(&options::show_error)},
        {"progress-bar", '#', false, "", "show the progress bar (the default for -o to a terminal)",
         [](options& o, std::string_view, bool on) {
             o.progress_bar = on;
             return std::string();
         }},
        {"progress-meter", 0, false, "", "--no-progress-meter hides the progress bar",
         flag(&options::progress_bar)},
        {"fail", 'f', false, "", "exit 22 without output when the HTTP status is >= 400",
         flag(&options::fail)},
        {"fail-with-body", 0, false, "", "exit 22 when the status is >= 400, after the body",
         flag(&options::fail_with_body)},
        {"insecure", 'k', false, "", "do not verify the server certificate",
         flag(&options::insecure)},
        {"cacert", 0, true, "FILE", "trust the CA certificates in this PEM file",
         [](options& o, std::string_view a, bool) {
             o.cacert = std::string(a);
             return std::string();
         }},
        {"compressed", 0, false, "",
         "ask for a compressed body (gzip, deflate, br, zstd) and decode it",
         flag(&options::compressed)},
        {"http1.1", 0, false, "", "use HTTP/1.1 only", flag(&options::http1_1)},
        {"http2", 0, false, "", "require HTTP/2 over TLS (ALPN h2); plain http:// stays HTTP/1.1",
         flag(&options::http2)},
        {"http2-prior-knowledge", 0, false, "",
         "speak HTTP/2 at once, without negotiation (also h2c over plain TCP)",
         flag(&options::http2_prior_knowledge)},
        {"impersonate", 0, true, "NAME|FILE",
         "look like a browser on the wire (TLS, HTTP/2, headers): chrome, firefox, none, or a "
         "profile file (--list-profiles)",
         [](options& o, std::string_view a, bool) {
             o.impersonate = std::string(a);
             return std::string();
         }},
        {"list-profiles", 0, false, "", "list the built-in browser profiles for --impersonate",
         flag(&options::list_profiles)},
        {"proxy", 'x', true, "URL",
         "use a proxy: http://HOST:PORT (CONNECT), socks5://HOST:PORT, socks5h://HOST:PORT",
         [](options& o, std::string_view a, bool) {
             auto p = normalize_proxy(a);
             if (!p) {
                 return "option --proxy: unsupported or malformed proxy '" + std::string(a) +
                        "' (use http://, socks5:// or socks5h://)";
             }
             o.proxy = *p;
             return std::string();
         }},
        {"socks5", 0, true, "HOST[:PORT]", "SOCKS5 proxy, names resolved locally",
         proxy_with_scheme("socks5", "--socks5")},
        {"socks5-hostname", 0, true, "HOST[:PORT]", "SOCKS5 proxy, names resolved by the proxy",
         proxy_with_scheme("socks5h", "--socks5-hostname")},
        {"cookie", 'b', true, "DATA|FILE",
         "send cookies: \"name=value; ...\" (when it contains '='), or read a cookie file",
         [](options& o, std::string_view a, bool) {
             if (a.find('=') != std::string_view::npos) {
                 o.cookie_strings.emplace_back(a);
             } else {
                 o.cookie_files.emplace_back(a);
             }
             return std::string();
         }},
        {"cookie-jar", 'c', true, "FILE", "write all cookies to FILE at exit (curl's format)",
         [](options& o, std::string_view a, bool) {
             o.cookie_jar = std::string(a);
             return std::string();
         }},
        {"max-time", 'm', true, "SECONDS", "maximum time for each transfer (fractions allowed)",
         [](options& o, std::string_view a, bool) {
             auto v = parse_seconds(a);
             if (!v) {
                 return bad_number("--max-time");
             }
             o.max_time = *v;
             return std::string();
         }},
        {"connect-timeout", 0, true, "SECONDS", "maximum time to connect (fractions allowed)",
         [](options& o, std::string_view a, bool) {
             auto v = parse_seconds(a);
             if (!v) {
                 return bad_number("--connect-timeout");
             }
             o.connect_timeout = *v;
             return std::string();
         }},
        {"user-agent", 'A', true, "NAME", "User-Agent to send (\"\" sends none)",
         text(&options::user_agent)},
        {"referer", 'e', true, "URL", "Referer to send", text(&options::referer)},
        {"user", 'u', true, "USER:PASSWORD", "HTTP Basic authentication", text(&options::user)},
        {"oauth2-bearer", 0, true, "TOKEN", "send Authorization: Bearer TOKEN",
         text(&options::bearer)},
        {"write-out", 'w', true, "FORMAT",
         "print FORMAT after each transfer (%{http_code}, ...; @FILE reads it)",
         text(&options::write_out)},
        {"help", 'h', false, "", "show this help", flag(&options::help)},
        {"version", 'V', false, "", "show the version", flag(&options::version)},
    };
    return defs;
}

const option_def* find_long(std::string_view name) {
    for (const auto& d : table()) {
        if (d.long_name == name) {
            return &d;
        }
    }
    return nullptr;
}

const option_def* find_short(char c) {
    for (const auto& d : table()) {
        if (d.short_name == c) {
            return &d;
        }
    }
    return nullptr;
}

std::string requires_parameter(std::string_view shown) {
    return "option " + std::string(shown) + ": requires parameter";
}

// The checks curl makes once every option is known.
std::string validate(const options& o) {
    if (o.help || o.version || o.list_profiles) {
        return {};
    }
    if (o.urls.empty()) {
        return "no URL specified!";
    }
    if (o.head && !o.data.empty() && !o.get) {
        return "You can only select one HTTP request method! You asked for both POST (-d, --data) "
               "and HEAD (-I, --head).";
    }
    return {};
}

}  // namespace

std::optional<std::string> normalize_proxy(std::string_view spec) {
    if (spec.empty()) {
        return std::string();
    }
    std::string scheme = "http";
    std::string_view rest = spec;
    if (auto p = spec.find("://"); p != std::string_view::npos) {
        scheme.clear();
        for (char c : spec.substr(0, p)) {
            scheme += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
        }
        rest = spec.substr(p + 3);
    }
    if (scheme != "http" && scheme != "socks5" && scheme != "socks5h") {
        return std::nullopt;
    }
    // Drop a trailing path ("http://proxy:3128/") as curl does.
    rest = rest.substr(0, rest.find('/'));
    if (rest.empty()) {
        return std::nullopt;
    }
    std::string_view host = rest;
    std::string_view port;
    if (rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        host = rest.substr(0, close + 1);
        auto after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return std::nullopt;
            }
            port = after.substr(1);
        }
    } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (host.empty() || host == "[]") {
        return std::nullopt;
    }
    std::string out = scheme + "://" + std::string(host) + ":";
    if (port.empty()) {
        out += "1080";
    } else {
        auto n = parse_int(port);
        if (!n || *n < 1 || *n > 65535) {
            return std::nullopt;
        }
        out += std::to_string(*n);
    }
    return out;
}

parse_result parse_args(std::span<const std::string_view> args) {
    parse_result r;
    options& o = r.opts;
    auto fail = [&r](std::string msg) {
        r.error = std::move(msg);
        return std::move(r);
    };
    bool only_urls = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (only_urls || a.size() < 2 || a.front() != '-') {
            o.urls.emplace_back(a);
            continue;
        }
        if (a == "--") {
            only_urls = true;
            continue;
        }
        if (a.starts_with("--")) {
            std::string_view name = a.substr(2);
            bool on = true;
            const option_def* def = find_long(name);
            if (!def && name.starts_with("no-")) {
                def = find_long(name.substr(3));
                // Only flags have a --no- form.
                if (def && def->takes_arg) {
                    def = nullptr;
                }
                on = false;
            }
            if (!def) {
                return fail("option " + std::string(a) + ": is unknown");
            }
            std::string_view arg;
            if (def->takes_arg) {
                if (i + 1 >= args.size()) {
                    return fail(requires_parameter(a));
                }
                arg = args[++i];
            }
            if (auto err = def->apply(o, arg, on); !err.empty()) {
                return fail(std::move(err));
            }
            continue;
        }
        // A group of short options: "-sSL", "-XPOST", "-o" "file".
        for (std::size_t k = 1; k < a.size(); ++k) {
            const option_def* def = find_short(a[k]);
            if (!def) {
                return fail("option -" + std::string(1, a[k]) + ": is unknown");
            }
            std::string_view arg;
            if (def->takes_arg) {
                if (k + 1 < a.size()) {
                    arg = a.substr(k + 1);
                } else if (i + 1 < args.size()) {
                    arg = args[++i];
                } else {
                    return fail(requires_parameter("-" + std::string(1, a[k])));
                }
                k = a.size();
            }
            if (auto err = def->apply(o, arg, true); !err.empty()) {
                return fail(std::move(err));
            }
        }
    }
    if (auto err = validate(o); !err.empty()) {
        return fail(std::move(err));
    }
    return r;
}

parse_result parse_args(int argc, const char* const* argv) {
    std::vector<std::string_view> args;
    for (int i = 1; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    return parse_args(args);
}

std::string help_text() {
    std::string out =
        "Usage: corvid [options...] <url>...\n"
        "       corvid fingerprint [--impersonate NAME] [--compare REF.bin]  (docs/cli.md)\n"
        "A curl-compatible HTTP client (http:// and https://). Several URLs share one\n"
        "connection pool.\n\nOptions:\n";
    for (const auto& d : table()) {
        std::string left = " ";
        if (d.short_name != 0) {
            left += "-";
            left += d.short_name;
            left += ", ";
        } else {
            left += "    ";
        }
        left += "--";
        left += d.long_name;
        if (d.takes_arg) {
            left += " <";
            left += d.arg_name;
            left += ">";
        }
        if (left.size() < 34) {
            left.resize(34, ' ');
        } else {
            left += "\n";
            left.append(34, ' ');
        }
        out += left;
        out += d.help;
        out += "\n";
    }
    out +=
        "\nBoolean options also have a --no- form (--no-silent).\n"
        "-w variables: http_code response_code http_version method url url_effective\n"
        "  redirect_url num_redirects num_connects num_headers remote_ip remote_port\n"
        "  local_ip local_port content_type size_download size_header size_request\n"
        "  size_upload speed_download time_namelookup time_connect time_appconnect\n"
        "  time_pretransfer time_starttransfer time_redirect time_total ssl_verify_result\n"
        "  exitcode errormsg filename_effective urlnum scheme stdout stderr,\n"
        "  %header{NAME}; escapes \\n \\r \\t \\\\.\n"
        "\nExit codes (curl's numbers):\n";
    for (int code : all_exit_codes()) {
        std::string n = std::to_string(code);
        out += "  ";
        out.append(n.size() < 3 ? 3 - n.size() : 0, ' ');
        out += n;
        out += "  ";
        out += exit_code_description(code);
        out += "\n";
    }
    out += "\nSee docs/cli.md for details.\n";
    return out;
}

}  // namespace corvid::cli
