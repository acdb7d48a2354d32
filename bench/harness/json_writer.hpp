#pragma once

// A minimal streaming JSON writer for corvid-bench's artifacts: objects,
// arrays, strings, integers and doubles, with commas and escaping handled.
// Non-finite doubles are written as null. Misuse (a value where a key is
// expected) is a programming error and is not diagnosed.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string_view>
#include <vector>

namespace corvid::bench {

class json_writer {
  public:
    explicit json_writer(std::ostream& out) : out_(out) {}

    json_writer& begin_object() {
        open('{');
        return *this;
    }
    json_writer& end_object() {
        close('}');
        return *this;
    }
    json_writer& begin_array() {
        open('[');
        return *this;
    }
    json_writer& end_array() {
        close(']');
        return *this;
    }
    /// The key of the next value in the current object.
    json_writer& key(std::string_view k) {
        separate();
        quoted(k);
        out_ << ':';
        after_key_ = true;
        return *this;
    }
    json_writer& value(std::string_view s) {
        separate();
        quoted(s);
        return *this;
    }
    json_writer& value(const char* s) { return value(std::string_view(s)); }
    json_writer& value(bool b) {
        separate();
        out_ << (b ? "true" : "false");
        return *this;
    }
    json_writer& value(std::int64_t v) {
        separate();
        out_ << v;
        return *this;
    }
    json_writer& value(std::uint64_t v) {
        separate();
        out_ << v;
        return *this;
    }
    json_writer& value(int v) { return value(static_cast<std::int64_t>(v)); }
    json_writer& value(double v) {
        separate();
        if (!std::isfinite(v)) {
            out_ << "null";
            return *this;
        }
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.10g", v);
        out_ << buf;
        return *this;
    }
    template <typename T>
    json_writer& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }
    /// Puts a line break before the next member or element (after its
    /// comma), which keeps large files readable and diffable.
    json_writer& newline() {
        newline_ = true;
        return *this;
    }

  private:
    void open(char c) {
        separate();
        out_ << c;
        first_.push_back(true);
    }
    void close(char c) {
        if (newline_) {
            newline_ = false;
            out_ << '\n';
        }
        out_ << c;
        first_.pop_back();
    }
    void separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (!first_.empty()) {
            if (!first_.back()) {
                out_ << ',';
            }
            first_.back() = false;
        }
        if (newline_) {
            newline_ = false;
            out_ << '\n';
        }
    }
    void quoted(std::string_view s) {
        out_ << '"';
        for (const char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            switch (c) {
                case '"':
                    out_ << "\\\"";
                    break;
                case '\\':
                    out_ << "\\\\";
                    break;
                case '\n':
                    out_ << "\\n";
                    break;
                case '\r':
                    out_ << "\\r";
                    break;
                case '\t':
                    out_ << "\\t";
                    break;
                default:
                    if (c < 0x20) {
                        char buf[8];
                        std::snprintf(buf, sizeof buf, "\\u%04x", c);
                        out_ << buf;
                    } else {
                        out_ << ch;
                    }
            }
        }
        out_ << '"';
    }

    std::ostream& out_;
    std::vector<bool> first_;
    bool after_key_ = false;
    bool newline_ = false;
};

}  // namespace corvid::bench
