"""The benchmarks' figures (bench/results/latest.json) as a Markdown table, the issue's goals met or missed, and two
charts: throughput against concurrency, and cost against dataset size."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

GOALS_NOTE = ("from the benchmarks issue and the one-write-engine issue; every figure is a ratio or a count taken in "
              "the same run")
CPU_MS_PER_WRITE = 2.0


def goals(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(goal, what this run measured, met) for each goal whose benchmark ran."""
    found: list[tuple[str, str, bool]] = []
    marks = results["benchmarks"]
    if initial := marks.get("initial_sync"):
        at_20 = [r for r in initial["to_invoiced"] if r["concurrency"] == 20]
        if at_20:
            r = at_20[0]
            found += [
                ("Customcrm -> Invoiced at 20 in flight: >= 0.8 of the ceiling (20 / L)",
                 f"{r['sync_over_ceiling']:.2f}", r["sync_over_ceiling"] >= 0.8),
                ("no 429 received", f"{sum(x['rate_limited'] for x in initial['to_invoiced'])}",
                 all(x["rate_limited"] == 0 for x in initial["to_invoiced"])),
                ("<= 1.05 requests per created record",
                 f"{r['requests_per_created']:.3f} ({r['requests_per_created_without_refused']:.3f} without the "
                 "writes Invoiced refused)",
                 r["requests_per_created"] <= 1.05),
                (f"target-invoiced CPU per write <= {CPU_MS_PER_WRITE} ms at 20 in flight",
                 f"{r['cpu_ms_per_write']:.1f} ms", r["cpu_ms_per_write"] <= CPU_MS_PER_WRITE),
            ]
        back = [r for r in initial.get("to_customcrm", []) if r["concurrency"] == 20]
        if back:
            r = back[0]
            found += [
                ("Invoiced -> Customcrm at 20 in flight: >= 0.7 of the ceiling (20 / L)",
                 f"{r['sync_over_ceiling']:.2f}", r["sync_over_ceiling"] >= 0.7),
                (f"target-customcrm CPU per write <= {CPU_MS_PER_WRITE} ms at 20 in flight",
                 f"{r['cpu_ms_per_write']:.1f} ms", r["cpu_ms_per_write"] <= CPU_MS_PER_WRITE),
            ]
    if cost := marks.get("sync_cost"):
        small, large = cost["runs"]
        ratio = cost["large_over_small"]
        per_edit = [_extra_per_edit(run) for run in cost["runs"]]
        found += [
            ("a sync with no changes makes zero writes",
             f"{small['quiet']['writes']} and {large['quiet']['writes']}",
             small["quiet"]["writes"] == 0 and large["quiet"]["writes"] == 0),
            ("a changed sync's requests are the changes plus a few pages: requests beyond a quiet sync's, per edit, "
             "within 1.3x between the two sizes", f"{per_edit[0]:.2f} and {per_edit[1]:.2f} per edit",
             per_edit[1] <= 1.3 * per_edit[0]),
            ("a changed sync's wall time within 1.3x between the two sizes", f"{ratio['changed_seconds']:.2f}x",
             ratio["changed_seconds"] <= 1.3),
            ("each plugin's peak RSS within 1.3x between the two sizes",
             f"up to {max(ratio['peak_rss'].values()):.2f}x", max(ratio["peak_rss"].values()) <= 1.3),
        ]
    for name in ("tap_customcrm", "tap_invoiced"):
        if tap := marks.get(name):
            median = tap.get("ratio_marginal_median", tap["ratio_marginal"])
            found.append((f"{tap['tap']}: CPU per record <= 1.3x a plain requests + json loop (marginal, median of "
                           f"{tap['repeat']} repeats)",
                          f"{median:.2f}x (best runs {tap['ratio_marginal']:.2f}x, whole run "
                          f"{tap['ratio_whole']:.2f}x)",
                          0 < median <= 1.3))
    return found


def _extra_per_edit(run: dict[str, Any]) -> float:
    return (run["changed"]["requests"] - run["quiet"]["requests"]) / run["edited"]


def _bench_minutes(results: dict[str, Any]) -> float:
    """The benchmarks `make bench` runs, without the opt-in set-up timing."""
    return sum(seconds for name, seconds in results["seconds"].items() if name != "setup") / 60


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Taken {results['started']} on {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['system']} "
        f"(load average at the start {', '.join(f'{x:.1f}' for x in m['load_average_at_start'] or [])}); "
        f"`make bench` took {_bench_minutes(results):.1f} min"
        + (" (--quick: tiny sizes, not a measurement)" if results["quick"] else "") + ".",
        "",
    ]
    marks = results["benchmarks"]
    if initial := marks.get("initial_sync"):
        lines += [
            f"**Initial sync** with {initial['latency_ms']:g} ms latency per request. Ceiling = C / L writes per "
            "second; plain = a threaded `requests` client replaying the same requests.",
            "",
            "| direction | in flight C | records | writes | sync / ceiling | sync / (20 / L) | plain / ceiling "
            "| sync / plain | requests per created | the same, refused writes left out | 429s "
            "| target CPU ms per write |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in initial["to_invoiced"] + initial["to_customcrm"]:
            lines.append(
                f"| {r['direction']} | {r['concurrency']} | {r['records']} | {r['writes']} | "
                f"{r['sync_over_ceiling']:.2f} | {r['sync_over_invoiced_ceiling']:.2f} | "
                f"{r['plain_over_ceiling']:.2f} | {r['sync_over_plain']:.2f} | {r['requests_per_created']:.3f} | "
                f"{r['requests_per_created_without_refused']:.3f} | "
                f"{r['rate_limited']} | {r['cpu_ms_per_write']:.1f} |")
        seeded = initial["seeded"]
        lines += ["", f"Customcrm seeded with {seeded['customers']} customers, {seeded['products']} products and "
                  f"{seeded['orders']} orders; below {seeded['full_from']} in flight a share C / "
                  f"{seeded['full_from']} of them, so each run lasts about as long. Invoiced seeded with "
                  f"{seeded['reverse_customers']} customers and their items and invoices.", ""]
    if cost := marks.get("sync_cost"):
        lines += [
            f"**Cost against size**: a `sync` (both directions) after {cost['change']:.0%} of the customers were "
            "edited on each side, and one with no edits; the plugins piped directly, as `meltano run sync` "
            "runs them, without Meltano's own start-up.",
            "",
            "| customers | edits | quiet sync: requests | quiet: writes | changed sync: requests | changed: writes "
            "| beyond quiet, per edit | changed: wall time / smaller size's (fastest of each size's runs) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        base_seconds = cost["runs"][0]["changed"]["seconds"]
        for run in cost["runs"]:
            quiet, changed = run["quiet"], run["changed"]
            lines.append(
                f"| {run['customers']} | {run['edited']} | {quiet['requests']} | {quiet['writes']} | "
                f"{changed['requests']} | {changed['writes']} | {_extra_per_edit(run):.2f} | "
                f"{changed['seconds'] / base_seconds:.2f} |")
        small, large = cost["runs"]
        for system in ("customcrm", "invoiced"):
            kinds = large["changed"][system]["kinds"]
            lines += ["", f"Requests {'Customcrm' if system == 'customcrm' else 'Invoiced'} served in the changed sync "
                      f"at {large['customers']} customers: " + ", ".join(f"`{kind}` {n}" for kind, n in kinds.items())
                      + "."]
        lines += ["", "**Peak memory** (RSS) of each plugin process in the first sync, larger size over smaller:",
                  "", "| process | " + " | ".join(f"{run['customers']} customers" for run in cost["runs"])
                  + " | ratio |", "|---|---:|---:|---:|"]
        for name, ratio in cost["large_over_small"]["peak_rss"].items():
            lines.append(f"| {name} | {small['first']['peak_rss_mib'][name]:.0f} MiB | "
                         f"{large['first']['peak_rss_mib'][name]:.0f} MiB | {ratio:.2f} |")
        lines.append("")
    taps = [marks[name] for name in ("tap_customcrm", "tap_invoiced") if name in marks]
    if taps:
        lines += ["**Tap overhead**: CPU per record against a plain requests + json loop over the same pages.", "",
                  "| tap | records (two sizes) | ratio, marginal | ratio, whole run | peak RSS, two sizes |",
                  "|---|---:|---:|---:|---:|"]
        for tap in taps:
            lines.append(f"| {tap['tap']} | {' / '.join(str(n) for n in tap['records'])} | "
                         f"{tap['ratio_marginal']:.2f} | {tap['ratio_whole']:.2f} | "
                         f"{' / '.join(f'{p:.0f}' for p in tap['peak_rss_mib']['tap'])} MiB |")
        lines.append("")
    if sandbox := marks.get("invoiced_sandbox"):
        lines += [f"**Invoiced sandbox**, {sandbox['seed_customers']} customers, {sandbox['clients']} clients, "
                  "no latency: cost of each request against a GET by id.", "",
                  "| request | cost / GET by id |", "|---|---:|"]
        lines += [f"| `{p['phase']}` | {p['cost_over_get_by_id']:.2f} |" for p in sandbox["phases"]]
        lines.append("")
    if setup := marks.get("setup"):
        lines += [f"**Set-up** from a fresh clone: `make install` {setup['install_seconds']:.0f} s, then `make demo` "
                  f"{setup['demo_seconds']:.0f} s.", ""]
    lines += [f"**Goals** ({GOALS_NOTE})", "", "| goal | measured | met |", "|---|---|---|"]
    lines += [f"| {goal} | {measured} | {'yes' if met else '**no**'} |" for goal, measured, met in goals(results)]
    if results.get("retried"):
        lines += ["", f"Run a second time after a failure: {', '.join(results['retried'])}."]
    if results["failed"]:
        lines += ["", f"Failed: {', '.join(results['failed'])}."]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], folder: Path) -> None:
    (folder / "results.md").write_text(markdown(results))
    import matplotlib as mpl  # noqa: PLC0415 - only the charts need it, and it is slow to import

    mpl.use("Agg")
    if "initial_sync" in results["benchmarks"]:
        _throughput_chart(results["benchmarks"]["initial_sync"], folder / "throughput.png")
    if "sync_cost" in results["benchmarks"]:
        _cost_chart(results["benchmarks"]["sync_cost"], folder / "cost.png")


def _throughput_chart(initial: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    forward, backward = initial["to_invoiced"], initial["to_customcrm"]
    concurrency = [r["concurrency"] for r in forward]
    axes.plot(concurrency, [r["plain_over_ceiling"] for r in forward], "o--", color="grey",
              label="plain requests client, same requests")
    axes.plot(concurrency, [r["sync_over_ceiling"] for r in forward], "o-", color="tab:blue",
              label="sync, Customcrm → Invoiced")
    if backward:
        axes.plot([r["concurrency"] for r in backward], [r["sync_over_ceiling"] for r in backward], "s-",
                  color="tab:orange", label="sync, Invoiced → Customcrm")
    axes.axhline(0.8, color="tab:green", linestyle=":", label="goal at 20 in flight: 0.8")
    axes.set(xlabel="requests in flight (C)", ylabel="writes per second / ceiling (C / L)", ylim=(0, 1.05),
             xticks=sorted({*concurrency, *(r["concurrency"] for r in backward)}),
             title=f"Initial sync against the ceiling, {initial['latency_ms']:g} ms latency")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _cost_chart(cost: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib import ticker  # noqa: PLC0415

    runs = cost["runs"]
    sizes = [run["customers"] for run in runs]
    figure, (requests_axes, memory_axes) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110)
    for key, label, style in (("first", "first sync", "o-"), ("changed", f"{cost['change']:.0%} edited each side",
                                                                       "s-"), ("quiet", "no edits", "^-")):
        requests_axes.plot(sizes, [run[key]["requests"] for run in runs], style, label=label)
    requests_axes.set(xscale="log", yscale="log", xlabel="customers", ylabel="requests in one sync (both ways)",
                      title="Requests against dataset size", xticks=sizes, xticklabels=[str(s) for s in sizes])
    requests_axes.yaxis.set_major_formatter(ticker.ScalarFormatter())
    requests_axes.grid(alpha=0.3, which="both")
    requests_axes.legend(fontsize=8)
    for name in runs[0]["first"]["peak_rss_mib"]:
        memory_axes.plot(sizes, [run["first"]["peak_rss_mib"][name] for run in runs], "o-", label=name)
    memory_axes.set(xscale="log", xlabel="customers", ylabel="peak RSS in the first sync, MiB", ylim=(0, None),
                    title="Peak memory of each plugin", xticks=sizes, xticklabels=[str(s) for s in sizes])
    requests_axes.yaxis.set_minor_formatter(ticker.NullFormatter())
    for axes in (requests_axes, memory_axes):
        axes.xaxis.set_minor_formatter(ticker.NullFormatter())
    memory_axes.grid(alpha=0.3)
    memory_axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- bench results: bench/report.py --readme -->", "<!-- end of bench results -->"


def update_readme(results: dict[str, Any], readme: Path = README) -> None:
    """Put the table between the README's markers (only this block changes)."""
    text = readme.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    if not rest or not tail:
        msg = f"{readme} has no {BEGIN} ... {END} block"
        raise SystemExit(msg)
    readme.write_text(f"{head}{BEGIN}\n{markdown(results)}{END}{tail}")


if __name__ == "__main__":  # bench/report.py bench/results/latest.json [--readme]: table and charts again
    source = Path(sys.argv[1])
    figures = json.loads(source.read_text())
    write(figures, source.parent)
    if "--readme" in sys.argv[2:]:
        update_readme(figures)
