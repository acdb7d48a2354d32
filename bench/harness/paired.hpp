#pragma once

// Paired, interleaved sampling of two peers (shared/BENCH.md): warm-up
// samples first, then pairs in the order A,B, B,A, A,B, ... so that drift of
// the machine hits both sides equally.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/stats.hpp"

namespace corvid::bench {

/// One line of a peer's answer.
struct sample {
    std::int64_t ttfb_ns = 0;
    std::int64_t total_ns = 0;
    std::uint64_t body_bytes = 0;
    std::int64_t cpu_ns = 0;  ///< the peer's CPU time for the sample
    /// Not reported by the peer but known to the harness from the case
    /// (sample_shape), so that metrics can be per request or per upload.
    std::uint64_t requests = 1;
    std::uint64_t upload_bytes = 0;
};

/// What every sample of a case is: the body bytes it must receive in total
/// (checked), the requests it issues at once and the request body bytes it
/// sends (copied into each sample for the metrics).
struct sample_shape {
    std::uint64_t body_bytes = 0;
    std::uint64_t requests = 1;      ///< --concurrent N
    std::uint64_t upload_bytes = 0;  ///< --upload-size N
};

/// How to start one peer for one case.
struct peer_spec {
    std::string name;  ///< "corvid", "curl", ...
    std::vector<std::string> argv;
};

/// The largest piece corvid's HTTP/1.1 client hands to read_some() for a
/// large body: the read buffer of its connection (connection::buffer_size in
/// client/pool.hpp; keep the two in step). libcurl is given the same receive
/// buffer (CURLOPT_BUFFERSIZE; its default is 16 KiB) so that both read from
/// the socket, and deliver the body to the caller, in pieces of the same size.
inline constexpr std::size_t corvid_read_size = 64 * 1024;

/// The two peers of an HTTP case: bench-peer-corvid (A) and bench-peer-curl
/// (B), each with `common` appended, libcurl also with --buffer-size
/// corvid_read_size. With `self_check` (an A/A check) both sides run
/// `self_check_peer` ("corvid" or "curl"), B named "<peer>-b".
std::pair<peer_spec, peer_spec> corvid_and_curl(const std::string& corvid_peer,
                                                const std::string& curl_peer,
                                                const std::vector<std::string>& common,
                                                bool self_check,
                                                const std::string& self_check_peer);

struct run_settings {
    int samples = 100;  ///< measured pairs per case and repetition
    int warmup = 5;     ///< unmeasured samples per peer before the pairs
    int repetitions = 3;
    /// CPU both peers are pinned to; negative: not pinned.
    int peer_cpu = -1;
    /// How long one sample may take before the run is abandoned.
    std::chrono::milliseconds sample_timeout{120'000};
};

/// Everything measured for one case in one repetition.
struct case_run {
    std::string case_name;
    int repetition = 0;  ///< 1-based
    std::string a_name;  ///< the candidate (corvid)
    std::string b_name;  ///< the baseline
    std::vector<sample> a_warmup;
    std::vector<sample> b_warmup;
    std::vector<sample> a;  ///< a[i] and b[i] form pair i
    std::vector<sample> b;
    std::vector<bool> a_first;  ///< per pair: did a run first?
    sample_shape shape;
};

/// Starts both peers, runs the warm-up and the interleaved pairs, and stops
/// them. Every sample must report `expected_bytes` of body. Throws
/// std::runtime_error when a peer fails (an "error ..." line, a wrong size,
/// a crash or a timeout): a run with failed samples reports nothing.
case_run run_paired(const std::string& case_name, int repetition, const peer_spec& a,
                    const peer_spec& b, const run_settings& settings, std::uint64_t expected_bytes);
/// The same for samples of any shape (uploads, concurrent batches).
case_run run_paired(const std::string& case_name, int repetition, const peer_spec& a,
                    const peer_spec& b, const run_settings& settings, const sample_shape& shape);

/// A figure derived from each sample.
struct metric {
    std::string name;   ///< "ttfb", "throughput"
    std::string label;  ///< for tables, with the unit: "TTFB (µs)"
    better direction;
    double (*of)(const sample&);
};

/// TTFB in microseconds (lower is better), throughput in MiB/s, body bytes
/// over the whole transfer time including TTFB (higher is better), and the
/// client's CPU time per request in microseconds (lower is better).
const std::vector<metric>& http_metrics();

/// For uploads (request-body streaming): TTFB as above, which against a
/// server that answers after the whole body covers the upload; upload
/// throughput in MiB/s, request body bytes over that TTFB; client CPU.
const std::vector<metric>& upload_metrics();

/// For --concurrent batches: requests per second (requests in the batch over
/// the time to the last body byte of the last response) and the client's CPU
/// time per request in microseconds.
const std::vector<metric>& concurrent_metrics();

/// The figures of `m` for the measured samples of one side.
std::vector<double> values(const std::vector<sample>& samples, const metric& m);

}  // namespace corvid::bench
