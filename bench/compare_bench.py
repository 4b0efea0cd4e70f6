#!/usr/bin/env python3
"""anima against PyTorch, entry by entry: joins the CSV of `anima bench ... --csv` with the CSV of
bench/torch_ops.py on (device, batch, op) and prints a Markdown table with torch/anima ratios of
the median times (> 1: anima is faster), then one line "ratios: ..." with their geometric mean and
the extremes. A dev script (the standard library only).

  python3 bench/compare_bench.py anima.csv torch.csv
"""
import csv
import math
import sys


def read(path):
    with open(path, newline="") as f:
        return {(r["device"], r["batch"], r["op"]): r for r in csv.DictReader(f)}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    anima, torch = read(sys.argv[1]), read(sys.argv[2])
    print("| op | shape | device, batch | anima ms | PyTorch ms | PyTorch/anima |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for key, a in anima.items():
        t = torch.get(key)
        am = float(a["ms_median"])
        if t is None:
            print(f"| {a['op']} | {a['shape']} | {key[0]}, {key[1]} | {am:.3f} | (no PyTorch twin) | |")
            continue
        tm = float(t["ms_median"])
        r = tm / am if am > 0 else float("inf")
        ratios.append((r, a["op"]))
        print(f"| {a['op']} | {a['shape']} | {key[0]}, {key[1]} | {am:.3f} | {tm:.3f} | {r:.2f} |")
    print()
    if not ratios:
        print("ratios: no entry in common")
        sys.exit(1)
    gmean = math.exp(sum(math.log(r) for r, _ in ratios) / len(ratios))
    lo, hi = min(ratios), max(ratios)
    print(f"ratios: PyTorch/anima over {len(ratios)} ops: geometric mean {gmean:.2f}, "
          f"lowest {lo[0]:.2f} ({lo[1]}), highest {hi[0]:.2f} ({hi[1]})")


if __name__ == "__main__":
    main()
