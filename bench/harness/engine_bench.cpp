// The engine workloads (issue 6's performance section): corvid-server
// against node's ws and websocketpp servers that implement the same minimal
// broadcast (bench/peers/engine_node_server.js,
// bench/peers/engine_websocketpp_server.cpp), all driven by corvid-bench's
// own load generator (engine_load.hpp) over plain ws:// on loopback:
//
//   connect    connect-to-ready latency with a JWT, one connection at a time
//   broadcast  1 publisher, 1,000 subscribers on one channel: deliveries/s
//   fanin      100 channels x 10 subscribers, 100 publishers: messages/s
//
// Every server runs at once, each with one worker pinned to CPU 0; the
// generator's threads take the other CPUs. Samples are interleaved server by
// server in rotating order (A B C, B C A, C A B, ...), so that drift of this
// shared machine hits every server alike, and corvid (the first server) is
// compared with each other one pair by pair (BENCH.md: median paired
// difference, Wilcoxon signed-rank p, verdict). Servers are started afresh
// for every repetition. See docs/benchmarks/engine.md.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/harness/engine_load.hpp"
#include "bench/harness/environment.hpp"
#include "bench/harness/json_writer.hpp"
#include "bench/harness/nginx_fixture.hpp"
#include "bench/harness/process.hpp"
#include "bench/harness/publish.hpp"
#include "bench/harness/workloads.hpp"
#include "bench/stats.hpp"

extern char** environ;

namespace corvid::bench {

namespace {

namespace fs = std::filesystem;

// 48 bytes: corvid-server wants HMAC secrets of at least 32.
constexpr const char* jwt_secret = "corvid-bench-engine-secret-0123456789abcdefghij";

// Issue 6's goals.
constexpr double connect_goal_us = 200.0;
constexpr double published_connect_us = 530.0;
constexpr double node_factor_goal = 3.0;

// ------------------------------------------------------------ servers

struct server_def {
    std::string name;  ///< corvid, websocketpp, node
    std::string label;
    std::vector<std::string> argv;
    std::string version;
};

std::string node_script() {
    return std::string(CORVID_SOURCE_DIR) + "/bench/peers/engine_node_server.js";
}

std::vector<server_def> available_servers(const workload_options& o) {
    const std::string dir = executable_dir();
    std::vector<server_def> all;
    const std::string corvid = dir + "/corvid-server";
    const std::string wspp = dir + "/bench-peer-websocketpp-engine";
    const std::string workers = "1";
    all.push_back(
        {"corvid",
         "corvid-server",
         {corvid, "--listen", "@LISTEN@", "--jwt-secret", jwt_secret, "--workers", workers},
         ""});
    all.push_back({"websocketpp",
                   "websocketpp 0.8.2 (asio, 1 thread)",
                   {wspp, "--port", "@PORT@", "--jwt-secret", jwt_secret, "--threads", workers},
                   ""});
    all.push_back({"node",
                   "node ws",
                   {"node", node_script(), "--port", "@PORT@", "--jwt-secret", jwt_secret},
                   ""});
    std::vector<server_def> out;
    for (auto& s : all) {
        if (!o.servers.empty() &&
            std::find(o.servers.begin(), o.servers.end(), s.name) == o.servers.end()) {
            continue;
        }
        if (s.argv[0] != "node" && access(s.argv[0].c_str(), X_OK) != 0) {
            std::cerr << "engine: " << s.argv[0] << " not built; " << s.name
                      << " is left out (build the release preset";
            if (s.name == "corvid") {
                std::cerr << ", target corvid-server";
            } else {
                std::cerr << "; it needs libwebsocketpp-dev, libboost-dev and libssl-dev";
            }
            std::cerr << ")\n";
            if (!o.servers.empty()) {
                throw std::runtime_error(s.name + " was asked for with --server but is not built");
            }
            continue;
        }
        if (s.name == "corvid") {
            s.version = capture_output({s.argv[0], "--version"});
        } else if (s.name == "websocketpp") {
            s.version = capture_output({s.argv[0], "--version"});
        } else {
            s.version = capture_output({"node", node_script(), "--version"});
            if (s.version.empty() || s.version.find("ws ") != 0) {
                std::cerr << "engine: node ws not installed (scripts/dev bench runs npm ci in "
                             "tests/support/node); node is left out\n";
                continue;
            }
        }
        out.push_back(std::move(s));
    }
    if (out.size() < 2) {
        throw std::runtime_error("the engine workloads need at least two servers to compare");
    }
    return out;
}

// ------------------------------------------------------------ samples

struct connect_sample {
    double latency_us = 0;
};

struct burst_sample {
    engine::burst_result r;
    std::int64_t server_cpu_ns = 0;
};

// One metric of a burst sample.
struct burst_metric {
    std::string name;
    std::string label;
    better direction;
    std::function<double(const burst_sample&)> of;
};

std::vector<burst_metric> burst_metrics(bool fanin) {
    std::vector<burst_metric> m;
    if (fanin) {
        m.push_back({"messages_in_per_second", "messages in/s (publications)", better::higher,
                     [](const burst_sample& s) {
                         return static_cast<double>(s.r.publications) /
                                (static_cast<double>(s.r.wall_ns) / 1e9);
                     }});
        m.push_back({"messages_out_per_second", "messages out/s (deliveries)", better::higher,
                     [](const burst_sample& s) {
                         return static_cast<double>(s.r.deliveries) /
                                (static_cast<double>(s.r.wall_ns) / 1e9);
                     }});
    } else {
        m.push_back(
            {"deliveries_per_second", "deliveries/s", better::higher, [](const burst_sample& s) {
                 return static_cast<double>(s.r.deliveries) /
                        (static_cast<double>(s.r.wall_ns) / 1e9);
             }});
    }
    m.push_back({"deliveries_per_server_cpu_second", "deliveries per server CPU-second",
                 better::higher, [](const burst_sample& s) {
                     return static_cast<double>(s.r.deliveries) /
                            (static_cast<double>(std::max<std::int64_t>(s.server_cpu_ns, 1)) / 1e9);
                 }});
    m.push_back({"latency_p50_us", "delivery latency p50 (µs)", better::lower,
                 [](const burst_sample& s) { return s.r.latency_p50_us; }});
    m.push_back({"latency_p99_us", "delivery latency p99 (µs)", better::lower,
                 [](const burst_sample& s) { return s.r.latency_p99_us; }});
    m.push_back(
        {"server_cpu_utilization", "server CPU busy (%)", better::lower, [](const burst_sample& s) {
             return 100.0 * static_cast<double>(s.server_cpu_ns) / static_cast<double>(s.r.wall_ns);
         }});
    m.push_back({"generator_cpu_utilization", "generator CPU busy (% of its threads)",
                 better::lower, [](const burst_sample& s) {
                     return 100.0 * static_cast<double>(s.r.generator_cpu_ns) /
                            static_cast<double>(s.r.wall_ns) / s.r.generator_threads;
                 }});
    return m;
}

// Every sample of one server in one repetition of one part.
struct server_series {
    std::vector<connect_sample> connect;
    /// Concurrent connects: per round, every connection's latency (µs).
    std::vector<std::vector<double>> concurrent;
    std::vector<burst_sample> burst;
    /// Broadcast, one publication at a time (window 1): fan-out latency.
    std::vector<burst_sample> fanout;
};

struct part_result {
    std::string part;  ///< connect, broadcast, fanin
    // [repetition][server name]
    std::vector<std::map<std::string, server_series>> reps;
};

// Rotating order for round r over n servers.
std::vector<std::size_t> round_order(std::size_t r, std::size_t n) {
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) {
        order[i] = (r + i) % n;
    }
    return order;
}

std::string fmt(double v, const char* f = "%.1f") {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string fmt_p(double p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, p < 1e-4 ? "%.1e" : "%.4f", p);
    return buf;
}

std::string fmt_rate(double v) {
    if (v >= 1e6) {
        return fmt(v / 1e6, "%.2f") + "M";
    }
    if (v >= 1e3) {
        return fmt(v / 1e3, "%.1f") + "k";
    }
    return fmt(v, "%.0f");
}

// ------------------------------------------------------------ the parts

struct part_settings {
    int rounds = 0;
    int warmup = 0;
    // connect: concurrent rounds, each `concurrent` connections at once
    int concurrent_rounds = 0;
    std::size_t concurrent = 100;
    // bursts
    engine::topology_plan plan;
    std::uint64_t pubs = 0;
    std::uint64_t window = 0;
    std::size_t data_bytes = 64;
    // bursts of `fanout_pubs` publications one at a time (window 1), after
    // the throughput rounds; 0: none
    int fanout_rounds = 0;
    std::uint64_t fanout_pubs = 20;
};

void run_connect_part(std::vector<std::unique_ptr<server_process>>& servers,
                      const std::vector<server_def>& defs, const part_settings& ps,
                      int generator_cpu, const std::string& token,
                      std::map<std::string, server_series>& out) {
    // The sequential connects run on this thread: on the generator's CPU.
    const spawn_affinity pinned(generator_cpu);
    for (int r = 0; r < ps.warmup + ps.rounds; ++r) {
        for (const std::size_t i : round_order(static_cast<std::size_t>(r), servers.size())) {
            const engine::target t{defs[i].name, servers[i]->port(), "/ws"};
            const std::int64_t ns = engine::connect_to_ready(t, token);
            if (r >= ps.warmup) {
                out[defs[i].name].connect.push_back({static_cast<double>(ns) / 1e3});
            }
        }
    }
    // Concurrent: `concurrent` connections started at once from one
    // generator thread (connect, upgrade, ready; no subscription).
    const engine::topology_plan plan{ps.concurrent, 0, true};
    for (int r = 0; r < ps.warmup / 10 + ps.concurrent_rounds; ++r) {
        for (const std::size_t i : round_order(static_cast<std::size_t>(r), servers.size())) {
            engine::load_generator gen({generator_cpu});
            gen.setup({defs[i].name, servers[i]->port(), "/ws"}, plan, token, ps.concurrent);
            if (r >= ps.warmup / 10) {
                out[defs[i].name].concurrent.push_back(gen.setup_latencies_us());
            }
            gen.teardown();
        }
    }
}

void run_burst_part(std::vector<std::unique_ptr<server_process>>& servers,
                    const std::vector<server_def>& defs, const part_settings& ps,
                    const std::vector<int>& generator_cpus, const std::string& token,
                    std::map<std::string, server_series>& out) {
    std::vector<std::unique_ptr<engine::load_generator>> gens;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        gens.push_back(std::make_unique<engine::load_generator>(generator_cpus));
        gens.back()->setup({defs[i].name, servers[i]->port(), "/ws"}, ps.plan, token);
    }
    for (int r = 0; r < ps.warmup + ps.rounds; ++r) {
        for (const std::size_t i : round_order(static_cast<std::size_t>(r), servers.size())) {
            const std::int64_t cpu0 = engine::process_cpu_ns(servers[i]->pid());
            burst_sample s;
            s.r = gens[i]->run(ps.pubs, ps.window, ps.data_bytes);
            s.server_cpu_ns = engine::process_cpu_ns(servers[i]->pid()) - cpu0;
            if (r >= ps.warmup) {
                out[defs[i].name].burst.push_back(s);
            }
        }
    }
    for (int r = 0; r < ps.fanout_rounds; ++r) {
        for (const std::size_t i : round_order(static_cast<std::size_t>(r), servers.size())) {
            const std::int64_t cpu0 = engine::process_cpu_ns(servers[i]->pid());
            burst_sample s;
            s.r = gens[i]->run(ps.fanout_pubs, 1, ps.data_bytes);
            s.server_cpu_ns = engine::process_cpu_ns(servers[i]->pid()) - cpu0;
            out[defs[i].name].fanout.push_back(s);
        }
    }
    for (auto& g : gens) {
        g->teardown();
    }
}

// ------------------------------------------------------------ report

struct pair_stat {
    std::string part;
    std::string metric;
    std::string label;
    int repetition = 0;
    std::string a;
    std::string b;
    comparison c;
};

std::vector<double> connect_values(const server_series& s) {
    std::vector<double> v;
    for (const auto& x : s.connect) {
        v.push_back(x.latency_us);
    }
    return v;
}

// Concurrent connects: each round's median latency.
std::vector<double> concurrent_round_medians(const server_series& s) {
    std::vector<double> v;
    for (const auto& round : s.concurrent) {
        v.push_back(median(round));
    }
    return v;
}

std::vector<double> concurrent_pooled(const part_result& p, const std::string& server) {
    std::vector<double> all;
    for (const auto& rep : p.reps) {
        const auto it = rep.find(server);
        if (it != rep.end()) {
            for (const auto& round : it->second.concurrent) {
                all.insert(all.end(), round.begin(), round.end());
            }
        }
    }
    return all;
}

std::vector<double> burst_values(const std::vector<burst_sample>& samples, const burst_metric& m) {
    std::vector<double> v;
    for (const auto& x : samples) {
        v.push_back(m.of(x));
    }
    return v;
}

std::vector<double> burst_values(const server_series& s, const burst_metric& m) {
    return burst_values(s.burst, m);
}

std::vector<double> fanout_pooled(const part_result& p, const std::string& server,
                                  const burst_metric& m) {
    std::vector<double> all;
    for (const auto& rep : p.reps) {
        const auto it = rep.find(server);
        if (it != rep.end()) {
            const auto v = burst_values(it->second.fanout, m);
            all.insert(all.end(), v.begin(), v.end());
        }
    }
    return all;
}

// All repetitions pooled.
std::vector<double> pooled(const part_result& p, const std::string& server, const burst_metric* m) {
    std::vector<double> all;
    for (const auto& rep : p.reps) {
        const auto it = rep.find(server);
        if (it == rep.end()) {
            continue;
        }
        const auto v = m == nullptr ? connect_values(it->second) : burst_values(it->second, *m);
        all.insert(all.end(), v.begin(), v.end());
    }
    return all;
}

std::vector<pair_stat> compare_part(const part_result& p, const std::vector<server_def>& defs,
                                    const verdict_rule& rule) {
    std::vector<pair_stat> out;
    const std::string& a = defs.front().name;
    for (std::size_t rep = 0; rep < p.reps.size(); ++rep) {
        for (std::size_t k = 1; k < defs.size(); ++k) {
            const std::string& b = defs[k].name;
            const auto& sa = p.reps[rep].at(a);
            const auto& sb = p.reps[rep].at(b);
            if (p.part == "connect") {
                const auto va = connect_values(sa);
                const auto vb = connect_values(sb);
                out.push_back({p.part, "connect_to_ready_us", "connect-to-ready (µs)",
                               static_cast<int>(rep + 1), a, b,
                               compare(va, vb, better::lower, rule)});
                if (!sa.concurrent.empty()) {
                    out.push_back({p.part, "concurrent_connect_to_ready_p50_us",
                                   "concurrent connect-to-ready, round median (µs)",
                                   static_cast<int>(rep + 1), a, b,
                                   compare(concurrent_round_medians(sa),
                                           concurrent_round_medians(sb), better::lower, rule)});
                }
            } else {
                for (const auto& m : burst_metrics(p.part == "fanin")) {
                    if (m.name.find("utilization") != std::string::npos) {
                        continue;
                    }
                    out.push_back(
                        {p.part, m.name, m.label, static_cast<int>(rep + 1), a, b,
                         compare(burst_values(sa, m), burst_values(sb, m), m.direction, rule)});
                }
                if (!sa.fanout.empty() && sa.fanout.size() == sb.fanout.size()) {
                    for (const auto& m : burst_metrics(false)) {
                        if (m.name.find("latency") == std::string::npos) {
                            continue;
                        }
                        out.push_back({p.part + " one at a time", m.name, m.label,
                                       static_cast<int>(rep + 1), a, b,
                                       compare(burst_values(sa.fanout, m),
                                               burst_values(sb.fanout, m), m.direction, rule)});
                    }
                }
            }
        }
    }
    return out;
}

void write_series_json(json_writer& w, const part_result& p) {
    w.key("repetitions").begin_array();
    for (const auto& rep : p.reps) {
        w.newline().begin_object();
        for (const auto& [server, s] : rep) {
            if (p.part == "connect") {
                w.key(server + ".concurrent").begin_array();
                for (const auto& round : s.concurrent) {
                    w.newline().begin_array();
                    for (const double x : round) {
                        w.value(x);
                    }
                    w.end_array();
                }
                w.end_array();
            }
            if (!s.fanout.empty()) {
                w.key(server + ".one_at_a_time").begin_array();
                for (const auto& x : s.fanout) {
                    w.newline()
                        .begin_object()
                        .field("wall_ns", x.r.wall_ns)
                        .field("publications", x.r.publications)
                        .field("deliveries", x.r.deliveries)
                        .field("server_cpu_ns", x.server_cpu_ns)
                        .field("latency_p50_us", x.r.latency_p50_us)
                        .field("latency_p99_us", x.r.latency_p99_us)
                        .end_object();
                }
                w.end_array();
            }
            w.key(server).begin_array();
            if (p.part == "connect") {
                for (const auto& x : s.connect) {
                    w.value(x.latency_us);
                }
            } else {
                for (const auto& x : s.burst) {
                    w.newline()
                        .begin_object()
                        .field("wall_ns", x.r.wall_ns)
                        .field("publications", x.r.publications)
                        .field("deliveries", x.r.deliveries)
                        .field("server_cpu_ns", x.server_cpu_ns)
                        .field("generator_cpu_ns", x.r.generator_cpu_ns)
                        .field("generator_threads", x.r.generator_threads)
                        .field("latency_p50_us", x.r.latency_p50_us)
                        .field("latency_p99_us", x.r.latency_p99_us)
                        .end_object();
                }
            }
            w.end_array();
        }
        w.end_object();
    }
    w.end_array();
}

}  // namespace

int run_engine(const workload_options& o, const std::string& which) {
    const bool all = which == "engine";
    const bool do_connect = all || which == "engine-connect";
    const bool do_broadcast = all || which == "engine-broadcast";
    const bool do_fanin = all || which == "engine-fanin";
    if (o.self_check || o.fresh_connection) {
        throw std::runtime_error("the engine workloads have no --aa or --fresh-connection");
    }

    environment env = collect_environment();
    env.dirty = !capture_output({"git", "-C", CORVID_SOURCE_DIR, "status", "--porcelain", "--",
                                 "CMakeLists.txt", "cmake", "include", "core", "net", "tls",
                                 "proto", "server", "engine", "apps/server", "bench"})
                     .empty();
    for (const char* pkg : {"libwebsocketpp-dev", "libboost1.74-dev", "libssl-dev", "nodejs"}) {
        std::string v = capture_output({"dpkg-query", "-W", "-f=${Version}", pkg});
        env.packages.emplace_back(pkg, v.empty() ? "not installed" : v);
    }
    const std::vector<server_def> defs = available_servers(o);
    for (const auto& d : defs) {
        env.versions.emplace_back(d.label, d.version);
    }

    // Placement: every server (all its threads) on CPU 0, one generator
    // thread on each other CPU.
    const int cores = static_cast<int>(env.cores);
    int server_cpu = -1;
    std::vector<int> generator_cpus;
    if (o.pin == placement::none || cores < 2) {
        const int n = std::max(1, o.generator_threads.value_or(std::max(1, cores - 1)));
        generator_cpus.assign(static_cast<std::size_t>(n), -1);
        env.pinning = "none: servers and " + std::to_string(n) +
                      " generator thread(s) unpinned on " + std::to_string(cores) + " CPUs";
    } else {
        server_cpu = 0;
        const int n = o.generator_threads.value_or(cores - 1);
        for (int i = 0; i < n; ++i) {
            generator_cpus.push_back(1 + i % (cores - 1));
        }
        env.pinning = "split: every server (all its threads, one worker) on CPU 0; " +
                      std::to_string(n) + " generator thread(s) on CPU(s) 1.." +
                      std::to_string(cores - 1);
    }

    const int reps = o.settings.repetitions;
    part_settings connect_ps;
    connect_ps.rounds = o.samples_given ? o.settings.samples : (o.quick ? 200 : 1000);
    connect_ps.warmup = o.warmup_given ? o.settings.warmup : (o.quick ? 20 : 50);
    connect_ps.concurrent_rounds = o.quick ? 10 : 30;
    part_settings broadcast_ps;
    broadcast_ps.rounds = o.samples_given ? o.settings.samples : (o.quick ? 6 : 15);
    broadcast_ps.warmup = o.warmup_given ? o.settings.warmup : 2;
    broadcast_ps.plan = {1, 1000, true};
    broadcast_ps.pubs = o.quick ? 50 : 100;
    broadcast_ps.window = 8;
    broadcast_ps.fanout_rounds = o.quick ? 5 : 15;
    part_settings fanin_ps = broadcast_ps;
    fanin_ps.fanout_rounds = 0;
    fanin_ps.plan = {100, 10, true};
    fanin_ps.pubs = o.quick ? 20 : 50;
    fanin_ps.window = 2;

    const std::string token = engine::make_jwt(jwt_secret);
    part_result connect_res{"connect", {}};
    part_result broadcast_res{"broadcast", {}};
    part_result fanin_res{"fanin", {}};
    std::vector<std::pair<std::string, std::vector<std::string>>> commands;

    for (int rep = 1; rep <= reps; ++rep) {
        std::vector<std::unique_ptr<server_process>> servers;
        for (const auto& d : defs) {
            servers.push_back(std::make_unique<server_process>(
                server_process::options{d.name, d.argv, server_cpu, {}, {}}));
            if (rep == 1) {
                commands.emplace_back(d.name, servers.back()->argv());
            }
        }
        auto check_alive = [&] {
            for (auto& s : servers) {
                if (!s->alive()) {
                    throw std::runtime_error(s->name() + " died; its log:\n" + s->log());
                }
            }
        };
        auto guarded = [&](const char* what, const std::function<void()>& fn) {
            std::cerr << "engine: " << what << " repetition " << rep << "/" << reps << " ..."
                      << std::flush;
            try {
                fn();
            } catch (const std::exception& e) {
                std::string logs;
                for (auto& s : servers) {
                    logs += "\n--- " + s->name() + " log:\n" + s->log();
                }
                throw std::runtime_error(std::string(e.what()) + logs);
            }
            check_alive();
        };
        if (do_connect) {
            auto& out = connect_res.reps.emplace_back();
            guarded("connect", [&] {
                run_connect_part(servers, defs, connect_ps, generator_cpus.front(), token, out);
            });
            for (const auto& d : defs) {
                const auto v = connect_values(out[d.name]);
                std::cerr << " " << d.name << " p50 " << fmt(median(v)) << " µs";
            }
            std::cerr << "\n";
        }
        for (auto* p : {&broadcast_res, &fanin_res}) {
            const bool fanin = p == &fanin_res;
            if ((fanin && !do_fanin) || (!fanin && !do_broadcast)) {
                continue;
            }
            auto& out = p->reps.emplace_back();
            const part_settings& ps = fanin ? fanin_ps : broadcast_ps;
            guarded(fanin ? "fanin" : "broadcast",
                    [&] { run_burst_part(servers, defs, ps, generator_cpus, token, out); });
            const auto m = burst_metrics(fanin);
            for (const auto& d : defs) {
                const auto v = burst_values(out[d.name], m[fanin ? 1 : 0]);
                const auto c = burst_values(out[d.name], m[fanin ? 2 : 1]);
                std::cerr << " " << d.name << " " << fmt_rate(median(v)) << "/s ("
                          << fmt_rate(median(c)) << "/CPU-s)";
            }
            std::cerr << "\n";
        }
    }
    env.load_end = read_loadavg();

    verdict_rule rule;
    if (o.goal_percent) {
        rule.min_improvement_percent = *o.goal_percent;
    }
    std::vector<part_result*> parts;
    for (auto* p : {&connect_res, &broadcast_res, &fanin_res}) {
        if (!p->reps.empty()) {
            parts.push_back(p);
        }
    }
    std::vector<pair_stat> stats;
    for (auto* p : parts) {
        const auto s = compare_part(*p, defs, rule);
        stats.insert(stats.end(), s.begin(), s.end());
    }

    // ---- JSON
    const std::string stem = all ? "engine" : which;
    const std::string json_path =
        o.json_path.empty() ? default_output_path(o, stem, "json") : o.json_path;
    const std::string md_path =
        o.markdown_path.empty() ? default_output_path(o, stem, "md") : o.markdown_path;
    for (const auto& path : {json_path, md_path}) {
        if (const auto parent = fs::path(path).parent_path(); !parent.empty()) {
            fs::create_directories(parent);
        }
    }
    {
        std::ofstream f(json_path, std::ios::trunc);
        if (!f) {
            throw std::runtime_error("cannot write " + json_path);
        }
        json_writer w(f);
        w.begin_object().field("workload", stem).field("quick", o.quick);
        w.key("environment");
        write_json(w, env);
        w.newline().key("servers").begin_array();
        for (const auto& d : defs) {
            w.begin_object()
                .field("name", d.name)
                .field("label", d.label)
                .field("version", d.version);
            w.key("argv").begin_array();
            for (const auto& [n, argv] : commands) {
                if (n == d.name) {
                    for (const auto& a : argv) {
                        w.value(a);
                    }
                }
            }
            w.end_array().end_object();
        }
        w.end_array();
        w.newline().key("generator").begin_object();
        w.field("threads", static_cast<std::int64_t>(generator_cpus.size()));
        w.key("cpus").begin_array();
        for (int c : generator_cpus) {
            w.value(c);
        }
        w.end_array().end_object();
        w.newline().key("settings").begin_object().field("repetitions", reps);
        w.key("connect")
            .begin_object()
            .field("rounds", connect_ps.rounds)
            .field("warmup_rounds", connect_ps.warmup)
            .end_object();
        for (const auto* ps : {&broadcast_ps, &fanin_ps}) {
            w.key(ps == &broadcast_ps ? "broadcast" : "fanin")
                .begin_object()
                .field("rounds", ps->rounds)
                .field("warmup_rounds", ps->warmup)
                .field("channels", static_cast<std::uint64_t>(ps->plan.channels))
                .field("subscribers_per_channel",
                       static_cast<std::uint64_t>(ps->plan.subscribers_per_channel))
                .field("publishers", static_cast<std::uint64_t>(ps->plan.channels))
                .field("publications_per_publisher_per_sample", ps->pubs)
                .field("window_per_publisher", ps->window)
                .field("data_bytes", static_cast<std::uint64_t>(ps->data_bytes))
                .end_object();
        }
        w.end_object();
        for (auto* p : parts) {
            w.newline().key(p->part).begin_object();
            write_series_json(w, *p);
            w.end_object();
        }
        w.newline().key("comparisons").begin_array();
        for (const auto& s : stats) {
            w.newline()
                .begin_object()
                .field("part", s.part)
                .field("metric", s.metric)
                .field("repetition", s.repetition)
                .field("a", s.a)
                .field("b", s.b)
                .field("a_median", s.c.a_median)
                .field("a_tail95", s.c.a_tail)
                .field("b_median", s.c.b_median)
                .field("b_tail95", s.c.b_tail)
                .field("median_paired_delta_percent", s.c.delta_percent)
                .field("a_improvement_percent", s.c.a_improvement_percent)
                .field("wilcoxon_n", static_cast<std::uint64_t>(s.c.test.n))
                .field("p_value", s.c.test.p_value)
                .field("verdict", to_string(s.c.outcome))
                .end_object();
        }
        w.end_array();
        w.newline().end_object();
        f << "\n";
    }

    // ---- Markdown
    std::ostringstream md;
    md << "# engine: " << defs.front().name
       << " vs the other servers, the engine protocol's hot path on loopback\n\n";
    md << "Measured by `corvid-bench " << which << (o.quick ? " --quick" : "")
       << "` (bench/harness/engine_bench.cpp, engine_load.cpp); raw samples in `"
       << fs::path(json_path).filename().string()
       << "`. Method below the tables; where the servers' time goes (perf, syscall counts): "
          "[engine.profile.md](engine.profile.md).\n\n";
    md << "- commit " << env.commit << (env.dirty ? " (with uncommitted changes)" : "") << ", "
       << env.compiler << ", " << env.build_type << "\n";
    md << "- " << env.cpu_model << ", " << env.cores << " CPUs, " << env.kernel << "\n";
    md << "- " << env.date_utc << ", load average " << env.load_start << " at the start, "
       << env.load_end << " at the end\n";
    md << "- placement: " << env.pinning << "\n";
    for (const auto& d : defs) {
        md << "- " << d.label << ": " << d.version << "\n";
    }
    md << "\n";

    auto pooled_row = [&](const part_result& p, const burst_metric* m, const std::string& server) {
        const auto v = pooled(p, server, m);
        if (v.empty()) {
            return std::string("| – | – |");
        }
        const better dir = m == nullptr ? better::lower : m->direction;
        const bool rate = m != nullptr && m->name.find("second") != std::string::npos &&
                          m->name.find("latency") == std::string::npos;
        auto f = [&](double x) { return rate ? fmt_rate(x) : fmt(x); };
        return "| " + f(median(v)) + " | " + f(tail95(v, dir)) + " |";
    };

    if (do_connect) {
        md << "## Connect-to-ready with a JWT\n\n"
           << "One connection at a time: TCP connect → HTTP/1.1 upgrade with `?token=` (HS256) → "
              "`ready` frame read. All repetitions pooled ("
           << connect_ps.rounds << " connects per server and repetition). Goal: p50 < "
           << fmt(connect_goal_us, "%.0f")
           << " µs; published figure to beat: " << fmt(published_connect_us, "%.0f")
           << " µs median.\n\n"
           << "Concurrent: " << connect_ps.concurrent
           << " connections started at once by one generator thread (each timed from its own "
              "connect() to its ready), "
           << connect_ps.concurrent_rounds << " rounds per server and repetition.\n\n"
           << "| server | sequential p50 (µs) | sequential p95 (µs) | concurrent p50 (µs) | "
              "concurrent p95 (µs) |\n|---|---:|---:|---:|---:|\n";
        for (const auto& d : defs) {
            const auto v = pooled(connect_res, d.name, nullptr);
            const auto c = concurrent_pooled(connect_res, d.name);
            md << "| " << d.label << " | " << fmt(median(v)) << " | " << fmt(percentile(v, 0.95))
               << " | " << (c.empty() ? "–" : fmt(median(c))) << " | "
               << (c.empty() ? "–" : fmt(percentile(c, 0.95))) << " |\n";
        }
        md << "\n";
    }
    auto burst_table = [&](const part_result& p, bool fanin, const part_settings& ps) {
        md << (fanin ? "## Many publishers on many channels\n\n"
                     : "## Broadcast: 1 publisher, 1,000 subscribers\n\n");
        md << ps.plan.channels << " channel(s) × " << ps.plan.subscribers_per_channel
           << " subscribers, " << ps.plan.channels << " publisher(s); a sample = " << ps.pubs
           << " publications per publisher ("
           << ps.pubs * ps.plan.channels * ps.plan.subscribers_per_channel
           << " deliveries) with at most " << ps.window
           << " publications of each publisher in flight (published, not yet read by every "
              "subscriber of its channel); "
           << ps.data_bytes << "-byte data. One server worker on one CPU, so the wall-clock "
           << "rates are per server core; \"per server CPU-second\" divides by the CPU time the "
           << "server process actually used during the sample. Median and the 95% tail (p5 for "
              "rates, p95 for latency) over all repetitions.\n\n";
        md << "| server |";
        const auto ms = burst_metrics(fanin);
        for (const auto& m : ms) {
            md << " " << m.label << " | tail |";
        }
        md << "\n|---|";
        for (std::size_t i = 0; i < ms.size(); ++i) {
            md << "---:|---:|";
        }
        md << "\n";
        for (const auto& d : defs) {
            md << "| " << d.label << " ";
            for (const auto& m : ms) {
                std::string cell = pooled_row(p, &m, d.name);
                md << cell.substr(0, cell.size() - 1);
            }
            md << "|\n";
        }
        md << "\n";
    };
    if (do_broadcast) {
        burst_table(broadcast_res, false, broadcast_ps);
        if (broadcast_ps.fanout_rounds > 0) {
            md << "One publication at a time (window 1, " << broadcast_ps.fanout_pubs
               << " publications per sample, " << broadcast_ps.fanout_rounds
               << " samples per server and repetition): the fan-out latency, from the "
                  "publication written to each subscriber's read of it; p50 is the median "
                  "subscriber's, p99 nearly the last one's. Medians over the samples (tail: "
                  "p95).\n\n"
               << "| server | latency p50 (µs) | tail | latency p99 (µs) | tail |\n"
                  "|---|---:|---:|---:|---:|\n";
            for (const auto& d : defs) {
                md << "| " << d.label << " |";
                for (const auto& m : burst_metrics(false)) {
                    if (m.name.find("latency") == std::string::npos) {
                        continue;
                    }
                    const auto v = fanout_pooled(broadcast_res, d.name, m);
                    md << " " << (v.empty() ? "–" : fmt(median(v), "%.0f")) << " | "
                       << (v.empty() ? "–" : fmt(tail95(v, better::lower), "%.0f")) << " |";
                }
                md << "\n";
            }
            md << "\n";
        }
    }
    if (do_fanin) {
        burst_table(fanin_res, true, fanin_ps);
    }

    md << "## Paired comparisons (" << defs.front().name << " vs each server)\n\n"
       << "Per repetition: medians of both sides over the same interleaved rounds, the median "
          "paired difference (positive: "
       << defs.front().name
       << " better), the Wilcoxon signed-rank p-value and BENCH.md's verdict (win: ≥ "
       << fmt(rule.min_improvement_percent, "%.0f")
       << "% better, p < 0.01, tail not worse by more than 5%).\n\n"
       << "| part | metric | rep | vs | " << defs.front().name
       << " | other | improvement | p | verdict |\n|---|---|---:|---|---:|---:|---:|---:|---|\n";
    for (const auto& s : stats) {
        const bool rate = s.metric.find("per_") != std::string::npos;
        auto f = [&](double x) { return rate ? fmt_rate(x) : fmt(x); };
        md << "| " << s.part << " | " << s.label << " | " << s.repetition << " | " << s.b << " | "
           << f(s.c.a_median) << " | " << f(s.c.b_median) << " | "
           << fmt(s.c.a_improvement_percent, "%+.1f%%") << " | " << fmt_p(s.c.test.p_value) << " | "
           << to_string(s.c.outcome) << " |\n";
    }
    md << "\n";

    // Goals (issue 6).
    if (defs.front().name == "corvid") {
        md << "## Issue 6's goals\n\n";
        if (do_connect) {
            const double p50 = median(pooled(connect_res, "corvid", nullptr));
            md << "- connect-to-ready p50 < " << fmt(connect_goal_us, "%.0f") << " µs: " << fmt(p50)
               << " µs, " << (p50 < connect_goal_us ? "met" : "not met") << "\n";
        }
        if (do_broadcast) {
            for (const auto& m : burst_metrics(false)) {
                if (m.name != "deliveries_per_second" &&
                    m.name != "deliveries_per_server_cpu_second") {
                    continue;
                }
                const double c = median(pooled(broadcast_res, "corvid", &m));
                for (const auto& d : defs) {
                    if (d.name == "node") {
                        const double n = median(pooled(broadcast_res, "node", &m));
                        md << "- broadcast " << m.label << " ≥ " << fmt(node_factor_goal, "%.0f")
                           << "× node ws: " << fmt(c / n, "%.2f") << "×, "
                           << (c >= node_factor_goal * n ? "met" : "not met") << "\n";
                    } else if (d.name == "websocketpp") {
                        const double n = median(pooled(broadcast_res, "websocketpp", &m));
                        md << "- broadcast " << m.label
                           << " ahead of websocketpp: " << fmt(c / n, "%.2f") << "×, "
                           << (c > n ? "met" : "not met") << "\n";
                    }
                }
            }
        }
        md << "\n";
    }

    md << "## Method\n\n"
       << "- Load generator: corvid-bench's own (bench/harness/engine_load.cpp): one epoll "
          "loop per generator thread, one generator thread per CPU not given to the servers, "
          "every connection non-blocking (edge-triggered, TCP_NODELAY); a lean WebSocket "
          "framing of its own, identical for every server (masked single-frame text messages "
          "out; whole unmasked frames in, parsed in place). Every `msg` is checked (its "
          "channel offset must be the previous one + 1, from subok's offset), so a lost or "
          "reordered delivery fails the run.\n"
       << "- Token: one HS256 JWT (BoringSSL's HMAC in the generator) in `?token=`; each "
          "server verifies it on every upgrade with its platform's HMAC (corvid: BoringSSL; "
          "node: `crypto`; websocketpp: OpenSSL) and checks `exp`.\n"
       << "- Servers: all running at once, each with one worker on CPU 0 (node is "
          "single-threaded by nature; websocketpp runs its io_service on one thread; "
          "corvid-server --workers 1). Idle connections to the servers not being measured stay "
          "open during a sample. Started afresh for every repetition.\n"
       << "- Interleaving: in round r the servers run in rotating order (r mod n first), one "
          "sample each; the first rounds are warm-up and not counted. Pairs are (corvid, other) "
          "of the same round.\n"
       << "- Connect-to-ready: a blocking socket per connect; clock from before connect() to "
          "the whole `ready` frame read; then a close frame and close().\n"
       << "- Bursts: the wall time runs from the first publication written to the last "
          "delivery read; the window bounds the publications in flight so the figure is "
          "throughput, not buffering. Delivery latency: the publish time (CLOCK_MONOTONIC, "
          "written into the data) to the read of the frame. Server CPU: "
          "/proc/PID/task/*/schedstat over the sample (all threads). Generator CPU: its "
          "threads' CPU time over the sample; near 100% means the generator, not the server, "
          "set the pace.\n"
       << "- Server commands:\n";
    for (const auto& [n, argv] : commands) {
        md << "  - " << n << ": `";
        for (std::size_t i = 0; i < argv.size(); ++i) {
            md << (i ? " " : "") << argv[i];
        }
        md << "`\n";
    }
    std::ofstream(md_path, std::ios::trunc) << md.str();
    std::cout << md.str();
    std::cerr << "engine: wrote " << json_path << " and " << md_path << "\n";
    return 0;
}

}  // namespace corvid::bench
