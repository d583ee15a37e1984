#!/usr/bin/env python3
"""Markdown tables from the upload benchmarks' criterion results (python3 standard library only).

    python3 scripts/bench-ratios.py [--mean] [CRITERION_DIR ...]

Reads `<group>/<id>/new/benchmark.json` and `estimates.json` under CRITERION_DIR (default:
$CRITERION_HOME, else $CARGO_TARGET_DIR/criterion, else target/criterion of the repository) and
prints, for the groups found:

- benches/chunk_profiles.rs (`chunk_size_<profile>`, ids `fixed/<size>` and `auto`): per
  profile, the best fixed chunk size, its MiB/s, auto's MiB/s and auto / best; then every
  size's MiB/s.
- benches/parallel.rs (`parallel_<profile>`, ids `parallel/<n>`): one stream's MiB/s
  (`parallel/1`) and each `parallel(n)` as a multiple of it.
- benches/checksum.rs (`checksum_<profile>`, ids `none`, `look_ahead/<alg>`, `in_place/<alg>`):
  MiB/s with and without the look-ahead, and the share of `none`'s throughput lost.

MiB/s is the group's bytes per iteration over the median time per iteration (the mean with
--mean). Only the latest run of each benchmark (`new/`) is read.

Given several directories (runs of the same benchmarks, e.g. `CRITERION_HOME=DIR cargo bench`
for each), every number is the median over the runs, with the lowest and highest in brackets,
and a size that differs between runs is listed once per value: on a shared machine a single
run's ratios move by 10-20 %, and repeated runs show by how much.
"""

import json
import os
import re
import statistics
import sys
from pathlib import Path

MIB = 1024 * 1024


def default_dir():
    if os.environ.get("CRITERION_HOME"):
        return Path(os.environ["CRITERION_HOME"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def load(root, statistic):
    """{group: {id: MiB/s}} for every benchmark under `root` with a throughput in bytes."""
    results = {}
    for meta_path in root.glob("**/new/benchmark.json"):
        meta = json.loads(meta_path.read_text())
        estimates = json.loads((meta_path.parent / "estimates.json").read_text())
        nanos = estimates[statistic]["point_estimate"]
        size = (meta.get("throughput") or {}).get("Bytes")
        if not size or not nanos:
            continue
        parts = [p for p in (meta.get("function_id"), meta.get("value_str")) if p is not None]
        results.setdefault(meta["group_id"], {})["/".join(parts)] = size / MIB / (nanos / 1e9)
    return results


def profile_key(profile):
    """Latency profiles by their milliseconds, then the others by name."""
    match = re.fullmatch(r"(\d+)ms", profile)
    return (0, int(match.group(1)), "") if match else (1, 0, profile)


def size_key(label):
    match = re.fullmatch(r"(\d+)(KiB|MiB|GiB)", label)
    if not match:
        return float("inf")
    return int(match.group(1)) * {"KiB": 1, "MiB": 1024, "GiB": 1024 * 1024}[match.group(2)]


def by_profile(results, prefix):
    found = {g[len(prefix):]: ids for g, ids in results.items() if g.startswith(prefix)}
    return [(p, found[p]) for p in sorted(found, key=profile_key)]


class Num:
    """A number and how to print it."""

    def __init__(self, value, fmt):
        self.value, self.fmt = value, fmt


def mibs(value):
    return Num(value, "{:.0f}") if value is not None else None


# A table is (title, header, rows); a row is a list of cells: str, Num or None (not measured).


def chunk_tables(results):
    profiles = by_profile(results, "chunk_size_")
    if not profiles:
        return []
    ratios, sizes = [], set()
    for profile, ids in profiles:
        fixed = {k[len("fixed/"):]: v for k, v in ids.items() if k.startswith("fixed/")}
        sizes.update(fixed)
        auto = ids.get("auto")
        if not fixed or auto is None:
            continue
        best = max(fixed, key=fixed.get)
        ratios.append(
            [profile, best, mibs(fixed[best]), mibs(auto), Num(auto / fixed[best], "{:.2f}")]
        )
    columns = sorted(sizes, key=size_key)
    every = [
        [profile] + [mibs(ids.get(f"fixed/{s}")) for s in columns] + [mibs(ids.get("auto"))]
        for profile, ids in profiles
    ]
    return [
        (
            "Chunk size: auto against the best fixed size (MiB/s)",
            ["profile", "best fixed size", "its MiB/s", "auto MiB/s", "auto / best"],
            ratios,
        ),
        ("Chunk size: MiB/s at every size (— not measured)", ["profile"] + columns + ["auto"],
         every),
    ]


def parallel_tables(results):
    profiles = by_profile(results, "parallel_")
    if not profiles:
        return []
    counts = sorted(
        {int(k.split("/")[1]) for _, ids in profiles for k in ids if k.startswith("parallel/")}
    )
    counts = [n for n in counts if n != 1]
    rows = []
    for profile, ids in profiles:
        one = ids.get("parallel/1")
        row = [profile, mibs(one)]
        for n in counts:
            value = ids.get(f"parallel/{n}")
            row.append(Num(value / one, "{:.2f}×") if value and one else None)
        rows.append(row)
    return [
        (
            "Parallel: one stream's MiB/s, and parallel(n) as a multiple of it",
            ["profile", "one stream MiB/s"] + [f"parallel({n})" for n in counts],
            rows,
        )
    ]


def checksum_tables(results):
    tables = []
    for profile, ids in by_profile(results, "checksum_"):
        none = ids.get("none")
        algorithms = sorted(
            {k.split("/", 1)[1] for k in ids if k.startswith(("look_ahead/", "in_place/"))}
        )

        def cells(key):
            value = ids.get(key)
            cost = Num(100 * (1 - value / none), "{:.0f} %") if value and none else None
            return [mibs(value), cost]

        rows = [["none", mibs(none), "", "", ""]]
        rows += [[a] + cells(f"look_ahead/{a}") + cells(f"in_place/{a}") for a in algorithms]
        tables.append(
            (
                f"Checksum, {profile}: MiB/s, and the share of none's throughput lost",
                ["algorithm", "look-ahead MiB/s", "cost", "in place MiB/s", "cost"],
                rows,
            )
        )
    return tables


def merge(cells):
    """One cell from the same cell of several runs."""
    present = [c for c in cells if c is not None]
    if not present:
        return "—"
    if isinstance(present[0], Num):
        values = [c.value for c in present]
        fmt = present[0].fmt
        text = fmt.format(statistics.median(values))
        if len(values) > 1:
            text += f" ({fmt.format(min(values))}–{fmt.format(max(values))})"
        return text
    labels = []
    for c in present:
        if c not in labels:
            labels.append(c)
    return "/".join(labels)


def render(runs_tables):
    """Markdown for the tables of one or more runs (matched by title and first column)."""
    out = []
    for title, header, rows in runs_tables[0]:
        others = [{r[0]: r for r in t[2]} for tables in runs_tables for t in tables
                  if t[0] == title]
        lines = [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in rows:
            same = [o.get(row[0]) for o in others]
            merged = [row[0]] + [
                merge([r[i] if r and i < len(r) else None for r in same])
                for i in range(1, len(header))
            ]
            lines.append("| " + " | ".join(merged) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def main(argv):
    statistic = "median"
    if "--mean" in argv:
        statistic = "mean"
        argv = [a for a in argv if a != "--mean"]
    if any(a.startswith("-") for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    roots = [Path(a) for a in argv] or [default_dir()]
    runs = []
    for root in roots:
        if not root.is_dir():
            print(f"no criterion results in {root} (run `cargo bench` first)", file=sys.stderr)
            return 1
        results = load(root, statistic)
        runs.append(chunk_tables(results) + parallel_tables(results) + checksum_tables(results))
    if not runs[0]:
        print(f"no upload benchmark results in {roots[0]}", file=sys.stderr)
        return 1
    runs_note = f"{len(runs)} runs: median (lowest–highest)" if len(runs) > 1 else "one run"
    print(f"<!-- {statistic} times; {runs_note}; from {', '.join(map(str, roots))} -->\n")
    print(render(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
