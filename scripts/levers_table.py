#!/usr/bin/env python3
"""Table of a lever sweep (scripts/levers.sh): per collection and variant, the mean (min..max) over
seeds of the best-by-validation metric and of the last checkpoint's, the steps done and the
training configurations/s. NaN graphs already count as 0 in the trainer's means."""
import glob
import json
import os
import sys


def fmt(xs):
    if not xs:
        return "-"
    return f"{sum(xs) / len(xs):.4f} ({min(xs):.4f}..{max(xs):.4f})"


def main(out):
    rows = {}
    for f in sorted(glob.glob(os.path.join(out, "*", "*", "seed*", "summary.json"))):
        run = os.path.dirname(f)
        variant = os.path.basename(os.path.dirname(run))
        coll = os.path.basename(os.path.dirname(os.path.dirname(run)))
        s = json.load(open(f))
        metric = "tau" if coll.startswith("layout") else "score"
        r = rows.setdefault((coll, variant), {"best": [], "last": [], "steps": [], "cfg": [],
                                              "err1": []})
        r["best"].append(s[f"best_{metric}"])
        r["last"].append(s.get(f"last_{metric}", float("nan")))
        if metric == "score":  # tile: the last validation's top-1 error as well
            log = [json.loads(l) for l in open(os.path.join(run, "log.jsonl")) if '"valid"' in l]
            if log:
                r["err1"].append(log[-1]["valid"]["mean_err1"])
        r["steps"].append(s.get("steps", 0))
        r["cfg"].append(s.get("configs_per_second", 0))
    print("| collection | variant | seeds | best-by-valid | last checkpoint | last top-1 error (tile) "
          "| steps | cfg/s |")
    print("|---|---|---|---|---|---|---|---|")
    for (coll, variant), r in sorted(rows.items()):
        n = len(r["best"])
        print(f"| {coll.replace('_', ':')} | {variant} | {n} | {fmt(r['best'])} | {fmt(r['last'])} "
              f"| {fmt(r['err1'])} | {sum(r['steps']) // max(n, 1)} | {sum(r['cfg']) / max(n, 1):.0f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/levers")
