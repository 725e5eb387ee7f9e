"""swalp.quantize from Python next to `swalp bench quantize` (the C++ kernels timed alone) in
the same run, for 2^24 float32 values, with torch's x.clone() (a fresh 64 MiB output, as
swalp.quantize returns) as the allocation reference; and the per-call overhead on a 1-element
tensor.

    python3 python/benchmarks/bench_quantize.py build/cli/swalp
"""
import json
import os
import subprocess
import sys
import time

import torch

import swalp

CASES = [("bf16", "nearest"), ("fp8e4m3", "stochastic"), ("bfp:8", "nearest")]
N = 1 << 24


def best_seconds(fn, repetitions=7):
    fn()
    best = float("inf")
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    cli = sys.argv[1] if len(sys.argv) > 1 else "swalp"
    # swalp's kernels use the OpenMP threads torch sets (torch.set_num_threads), as torch's own
    # CPU ops do; both sides get every core.
    threads = os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(N)
    out = torch.empty(N)
    rows = []
    for fmt, rounding in CASES:
        bench = json.loads(subprocess.run(
            [cli, "bench", "quantize", "--format", fmt, "--rounding", rounding, "--n", str(N),
             "--repetitions", "7", "--threads", str(threads), "--json"], check=True, capture_output=True, text=True).stdout)
        fresh = N / best_seconds(lambda: swalp.quantize(x, fmt, rounding, seed=1)) / 1e9
        into = N / best_seconds(lambda: swalp.quantize(x, fmt, rounding, seed=1, out=out)) / 1e9
        clone = N / best_seconds(lambda: x.clone()) / 1e9  # torch's own allocating copy
        rows.append({"format": fmt, "rounding": rounding, "n": N, "cli_gelem_s": bench["gelem_s"],
                     "python_quantize_gelem_s": fresh, "python_quantize_out_gelem_s": into,
                     "torch_clone_gelem_s": clone,
                     "quantize_vs_cli": fresh / bench["gelem_s"],
                     "out_vs_cli": into / bench["gelem_s"]})
    one = torch.tensor([0.3])
    calls = 20000
    start = time.perf_counter()
    for _ in range(calls):
        swalp.quantize(one, "bf16")
    overhead_us = 1e6 * (time.perf_counter() - start) / calls
    print(f"{'format':<9} {'rounding':<11} {'CLI Gelem/s':>11} {'quantize':>9} {'ratio':>6} "
          f"{'out=':>9} {'ratio':>6} {'x.clone()':>9}")
    for r in rows:
        print(f"{r['format']:<9} {r['rounding']:<11} {r['cli_gelem_s']:>11.3f} "
              f"{r['python_quantize_gelem_s']:>9.3f} {r['quantize_vs_cli']:>6.2f} "
              f"{r['python_quantize_out_gelem_s']:>9.3f} {r['out_vs_cli']:>6.2f} "
              f"{r['torch_clone_gelem_s']:>9.3f}")
    print(f"per-call overhead, 1-element tensor: {overhead_us:.1f} us")
    print(json.dumps({"rows": rows, "per_call_overhead_us": overhead_us}))


if __name__ == "__main__":
    main()
