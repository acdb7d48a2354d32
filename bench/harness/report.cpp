#include "bench/harness/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "bench/harness/json_writer.hpp"

namespace corvid::bench {

namespace {

void write_samples(json_writer& w, const std::vector<sample>& samples) {
    w.begin_object();
    w.key("ttfb_ns").begin_array();
    for (const auto& s : samples) {
        w.value(s.ttfb_ns);
    }
    w.end_array();
    w.key("total_ns").begin_array();
    for (const auto& s : samples) {
        w.value(s.total_ns);
    }
    w.end_array();
    w.key("body_bytes").begin_array();
    for (const auto& s : samples) {
        w.value(s.body_bytes);
    }
    w.end_array();
    w.key("cpu_ns").begin_array();
    for (const auto& s : samples) {
        w.value(s.cpu_ns);
    }
    w.end_array();
    w.end_object();
}

void write_comparison(json_writer& w, const comparison& c, const case_run& run) {
    w.begin_object()
        .field("better", c.direction == better::lower ? "lower" : "higher")
        .field(run.a_name + "_median", c.a_median)
        .field(run.a_name + "_p95", c.a_tail)
        .field(run.b_name + "_median", c.b_median)
        .field(run.b_name + "_p95", c.b_tail)
        .field("paired_delta_percent", c.delta_percent)
        .field(run.a_name + "_improvement_percent", c.a_improvement_percent)
        .field(run.b_name + "_improvement_percent", c.b_improvement_percent)
        .field("wilcoxon_n", static_cast<std::uint64_t>(c.test.n))
        .field("wilcoxon_w_plus", c.test.w_plus)
        .field("wilcoxon_p", c.test.p_value)
        .field("wilcoxon_exact", c.test.exact)
        .field("verdict", to_string(c.outcome))
        .end_object();
}

std::string fmt(double v) {
    char buf[32];
    const double a = std::fabs(v);
    if (a >= 1000) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else if (a >= 100) {
        std::snprintf(buf, sizeof buf, "%.1f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.2f", v);
    }
    return buf;
}

std::string fmt_p(double p) {
    char buf[32];
    if (p < 1e-6) {
        return "<1e-6";
    }
    if (p < 0.001) {
        std::snprintf(buf, sizeof buf, "%.1e", p);
    } else {
        std::snprintf(buf, sizeof buf, "%.3f", p);
    }
    return buf;
}

std::string fmt_delta(const comparison& c, const std::string& a_name) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%+.1f%%", c.delta_percent);
    std::string out = buf;
    if (c.a_improvement_percent > 0) {
        out += " (" + a_name + " better)";
    } else if (c.a_improvement_percent < 0) {
        out += " (" + a_name + " worse)";
    }
    return out;
}

std::string fmt_percent(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g%%", v);
    return buf;
}

// The median over repetitions of the ceilings of one case and metric, with
// the tool's name.
std::optional<std::pair<std::string, double>> ceiling_median(const workload_report& report,
                                                             const std::string& case_name,
                                                             const std::string& metric_name) {
    std::vector<double> v;
    std::string tool;
    for (const auto& c : report.ceilings) {
        if (c.case_name == case_name && c.metric == metric_name) {
            v.push_back(c.value);
            tool = c.tool;
        }
    }
    if (v.empty()) {
        return std::nullopt;
    }
    return std::make_pair(tool, median(v));
}

bool is_default(const verdict_rule& r) {
    const verdict_rule d;
    return r.min_improvement_percent == d.min_improvement_percent &&
           r.max_p_value == d.max_p_value &&
           r.max_tail_regression_percent == d.max_tail_regression_percent &&
           r.min_loss_percent == d.min_loss_percent;
}

}  // namespace

const std::vector<metric>& workload_report::metrics_for(const std::string& case_name) const {
    for (const auto& [name, ms] : case_metrics) {
        if (name == case_name) {
            return ms;
        }
    }
    return metrics;
}

workload_report only_baseline(const workload_report& full, const std::string& baseline) {
    workload_report out = full;
    out.runs.clear();
    out.cases.clear();
    out.commands.clear();
    for (const auto& run : full.runs) {
        if (run.b_name == baseline) {
            out.runs.push_back(run);
            if (std::find(out.cases.begin(), out.cases.end(), run.case_name) == out.cases.end()) {
                out.cases.push_back(run.case_name);
            }
        }
    }
    return out;
}

std::string progress_summary(const workload_report& report, const case_run& run) {
    std::string out;
    for (const auto& m : report.metrics_for(run.case_name)) {
        const comparison cmp = compare_run(run, m, report.rule);
        char buf[200];
        std::snprintf(buf, sizeof buf, " %s %.4g vs %.4g (%+.1f%%, p=%.2g, %s)", m.name.c_str(),
                      cmp.a_median, cmp.b_median, cmp.delta_percent, cmp.test.p_value,
                      std::string(to_string(cmp.outcome)).c_str());
        out += buf;
    }
    return out;
}

std::vector<metric> workload_report::all_metrics() const {
    std::vector<metric> out;
    auto add = [&](const std::vector<metric>& ms) {
        for (const auto& m : ms) {
            if (std::none_of(out.begin(), out.end(),
                             [&](const metric& o) { return o.name == m.name; })) {
                out.push_back(m);
            }
        }
    };
    for (const auto& name : cases) {
        add(metrics_for(name));
    }
    return out;
}

const workload_report::ceiling* workload_report::ceiling_for(const case_run& run,
                                                             const std::string& metric_name) const {
    for (const auto& c : ceilings) {
        if (c.case_name == run.case_name && c.repetition == run.repetition &&
            c.metric == metric_name) {
            return &c;
        }
    }
    return nullptr;
}

comparison compare_run(const case_run& run, const metric& m, const verdict_rule& rule) {
    return compare(values(run.a, m), values(run.b, m), m.direction, rule);
}

repetition_pick pick_repetitions(const workload_report& report, const std::string& case_name,
                                 const metric& m) {
    std::vector<std::pair<double, std::size_t>> ranked;
    repetition_pick pick;
    for (std::size_t i = 0; i < report.runs.size(); ++i) {
        if (report.runs[i].case_name != case_name) {
            continue;
        }
        const comparison c = compare_run(report.runs[i], m, report.rule);
        ranked.emplace_back(c.a_improvement_percent, i);
        pick.wins += c.outcome == verdict::win;
        pick.parities += c.outcome == verdict::parity;
        pick.losses += c.outcome == verdict::loss;
    }
    if (ranked.empty()) {
        throw std::runtime_error("no runs for case " + case_name);
    }
    std::sort(ranked.begin(), ranked.end());
    pick.weakest_run = ranked.front().second;
    pick.median_run = ranked[(ranked.size() - 1) / 2].second;
    return pick;
}

void write_json_file(const workload_report& report, const std::string& path) {
    if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    std::ofstream out(path, std::ios::trunc);
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
    json_writer w(out);
    w.begin_object();
    w.newline().field("workload", report.workload);
    w.newline().field("title", report.title);
    w.newline().field("schema", 1);
    w.newline().key("environment");
    write_json(w, report.env);
    w.newline()
        .key("settings")
        .begin_object()
        .field("samples", report.settings.samples)
        .field("warmup", report.settings.warmup)
        .field("repetitions", report.settings.repetitions)
        .field("quick", report.quick)
        .field("order",
               "pairs alternate A,B then B,A; A is " +
                   (report.runs.empty() ? std::string("corvid") : report.runs.front().a_name));
    w.key("verdict_rule")
        .begin_object()
        .field("min_improvement_percent", report.rule.min_improvement_percent)
        .field("max_p_value", report.rule.max_p_value)
        .field("max_tail_regression_percent", report.rule.max_tail_regression_percent)
        .field("min_loss_percent", report.rule.min_loss_percent)
        .end_object();
    w.end_object();
    w.newline().field("fixture", report.fixture);
    w.newline().key("notes").begin_array();
    for (const auto& n : report.notes) {
        w.value(n);
    }
    w.end_array();
    w.newline().key("commands").begin_object();
    for (const auto& [name, argv] : report.commands) {
        w.key(name).begin_array();
        for (const auto& a : argv) {
            w.value(a);
        }
        w.end_array();
    }
    w.end_object();
    w.newline().key("metrics").begin_object();
    for (const auto& m : report.all_metrics()) {
        w.field(m.name, m.label);
    }
    w.end_object();
    if (!report.case_metrics.empty()) {
        w.newline().key("case_metrics").begin_object();
        for (const auto& name : report.cases) {
            w.key(name).begin_array();
            for (const auto& m : report.metrics_for(name)) {
                w.value(m.name);
            }
            w.end_array();
        }
        w.end_object();
    }
    if (!report.ceilings.empty()) {
        w.newline().key("ceilings").begin_array();
        for (const auto& c : report.ceilings) {
            w.newline()
                .begin_object()
                .field("case", c.case_name)
                .field("repetition", c.repetition)
                .field("metric", c.metric)
                .field("tool", c.tool)
                .field("value", c.value);
            w.key("command").begin_array();
            for (const auto& a : c.argv) {
                w.value(a);
            }
            w.end_array();
            w.field("output", c.output).end_object();
        }
        w.end_array();
    }

    w.newline().key("summary").begin_array();
    for (const auto& name : report.cases) {
        for (const auto& m : report.metrics_for(name)) {
            const auto pick = pick_repetitions(report, name, m);
            w.newline()
                .begin_object()
                .field("case", name)
                .field("metric", m.name)
                .field("median_repetition", report.runs[pick.median_run].repetition)
                .field("weakest_repetition", report.runs[pick.weakest_run].repetition)
                .field("wins", pick.wins)
                .field("parities", pick.parities)
                .field("losses", pick.losses);
            w.key("median");
            write_comparison(w, compare_run(report.runs[pick.median_run], m, report.rule),
                             report.runs[pick.median_run]);
            w.key("weakest");
            write_comparison(w, compare_run(report.runs[pick.weakest_run], m, report.rule),
                             report.runs[pick.weakest_run]);
            if (const auto ceiling = ceiling_median(report, name, m.name)) {
                w.key("ceiling")
                    .begin_object()
                    .field("tool", ceiling->first)
                    .field("median_over_repetitions", ceiling->second)
                    .end_object();
            }
            w.end_object();
        }
    }
    w.end_array();

    w.newline().key("runs").begin_array();
    for (const auto& run : report.runs) {
        w.newline()
            .begin_object()
            .field("case", run.case_name)
            .field("repetition", run.repetition)
            .field("a", run.a_name)
            .field("b", run.b_name);
        if (run.shape.requests != 1 || run.shape.upload_bytes != 0) {
            w.field("requests_per_sample", run.shape.requests)
                .field("upload_bytes_per_request", run.shape.upload_bytes);
        }
        w.key("a_first").begin_array();
        for (bool f : run.a_first) {
            w.value(f);
        }
        w.end_array();
        w.key("stats").begin_object();
        for (const auto& m : report.metrics_for(run.case_name)) {
            w.key(m.name);
            write_comparison(w, compare_run(run, m, report.rule), run);
        }
        w.end_object();
        w.newline().key("samples").begin_object();
        w.key(run.a_name);
        write_samples(w, run.a);
        w.newline().key(run.b_name);
        write_samples(w, run.b);
        w.end_object();
        w.newline().key("warmup").begin_object();
        w.key(run.a_name);
        write_samples(w, run.a_warmup);
        w.key(run.b_name);
        write_samples(w, run.b_warmup);
        w.end_object();
        w.end_object();
    }
    w.end_array();
    w.newline().end_object();
    out << '\n';
    if (!out) {
        throw std::runtime_error("error writing " + path);
    }
}

std::string markdown(const workload_report& report) {
    std::ostringstream md;
    const auto& env = report.env;
    const std::string a = report.runs.empty() ? "corvid" : report.runs.front().a_name;
    const std::string b = report.runs.empty() ? "peer" : report.runs.front().b_name;
    md << "# " << report.workload << ": " << report.title << "\n\n";
    md << "- commit `" << env.commit << "`" << (env.dirty ? " (with uncommitted changes)" : "")
       << ", " << env.date_utc << "\n";
    md << "- " << env.cpu_model << ", " << env.cores << " CPUs, " << env.kernel << "\n";
    md << "- " << env.compiler << ", " << env.build_type << " `" << env.cxx_flags << "`\n";
    for (const auto& [k, v] : env.versions) {
        md << "- " << k << ": " << v << "\n";
    }
    md << "- fixture: " << report.fixture << "\n";
    md << "- " << report.settings.samples << " interleaved pairs (A,B then B,A) after "
       << report.settings.warmup << " warm-up samples per side, " << report.settings.repetitions
       << " repetition" << (report.settings.repetitions == 1 ? "" : "s")
       << (report.quick ? " (--quick: not for publication)" : "") << "\n";
    md << "- CPU placement: " << env.pinning << "\n";
    md << "- load average (1/5/15 min) before: " << env.load_start << ", after: " << env.load_end
       << "\n";
    for (const auto& n : report.notes) {
        md << "- " << n << "\n";
    }
    const verdict_rule& rule = report.rule;
    const bool goal = !is_default(rule);
    if (goal) {
        md << "- verdict rule: a win needs " << a << "'s median paired improvement of at least "
           << fmt_percent(rule.min_improvement_percent) << ", p < " << rule.max_p_value
           << " and a tail no more than " << fmt_percent(rule.max_tail_regression_percent)
           << " worse than " << b << "'s; a loss is " << b << " better by at least "
           << fmt_percent(rule.min_loss_percent) << " by the same test\n";
    }
    const bool ceilings = !report.ceilings.empty();
    std::string ceiling_tool;
    if (ceilings) {
        ceiling_tool = report.ceilings.front().tool;
    }
    md << "\n| case | metric | repetition | " << a << " median | " << a << " p95 | " << b
       << " median | " << b << " p95 | paired Δ " << a << " vs " << b << " | p | verdict";
    if (goal) {
        md << " (win ≥ " << fmt_percent(rule.min_improvement_percent) << ")";
    }
    md << " |" << (ceilings ? " " + ceiling_tool + " ceiling |" : std::string()) << "\n";
    md << "|---|---|---|---:|---:|---:|---:|---|---:|---|" << (ceilings ? "---:|" : "") << "\n";
    for (const auto& name : report.cases) {
        for (const auto& m : report.metrics_for(name)) {
            const auto pick = pick_repetitions(report, name, m);
            auto row = [&](std::size_t idx, const char* which) {
                const auto& run = report.runs[idx];
                const comparison c = compare_run(run, m, rule);
                md << "| " << name << " | " << m.label << " | " << which << " (#" << run.repetition
                   << ") | " << fmt(c.a_median) << " | " << fmt(c.a_tail) << " | "
                   << fmt(c.b_median) << " | " << fmt(c.b_tail) << " | " << fmt_delta(c, a) << " | "
                   << fmt_p(c.test.p_value) << " | " << to_string(c.outcome) << " |";
                if (ceilings) {
                    const auto* ceiling = report.ceiling_for(run, m.name);
                    md << " " << (ceiling != nullptr ? fmt(ceiling->value) : std::string()) << " |";
                }
                md << "\n";
            };
            if (pick.median_run == pick.weakest_run) {
                row(pick.median_run,
                    report.settings.repetitions == 1 ? "only" : "median = weakest");
            } else {
                row(pick.median_run, "median");
                row(pick.weakest_run, "weakest");
            }
        }
    }
    md << "\nVerdicts across repetitions (win/parity/loss for " << a << "):";
    for (const auto& name : report.cases) {
        for (const auto& m : report.metrics_for(name)) {
            const auto pick = pick_repetitions(report, name, m);
            md << " " << name << " " << m.name << " " << pick.wins << "/" << pick.parities << "/"
               << pick.losses << ";";
        }
    }
    md << "\n\nHow to read this: Δ is the median over pairs of (" << a << " − " << b << ") / " << b
       << " for that metric, so a negative TTFB or CPU Δ and a positive throughput Δ mean " << a
       << " is better (the parenthesis says which). The p95 column is the tail on the bad side: "
          "the 95th percentile of TTFB and CPU, the 5th percentile of throughput. p is the "
          "two-sided "
          "Wilcoxon signed-rank test of the pairs. A win needs a median improvement of at "
          "least "
       << fmt_percent(rule.min_improvement_percent) << ", p < " << rule.max_p_value
       << " and a tail no more than " << fmt_percent(rule.max_tail_regression_percent)
       << " worse; a loss is the same rule won by " << b;
    if (rule.min_loss_percent != rule.min_improvement_percent) {
        md << " with " << fmt_percent(rule.min_loss_percent) << " in place of "
           << fmt_percent(rule.min_improvement_percent);
    }
    md << "; anything else is parity. The weakest repetition is the one least "
          "favourable to "
       << a << ".";
    if (ceilings) {
        md << " The " << ceiling_tool
           << " ceiling is what that load generator reached against the same server in the "
              "same repetition, for scale: it is not one of the pair.";
    }
    md << "\n";
    return md.str();
}

}  // namespace corvid::bench
