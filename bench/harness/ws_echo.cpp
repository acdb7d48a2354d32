// The ws-echo workload: corvid's WebSocket client against Boost.Beast's and
// websocketpp's, each a separate peer process, in a ping-pong on one
// connection with a local echo server (corvid's own fixture and node's `ws`
// as a cross-check). Issue 5's performance goal: at least 10% more messages
// per second than the best of the two, p < 0.01. See
// docs/benchmarks/README.md for the method and peer_protocol.hpp (--ws-echo)
// for what one sample is.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/harness/environment.hpp"
#include "bench/harness/nginx_fixture.hpp"
#include "bench/harness/process.hpp"
#include "bench/harness/publish.hpp"
#include "bench/harness/report.hpp"
#include "bench/harness/workloads.hpp"

extern char** environ;

namespace corvid::bench {

namespace {

namespace fs = std::filesystem;

// Issue 5's goal: 10% more messages per second than the best other client.
constexpr double ws_goal_percent = 10.0;

// Issue 5's run: 20,000 measured messages after 2,000 of warm-up per client,
// case and repetition: 50 samples of 400 round trips after 5 warm-up samples.
constexpr int default_samples = 50;
constexpr int default_warmup = 5;
constexpr std::uint64_t default_messages_per_sample = 400;
constexpr std::uint64_t quick_messages_per_sample = 100;

struct size_def {
    std::string label;  ///< "1KiB"
    std::size_t bytes;
};

// One echo server the clients talk to: `argv` with "--port P" appended, on
// a free loopback port ("@DIR@" in `argv`: a fresh temporary directory),
// restricted to `cpu` unless negative; its echo is at `path`.
class echo_server {
  public:
    echo_server(std::string name, std::vector<std::string> argv, std::string path, int cpu)
        : process_(with_port(std::move(name), std::move(argv), cpu)), path_(std::move(path)) {}

    std::string url() const { return "ws://127.0.0.1:" + std::to_string(process_.port()) + path_; }
    const std::string& name() const { return process_.name(); }
    const std::vector<std::string>& argv() const { return process_.argv(); }
    // The server is still running (it did not crash during the run).
    bool alive() { return process_.alive(); }
    std::string log() const { return process_.log(); }

  private:
    static server_process::options with_port(std::string name, std::vector<std::string> argv,
                                             int cpu) {
        argv.insert(argv.end(), {"--port", "@PORT@"});
        return {std::move(name) + " echo server", std::move(argv), cpu, {}, {}};
    }

    server_process process_;
    std::string path_;
};

std::string peer_path(const std::string& name) {
    const std::string path = executable_dir() + "/" + name;
    if (access(path.c_str(), X_OK) != 0) {
        throw std::runtime_error(path +
                                 " not found: build the release preset (scripts/dev build); the "
                                 "Boost and websocketpp peers need libboost-dev and "
                                 "libwebsocketpp-dev, corvid's needs client/websocket.cpp");
    }
    return path;
}

// Messages per second (round trips over the sample's time) and the client's
// CPU time per message. `requests` carries the round trips of a sample.
const std::vector<metric>& ws_metrics() {
    static const std::vector<metric> metrics{
        {"messages_per_second", "messages/s", better::higher,
         [](const sample& s) {
             return static_cast<double>(s.requests) / (static_cast<double>(s.total_ns) / 1e9);
         }},
        {"cpu_per_message", "client CPU per message (µs)", better::lower,
         [](const sample& s) {
             return static_cast<double>(s.cpu_ns) / 1e3 / static_cast<double>(s.requests);
         }},
    };
    return metrics;
}

std::string format(const char* fmt, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

std::string format_p(double p) {
    char buf[32];
    if (p < 1e-4) {
        std::snprintf(buf, sizeof buf, "%.1e", p);
    } else {
        std::snprintf(buf, sizeof buf, "%.4f", p);
    }
    return buf;
}

struct headline_row {
    std::string server;
    std::string size;
    std::vector<std::pair<std::string, std::string>> baseline_cases;  ///< (peer, case name)
};

// The answer to issue 5 first: per server and size, for each metric, the
// median repetition of corvid against each baseline (both figures from the
// same pairs, so that drift of the machine between repetitions does not mix
// in) and, for messages/s, whether the goal (a win against both) holds in
// every repetition.
std::string headline(const workload_report& report, const std::vector<headline_row>& rows) {
    std::ostringstream md;
    md << "## Summary (median repetition)\n";
    for (const metric& m : ws_metrics()) {
        const bool goal = m.name == "messages_per_second";
        const char* value_format = goal ? "%.0f" : "%.2f";
        md << "\n"
           << m.label
           << ": corvid / baseline, and corvid's median paired improvement (Wilcoxon p, "
              "verdict)\n\n"
           << "| server | size | corvid / Beast | vs Beast | corvid / websocketpp | vs websocketpp "
              "|"
           << (goal ? " goal (≥ " + format("%.0f", report.rule.min_improvement_percent) +
                          "% vs both, p < 0.01), repetitions met |"
                    : std::string())
           << "\n|---|---|---:|---|---:|---|" << (goal ? "---|" : "") << "\n";
        for (const auto& row : rows) {
            std::vector<std::string> figures(2);
            std::vector<std::string> deltas(2);
            std::vector<int> wins_per_rep;
            for (const auto& [peer, case_name] : row.baseline_cases) {
                if (std::none_of(report.runs.begin(), report.runs.end(),
                                 [&](const case_run& r) { return r.case_name == case_name; })) {
                    continue;
                }
                const auto pick = pick_repetitions(report, case_name, m);
                const comparison c = compare_run(report.runs[pick.median_run], m, report.rule);
                const std::size_t col = peer == "beast" ? 0 : 1;
                figures[col] =
                    format(value_format, c.a_median) + " / " + format(value_format, c.b_median);
                deltas[col] = format("%+.1f%%", c.a_improvement_percent) +
                              " (p=" + format_p(c.test.p_value) + ", " +
                              std::string(to_string(c.outcome)) + ")";
                // Repetition by repetition: the goal needs a win against each.
                std::size_t rep_index = 0;
                for (const auto& r : report.runs) {
                    if (r.case_name != case_name) {
                        continue;
                    }
                    if (rep_index >= wins_per_rep.size()) {
                        wins_per_rep.push_back(0);
                    }
                    wins_per_rep[rep_index] +=
                        compare_run(r, m, report.rule).outcome == verdict::win;
                    ++rep_index;
                }
            }
            md << "| " << row.server << " | " << row.size << " | " << figures[0] << " | "
               << deltas[0] << " | " << figures[1] << " | " << deltas[1] << " |";
            if (goal) {
                const int total = static_cast<int>(wins_per_rep.size());
                const int met = static_cast<int>(std::count_if(
                    wins_per_rep.begin(), wins_per_rep.end(),
                    [&](int w) { return w == static_cast<int>(row.baseline_cases.size()); }));
                md << " " << (met == total && total > 0 ? "met" : "not met") << " (" << met << "/"
                   << total << ") |";
            }
            md << "\n";
        }
    }
    md << "\nThe detailed tables follow, one per baseline. Messages/s move with the load of "
          "this shared machine from repetition to repetition (the pairs are what compares "
          "the clients); client CPU per message barely does.\n\n";
    return md.str();
}

}  // namespace

int run_ws_echo(const workload_options& o) {
    if (o.fresh_connection) {
        throw std::runtime_error(
            "ws-echo keeps one WebSocket per peer for the whole run; --fresh-connection "
            "applies to http1-get");
    }
    if (o.self_check && o.self_check_peer != "corvid") {
        throw std::runtime_error("ws-echo's A/A check is --aa (corvid against itself)");
    }
    workload_report report;
    report.workload = "ws-echo";
    report.title = o.self_check
                       ? "A/A check, corvid vs corvid, WebSocket echo ping-pong on loopback"
                       : "corvid vs Boost.Beast and websocketpp, WebSocket echo ping-pong on "
                         "loopback";
    report.settings = o.settings;
    if (!o.quick && !o.samples_given) {
        report.settings.samples = default_samples;
    }
    if (!o.quick && !o.warmup_given) {
        report.settings.warmup = default_warmup;
    }
    const std::uint64_t messages = o.messages_per_sample.value_or(
        o.quick ? quick_messages_per_sample : default_messages_per_sample);
    report.quick = o.quick;
    report.metrics = ws_metrics();
    report.rule.min_improvement_percent = o.goal_percent.value_or(ws_goal_percent);
    report.env = collect_environment();

    const std::vector<size_def> sizes{{"64B", 64}, {"1KiB", 1024}, {"64KiB", 65536}};
    const std::vector<std::string> servers{"corvid", "node"};
    const std::vector<std::string> baselines =
        o.self_check ? std::vector<std::string>{"corvid-b"}
                     : std::vector<std::string>{"beast", "websocketpp"};
    auto case_name = [](const std::string& server, const size_def& size,
                        const std::string& baseline) {
        return server + "-" + size.label + "-" + baseline;
    };
    auto wanted = [&](const std::string& name) {
        return o.only_cases.empty() ||
               std::find(o.only_cases.begin(), o.only_cases.end(), name) != o.only_cases.end();
    };
    std::vector<std::string> servers_used;
    std::vector<headline_row> rows;
    for (const auto& server : servers) {
        bool used = false;
        for (const auto& size : sizes) {
            headline_row row{server, size.label, {}};
            for (const auto& b : baselines) {
                const std::string name = case_name(server, size, b);
                if (wanted(name)) {
                    report.cases.push_back(name);
                    row.baseline_cases.emplace_back(b, name);
                    used = true;
                }
            }
            if (!row.baseline_cases.empty()) {
                rows.push_back(row);
            }
        }
        if (used) {
            servers_used.push_back(server);
        }
    }
    if (report.cases.empty()) {
        throw std::runtime_error(
            "--case matched no case (ws-echo has SERVER-SIZE-PEER: SERVER corvid or node, SIZE "
            "64B, 1KiB or 64KiB, PEER beast or websocketpp, e.g. node-1KiB-beast)");
    }

    int server_cpu = -1;
    const int last_cpu = static_cast<int>(report.env.cores - 1);
    const placement pin = o.pin_given ? o.pin : placement::same;
    if (pin == placement::same) {
        server_cpu = last_cpu;
        report.settings.peer_cpu = last_cpu;
        report.env.pinning =
            "same: both peers (one runs at a time) and the echo server (all its "
            "threads) pinned to CPU " +
            std::to_string(last_cpu) +
            "; a ping-pong is sequential, so one CPU runs client, kernel and "
            "server in turn, without a cross-CPU wake-up per message";
    } else if (pin == placement::split) {
        if (report.env.cores < 2) {
            throw std::runtime_error("--pin split needs at least two CPUs");
        }
        server_cpu = 0;
        report.settings.peer_cpu = last_cpu;
        report.env.pinning = "split: both peers pinned to CPU " + std::to_string(last_cpu) +
                             " (one runs at a time), the echo server (all its threads) to CPU 0";
    } else {
        report.env.pinning = "none: the peer under test and the echo server share the machine's " +
                             std::to_string(report.env.cores) +
                             " CPUs unpinned; the idle peer is blocked on its pipe";
    }

    const std::string corvid_peer = peer_path("bench-peer-corvid-ws");
    std::string beast_peer;
    std::string wspp_peer;
    if (!o.self_check) {
        beast_peer = peer_path("bench-peer-beast-ws");
        wspp_peer = peer_path("bench-peer-websocketpp-ws");
    }
    const std::string node_script =
        std::string(CORVID_SOURCE_DIR) + "/tests/support/node/ws_echo_server.js";
    const std::string fixture_path = executable_dir() + "/corvid-fixture";

    report.env.versions = {{"corvid", capture_output({corvid_peer, "--version"})}};
    if (!o.self_check) {
        report.env.versions.emplace_back("Boost.Beast", capture_output({beast_peer, "--version"}));
        report.env.versions.emplace_back("websocketpp", capture_output({wspp_peer, "--version"}));
    }
    report.env.versions.emplace_back("node ws (echo server)",
                                     capture_output({"node", node_script, "--version"}));
    for (const char* pkg : {"libboost1.74-dev", "libwebsocketpp-dev", "nodejs"}) {
        std::string v = capture_output({"dpkg-query", "-W", "-f=${Version}", pkg});
        report.env.packages.emplace_back(pkg, v.empty() ? "not installed" : v);
    }
    std::string fixture_text;
    for (const auto& s : servers_used) {
        if (!fixture_text.empty()) {
            fixture_text += "; ";
        }
        if (s == "corvid") {
            fixture_text +=
                "corvid: corvid-fixture --plain --no-deflate (corvid's HTTP/1.1 server, WebSocket "
                "upgrade at /ws, echo of every message with its type, one thread" +
                (server_cpu >= 0 ? ", pinned to CPU " + std::to_string(server_cpu)
                                 : std::string()) +
                ")";
        } else {
            fixture_text +=
                "node: tests/support/node/ws_echo_server.js (node's ws, "
                "perMessageDeflate false, echo of every message with its type" +
                (server_cpu >= 0 ? ", pinned to CPU " + std::to_string(server_cpu)
                                 : std::string()) +
                ")";
        }
    }
    report.fixture = fixture_text;
    const std::string per_sample = std::to_string(messages);
    report.notes = {
        "the question (issue 5): does corvid's client reach at least " +
            format("%.0f", report.rule.min_improvement_percent) +
            "% more messages per second than the best of Boost.Beast and websocketpp (p < "
            "0.01)? That is a win against both; the verdict rule below is the goal",
        "one sample = " + per_sample +
            " round trips on one WebSocket kept open for the whole run (opened by the peer "
            "before its first warm-up sample's clock starts): send one binary message, wait "
            "for its whole echo, check it, repeat; messages/s = " +
            per_sample +
            " / the sample's time; client CPU per message = the peer process's CPU time "
            "(CLOCK_PROCESS_CPUTIME_ID) over the sample / " +
            per_sample + "; so each client sends " +
            std::to_string(messages * static_cast<std::uint64_t>(report.settings.samples)) +
            " measured messages after " +
            std::to_string(messages * static_cast<std::uint64_t>(report.settings.warmup)) +
            " of warm-up per case and repetition",
        "every echo is checked: binary, the same size, the message's sequence number in its "
        "first 8 bytes, and the whole content up to 1 KiB (the last 64 bytes above); a wrong "
        "echo fails the run",
        "all clients: plain ws:// over HTTP/1.1, no permessage-deflate, no keepalive pings, "
        "TCP_NODELAY, one thread, each message one frame (masked, as a client must)",
        "corvid: corvid::websocket::connect() (websocket_transport::http1_1, "
        "deflate.enabled = false, ping_interval 0), then co_await send_binary() and co_await "
        "receive() per round trip on one io_context",
        "Boost.Beast: synchronous websocket::stream<tcp::socket> write() and read() into one "
        "flat_buffer on one thread; auto_fragment(false) and write_buffer_bytes(65536) so that "
        "a message is one frame in one write (Beast's defaults: frames and writes of 4 KiB)",
        "websocketpp: config::asio_client, the message handler sends the next message, the "
        "sample runs the endpoint's io_service with run_one(); logging off",
        "where corvid's time goes (syscalls per round trip, perf and callgrind profiles, "
        "suggestions): docs/benchmarks/ws_echo.profile.md",
        "servers: each echo server is started afresh for every repetition and serves all the "
        "pairs of that repetition (every size and baseline, one pair of processes at a time; "
        "each peer opens one connection to it and keeps it)",
    };

    for (int rep = 1; rep <= report.settings.repetitions; ++rep) {
        for (const auto& server_name : servers_used) {
            std::unique_ptr<echo_server> server;
            if (server_name == "corvid") {
                if (access(fixture_path.c_str(), X_OK) != 0) {
                    throw std::runtime_error(fixture_path + " not found: build corvid-fixture");
                }
                server = std::make_unique<echo_server>(
                    "corvid",
                    std::vector<std::string>{fixture_path, "--plain", "--no-deflate", "--dir",
                                             "@DIR@"},
                    "/ws", server_cpu);
            } else {
                server = std::make_unique<echo_server>(
                    "node", std::vector<std::string>{"node", node_script}, "/", server_cpu);
            }
            if (rep == 1) {
                report.commands.emplace_back("server " + server_name, server->argv());
            }
            for (const auto& size : sizes) {
                for (const auto& b : baselines) {
                    const std::string name = case_name(server_name, size, b);
                    if (!wanted(name)) {
                        continue;
                    }
                    const std::vector<std::string> common{"--url",
                                                          server->url(),
                                                          "--ws-echo",
                                                          "--size",
                                                          std::to_string(size.bytes),
                                                          "--messages",
                                                          per_sample};
                    peer_spec a{"corvid", {corvid_peer}};
                    a.argv.insert(a.argv.end(), common.begin(), common.end());
                    peer_spec pb{b,
                                 {b == "beast"         ? beast_peer
                                  : b == "websocketpp" ? wspp_peer
                                                       : corvid_peer}};
                    pb.argv.insert(pb.argv.end(), common.begin(), common.end());
                    if (rep == 1) {
                        report.commands.emplace_back(name + " " + a.name, a.argv);
                        report.commands.emplace_back(name + " " + pb.name, pb.argv);
                    }
                    std::cerr << "ws-echo: " << name << " repetition " << rep << "/"
                              << report.settings.repetitions << " ..." << std::flush;
                    const sample_shape shape{messages * size.bytes, messages, 0};
                    try {
                        report.runs.push_back(run_paired(name, rep, a, pb, report.settings, shape));
                    } catch (const std::exception& e) {
                        throw std::runtime_error(std::string(e.what()) + "\n" + server_name +
                                                 " echo server log:\n" + server->log());
                    }
                    std::cerr << progress_summary(report, report.runs.back());
                    std::cerr << "\n";
                }
            }
            if (!server->alive()) {
                throw std::runtime_error(server_name + " echo server died; its log:\n" +
                                         server->log());
            }
        }
    }

    // The artifacts: publish()'s paths and JSON, and a Markdown summary of
    // our own: the headline answer, then markdown()'s tables once per
    // baseline (its columns name one baseline).
    report.env.load_end = read_loadavg();
    const std::string json =
        o.json_path.empty() ? default_output_path(o, "ws_echo", "json") : o.json_path;
    const std::string md_path =
        o.markdown_path.empty() ? default_output_path(o, "ws_echo", "md") : o.markdown_path;
    write_json_file(report, json);
    std::string md;
    for (std::size_t k = 0; k < baselines.size(); ++k) {
        const workload_report part = only_baseline(report, baselines[k]);
        if (part.runs.empty()) {
            continue;
        }
        std::string text = markdown(part);
        if (md.empty()) {
            // Insert the headline after the title and the environment list.
            const std::size_t table = text.find("\n| case |");
            md = text.substr(0, table) + "\n\n" + (o.self_check ? "" : headline(report, rows)) +
                 "## corvid vs " + baselines[k] + "\n" + text.substr(table);
        } else {
            const std::size_t table = text.find("\n| case |");
            md += "\n## corvid vs " + baselines[k] + "\n" + text.substr(table);
        }
    }
    if (const auto parent = fs::path(md_path).parent_path(); !parent.empty()) {
        fs::create_directories(parent);
    }
    std::ofstream(md_path, std::ios::trunc) << md;
    std::cout << md;
    std::cerr << "ws-echo: wrote " << json << " and " << md_path << "\n";
    return 0;
}

}  // namespace corvid::bench
