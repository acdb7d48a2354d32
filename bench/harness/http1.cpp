// The http1 workload (alias http1-get): corvid's HTTP/1.1 client against
// libcurl's, both talking to one local nginx over plain HTTP and HTTPS:
// response-body streaming (GET of 1 KiB and 64 MiB) and request-body
// streaming (POST of 1 MiB handed to the library in 1 KiB pieces). See
// docs/benchmarks/README.md for the method.

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "bench/harness/environment.hpp"
#include "bench/harness/nginx_fixture.hpp"
#include "bench/harness/process.hpp"
#include "bench/harness/publish.hpp"
#include "bench/harness/report.hpp"
#include "bench/harness/workloads.hpp"

namespace corvid::bench {

namespace {

// The request-body cases: 1 MiB in 1024 pieces of 1 KiB, as in h2's
// upload-1MiB. Neither client knows the size in advance, so both send it
// chunked (Transfer-Encoding: chunked, one chunk per piece handed over).
constexpr std::uint64_t upload_size = 1024 * 1024;
constexpr std::size_t upload_chunk = 1024;
static_assert(upload_size <= max_upload_size);

struct body {
    std::string label;  ///< "1KiB"
    fixture_file file;
};

// An upload sample: TTFB runs to the first byte of nginx's answer, which
// nginx sends only once it has read the whole body, so it covers the upload;
// upload throughput is the body's size over the time to the last byte of
// the answer (the answer is upload_response, a few bytes in one chunk).
const std::vector<metric>& http1_upload_metrics() {
    static const std::vector<metric> metrics{
        http_metrics()[0],
        {"upload_throughput", "upload throughput (MiB/s)", better::higher,
         [](const sample& s) {
             return static_cast<double>(s.upload_bytes) / (1024.0 * 1024.0) /
                    (static_cast<double>(s.total_ns) / 1e9);
         }},
        http_metrics()[2],
    };
    return metrics;
}

std::string peer_path(const std::string& name) {
    const std::string path = executable_dir() + "/" + name;
    if (access(path.c_str(), X_OK) != 0) {
        throw std::runtime_error(path + " not found: build the release preset (scripts/dev build)");
    }
    return path;
}

}  // namespace

int run_http1(const workload_options& o) {
    workload_report report;
    report.workload = "http1";
    report.title = o.self_check ? "A/A check, " + o.self_check_peer + " vs " + o.self_check_peer +
                                      ", HTTP/1.1 on loopback"
                                : "corvid vs libcurl, HTTP/1.1 GET and upload on loopback";
    if (o.goal_percent) {
        report.rule.min_improvement_percent = *o.goal_percent;
    }
    report.settings = o.settings;
    report.quick = o.quick;
    report.metrics = http_metrics();
    report.env = collect_environment();

    const std::vector<body> bodies{{"1KiB", {"1KiB.bin", 1024}},
                                   {"64MiB", {"64MiB.bin", std::uint64_t{64} << 20}}};
    std::vector<fixture_file> files;
    for (const auto& b : bodies) {
        files.push_back(b.file);
    }
    int nginx_cpu = -1;
    const int last_cpu = static_cast<int>(report.env.cores - 1);
    if (o.pin == placement::split) {
        if (report.env.cores < 2) {
            throw std::runtime_error("--pin split needs at least two CPUs");
        }
        nginx_cpu = 0;
        report.settings.peer_cpu = last_cpu;
        report.env.pinning = "split: both peers pinned to CPU " + std::to_string(last_cpu) +
                             " (one runs at a time), nginx's worker to CPU 0";
    } else {
        report.env.pinning =
            "none: the peer under test and nginx (worker_processes 1) share "
            "the machine's " +
            std::to_string(report.env.cores) +
            " CPUs unpinned; the idle peer is blocked on its pipe";
    }
    std::cerr << "http1: generating the docroot and starting nginx\n";
    nginx_fixture fixture(files, nginx_cpu);
    report.fixture = fixture.description();

    const std::string corvid_peer = peer_path("bench-peer-corvid");
    const std::string curl_peer = peer_path("bench-peer-curl");
    report.env.versions = {{"corvid", capture_output({corvid_peer, "--version"})},
                           {"libcurl", capture_output({curl_peer, "--version"})},
                           {"nginx", fixture.version()}};
    report.notes = {
        std::string("connections: ") +
            (o.fresh_connection
                 ? "a new connection per sample (curl: CURLOPT_FRESH_CONNECT + "
                   "CURLOPT_FORBID_REUSE; corvid: close_idle() after each sample); TLS session "
                   "resumption on in both"
                 : "kept alive across samples (curl: one easy handle; corvid: one client "
                   "and its pool); each peer's first warm-up sample opens its connection"),
        "TTFB: from just before the request is handed to the library to the first body byte "
        "reaching the caller (curl: first write callback; corvid: first non-empty read_some); "
        "throughput: body bytes / time to the last body byte; client CPU: user + system CPU "
        "time of the peer process per request (CLOCK_PROCESS_CPUTIME_ID), from before the "
        "request until the response is finished with, which other load on the machine "
        "barely affects",
        "libcurl: HTTP/1.1 only, CURLOPT_BUFFERSIZE " + std::to_string(corvid_read_size) +
            " (corvid's read size), no progress meter, no decoding, CA file only; both send "
            "Host and Accept: */* and nothing else (uploads: see below)",
        "plain-upload-1MiB, tls-upload-1MiB (request-body streaming): POST /" +
            std::string(upload_path) +
            " of 1 MiB that the library pulls from the caller in 1024 pieces of 1 KiB (curl: "
            "CURLOPT_READFUNCTION with CURLOPT_POSTFIELDSIZE_LARGE -1; corvid: "
            "request::body_stream); the size is not declared, so both send it chunked (one "
            "chunk per piece), with Content-Type: application/octet-stream and no Expect: "
            "100-continue; nginx reads the whole body (echo module's echo_read_request_body, "
            "into memory) before it answers 200 with a 9-byte body, so TTFB (to the first byte "
            "of the answer's body) covers the whole upload; upload throughput = 1 MiB / time to "
            "the last byte of the answer",
    };

    struct case_def {
        std::string name;
        bool tls;
        const body* b;  ///< what a GET fetches; null: an upload
    };
    std::vector<case_def> cases;
    std::string all_names;
    for (bool tls : {false, true}) {
        std::vector<const body*> kinds;
        for (const auto& b : bodies) {
            kinds.push_back(&b);
        }
        kinds.push_back(nullptr);
        for (const body* b : kinds) {
            std::string name = std::string(tls ? "tls" : "plain") + "-" +
                               (b != nullptr ? b->label : std::string("upload-1MiB"));
            if (o.fresh_connection) {
                name += "-fresh";
            }
            all_names += (all_names.empty() ? "" : ", ") + name;
            if (!o.only_cases.empty() &&
                std::find(o.only_cases.begin(), o.only_cases.end(), name) == o.only_cases.end()) {
                continue;
            }
            cases.push_back({name, tls, b});
            report.cases.push_back(name);
            if (b == nullptr) {
                report.case_metrics.emplace_back(name, http1_upload_metrics());
            }
        }
    }
    if (cases.empty()) {
        throw std::runtime_error("--case matched no case (http1 has " + all_names + ")");
    }
    const bool uploads =
        std::any_of(cases.begin(), cases.end(), [](const case_def& c) { return c.b == nullptr; });
    if (uploads && !fixture.accepts_uploads()) {
        throw std::runtime_error(
            "the upload cases need nginx's echo module (libnginx-mod-http-echo, which "
            "nginx-light depends on); install it or choose GET cases with --case");
    }

    for (int rep = 1; rep <= o.settings.repetitions; ++rep) {
        for (const auto& c : cases) {
            const std::string url =
                fixture.url(c.tls, c.b != nullptr ? c.b->file.name : upload_path);
            std::vector<std::string> common{"--url", url};
            sample_shape shape;
            if (c.b != nullptr) {
                shape.body_bytes = c.b->file.size;
            } else {
                shape = sample_shape{upload_response.size(), 1, upload_size};
                common.insert(common.end(), {"--upload-size", std::to_string(upload_size),
                                             "--upload-chunk", std::to_string(upload_chunk)});
            }
            if (c.tls) {
                common.insert(common.end(), {"--cacert", fixture.ca_file()});
            }
            if (o.fresh_connection) {
                common.push_back("--fresh-connection");
            }
            auto [a, b] =
                corvid_and_curl(corvid_peer, curl_peer, common, o.self_check, o.self_check_peer);
            if (rep == 1) {
                report.commands.emplace_back(c.name + " " + a.name, a.argv);
                report.commands.emplace_back(c.name + " " + b.name, b.argv);
            }

            std::cerr << "http1: " << c.name << " repetition " << rep << "/"
                      << o.settings.repetitions << " ..." << std::flush;
            report.runs.push_back(run_paired(c.name, rep, a, b, report.settings, shape));
            std::cerr << progress_summary(report, report.runs.back());
            std::cerr << "\n";
        }
    }

    return publish(report, o, "http1");
}

}  // namespace corvid::bench
