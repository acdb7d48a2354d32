#pragma once

// The token stream of the `tokens` workload (LLM-style token streaming),
// shared as a header only by corvid-fixture (which serves it), the token
// peers (which check it) and corvid-bench (which knows its sizes). It
// depends on nothing of corvid, so the libcurl and Beast peers include it
// without pulling in BoringSSL.
//
// The sequence is fixed: token i is a word picked from a fixed list by
// splitmix64(seed + i), with a leading space, 2 to 9 characters in all (an
// LLM tokenizer's typical word piece), ASCII only. It does not depend on the
// length asked for: the first N tokens of any stream are the same.
//
// The wire forms (corvid-fixture, apps/fixture/main.cpp):
// - SSE, GET /tokens/sse?n=N&interval_ms=M: text/event-stream, one event
//   "data: <token>\n\n" per token (the field's value keeps the token's own
//   leading space: SSE strips only the one space after the colon), then
//   "event: done\ndata: N\n\n". The body then ends.
// - WebSocket, /tokens/ws: for each text message "start N M" from the
//   client, N text messages of one token each, then the text message
//   "done" (a token always starts with a space, so it cannot be "done"). The
//   connection stays open for the next "start".
// Token i is due at t0 + i * M milliseconds, t0 being when the fixture
// starts the stream (absolute deadlines: no drift); M = 0: no pacing, every
// token is written as soon as the transport takes it.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace corvid::bench::tokens {

inline constexpr std::uint64_t max_tokens = 1'000'000;
inline constexpr std::uint64_t max_interval_ms = 10'000;

inline constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

inline constexpr std::array<std::string_view, 64> words{
    "the",    "of",      "and",    "to",      "a",      "in",    "is",     "that",
    "for",    "it",      "as",     "with",    "was",    "on",    "be",     "by",
    "this",   "are",     "or",     "from",    "at",     "which", "an",     "but",
    "not",    "can",     "have",   "has",     "model",  "token", "stream", "server",
    "client", "request", "answer", "because", "data",   "we",    "you",    "will",
    "one",    "more",    "time",   "each",    "first",  "next",  "value",  "return",
    "code",   "line",    "event",  "network", "packet", "frame", "read",   "write",
    "fast",   "slow",    "every",  "so",      "then",   "here",  "word",   "I"};

inline constexpr std::uint64_t seed = 0x636f72766964746bull;  // "corvidtk"

/// Token i: a space and a word of the list.
inline std::string token(std::uint64_t i) {
    std::string out(1, ' ');
    out += words[splitmix64(seed + i) % words.size()];
    return out;
}

/// Total characters of tokens 0 .. n-1.
inline std::uint64_t total_chars(std::uint64_t n) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        sum += 1 + words[splitmix64(seed + i) % words.size()].size();
    }
    return sum;
}

/// Checks the tokens of one stream as they arrive; the first wrong one is
/// remembered (error()), later ones are ignored.
class stream_check {
  public:
    explicit stream_check(std::uint64_t expected) : expected_(expected) {}

    /// One received token; false once anything was wrong.
    bool add(std::string_view got) {
        if (!error_.empty()) {
            return false;
        }
        if (count_ >= expected_) {
            error_ = "more than " + std::to_string(expected_) + " tokens";
            return false;
        }
        const std::string want = token(count_);
        if (got != want) {
            error_ = "token " + std::to_string(count_) + " is \"" + std::string(got.substr(0, 64)) +
                     "\", expected \"" + want + "\"";
            return false;
        }
        ++count_;
        chars_ += got.size();
        return true;
    }

    /// At the end of the stream: every token arrived. Empty when all is well.
    std::string finish() {
        if (error_.empty() && count_ != expected_) {
            error_ = "the stream ended after " + std::to_string(count_) + " of " +
                     std::to_string(expected_) + " tokens";
        }
        return error_;
    }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t chars() const noexcept { return chars_; }

  private:
    std::uint64_t expected_;
    std::uint64_t count_ = 0;
    std::uint64_t chars_ = 0;
    std::string error_;
};

}  // namespace corvid::bench::tokens
