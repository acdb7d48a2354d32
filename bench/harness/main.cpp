// corvid-bench: corvid's benchmark driver (see shared/BENCH.md and
// docs/benchmarks/README.md).
//
//   corvid-bench WORKLOAD [--samples N] [--warmup W] [--repetitions R]
//                         [--json FILE] [--markdown FILE] [--quick]
//                         [--fresh-connection] [--case NAME]... [--pin MODE]
//                         [--aa] [--aa-peer corvid|curl] [--goal PERCENT]
//                         [--messages N] [--server NAME]... [--generator-threads N]
//                         [--tokens N] [--token-interval-ms M]
//
// The whole suite is scripts/dev bench suite [--quick], one workload at a time.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "bench/harness/workloads.hpp"

namespace {

constexpr const char* usage_text =
    "usage: corvid-bench WORKLOAD [options]\n"
    "\n"
    "workloads:\n"
    "  http1       corvid's HTTP/1.1 client vs libcurl against a local nginx, plain and\n"
    "              TLS: GET of 1 KiB and 64 MiB, POST of 1 MiB in 1 KiB pieces; TTFB and\n"
    "              throughput (http1-get: an alias of http1)\n"
    "  h2          corvid's HTTP/2 client vs libcurl against a local nghttpd (TLS, h2):\n"
    "              64 MiB download, 1 MiB upload in 1 KiB pieces, 100 concurrent\n"
    "              requests on one connection (h2load as the ceiling); goal 10%\n"
    "  profiles    corvid with --impersonate chrome vs corvid with no profile, against\n"
    "              a local nghttpd (TLS, h2): 1 KiB GET on a kept-alive and on a fresh\n"
    "              connection; TTFB and client CPU (issue 4: a profile must not slow it)\n"
    "  ws-echo     corvid's WebSocket client vs Boost.Beast and websocketpp: echo ping-pong\n"
    "              of 64 B, 1 KiB and 64 KiB on one connection against corvid's echo server\n"
    "              and node ws; messages/s and client CPU; goal 10% (issue 5)\n"
    "  engine      corvid-server vs node ws and websocketpp servers of the same minimal\n"
    "              broadcast (issue 6), corvid-bench's own load generator: the three\n"
    "              parts below, written to docs/benchmarks/engine.{json,md}\n"
    "  engine-connect    connect-to-ready latency with a JWT (p50, p95)\n"
    "  engine-broadcast  1 publisher, 1,000 subscribers: deliveries/s per server core\n"
    "  engine-fanin      100 publishers, 100 channels x 10 subscribers: messages/s\n"
    "  tokens      LLM-style token streaming from corvid-fixture (TLS): corvid's\n"
    "              event_source vs libcurl (SSE over HTTP/1.1 and HTTP/2) and corvid's\n"
    "              WebSocket client vs Boost.Beast (wss), paced and burst; time to first\n"
    "              token, chars/s after it, client CPU per token\n"
    "  (the whole suite, one workload after another, then a summary and charts:\n"
    "  scripts/dev bench suite [--quick])\n"
    "\n"
    "options:\n"
    "  --samples N       measured pairs per case and repetition (default 100; ws-echo 50;\n"
    "                    engine: rounds, 1000 connects or 15 bursts per server)\n"
    "  --warmup W        unmeasured samples per peer first (default 5)\n"
    "  --repetitions R   repeat every case R times (default 3)\n"
    "  --quick           N=20, W=2, R=1; outputs go to the build directory\n"
    "  --fresh-connection  a new connection for every sample\n"
    "  --pin MODE        split (default): both peers on the last CPU, the server\n"
    "                    (nginx's worker, nghttpd) on CPU 0; none: unpinned (biased:\n"
    "                    see docs/benchmarks); same (ws-echo's default, only there):\n"
    "                    the peers and the echo server on the last CPU\n"
    "  --aa              A/A check: corvid against itself; every verdict should be parity\n"
    "  --aa-peer PEER    A/A check with PEER (corvid or curl) on both sides\n"
    "  --goal PERCENT    improvement a win needs (default: BENCH.md's 5; h2: issue 3's 10)\n"
    "  --messages N      ws-echo: round trips per sample (default 400; --quick 100)\n"
    "  --server NAME     engine workloads: run only this server (repeatable): corvid,\n"
    "                    websocketpp, node; the first one is compared with the others\n"
    "  --generator-threads N  engine workloads: load generator threads (default: one\n"
    "                    per CPU not given to the servers)\n"
    "  --tokens N        tokens: tokens per paced stream (default 100; --quick 30)\n"
    "  --token-interval-ms M  tokens: pacing of the paced cases (default 35)\n"
    "  --case NAME       run only this case (repeatable), e.g. tls-64MiB, upload-1MiB,\n"
    "                    node-1KiB-beast\n"
    "  --json FILE       JSON artifact (default docs/benchmarks/WORKLOAD.json)\n"
    "  --markdown FILE   Markdown summary (default docs/benchmarks/WORKLOAD.md)\n";

int usage(int status) {
    std::fputs(usage_text, status == 0 ? stdout : stderr);
    return status;
}

int positive(const char* text, const char* what) {
    char* end = nullptr;
    const long v = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 0 || v > 1'000'000) {
        std::fprintf(stderr, "corvid-bench: %s must be a number from 0 to 1000000\n", what);
        std::exit(2);
    }
    return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        return usage(2);
    }
    const std::string_view workload = argv[1];
    if (workload == "-h" || workload == "--help" || workload == "help") {
        return usage(0);
    }
    corvid::bench::workload_options o;
    bool samples_set = false;
    bool warmup_set = false;
    bool repetitions_set = false;
    for (int i = 2; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "corvid-bench: %s needs a value\n", argv[i]);
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--samples") {
            o.settings.samples = positive(value(), "--samples");
            samples_set = true;
        } else if (arg == "--warmup") {
            o.settings.warmup = positive(value(), "--warmup");
            warmup_set = true;
        } else if (arg == "--repetitions") {
            o.settings.repetitions = positive(value(), "--repetitions");
            repetitions_set = true;
        } else if (arg == "--quick") {
            o.quick = true;
        } else if (arg == "--pin") {
            const std::string_view v = value();
            if (v == "split") {
                o.pin = corvid::bench::placement::split;

            } else if (v == "none") {
                o.pin = corvid::bench::placement::none;
            } else if (v == "same" && workload == "ws-echo") {
                o.pin = corvid::bench::placement::same;
            } else {
                std::fputs("corvid-bench: --pin takes split or none (ws-echo also same)\n", stderr);
                return 2;
            }
            o.pin_given = true;
        } else if (arg == "--aa") {
            o.self_check = true;
        } else if (arg == "--aa-peer") {
            const std::string_view v = value();
            if (v != "corvid" && v != "curl") {
                std::fputs("corvid-bench: --aa-peer takes corvid or curl\n", stderr);
                return 2;
            }
            o.self_check = true;
            o.self_check_peer = std::string(v);
        } else if (arg == "--goal") {
            char* end = nullptr;
            const char* text = value();
            const double v = std::strtod(text, &end);
            if (end == text || *end != '\0' || !(v > 0 && v < 100)) {
                std::fputs("corvid-bench: --goal takes a percentage above 0 and below 100\n",
                           stderr);
                return 2;
            }
            o.goal_percent = v;
        } else if (arg == "--fresh-connection") {
            o.fresh_connection = true;
        } else if (arg == "--messages") {
            const int v = positive(value(), "--messages");
            if (v < 1) {
                std::fputs("corvid-bench: --messages must be at least 1\n", stderr);
                return 2;
            }
            o.messages_per_sample = static_cast<std::uint64_t>(v);
        } else if (arg == "--server") {
            const std::string_view v = value();
            if (v != "corvid" && v != "websocketpp" && v != "node") {
                std::fputs("corvid-bench: --server takes corvid, websocketpp or node\n", stderr);
                return 2;
            }
            o.servers.emplace_back(v);
        } else if (arg == "--generator-threads") {
            const int v = positive(value(), "--generator-threads");
            if (v < 1 || v > 256) {
                std::fputs("corvid-bench: --generator-threads takes 1 to 256\n", stderr);
                return 2;
            }
            o.generator_threads = v;
        } else if (arg == "--tokens") {
            o.tokens = static_cast<std::uint64_t>(positive(value(), "--tokens"));
        } else if (arg == "--token-interval-ms") {
            o.token_interval_ms =
                static_cast<std::uint64_t>(positive(value(), "--token-interval-ms"));
        } else if (arg == "--case") {
            o.only_cases.emplace_back(value());
        } else if (arg == "--json") {
            o.json_path = value();
        } else if (arg == "--markdown") {
            o.markdown_path = value();
        } else {
            std::fprintf(stderr, "corvid-bench: unknown option %s\n", argv[i]);
            return usage(2);
        }
    }
    // --quick sets the defaults; explicit numbers still win.
    if (o.quick) {
        o.settings.samples = samples_set ? o.settings.samples : 20;
        o.settings.warmup = warmup_set ? o.settings.warmup : 2;
        o.settings.repetitions = repetitions_set ? o.settings.repetitions : 1;
    }
    o.samples_given = samples_set;
    o.warmup_given = warmup_set;
    if (o.settings.samples < 1 || o.settings.repetitions < 1) {
        std::fprintf(stderr, "corvid-bench: --samples and --repetitions must be at least 1\n");
        return 2;
    }
    // A peer that dies must surface as an error on the next write, not kill us.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        if (workload == "http1" || workload == "http1-get") {
            return corvid::bench::run_http1(o);
        }
        if (workload == "h2") {
            return corvid::bench::run_h2(o);
        }
        if (workload == "profiles") {
            return corvid::bench::run_profiles(o);
        }
        if (workload == "tokens") {
            return corvid::bench::run_tokens(o);
        }
        if (workload == "ws-echo") {
            return corvid::bench::run_ws_echo(o);
        }
        if (workload == "engine" || workload == "engine-connect" ||
            workload == "engine-broadcast" || workload == "engine-fanin") {
            return corvid::bench::run_engine(o, std::string(workload));
        }
        if (workload == "all") {
            // The suite is `scripts/dev bench suite`: one process per
            // workload, so one that fails or throws does not stop the others,
            // with each one's duration, and the summary and charts at the end.
            std::fputs(
                "corvid-bench: 'all' is now 'scripts/dev bench suite [--quick]' (every "
                "workload, then docs/benchmarks/summary.md and charts)\n",
                stderr);
            return 2;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "corvid-bench: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "corvid-bench: unknown workload '%.*s'\n",
                 static_cast<int>(workload.size()), workload.data());
    return usage(2);
}
