#include "bench/harness/paired.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "bench/harness/process.hpp"

namespace corvid::bench {

std::pair<peer_spec, peer_spec> corvid_and_curl(const std::string& corvid_peer,
                                                const std::string& curl_peer,
                                                const std::vector<std::string>& common,
                                                bool self_check,
                                                const std::string& self_check_peer) {
    peer_spec a{"corvid", {corvid_peer}};
    a.argv.insert(a.argv.end(), common.begin(), common.end());
    peer_spec b{"curl", {curl_peer}};
    b.argv.insert(b.argv.end(), common.begin(), common.end());
    b.argv.insert(b.argv.end(), {"--buffer-size", std::to_string(corvid_read_size)});
    if (self_check && self_check_peer == "curl") {
        a = b;
        b.name = "curl-b";
    } else if (self_check) {
        b = a;
        b.name = "corvid-b";
    }
    return {std::move(a), std::move(b)};
}

namespace {

sample take_sample(peer_process& p, const std::string& name, const run_settings& s,
                   const sample_shape& shape) {
    const std::uint64_t expected_bytes = shape.body_bytes;
    const std::string line = p.request("run", s.sample_timeout);
    sample out;
    long long ttfb = 0;
    long long total = 0;
    unsigned long long bytes = 0;
    long long cpu = 0;
    if (std::sscanf(line.c_str(), "%lld %lld %llu %lld", &ttfb, &total, &bytes, &cpu) != 4) {
        throw std::runtime_error(name + " peer: " + line);
    }
    out.ttfb_ns = ttfb;
    out.total_ns = total;
    out.body_bytes = bytes;
    out.cpu_ns = cpu;
    out.requests = shape.requests;
    out.upload_bytes = shape.upload_bytes;
    if (out.body_bytes != expected_bytes) {
        throw std::runtime_error(name + " peer received " + std::to_string(out.body_bytes) +
                                 " body bytes, expected " + std::to_string(expected_bytes));
    }
    if (out.ttfb_ns <= 0 || out.total_ns < out.ttfb_ns || out.cpu_ns <= 0) {
        throw std::runtime_error(name + " peer reported impossible times: " + line);
    }
    return out;
}

}  // namespace

case_run run_paired(const std::string& case_name, int repetition, const peer_spec& a,
                    const peer_spec& b, const run_settings& settings,
                    std::uint64_t expected_bytes) {
    return run_paired(case_name, repetition, a, b, settings, sample_shape{expected_bytes});
}

case_run run_paired(const std::string& case_name, int repetition, const peer_spec& a,
                    const peer_spec& b, const run_settings& settings, const sample_shape& shape) {
    case_run run;
    run.shape = shape;
    run.case_name = case_name;
    run.repetition = repetition;
    run.a_name = a.name;
    run.b_name = b.name;
    peer_process pa(a.argv, settings.peer_cpu);
    peer_process pb(b.argv, settings.peer_cpu);
    for (int i = 0; i < settings.warmup; ++i) {
        run.a_warmup.push_back(take_sample(pa, a.name, settings, shape));
        run.b_warmup.push_back(take_sample(pb, b.name, settings, shape));
    }
    run.a.reserve(static_cast<std::size_t>(settings.samples));
    run.b.reserve(static_cast<std::size_t>(settings.samples));
    for (int i = 0; i < settings.samples; ++i) {
        // A,B then B,A: whoever ran second in one pair runs first in the next.
        const bool a_first = i % 2 == 0;
        run.a_first.push_back(a_first);
        if (a_first) {
            run.a.push_back(take_sample(pa, a.name, settings, shape));
            run.b.push_back(take_sample(pb, b.name, settings, shape));
        } else {
            run.b.push_back(take_sample(pb, b.name, settings, shape));
            run.a.push_back(take_sample(pa, a.name, settings, shape));
        }
    }
    return run;
}

const std::vector<metric>& http_metrics() {
    static const std::vector<metric> metrics{
        {"ttfb", "TTFB (µs)", better::lower,
         [](const sample& s) { return static_cast<double>(s.ttfb_ns) / 1e3; }},
        {"throughput", "throughput (MiB/s)", better::higher,
         [](const sample& s) {
             return static_cast<double>(s.body_bytes) / (1024.0 * 1024.0) /
                    (static_cast<double>(s.total_ns) / 1e9);
         }},
        {"cpu", "client CPU (µs)", better::lower,
         [](const sample& s) { return static_cast<double>(s.cpu_ns) / 1e3; }},
    };
    return metrics;
}

const std::vector<metric>& upload_metrics() {
    static const std::vector<metric> metrics{
        http_metrics()[0],
        {"upload_throughput", "upload throughput (MiB/s)", better::higher,
         [](const sample& s) {
             return static_cast<double>(s.upload_bytes) / (1024.0 * 1024.0) /
                    (static_cast<double>(s.ttfb_ns) / 1e9);
         }},
        http_metrics()[2],
    };
    return metrics;
}

const std::vector<metric>& concurrent_metrics() {
    static const std::vector<metric> metrics{
        {"requests_per_second", "requests/s", better::higher,
         [](const sample& s) {
             return static_cast<double>(s.requests) / (static_cast<double>(s.total_ns) / 1e9);
         }},
        {"cpu_per_request", "client CPU per request (µs)", better::lower,
         [](const sample& s) {
             return static_cast<double>(s.cpu_ns) / 1e3 / static_cast<double>(s.requests);
         }},
    };
    return metrics;
}

std::vector<double> values(const std::vector<sample>& samples, const metric& m) {
    std::vector<double> out;
    out.reserve(samples.size());
    for (const auto& s : samples) {
        out.push_back(m.of(s));
    }
    return out;
}

}  // namespace corvid::bench
