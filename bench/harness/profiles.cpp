// The profiles workload: corvid with a browser profile (--impersonate chrome)
// against corvid with none, the same bench-peer-corvid executable on both
// sides, over TLS with ALPN h2 against one local nghttpd. It answers issue 4's
// "a profile must not slow the client": the paired change of chrome against
// none in TTFB and client CPU, with a connection kept alive (the cost of the
// profile's headers and HTTP/2 settings per request) and with a new
// connection per sample (the cost of its ClientHello). See
// docs/benchmarks/README.md for the method.

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "bench/harness/environment.hpp"
#include "bench/harness/nghttpd_fixture.hpp"
#include "bench/harness/process.hpp"
#include "bench/harness/publish.hpp"
#include "bench/harness/report.hpp"
#include "bench/harness/workloads.hpp"

namespace corvid::bench {

namespace {

// The profile under test (client/profiles/chrome.json, built in).
constexpr const char* profile_name = "chrome";

struct case_def {
    std::string name;
    bool fresh_connection;
};

std::string peer_path(const std::string& name) {
    const std::string path = executable_dir() + "/" + name;
    if (access(path.c_str(), X_OK) != 0) {
        throw std::runtime_error(path + " not found: build the release preset (scripts/dev build)");
    }
    return path;
}

// TTFB and client CPU: the body is 1 KiB, so its throughput would only
// restate TTFB.
const std::vector<metric>& profile_metrics() {
    static const std::vector<metric> metrics = [] {
        std::vector<metric> out;
        for (const auto& m : http_metrics()) {
            if (m.name == "ttfb" || m.name == "cpu") {
                out.push_back(m);
            }
        }
        return out;
    }();
    return metrics;
}

}  // namespace

int run_profiles(const workload_options& o) {
    if (o.fresh_connection) {
        throw std::runtime_error(
            "profiles has a fresh-connection case of its own: --case fresh-1KiB instead of "
            "--fresh-connection");
    }
    if (o.self_check && o.self_check_peer != "corvid") {
        throw std::runtime_error(
            "profiles compares corvid with itself; its A/A check is --aa (no profile on both "
            "sides), libcurl has no profiles");
    }
    workload_report report;
    report.workload = "profiles";
    report.title = o.self_check ? "A/A check, corvid without a profile on both sides, HTTP/2 "
                                  "over TLS on loopback"
                                : std::string("corvid with the ") + profile_name +
                                      " profile vs corvid with none, HTTP/2 over TLS on loopback";
    report.settings = o.settings;
    report.quick = o.quick;
    report.metrics = profile_metrics();
    if (o.goal_percent) {
        report.rule.min_improvement_percent = *o.goal_percent;
    }
    report.env = collect_environment();

    const fixture_file small{"1KiB.bin", 1024};
    const std::vector<case_def> all{{"keepalive-1KiB", false}, {"fresh-1KiB", true}};
    std::vector<case_def> cases;
    for (const auto& c : all) {
        if (o.only_cases.empty() ||
            std::find(o.only_cases.begin(), o.only_cases.end(), c.name) != o.only_cases.end()) {
            cases.push_back(c);
            report.cases.push_back(c.name);
        }
    }
    if (cases.empty()) {
        throw std::runtime_error(
            "--case matched no case (profiles has keepalive-1KiB, fresh-1KiB)");
    }

    int server_cpu = -1;
    const int last_cpu = static_cast<int>(report.env.cores - 1);
    if (o.pin == placement::split) {
        if (report.env.cores < 2) {
            throw std::runtime_error("--pin split needs at least two CPUs");
        }
        server_cpu = 0;
        report.settings.peer_cpu = last_cpu;
        report.env.pinning = "split: both peers pinned to CPU " + std::to_string(last_cpu) +
                             " (one runs at a time), nghttpd (one worker) to CPU 0";
    } else {
        report.env.pinning =
            "none: the peer under test and nghttpd (one worker) share the machine's " +
            std::to_string(report.env.cores) +
            " CPUs unpinned; the idle peer is blocked on its pipe";
    }
    std::cerr << "profiles: generating the docroot and starting nghttpd\n";
    nghttpd_fixture fixture({small}, server_cpu);
    report.fixture = fixture.description();

    const std::string corvid_peer = peer_path("bench-peer-corvid");
    // Loads the profile in the peer once before anything is measured: a
    // profile that does not load stops the run here, with the peer's reason
    // on stderr.
    const std::string profile_version =
        capture_output({corvid_peer, "--impersonate", profile_name, "--version"});
    if (profile_version.empty()) {
        throw std::runtime_error(corvid_peer + " cannot load the " + profile_name + " profile");
    }
    report.env.versions = {{"corvid", capture_output({corvid_peer, "--version"})},
                           {std::string("corvid --impersonate ") + profile_name, profile_version},
                           {"nghttpd", fixture.version()}};
    for (const char* pkg : {"nghttp2-server", "libnghttp2-14", "android-libboringssl", "libssl3"}) {
        std::string v = capture_output({"dpkg-query", "-W", "-f=${Version}", pkg});
        report.env.packages.emplace_back(pkg, v.empty() ? "not installed" : v);
    }
    report.notes = {
        std::string("the question is \"not slower\": Δ is ") + profile_name +
            " against none, and BENCH.md's rule is the verdict (5%, p < 0.01, tail no more "
            "than 5% worse); a loss (none better by 5% or more, p < 0.01) means the profile "
            "slows the client, while parity or a win for " +
            profile_name + " means it does not slow the client",
        std::string("both sides are the same bench-peer-corvid executable and one nghttpd; ") +
            profile_name + " adds --impersonate " + profile_name +
            " (client_options::profile = profile::load(\"" + profile_name +
            "\")), none adds nothing; both run with --http2 (h2 required, the response's ALPN "
            "checked; the profile keeps its own ALPN list h2, http/1.1)",
        "none: corvid's plain client as in the h2 workload: Host and Accept: */*, no "
        "User-Agent, no decoding, corvid's own ClientHello, and the peer's HTTP/2 receive "
        "windows of 32 MiB per stream and per connection (set for the comparison with libcurl)",
        std::string(profile_name) +
            ": the profile's ClientHello (GREASE, extension permutation, ALPS for h2, brotli "
            "certificate compression offered, ECH GREASE, OCSP and SCT requested, its cipher, "
            "group and signature lists), its HTTP/2 SETTINGS in order, connection "
            "WINDOW_UPDATE, HEADERS priority and pseudo-header order, and its navigation "
            "headers in order (Accept-Encoding included, so response decoding is on; nghttpd "
            "sends the file without Content-Encoding); the profile's HTTP/2 settings replace "
            "the peer's 32 MiB windows (client_options::profile in client.hpp), which is what "
            "the profile means; a 1 KiB response never comes near either window",
        "keepalive-1KiB: GET of 1 KiB on one connection per peer kept across samples, opened "
        "by its first warm-up sample (a later sample that opens a connection fails): the "
        "profile's per-request cost (its header set, HPACK, priority, decoding setup)",
        "fresh-1KiB: GET of 1 KiB on a new connection per sample (--fresh-connection: "
        "close_idle() and a 1 ms pause after each sample, outside the clock; a sample that "
        "does not open exactly one connection fails): TCP connect, TLS 1.3 handshake, HTTP/2 "
        "preface and the request, so the profile's handshake cost (a bigger ClientHello, "
        "GREASE, permutation); both clients keep TLS session resumption on, but nghttpd "
        "resumes no session (connection_info::tls_resumed was false on every new connection "
        "of both sides when the workload was written), so every sample is a full TLS 1.3 "
        "handshake on both; nghttpd fixes its group to P-256 and both clients' first (and "
        "only) key share is X25519 (BoringSSL's default order, the profile's groups), so both "
        "get a HelloRetryRequest on every new connection; nghttpd (OpenSSL 3.0) ignores ALPS, "
        "certificate compression and ECH GREASE, so the server's half of the handshake is the "
        "same for both",
        "TTFB: from just before the request is handed to client.send() to the first body byte "
        "reaching the caller (first non-empty read_some); client CPU: user + system CPU time "
        "of the peer process (CLOCK_PROCESS_CPUTIME_ID) from before the request until the "
        "response is finished with",
    };

    for (int rep = 1; rep <= o.settings.repetitions; ++rep) {
        for (const auto& c : cases) {
            std::vector<std::string> common{"--url", fixture.url(small.name), "--cacert",
                                            fixture.ca_file(), "--http2"};
            if (c.fresh_connection) {
                common.push_back("--fresh-connection");
            }
            // The candidate (A in the report, so Δ reads "chrome vs none") is the
            // profile; pairs alternate A,B then B,A, so which runs first in a pair
            // is balanced either way.
            peer_spec a{profile_name, {corvid_peer}};
            a.argv.insert(a.argv.end(), common.begin(), common.end());
            a.argv.insert(a.argv.end(), {"--impersonate", profile_name});
            peer_spec b{"none", {corvid_peer}};
            b.argv.insert(b.argv.end(), common.begin(), common.end());
            if (o.self_check) {
                a = b;
                b.name = "none-b";
            }
            if (rep == 1) {
                report.commands.emplace_back(c.name + " " + a.name, a.argv);
                report.commands.emplace_back(c.name + " " + b.name, b.argv);
            }

            std::cerr << "profiles: " << c.name << " repetition " << rep << "/"
                      << o.settings.repetitions << " ..." << std::flush;
            report.runs.push_back(run_paired(c.name, rep, a, b, report.settings, small.size));
            std::cerr << progress_summary(report, report.runs.back());
            std::cerr << "\n";
        }
    }

    return publish(report, o, "profiles");
}

}  // namespace corvid::bench
