#include "apps/corvid/request_builder.hpp"

#include <algorithm>

#include "apps/corvid/exit_codes.hpp"

namespace corvid::cli {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (is_space(s.back()) || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

std::string read_error(const std::string& path, std::string_view what, std::error_code ec) {
    std::string shown = path == "-" ? "standard input" : "'" + path + "'";
    return "could not read " + shown + " (" + std::string(what) + "): " + ec.message();
}

// One -H argument: a field to send, the removal of a default ("Name:"), or
// nothing (curl ignores lines without ':' or a trailing ';').
struct custom_header {
    std::string name;
    std::string value;
    bool remove = false;
};

std::optional<custom_header> parse_custom_header(std::string_view line) {
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        auto name = trim(line.substr(0, colon));
        if (name.empty()) {
            return std::nullopt;
        }
        auto value = trim(line.substr(colon + 1));
        return custom_header{std::string(name), std::string(value), value.empty()};
    }
    auto semi = line.find(';');
    if (semi != std::string_view::npos && trim(line.substr(semi + 1)).empty()) {
        auto name = trim(line.substr(0, semi));
        if (name.empty()) {
            return std::nullopt;
        }
        return custom_header{std::string(name), {}, false};
    }
    return std::nullopt;
}

std::optional<std::string> scheme_of(std::string_view u) {
    auto p = u.find("://");
    if (p == std::string_view::npos || p == 0) {
        return std::nullopt;
    }
    auto s = u.substr(0, p);
    bool ok = std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '-' || c == '.';
    });
    if (!ok) {
        return std::nullopt;
    }
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
        return static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    });
    return lower;
}

}  // namespace

prepare_result prepare_inputs(const options& opts, const file_reader& read) {
    prepare_result r;
    auto& in = r.inputs;
    auto fail = [&r](std::string message) {
        r.error = input_error{exit_read_error, std::move(message)};
        return std::move(r);
    };

    for (const auto& item : opts.data) {
        std::string piece;
        const std::string& v = item.value;
        switch (item.type) {
            case data_item::kind::ascii:
            case data_item::kind::binary:
            case data_item::kind::json:
                if (v.starts_with("@")) {
                    auto path = v.substr(1);
                    auto content = read(path);
                    if (!content) {
                        return fail(read_error(path, "data file", content.error()));
                    }
                    piece = std::move(*content);
                    if (item.type == data_item::kind::ascii) {
                        std::erase_if(piece, [](char c) { return c == '\r' || c == '\n'; });
                    }
                } else {
                    piece = v;
                }
                break;
            case data_item::kind::raw:
                piece = v;
                break;
            case data_item::kind::urlencode: {
                auto sep = v.find_first_of("=@");
                if (sep != std::string::npos && v[sep] == '@') {
                    auto path = v.substr(sep + 1);
                    auto content = read(path);
                    if (!content) {
                        return fail(read_error(path, "data file", content.error()));
                    }
                    if (sep > 0) {
                        piece = v.substr(0, sep) + "=";
                    }
                    piece += percent_encode(*content);
                } else if (sep != std::string::npos) {
                    if (sep > 0) {
                        piece = v.substr(0, sep) + "=";
                    }
                    piece += percent_encode(std::string_view(v).substr(sep + 1));
                } else {
                    piece = percent_encode(v);
                }
                break;
            }
        }
        if (in.has_body && item.type != data_item::kind::json) {
            in.body += '&';
        }
        in.body += piece;
        in.has_body = true;
        if (item.type == data_item::kind::json) {
            in.json = true;
        }
    }

    for (const auto& h : opts.headers) {
        if (!h.starts_with("@")) {
            in.header_lines.push_back(h);
            continue;
        }
        auto path = h.substr(1);
        auto content = read(path);
        if (!content) {
            return fail(read_error(path, "header file", content.error()));
        }
        std::string_view text = *content;
        while (!text.empty()) {
            auto nl = text.find('\n');
            auto line = trim(text.substr(0, nl));
            if (!line.empty()) {
                in.header_lines.emplace_back(line);
            }
            if (nl == std::string_view::npos) {
                break;
            }
            text.remove_prefix(nl + 1);
        }
    }

    if (opts.write_out) {
        const std::string& w = *opts.write_out;
        if (w.starts_with("@")) {
            auto path = w.substr(1);
            auto content = read(path);
            if (!content) {
                return fail(read_error(path, "write-out file", content.error()));
            }
            in.write_out = std::move(*content);
        } else {
            in.write_out = w;
        }
    }
    return r;
}

std::string with_default_scheme(std::string_view url_arg) {
    if (scheme_of(url_arg)) {
        return std::string(url_arg);
    }
    return "http://" + std::string(url_arg);
}

plan_result plan_request(const options& opts, const prepared_inputs& inputs,
                         std::string_view url_arg, std::string_view default_user_agent) {
    plan_result r;
    request_plan& p = r.plan;
    auto fail = [&r](int code, std::string message) {
        r.error = input_error{code, std::move(message)};
        return std::move(r);
    };

    std::string text = with_default_scheme(url_arg);
    auto scheme = scheme_of(text).value_or("");
    if (scheme != "http" && scheme != "https") {
        return fail(exit_unsupported_protocol,
                    "Protocol \"" + scheme + "\" not supported (corvid speaks http and https)");
    }
    if (opts.get && inputs.has_body) {
        // -G: the data becomes the query, before any fragment.
        auto hash = text.find('#');
        std::string fragment = hash == std::string::npos ? "" : text.substr(hash);
        text = text.substr(0, hash);
        text += text.find('?') == std::string::npos ? '?' : '&';
        text += inputs.body;
        text += fragment;
    }
    auto parsed = corvid::url::parse(text);
    if (!parsed) {
        return fail(exit_url_malformat,
                    parsed.error().message() + ": '" + std::string(url_arg) + "'");
    }
    std::string credentials;
    if (opts.user) {
        credentials = *opts.user;
        if (credentials.find(':') == std::string::npos) {
            credentials += ':';
        }
    } else if (!parsed->userinfo.empty()) {
        auto colon = parsed->userinfo.find(':');
        credentials = percent_decode(parsed->userinfo.substr(0, colon)) + ":";
        if (colon != std::string::npos) {
            credentials += percent_decode(parsed->userinfo.substr(colon + 1));
        }
    }
    parsed->userinfo.clear();
    p.parsed = *parsed;
    p.url = parsed->to_string();

    p.has_body = inputs.has_body && !opts.get;
    if (p.has_body) {
        p.body = inputs.body;
    }
    if (opts.method) {
        p.method = *opts.method;
    } else if (opts.head) {
        p.method = "HEAD";
    } else if (p.has_body) {
        p.method = "POST";
    } else {
        p.method = "GET";
    }

    std::vector<custom_header> custom;
    for (const auto& line : inputs.header_lines) {
        if (auto h = parse_custom_header(line)) {
            custom.push_back(std::move(*h));
        }
    }
    auto overridden = [&custom](std::string_view name) {
        return std::any_of(custom.begin(), custom.end(),
                           [name](const custom_header& h) { return iequals(h.name, name); });
    };
    auto add_default = [&](std::string_view name, std::string_view value) {
        if (!overridden(name)) {
            p.headers.add(name, value);
        }
    };

    if (opts.bearer) {
        add_default("Authorization", "Bearer " + *opts.bearer);
    } else if (!credentials.empty()) {
        add_default("Authorization", "Basic " + base64_encode(credentials));
    }
    std::string ua = opts.user_agent ? *opts.user_agent : std::string(default_user_agent);
    if (!ua.empty()) {
        add_default("User-Agent", ua);
    }
    // A browser profile (--impersonate) sends its own Accept in its place.
    const bool impersonating = !opts.impersonate.empty() && opts.impersonate != "none";
    if (inputs.json || !impersonating) {
        add_default("Accept", inputs.json ? "application/json" : "*/*");
    }
    if (opts.referer && !opts.referer->empty()) {
        add_default("Referer", *opts.referer);
    }
    if (!opts.cookie_strings.empty()) {
        std::string cookie;
        for (const auto& c : opts.cookie_strings) {
            if (!cookie.empty()) {
                cookie += "; ";
            }
            cookie += c;
        }
        add_default("Cookie", cookie);
    }
    for (const auto& h : custom) {
        if (iequals(h.name, "Host")) {
            if (!h.remove) {
                p.host_override = h.value;
            }
            continue;
        }
        if (!h.remove) {
            p.headers.add(h.name, h.value);
        }
    }
    if (p.has_body) {
        add_default("Content-Type",
                    inputs.json ? "application/json" : "application/x-www-form-urlencoded");
    }
    return r;
}

std::optional<redirect_change> redirect_for(int status, std::string_view method) {
    switch (status) {
        case 301:
        case 302:
            if (method == "POST") {
                return redirect_change{"GET", false};
            }
            return redirect_change{std::string(method), true};
        case 303:
            if (method == "HEAD") {
                return redirect_change{"HEAD", false};
            }
            return redirect_change{"GET", false};
        case 300:
        case 307:
        case 308:
            return redirect_change{std::string(method), true};
        default:
            return std::nullopt;
    }
}

request_plan follow_redirect(const request_plan& previous, const corvid::url& next,
                             const redirect_change& change) {
    request_plan p;
    p.method = change.method;
    p.parsed = next;
    p.parsed.userinfo.clear();
    p.url = p.parsed.to_string();
    p.has_body = previous.has_body && change.keep_body;
    if (p.has_body) {
        p.body = previous.body;
    }
    // Credentials go only to the origin they were given for (curl does the
    // same unless --location-trusted); a Host override only to its host.
    bool same_origin = previous.parsed.origin() == p.parsed.origin();
    if (same_origin) {
        p.host_override = previous.host_override;
    }
    for (const auto& f : previous.headers) {
        if (!same_origin && (iequals(f.name, "Authorization") || iequals(f.name, "Cookie"))) {
            continue;
        }
        if (!p.has_body && (iequals(f.name, "Content-Type") || iequals(f.name, "Content-Length"))) {
            continue;
        }
        p.headers.add(f.name, f.value);
    }
    return p;
}

std::optional<std::string> remote_file_name(const corvid::url& u) {
    std::string path = u.path();
    auto slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    if (name.empty()) {
        return std::nullopt;
    }
    return name;
}

}  // namespace corvid::cli
