// The h2 workload: corvid's HTTP/2 client against libcurl's (nghttp2 under
// OpenSSL) over TLS with ALPN h2, both talking to one local nghttpd. See
// docs/benchmarks/README.md for the method; the figures answer issue 3's
// "Performance (benchmark)" section.

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "bench/harness/environment.hpp"
#include "bench/harness/h2load.hpp"
#include "bench/harness/nghttpd_fixture.hpp"
#include "bench/harness/process.hpp"
#include "bench/harness/publish.hpp"
#include "bench/harness/report.hpp"
#include "bench/harness/workloads.hpp"

namespace corvid::bench {

namespace {

// Issue 3's goal for corvid's HTTP/2 client: median TTFB and throughput at
// least 10% better than libcurl (p < 0.01, no tail regression).
constexpr double h2_goal_percent = 10.0;

// The request-body case: 1 MiB in 1024 pieces of 1 KiB.
constexpr std::uint64_t upload_size = 1024 * 1024;
constexpr std::size_t upload_chunk = 1024;

// The concurrent case: 100 requests at once, nghttpd's (and libcurl's)
// default limit of concurrent streams, each for a 1 KiB file.
constexpr std::size_t concurrency = 100;

// h2load's run for the ceiling: one connection, one thread, the same 100
// streams, measured for 3 s after 1 s of warm-up (so the handshake and the
// first requests are outside the figure, like the peers' warm-up samples).
constexpr const char* h2load_warmup = "1s";
constexpr const char* h2load_duration = "3s";
// The download ceiling: this many whole 64 MiB downloads, one at a time, on
// one connection (its handshake, under a millisecond, is in the figure).
constexpr int h2load_downloads = 20;

enum class shape_kind { download, upload, concurrent };

struct case_def {
    std::string name;
    shape_kind kind;
    fixture_file file;   ///< what a GET fetches (unused for uploads)
    sample_shape shape;  ///< what each sample must receive
};

std::string peer_path(const std::string& name) {
    const std::string path = executable_dir() + "/" + name;
    if (access(path.c_str(), X_OK) != 0) {
        throw std::runtime_error(path + " not found: build the release preset (scripts/dev build)");
    }
    return path;
}

// Runs h2load against `url` on `cpu` and returns its rate as a ceiling:
// requests/s of 100 streams kept in flight for the concurrent case, MiB/s of
// whole downloads one after another for the download case.
workload_report::ceiling h2load_ceiling(const std::string& case_name, shape_kind kind,
                                        int repetition, const std::string& url, int cpu) {
    workload_report::ceiling c;
    c.case_name = case_name;
    c.repetition = repetition;
    c.tool = "h2load";
    if (kind == shape_kind::download) {
        c.metric = "throughput";
        c.argv = {"h2load",
                  "--clients=1",
                  "--threads=1",
                  "--max-concurrent-streams=1",
                  "--requests=" + std::to_string(h2load_downloads),
                  url};
    } else {
        c.metric = "requests_per_second";
        c.argv = {"h2load",
                  "--clients=1",
                  "--threads=1",
                  "--max-concurrent-streams=" + std::to_string(concurrency),
                  std::string("--warm-up-time=") + h2load_warmup,
                  std::string("--duration=") + h2load_duration,
                  url};
    }
    const command_result r = run_command(c.argv, cpu);
    const auto summary = parse_h2load(r.output);
    if (r.exit_status != 0 || !summary) {
        throw std::runtime_error("h2load failed (exit status " + std::to_string(r.exit_status) +
                                 "):\n" + r.output);
    }
    if (summary->protocol != "h2" || summary->failed != 0 || summary->errored != 0 ||
        summary->succeeded == 0) {
        throw std::runtime_error("h2load did not complete its requests over h2:\n" + r.output);
    }
    c.value = kind == shape_kind::download ? summary->bytes_per_second / (1024.0 * 1024)
                                           : summary->requests_per_second;
    // Keep the summary lines, not the progress.
    for (std::size_t pos = 0; pos < r.output.size();) {
        const auto nl = r.output.find('\n', pos);
        const std::string line = r.output.substr(pos, nl == std::string::npos ? nl : nl - pos);
        pos = nl == std::string::npos ? r.output.size() : nl + 1;
        for (const char* prefix : {"finished in", "requests:", "status codes:", "Application",
                                   "Cipher:", "Server Temp Key:"}) {
            if (line.rfind(prefix, 0) == 0) {
                c.output += line + "\n";
            }
        }
    }
    return c;
}

}  // namespace

int run_h2(const workload_options& o) {
    if (o.fresh_connection) {
        throw std::runtime_error(
            "h2 keeps one connection per peer (HTTP/2 multiplexes on it); --fresh-connection "
            "applies to http1-get");
    }
    workload_report report;
    report.workload = "h2";
    report.title = o.self_check ? "A/A check, " + o.self_check_peer + " vs " + o.self_check_peer +
                                      ", HTTP/2 over TLS on loopback"
                                : "corvid vs libcurl, HTTP/2 over TLS on loopback";
    report.settings = o.settings;
    report.quick = o.quick;
    report.metrics = http_metrics();
    report.rule.min_improvement_percent = o.goal_percent.value_or(h2_goal_percent);
    report.env = collect_environment();

    const fixture_file big{"64MiB.bin", std::uint64_t{64} << 20};
    const fixture_file small{"1KiB.bin", 1024};
    std::vector<case_def> all{
        {"download-64MiB", shape_kind::download, big, sample_shape{big.size}},
        {"upload-1MiB", shape_kind::upload, {}, sample_shape{upload_size, 1, upload_size}},
        {"concurrent-100", shape_kind::concurrent, small,
         sample_shape{small.size * concurrency, concurrency, 0}},
    };
    std::vector<case_def> cases;
    for (const auto& c : all) {
        if (o.only_cases.empty() ||
            std::find(o.only_cases.begin(), o.only_cases.end(), c.name) != o.only_cases.end()) {
            cases.push_back(c);
            report.cases.push_back(c.name);
            if (c.kind == shape_kind::upload) {
                report.case_metrics.emplace_back(c.name, upload_metrics());
            } else if (c.kind == shape_kind::concurrent) {
                report.case_metrics.emplace_back(c.name, concurrent_metrics());
            }
        }
    }
    if (cases.empty()) {
        throw std::runtime_error(
            "--case matched no case (h2 has download-64MiB, upload-1MiB, "
            "concurrent-100)");
    }

    int server_cpu = -1;
    const int last_cpu = static_cast<int>(report.env.cores - 1);
    if (o.pin == placement::split) {
        if (report.env.cores < 2) {
            throw std::runtime_error("--pin split needs at least two CPUs");
        }
        server_cpu = 0;
        report.settings.peer_cpu = last_cpu;
        report.env.pinning = "split: both peers and h2load pinned to CPU " +
                             std::to_string(last_cpu) +
                             " (one runs at a time), nghttpd (one worker) to CPU 0";
    } else {
        report.env.pinning =
            "none: the peer under test, h2load and nghttpd (one worker) share "
            "the machine's " +
            std::to_string(report.env.cores) +
            " CPUs unpinned; the idle peer is blocked on its pipe";
    }
    std::cerr << "h2: generating the docroot and starting nghttpd\n";
    nghttpd_fixture fixture({big, small}, server_cpu);
    report.fixture = fixture.description();

    const std::string corvid_peer = peer_path("bench-peer-corvid");
    const std::string curl_peer = peer_path("bench-peer-curl");
    report.env.versions = {{"corvid", capture_output({corvid_peer, "--version"})},
                           {"libcurl", capture_output({curl_peer, "--version"})},
                           {"nghttpd", fixture.version()},
                           {"h2load", capture_output({"h2load", "--version"})}};
    for (const char* pkg : {"nghttp2-server", "nghttp2-client", "libnghttp2-14"}) {
        std::string v = capture_output({"dpkg-query", "-W", "-f=${Version}", pkg});
        report.env.packages.emplace_back(pkg, v.empty() ? "not installed" : v);
    }
    report.notes = {
        "connections: one per peer, kept alive across samples (curl: one easy handle, or one "
        "multi handle and its easy handles; corvid: one client and its pool); each peer's first "
        "warm-up sample opens it, and a sample that opens more than one fails",
        "HTTP/2 required on both sides: curl CURL_HTTP_VERSION_2TLS and a sample fails unless "
        "CURLINFO_HTTP_VERSION is 2; corvid http_version_policy::http2 and ALPN h2 checked",
        "download-64MiB (response-body streaming): GET of 64 MiB that nghttpd sends in DATA "
        "frames of up to 16 KiB; TTFB: from just before the request is handed to the library "
        "to the first body byte reaching the caller; throughput: body bytes / time to the last "
        "body byte",
        "upload-1MiB (request-body streaming): POST of 1 MiB (Content-Type: "
        "application/octet-stream, no Content-Length) that the library pulls in 1024 pieces of "
        "1 KiB (curl: CURLOPT_READFUNCTION; corvid: request::body_stream), sent as DATA frames; "
        "nghttpd --echo-upload answers only once the request stream has ended and echoes the "
        "body, so TTFB (to the first echoed byte) covers the whole upload, and upload "
        "throughput = 1 MiB / TTFB; the echo is checked for its size, its time is in neither "
        "figure (client CPU covers the whole exchange)",
        "concurrent-100: 100 GETs of 1 KiB issued at once on the one connection (curl: multi "
        "interface, CURLPIPE_MULTIPLEX and CURLOPT_PIPEWAIT; corvid: 100 coroutines co_spawned "
        "on the client's executor); requests/s = 100 / time from before the first request to "
        "the last body byte of the last response; client CPU per request = CPU time of the "
        "batch / 100",
        "h2load ceiling: h2load --clients=1 --threads=1 --max-concurrent-streams=100, " +
            std::string(h2load_duration) + " measured after " + h2load_warmup +
            " of warm-up, after the pairs of each repetition, on the peers' CPU; it keeps 100 "
            "streams in flight at all times (a new request as each completes) where the peers "
            "wait for the whole batch, so it bounds what a batch can reach; for download-64MiB, "
            "h2load --clients=1 --threads=1 --max-concurrent-streams=1 --requests=" +
            std::to_string(h2load_downloads) +
            " (whole downloads one after another on one connection, its windows 1 GiB), MiB/s of "
            "all bytes received: what nghttpd can send to a client that does nothing else",
        "libcurl: CURLOPT_BUFFERSIZE " + std::to_string(corvid_read_size) +
            " (corvid's read size), no progress meter, no decoding, CA file only; both send "
            "Accept: */* and no User-Agent; HTTP/2 receive windows 32 MiB per stream and per "
            "connection on both sides (libcurl 7.88's own; corvid's defaults are 6 and 15 MiB)",
        "client CPU: user + system CPU time of the peer process (CLOCK_PROCESS_CPUTIME_ID), "
        "from before the request until the library is finished with the response",
    };

    for (int rep = 1; rep <= o.settings.repetitions; ++rep) {
        for (const auto& c : cases) {
            const std::string url =
                fixture.url(c.kind == shape_kind::upload ? "echo" : c.file.name);
            std::vector<std::string> common{"--url", url, "--cacert", fixture.ca_file(), "--http2"};
            if (c.kind == shape_kind::upload) {
                common.insert(common.end(), {"--upload-size", std::to_string(upload_size),
                                             "--upload-chunk", std::to_string(upload_chunk)});
            } else if (c.kind == shape_kind::concurrent) {
                common.insert(common.end(), {"--concurrent", std::to_string(concurrency)});
            }
            auto [a, b] =
                corvid_and_curl(corvid_peer, curl_peer, common, o.self_check, o.self_check_peer);
            if (rep == 1) {
                report.commands.emplace_back(c.name + " " + a.name, a.argv);
                report.commands.emplace_back(c.name + " " + b.name, b.argv);
            }

            std::cerr << "h2: " << c.name << " repetition " << rep << "/" << o.settings.repetitions
                      << " ..." << std::flush;
            report.runs.push_back(run_paired(c.name, rep, a, b, report.settings, c.shape));
            std::cerr << progress_summary(report, report.runs.back());
            if (c.kind != shape_kind::upload) {
                report.ceilings.push_back(
                    h2load_ceiling(c.name, c.kind, rep, url, report.settings.peer_cpu));
                char buf[64];
                std::snprintf(buf, sizeof buf, " h2load %.4g %s", report.ceilings.back().value,
                              c.kind == shape_kind::download ? "MiB/s" : "req/s");
                std::cerr << buf;
                if (rep == 1) {
                    report.commands.emplace_back(c.name + " h2load", report.ceilings.back().argv);
                }
            }
            std::cerr << "\n";
        }
    }

    return publish(report, o, "h2");
}

}  // namespace corvid::bench
