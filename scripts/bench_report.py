#!/usr/bin/python3
"""Summarise corvid-bench's JSON artifacts: a Markdown table and PNG charts.

    scripts/bench_report.py DIR [--expect NAME]... [--failed NAME]...
    scripts/bench_report.py --self-check [DIR]

Reads every DIR/*.json written by corvid-bench and writes

- DIR/summary.md: per workload, the headline comparisons (case, metric, both
  sides' medians with units, the paired delta and Wilcoxon p-value of the
  median and of the weakest repetition, the verdict, and the win/parity/loss
  count across repetitions), then each artifact's environment (commit, date,
  compiler and flags, kernel, CPU, cores, load, peer versions) and the fields
  of that list it lacks;
- DIR/charts/<workload>.png: the medians per case (each side, with the tail
  as an error mark) and the paired improvement per case with the workload's
  gate lines; the engine gets its own chart (deliveries/s, connect-to-ready
  p50/p95, fan-in rates) from the raw samples.

Two schemas are understood: the paired one (http1, http1-get, h2, profiles,
ws-echo, tokens: `summary[]` and `runs[].stats`) and the engine's
(`comparisons[]` and raw samples per part). A workload listed with --expect
whose JSON is absent is reported as "not run"; one listed with --failed is
marked as failed in this run (its figures, if any, are older).

The output depends only on the JSON files: no timestamps, and the PNGs are
written without the metadata that would change from run to run, so running
it twice on the same input gives byte-identical files.

Uses Debian's python3-matplotlib with the Agg backend (no display needed).
Exit status: 0 on success, 1 if an artifact cannot be read or summarised,
2 on bad usage.
"""

import argparse
import json
import math
import os
import sys

# The suite's workloads, by the stem of their JSON artifact, in report order.
# http1 was called http1-get before it gained upload cases; either satisfies it.
DEFAULT_EXPECTED = ["http1", "h2", "profiles", "ws_echo", "engine", "tokens"]
ALIASES = {"http1_get": "http1"}

# What issue 7 asks every artifact to record.
REQUIRED_ENV = [
    ("commit", "commit"),
    ("compiler", "compiler"),
    ("cxx_flags", "compiler flags"),
    ("kernel", "kernel"),
    ("cpu_model", "CPU model"),
    ("cores", "cores"),
    ("date_utc", "date"),
    ("loadavg_start", "load before"),
    ("loadavg_end", "load after"),
    ("versions", "peer versions"),
    ("packages", "package versions"),
]


def key_of(stem):
    k = stem.replace("-", "_")
    return ALIASES.get(k, k)


# ---------------------------------------------------------------- numbers


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default), as
    bench/stats.hpp does."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo = int(math.floor(k))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def fmt_num(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    a = abs(v)
    if a >= 100000:
        return f"{v / 1000:,.0f}k"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 10:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_pct(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:+.1f}%"


def fmt_p(p):
    if p is None:
        return "–"
    if p < 1e-6:
        return "p < 1e-6"
    if p < 0.001:
        return f"p = {p:.0e}"
    return f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"


def split_label(label):
    """'TTFB (µs)' -> ('TTFB', 'µs'); 'requests/s' -> ('requests/s', '')."""
    if label.endswith(")") and " (" in label:
        i = label.rindex(" (")
        return label[:i], label[i + 2 : -1]
    return label, ""


def with_unit(v, unit):
    s = fmt_num(v)
    if not unit or s == "–":
        return s
    return f"{s} {unit}" if unit not in ("%",) else f"{s}%"


# ---------------------------------------------------------------- paired schema


class Row:
    """One headline comparison: a case and metric across repetitions."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def paired_goal(d):
    rule = d.get("settings", {}).get("verdict_rule") or {}
    return (
        float(rule.get("min_improvement_percent", 5)),
        float(rule.get("min_loss_percent", 5)),
        float(rule.get("max_p_value", 0.01)),
    )


def paired_rows(d):
    metrics = d.get("metrics", {})
    sides = {}
    per_rep = {}
    for run in d.get("runs", []):
        sides[run["case"]] = (run["a"], run["b"])
        for m, st in run.get("stats", {}).items():
            a, b = run["a"], run["b"]
            imp = st.get(f"{a}_improvement_percent")
            if imp is None:
                imp = st["paired_delta_percent"] * (-1 if st.get("better") == "lower" else 1)
            per_rep.setdefault((run["case"], m), []).append(
                (run["repetition"], imp, st.get("verdict"))
            )
    rows = []
    for s in d.get("summary", []):
        case, m = s["case"], s["metric"]
        med, weak = s["median"], s["weakest"]
        a, b = sides.get(case) or guess_sides(med)
        name, unit = split_label(metrics.get(m, m))
        rows.append(
            Row(
                case=case,
                metric=m,
                metric_name=name,
                unit=unit,
                better=med.get("better", "lower"),
                a=a,
                b=b,
                a_median=med.get(f"{a}_median"),
                b_median=med.get(f"{b}_median"),
                a_tail=med.get(f"{a}_p95"),
                b_tail=med.get(f"{b}_p95"),
                delta=med.get("paired_delta_percent"),
                p=med.get("wilcoxon_p"),
                weak_delta=weak.get("paired_delta_percent"),
                weak_p=weak.get("wilcoxon_p"),
                verdict=med.get("verdict", "–"),
                wins=s.get("wins", 0),
                parities=s.get("parities", 0),
                losses=s.get("losses", 0),
                improvement=med.get(f"{a}_improvement_percent"),
                reps=sorted(per_rep.get((case, m), [])),
            )
        )
    return rows


def guess_sides(stats):
    names = [k[: -len("_median")] for k in stats if k.endswith("_median")]
    if len(names) != 2:
        raise ValueError(f"cannot tell the two sides apart in {sorted(stats)}")
    return names[0], names[1]


# ---------------------------------------------------------------- engine schema

ENGINE_METRICS = {
    "connect_to_ready_us": ("connect-to-ready", "µs"),
    "concurrent_connect_to_ready_p50_us": ("100 at once: round median connect-to-ready", "µs"),
    "deliveries_per_second": ("deliveries/s", ""),
    "deliveries_per_server_cpu_second": ("deliveries per server CPU-second", ""),
    "latency_p50_us": ("delivery latency p50", "µs"),
    "latency_p99_us": ("delivery latency p99", "µs"),
    "messages_in_per_second": ("messages in/s", ""),
    "messages_out_per_second": ("messages out/s", ""),
}


def engine_rows(d):
    groups = {}
    order = []
    for c in d.get("comparisons", []):
        k = (c["part"], c["metric"], c["a"], c["b"])
        if k not in groups:
            groups[k] = []
            order.append(k)
        groups[k].append(c)
    rows = []
    for k in order:
        reps = groups[k]
        part, m, a, b = k
        # The same pick as bench/harness/report.cpp: rank by A's improvement;
        # the weakest is the lowest, the median the middle (lower middle).
        ranked = sorted(reps, key=lambda c: (c["a_improvement_percent"], c["repetition"]))
        weak = ranked[0]
        med = ranked[(len(ranked) - 1) // 2]
        lower = abs(med["a_improvement_percent"] + med["median_paired_delta_percent"]) < 1e-6 * max(
            1.0, abs(med["a_improvement_percent"])
        )
        if abs(med["a_improvement_percent"]) < 1e-12:
            lower = m.endswith("_us")
        name, unit = ENGINE_METRICS.get(m, (m, ""))
        rows.append(
            Row(
                case=part,
                metric=m,
                metric_name=name,
                unit=unit,
                better="lower" if lower else "higher",
                a=a,
                b=b,
                a_median=med["a_median"],
                b_median=med["b_median"],
                a_tail=med.get("a_tail95"),
                b_tail=med.get("b_tail95"),
                delta=med["median_paired_delta_percent"],
                p=med.get("p_value"),
                weak_delta=weak["median_paired_delta_percent"],
                weak_p=weak.get("p_value"),
                verdict=med.get("verdict", "–"),
                wins=sum(1 for c in reps if c.get("verdict") == "win"),
                parities=sum(1 for c in reps if c.get("verdict") == "parity"),
                losses=sum(1 for c in reps if c.get("verdict") == "loss"),
                improvement=med["a_improvement_percent"],
                reps=sorted(
                    (c["repetition"], c["a_improvement_percent"], c.get("verdict")) for c in reps
                ),
            )
        )
    return rows


def engine_servers(d):
    names = [s["name"] for s in d.get("servers", [])]
    labels = {s["name"]: s.get("label", s["name"]) for s in d.get("servers", [])}
    return names, labels


def engine_absolute(d):
    """Pooled figures per server from the raw samples: what engine.md shows."""
    names, _ = engine_servers(d)
    out = {}
    for s in names:
        f = {}
        seq = [x for r in d.get("connect", {}).get("repetitions", []) for x in r.get(s, [])]
        con = [
            x
            for r in d.get("connect", {}).get("repetitions", [])
            for rnd in r.get(s + ".concurrent", [])
            for x in rnd
        ]
        if seq:
            f["connect_p50"] = percentile(seq, 0.5)
            f["connect_p95"] = percentile(seq, 0.95)
        if con:
            f["concurrent_p50"] = percentile(con, 0.5)
            f["concurrent_p95"] = percentile(con, 0.95)
        bc = [x for r in d.get("broadcast", {}).get("repetitions", []) for x in r.get(s, [])]
        rates = [x["deliveries"] / x["wall_ns"] * 1e9 for x in bc if x.get("wall_ns")]
        if rates:
            f["broadcast"] = percentile(rates, 0.5)
            f["broadcast_tail"] = percentile(rates, 0.05)
        fi = [x for r in d.get("fanin", {}).get("repetitions", []) for x in r.get(s, [])]
        ins = [x["publications"] / x["wall_ns"] * 1e9 for x in fi if x.get("wall_ns")]
        outs = [x["deliveries"] / x["wall_ns"] * 1e9 for x in fi if x.get("wall_ns")]
        if ins:
            f["fanin_in"] = percentile(ins, 0.5)
            f["fanin_in_tail"] = percentile(ins, 0.05)
            f["fanin_out"] = percentile(outs, 0.5)
            f["fanin_out_tail"] = percentile(outs, 0.05)
        out[s] = f
    return out


# ---------------------------------------------------------------- Markdown


def env_lines(d):
    e = d.get("environment", {})
    lines = []
    commit = e.get("commit", "")
    dirty = " (with uncommitted changes)" if e.get("dirty") else ""
    lines.append(f"- commit `{commit[:12] or '?'}`{dirty}, run started {e.get('date_utc', '?')}")
    lines.append(
        f"- {e.get('compiler', '?')}, {e.get('build_type', '?')}, flags `{e.get('cxx_flags', '?')}`"
    )
    lines.append(
        f"- {e.get('cpu_model', '?')}, {e.get('cores', '?')} CPUs, {e.get('kernel', '?')}"
    )
    lines.append(
        f"- load average {e.get('loadavg_start', '?')} before, {e.get('loadavg_end', '?')} after"
    )
    if e.get("pinning"):
        lines.append(f"- placement: {e['pinning']}")
    st = d.get("settings", {})
    if "samples" in st:
        lines.append(
            f"- {st.get('samples')} pairs x {st.get('repetitions')} repetitions,"
            f" {st.get('warmup')} warm-up samples{' (quick)' if st.get('quick') else ''}"
        )
    elif "repetitions" in st:
        lines.append(f"- {st['repetitions']} repetitions{' (quick)' if d.get('quick') else ''}")
    for k, v in e.get("versions", {}).items():
        lines.append(f"- {k}: {v}")
    pk = e.get("packages", {})
    if pk:
        lines.append("- Debian packages: " + ", ".join(f"{k} {v}" for k, v in pk.items()))
    missing = [label for k, label in REQUIRED_ENV if e.get(k) in (None, "", {}, 0)]
    lines.append("- missing from the artifact: " + (", ".join(missing) if missing else "nothing"))
    return lines


def table(rows, goal):
    out = [
        "| case | metric | A | median A | B | median B | Δ A vs B, median rep. | "
        "Δ weakest rep. | verdict | win / parity / loss |",
        "|---|---|---|---:|---|---:|---|---|---|---|",
    ]
    for r in rows:
        arrow = "↓" if r.better == "lower" else "↑"
        out.append(
            f"| {r.case} | {r.metric_name} {arrow} | {r.a} | {with_unit(r.a_median, r.unit)} | "
            f"{r.b} | {with_unit(r.b_median, r.unit)} | {fmt_pct(r.delta)} ({fmt_p(r.p)}) | "
            f"{fmt_pct(r.weak_delta)} ({fmt_p(r.weak_p)}) | {r.verdict} | "
            f"{r.wins} / {r.parities} / {r.losses} |"
        )
    return out


def summarise(directory, expected, failed):
    names = sorted(f for f in os.listdir(directory) if f.endswith(".json"))
    arts = []
    errors = []
    for f in names:
        path = os.path.join(directory, f)
        stem = f[: -len(".json")]
        try:
            with open(path, encoding="utf-8") as fh:
                d = json.load(fh)
            if "comparisons" in d:
                kind, rows = "engine", engine_rows(d)
            elif "summary" in d and "runs" in d:
                kind, rows = "paired", paired_rows(d)
            else:
                errors.append(f"{f}: not a corvid-bench artifact (no summary/runs or comparisons)")
                continue
        except (OSError, ValueError, KeyError, TypeError) as exc:
            errors.append(f"{f}: {exc}")
            continue
        arts.append((stem, kind, d, rows))

    present = {key_of(stem) for stem, _, _, _ in arts}
    order = {k: i for i, k in enumerate(expected)}
    arts.sort(key=lambda t: (order.get(key_of(t[0]), len(order)), t[0]))

    md = ["# corvid benchmark summary", ""]
    method = ("[README.md](README.md)" if os.path.exists(os.path.join(directory, "README.md"))
              else "docs/benchmarks/README.md")
    md.append(
        "Generated by `scripts/bench_report.py` from the JSON artifacts in this directory "
        f"(see {method} for the method). A is corvid (for `profiles`, corvid with "
        "the chrome profile), B the peer it is compared with. Δ is the median over the pairs of "
        "(A − B) / B in the median repetition (ranked by A's improvement) and in the weakest "
        "one; p is the Wilcoxon signed-rank p-value of the pairs. ↓: lower is better, ↑: higher "
        "is better. The verdict is the median repetition's under the workload's rule (BENCH.md: "
        "a win needs 5% or the workload's goal, p < 0.01 and a tail no more than 5% worse; a "
        "loss, the same in B's favour); the last column counts verdicts across repetitions."
    )
    md.append("")
    md.append("| workload | artifact | status |")
    md.append("|---|---|---|")
    status_rows = []
    for stem, kind, d, rows in arts:
        k = key_of(stem)
        e = d.get("environment", {})
        status = f"{len(rows)} comparisons, commit `{e.get('commit', '?')[:7]}`, {e.get('date_utc', '?')}"
        if d.get("quick") or d.get("settings", {}).get("quick"):
            status += ", quick"
        if k in failed:
            status = "**failed in the last suite run**; figures from an earlier run: " + status
        status_rows.append((order.get(k, len(order)), f"| {stem} | [{stem}.json]({stem}.json) | {status} |"))
    for k in expected:
        if k not in present:
            status = "**failed in the last suite run**, no artifact" if k in failed else "not run"
            status_rows.append((order[k], f"| {k.replace('_', '-')} | – | {status} |"))
    md.extend(row for _, row in sorted(status_rows, key=lambda t: t[0]))
    for e in errors:
        md.append(f"| – | – | unreadable: {e} |")
    md.append("")

    charts = []
    for stem, kind, d, rows in arts:
        title = d.get("title") or (
            "corvid-server vs the other servers of the same broadcast"
            if kind == "engine"
            else d.get("workload", stem)
        )
        md.append(f"## {stem}: {title}")
        md.append("")
        if os.path.exists(os.path.join(directory, stem + ".md")):
            md.append(f"Full report: [{stem}.md]({stem}.md). Chart: `charts/{stem}.png`.")
        else:
            md.append(f"Chart: `charts/{stem}.png`.")
        md.append("")
        md.append(f"![{stem}](charts/{stem}.png)")
        md.append("")
        if kind == "paired":
            win, loss, _ = paired_goal(d)
            md.append(f"Rule: a win needs {win:g}% with p < 0.01; a loss is {loss:g}% the other way.")
        else:
            win, loss = 5.0, 5.0
            md.append("Rule: BENCH.md's (5%, p < 0.01, tail no more than 5% worse).")
            md.append("")
            md.extend(engine_absolute_table(d))
        md.append("")
        md.extend(table(rows, win))
        md.append("")
        md.append("Environment:")
        md.append("")
        md.extend(env_lines(d))
        md.append("")
        charts.append((stem, kind, d, rows, win, loss))
    return "\n".join(md).rstrip() + "\n", charts, errors


def engine_absolute_table(d):
    names, labels = engine_servers(d)
    a = engine_absolute(d)
    out = [
        "Absolute figures, all repetitions pooled (tail: p95 for latency, p5 for rates):",
        "",
        "| server | connect p50 | p95 | 100 at once p50 | p95 | broadcast deliveries/s | tail | "
        "fan-in messages in/s | tail | fan-in messages out/s | tail |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in names:
        f = a.get(s, {})
        out.append(
            f"| {labels[s]} | {with_unit(f.get('connect_p50'), 'µs')} | "
            f"{with_unit(f.get('connect_p95'), 'µs')} | {with_unit(f.get('concurrent_p50'), 'µs')} | "
            f"{with_unit(f.get('concurrent_p95'), 'µs')} | {fmt_num(f.get('broadcast'))} | "
            f"{fmt_num(f.get('broadcast_tail'))} | {fmt_num(f.get('fanin_in'))} | "
            f"{fmt_num(f.get('fanin_in_tail'))} | {fmt_num(f.get('fanin_out'))} | "
            f"{fmt_num(f.get('fanin_out_tail'))} |"
        )
    out.append("")
    out.append("Paired comparisons per repetition, corvid-server (A) against each server (B):")
    return out


# ---------------------------------------------------------------- charts

COLORS = {"a": "#1f6fb4", "b": ["#e08a1e", "#5b9e3a", "#9467bd", "#8c564b"]}


def setup_matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update(
        {
            "font.size": 8,
            "axes.titlesize": 9,
            "svg.hashsalt": "corvid",
            "path.simplify": True,
        }
    )
    import matplotlib.pyplot as plt

    return plt


def save(fig, path):
    # No Software/Creation Time chunks: the PNG depends only on the data.
    fig.savefig(path, dpi=100, metadata={"Software": None}, bbox_inches="tight")


def improvement_panel(ax, labels, rows, win, loss):
    ys = list(range(len(rows)))
    vals = [r.improvement if r.improvement is not None else 0.0 for r in rows]
    colors = [{"win": "#2e8b57", "loss": "#c0392b"}.get(r.verdict, "#7f7f7f") for r in rows]
    every = [i for r in rows for _, i, _ in r.reps]
    lim = max([abs(v) for v in vals] + [abs(i) for i in every] + [win, loss]) * 1.15
    # A few huge improvements would flatten everything else: clip at 100%
    # and print the figure of a clipped bar.
    lim = min(lim, 100.0)
    ax.barh(ys, [max(-lim, min(lim, v)) for v in vals], color=colors, height=0.6)
    for y, r, v in zip(ys, rows, vals):
        if abs(v) > lim:
            ax.text(math.copysign(lim * 0.98, v), y, f"{v:+.0f}%", va="center",
                    ha="right" if v > 0 else "left", fontsize=7, color="white")
        reps = [max(-lim, min(lim, i)) for _, i, _ in r.reps]
        ax.plot(reps, [y] * len(reps), marker="o", markersize=2.5, color="black",
                linestyle="none")
    ax.axvline(win, color="#2e8b57", linestyle="--", linewidth=0.8)
    ax.axvline(-loss, color="#c0392b", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlim(-lim, lim)
    ax.set_xlabel(f"improvement, % (bar: median rep.; dots: each rep.; dashed: +{win:g}% / -{loss:g}%)")


def tick_formatter():
    import matplotlib.ticker as ticker

    def f(v, _pos):
        if v == 0:
            return "0"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:g}"

    return ticker.FuncFormatter(f)


def absolute_panel(ax, rows, title):
    ys = list(range(len(rows)))
    h = 0.38
    peers = []
    for r in rows:
        if r.b not in peers:
            peers.append(r.b)
    for side, off in (("a", -h / 2), ("b", h / 2)):
        med = [getattr(r, f"{side}_median") or 0.0 for r in rows]
        tail = [getattr(r, f"{side}_tail") for r in rows]
        lo = [max(0.0, m - t) if t is not None else 0.0 for m, t in zip(med, tail)]
        hi = [max(0.0, t - m) if t is not None else 0.0 for m, t in zip(med, tail)]
        if side == "a":
            cols = [COLORS["a"]] * len(rows)
        else:
            cols = [COLORS["b"][peers.index(r.b) % len(COLORS["b"])] for r in rows]
        ax.barh([y + off for y in ys], med, height=h, color=cols, xerr=[lo, hi],
                error_kw={"elinewidth": 0.7, "capsize": 1.5})
    import matplotlib.patches as mpatches

    handles = [mpatches.Patch(color=COLORS["a"], label=rows[0].a)] + [
        mpatches.Patch(color=COLORS["b"][i % len(COLORS["b"])], label=p)
        for i, p in enumerate(peers)
    ]
    ax.legend(handles=handles, fontsize=7, loc="best")
    vals = [v for r in rows for v in (r.a_median, r.b_median) if v]
    if vals and max(vals) / max(min(vals), 1e-12) > 50:
        ax.set_xscale("log")
    else:
        ax.xaxis.set_major_formatter(tick_formatter())
    ax.set_yticks(ys)
    ax.set_yticklabels([r.case for r in rows])
    ax.invert_yaxis()
    ax.set_title(title)


def paired_chart(plt, stem, d, rows, win, loss, path):
    metrics = []
    for r in rows:
        if r.metric not in metrics:
            metrics.append(r.metric)
    n = len(metrics)
    height = sum(0.45 * max(2, len([r for r in rows if r.metric == m])) + 0.9 for m in metrics)
    fig, axes = plt.subplots(n, 2, figsize=(12, max(3.0, height)), squeeze=False)
    for i, m in enumerate(metrics):
        mr = [r for r in rows if r.metric == m]
        r0 = mr[0]
        arrow = "lower is better" if r0.better == "lower" else "higher is better"
        unit = f" ({r0.unit})" if r0.unit else ""
        absolute_panel(
            axes[i][0], mr, f"{r0.metric_name}{unit}, {arrow}: medians (median rep.; whisker: p95 tail)"
        )
        improvement_panel(axes[i][1], [r.case for r in mr], mr, win, loss)
        axes[i][1].set_title(f"{r0.metric_name}: paired improvement of {r0.a} over the peer")
    e = d.get("environment", {})
    fig.suptitle(
        f"{stem}: {d.get('title', '')}  (commit {e.get('commit', '?')[:7]}, {e.get('date_utc', '?')})",
        fontsize=10,
    )
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)


def engine_chart(plt, stem, d, rows, path):
    names, labels = engine_servers(d)
    a = engine_absolute(d)
    n_rows = len(rows)
    fig = plt.figure(figsize=(15, 8 + 0.18 * n_rows))
    grid = fig.add_gridspec(3, 3, height_ratios=[1, 1, max(1.0, 0.09 * n_rows)])
    colors = [COLORS["a"]] + COLORS["b"]
    xs = list(range(len(names)))
    short = [labels[s] if len(labels[s]) <= 16 else s for s in names]

    def bars(ax, key, tail_key, title, ylabel):
        med = [a[s].get(key, 0.0) for s in names]
        tail = [a[s].get(tail_key) for s in names]
        lo = [max(0.0, m - t) if t is not None else 0.0 for m, t in zip(med, tail)]
        hi = [max(0.0, t - m) if t is not None else 0.0 for m, t in zip(med, tail)]
        ax.bar(xs, med, color=colors[: len(names)], yerr=[lo, hi], capsize=3)
        ax.set_xticks(xs)
        ax.set_xticklabels(short)
        ax.yaxis.set_major_formatter(tick_formatter())
        ax.set_title(title)
        ax.set_ylabel(ylabel)

    def pair(ax, k1, k2, title):
        w = 0.38
        ax.bar([x - w / 2 for x in xs], [a[s].get(k1, 0.0) for s in names], w, label="p50",
               color="#1f6fb4")
        ax.bar([x + w / 2 for x in xs], [a[s].get(k2, 0.0) for s in names], w, label="p95",
               color="#9ecae1")
        ax.set_xticks(xs)
        ax.set_xticklabels(short)
        ax.yaxis.set_major_formatter(tick_formatter())
        ax.set_title(title)
        ax.set_ylabel("µs (lower is better)")
        ax.legend(fontsize=7)

    pair(fig.add_subplot(grid[0, 0]), "connect_p50", "connect_p95",
         "connect-to-ready with a JWT, one at a time")
    pair(fig.add_subplot(grid[0, 1]), "concurrent_p50", "concurrent_p95",
         "connect-to-ready, 100 at once")
    bars(fig.add_subplot(grid[0, 2]), "broadcast", "broadcast_tail",
         "broadcast 1 → 1,000: deliveries/s (whisker: p5)", "deliveries/s (higher is better)")
    bars(fig.add_subplot(grid[1, 0]), "fanin_in", "fanin_in_tail",
         "fan-in, 100 publishers: messages in/s (whisker: p5)", "messages/s (higher is better)")
    bars(fig.add_subplot(grid[1, 1]), "fanin_out", "fanin_out_tail",
         "fan-in: messages out/s (whisker: p5)", "messages/s (higher is better)")
    ax = fig.add_subplot(grid[1, 2])
    ax.axis("off")
    ax.text(0.0, 1.0, "\n".join(f"{s}: {labels[s]}" for s in names) +
            "\n\nmedians over all repetitions,\nwhiskers: p5 of the rates", va="top",
            fontsize=8, transform=ax.transAxes)
    ax = fig.add_subplot(grid[2, :])
    improvement_panel(ax, [f"{r.case}: {r.metric_name} vs {r.b}" for r in rows], rows, 5.0, 5.0)
    ax.set_title("corvid-server's paired improvement over each server, per part and metric")
    e = d.get("environment", {})
    fig.suptitle(
        f"{stem}: corvid-server vs other servers  (commit {e.get('commit', '?')[:7]}, "
        f"{e.get('date_utc', '?')})",
        fontsize=10,
    )
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)


def write_charts(directory, charts):
    plt = setup_matplotlib()
    out = os.path.join(directory, "charts")
    os.makedirs(out, exist_ok=True)
    for stem, kind, d, rows, win, loss in charts:
        path = os.path.join(out, stem + ".png")
        if kind == "engine":
            engine_chart(plt, stem, d, rows, path)
        elif rows:
            paired_chart(plt, stem, d, rows, win, loss, path)


# ---------------------------------------------------------------- main


def run(directory, expected, failed):
    if not os.path.isdir(directory):
        print(f"bench_report: {directory} is not a directory", file=sys.stderr)
        return 2
    md, charts, errors = summarise(directory, expected, failed)
    with open(os.path.join(directory, "summary.md"), "w", encoding="utf-8") as fh:
        fh.write(md)
    write_charts(directory, charts)
    for e in errors:
        print(f"bench_report: {e}", file=sys.stderr)
    print(f"bench_report: wrote {os.path.join(directory, 'summary.md')} and "
          f"{len(charts)} chart(s) in {os.path.join(directory, 'charts')}", file=sys.stderr)
    return 1 if errors else 0


def self_check(directory):
    """Runs the report twice on a copy of DIR's artifacts and checks that every
    artifact was summarised, every chart written, and the output identical."""
    import filecmp
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as t1, tempfile.TemporaryDirectory() as t2:
        jsons = sorted(f for f in os.listdir(directory) if f.endswith(".json"))
        if not jsons:
            print(f"bench_report: self-check: no JSON in {directory}", file=sys.stderr)
            return 1
        for t in (t1, t2):
            for f in jsons:
                shutil.copy(os.path.join(directory, f), t)
            if run(t, DEFAULT_EXPECTED, set()) != 0:
                print("bench_report: self-check: the report failed", file=sys.stderr)
                return 1
        problems = []
        summary = open(os.path.join(t1, "summary.md"), encoding="utf-8").read()
        for f in jsons:
            stem = f[:-5]
            if f"## {stem}:" not in summary:
                problems.append(f"{stem}: no section in summary.md")
            png = os.path.join(t1, "charts", stem + ".png")
            if not os.path.exists(png) or os.path.getsize(png) < 1000:
                problems.append(f"{stem}: no chart")
            elif not filecmp.cmp(png, os.path.join(t2, "charts", stem + ".png"), shallow=False):
                problems.append(f"{stem}: chart differs between two runs")
        if not filecmp.cmp(os.path.join(t1, "summary.md"), os.path.join(t2, "summary.md"),
                           shallow=False):
            problems.append("summary.md differs between two runs")
        if "| – |" in summary and "unreadable" in summary:
            problems.append("an artifact was unreadable")
        for p in problems:
            print(f"bench_report: self-check: {p}", file=sys.stderr)
        if not problems:
            print(f"bench_report: self-check passed on {len(jsons)} artifact(s) of {directory}",
                  file=sys.stderr)
        return 1 if problems else 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", nargs="?", help="directory of corvid-bench JSON artifacts")
    ap.add_argument("--expect", action="append", default=None,
                    help="a workload the suite runs (repeatable); default: " +
                    " ".join(DEFAULT_EXPECTED))
    ap.add_argument("--failed", action="append", default=[],
                    help="a workload that failed in this run (repeatable)")
    ap.add_argument("--self-check", action="store_true",
                    help="summarise DIR (default docs/benchmarks) twice in a scratch directory "
                    "and check the output is complete and deterministic")
    args = ap.parse_args(argv)
    if args.self_check:
        default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs",
                               "benchmarks")
        return self_check(args.dir or os.path.normpath(default))
    if not args.dir:
        ap.print_usage(sys.stderr)
        return 2
    expected = [key_of(e) for e in (args.expect or DEFAULT_EXPECTED)]
    failed = {key_of(f) for f in args.failed}
    return run(args.dir, expected, failed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
