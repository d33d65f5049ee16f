#!/usr/bin/env python3
"""Markdown table of validation Kendall tau per collection and model from layout_results.sh runs.

Reads OUT/<collection>/<model>/seed*/summary.json (best validation tau of each run); prints mean,
spread (min..max) and per-seed values. Plain standard library: no numpy needed.
"""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "runs/layout"
rows = {}
for f in sorted(glob.glob(os.path.join(out, "*", "*", "seed*", "summary.json"))):
    run = os.path.dirname(f)
    model = os.path.basename(os.path.dirname(run))
    coll = os.path.basename(os.path.dirname(os.path.dirname(run))).replace("_", ":")
    with open(f) as fh:
        s = json.load(fh)
    rows.setdefault(coll, {}).setdefault(model, []).append(
        (os.path.basename(run), s["best_tau"], s["steps"], s["configs_per_second"]))

models = sorted({m for c in rows.values() for m in c})
print("| collection | " + " | ".join(f"{m} tau (mean, min..max, seeds)" for m in models) + " |")
print("|---|" + "---|" * len(models))
means = {m: [] for m in models}
for coll in sorted(rows):
    cells = []
    for m in models:
        runs = rows[coll].get(m, [])
        if not runs:
            cells.append("-")
            continue
        taus = [r[1] for r in runs]
        mean = statistics.mean(taus)
        means[m].append(mean)
        cps = statistics.mean(r[3] for r in runs)
        cells.append(f"**{mean:.4f}** ({min(taus):.4f}..{max(taus):.4f}, n={len(taus)}; {cps:.0f} cfg/s)")
    print(f"| {coll} | " + " | ".join(cells) + " |")
print("| **mean of collections** | " + " | ".join(
    f"**{statistics.mean(v):.4f}**" if v else "-" for v in (means[m] for m in models)) + " |")
