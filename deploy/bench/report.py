#!/usr/bin/env python3
"""Prints `make bench`'s table and writes its JSON from the results bench.sh collected.

    report.py --results results.jsonl --json out.json [--meta key=value ...]

Each line of the results is a limit ({kind: limit, name, per_second, what}) or a scenario ({kind:
scenario, letter, name, limit, connections, requests, ok, non_2xx, socket_errors, seconds, p50_ms,
p99_ms, p999_ms, lag_max_ms, lag_drained_s}); either may carry cpu ({busy_pct, us: {component: CPU
µs per answer}}, see cpu.py), printed as a second table. A scenario's throughput counts only its good
answers (2xx, or the one status it expects); its ratio is that throughput over its limit's.
"""
import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--meta", nargs="*", default=[])
    args = parser.parse_args()

    limits, scenarios = {}, []
    with open(args.results) as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if row["kind"] == "limit":
                limits[row["name"]] = row
            else:
                scenarios.append(row)
    for s in scenarios:
        s["per_second"] = round(s["ok"] / s["seconds"], 1) if s["seconds"] else 0.0
        limit = limits.get(s["limit"])
        s["limit_per_second"] = limit["per_second"] if limit else None
        s["ratio"] = round(s["per_second"] / limit["per_second"], 3) if limit and limit["per_second"] else None

    print()
    print("==> limits")
    for name, limit in limits.items():
        print(f"  {name:<12} {limit['per_second']:>10,.0f}/s   {limit['what']}")
    print()
    print("==> scenarios (throughput counts 2xx answers only; ratio = throughput / its limit)")
    header = ["", "scenario", "conns", "2xx/s", "limit", "ratio", "p50 ms", "p99 ms", "p99.9 ms", "non-2xx", "sock err", "lag max s", "drained s"]
    rows = []
    for s in scenarios:
        rows.append([
            s["letter"] + ")", s["name"], str(s["connections"]), f"{s['per_second']:,.0f}",
            s["limit"], f"{s['ratio']:.2f}" if s["ratio"] is not None else "n/a",
            f"{s['p50_ms']:.1f}", f"{s['p99_ms']:.1f}", f"{s['p999_ms']:.1f}",
            str(s["non_2xx"]), str(s["socket_errors"]),
            f"{s['lag_max_ms'] / 1000:.2f}", f"{s['lag_drained_s']:.1f}",
        ])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  " + "  ".join(c.ljust(w) if i < 2 or i == 4 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    cpu_table(list(limits.values()), scenarios)
    meta = dict(m.split("=", 1) for m in args.meta)
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "limits": list(limits.values()), "scenarios": scenarios}, f, indent=2)
        f.write("\n")


def cpu_table(limits: list, scenarios: list) -> None:
    """Where the machine's CPU went per answer (or transaction), by component (cpu.py's split)."""
    rows = [(l["name"], l["cpu"]) for l in limits if "cpu" in l]
    rows += [(s["letter"] + ")", s["cpu"]) for s in scenarios if "cpu" in s]
    if not rows:
        return
    components = []
    for _, cpu in rows:
        for name, us in cpu["us"].items():
            if name not in components and name != "other" and any(c["us"].get(name, 0) >= 0.5 for _, c in rows):
                components.append(name)
    components.append("other")
    print()
    print("==> CPU per answer (µs of all cores' time; a limit's per transaction or request), by component")
    header = ["", *components, "total", "busy %"]
    table = []
    for name, cpu in rows:
        us = cpu["us"]
        table.append([name, *(f"{us.get(c, 0):.0f}" for c in components), f"{sum(us.values()):.0f}", f"{cpu['busy_pct']:.0f}"])
    widths = [max(len(r[i]) for r in table + [header]) for i in range(len(header))]
    for r in [header] + table:
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


if __name__ == "__main__":
    main()
