"""swalp's float formats against ml_dtypes, an independent implementation of them.

The formats come from `swalp formats --json`: every row that names an ml_dtypes type is checked,
so a format added to the registry with its ml_dtypes name is tested with no edit here. Inputs:
every representable value, every midpoint and its two float32 neighbours, 2^20 random float32
bit patterns, and the specials (zeros, Inf, NaN, overflow, the smallest subnormals). They are
quantized with `swalp quantize` (nearest) and converted by ml_dtypes; the float32 results must be
identical bit for bit (any NaN equals any NaN). ml_dtypes' casts overflow to NaN or Inf, so a
saturating swalp format is compared within its finite range only, and its `:nosat` form (also
a row of the table) on everything.
Usage: check_ml_dtypes.py PATH_TO_SWALP
"""
import json
import subprocess
import sys

import ml_dtypes
import numpy as np


def representable(dtype):
    """Every finite value of the format, ascending, decoded by ml_dtypes from each bit pattern."""
    bits = np.dtype(dtype).itemsize * 8
    codes = np.arange(2 ** min(bits, 16), dtype=np.uint16 if bits == 16 else np.uint8)
    if bits < 8:  # ml_dtypes stores sub-byte formats in the low bits of a byte
        codes = np.arange(2**8, dtype=np.uint8)
    values = codes.view(dtype).astype(np.float32)
    values = values[np.isfinite(values)]
    return np.unique(values)


def inputs_for(dtype, rng, saturating):
    values = representable(dtype)
    top = float(values.max())  # float64: 2 * top may exceed float32 (becomes Inf below)
    mids = ((values[:-1].astype(np.float64) + values[1:]) / 2).astype(np.float32)
    tiny = np.float32(np.finfo(np.float32).smallest_subnormal)
    with np.errstate(over="ignore"):
        specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, tiny, -tiny,
                             np.finfo(np.float32).max, -np.finfo(np.float32).max,
                             2 * top, -2 * top, top * 1.0625, -top * 1.0625], dtype=np.float32)
    random = rng.integers(0, 2**32, size=1 << 20, dtype=np.uint64).astype(np.uint32).view(np.float32)
    parts = [values, -values, mids, -mids, np.nextafter(mids, np.float32(np.inf)),
             np.nextafter(mids, np.float32(-np.inf)), specials, random]
    x = np.concatenate(parts).astype(np.float32)
    if saturating:
        x = x[np.isfinite(x) & (np.abs(x) <= top)]
    return x


def main():
    swalp = sys.argv[1]
    rows = [json.loads(line) for line in subprocess.run(
        [swalp, "formats", "--json"], capture_output=True, check=True, text=True).stdout.splitlines()]
    rows = [r for r in rows if r.get("ml_dtypes")]
    rng = np.random.default_rng(2019)
    failures = 0
    checked = []
    for row in rows:
        name, dtype_name = row["name"], row["ml_dtypes"]
        if not hasattr(ml_dtypes, dtype_name) and not hasattr(np, dtype_name):
            print(f"{name:18s} SKIPPED: this ml_dtypes ({ml_dtypes.__version__}) has no {dtype_name}")
            continue
        dtype = getattr(ml_dtypes, dtype_name, None) or getattr(np, dtype_name)
        x = inputs_for(dtype, rng, row["saturating"])
        ours = subprocess.run([swalp, "quantize", "--format", name], input=x.tobytes(),
                              capture_output=True, check=True).stdout
        ours = np.frombuffer(ours, dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            theirs = x.astype(dtype).astype(np.float32)
        same = (ours.view(np.uint32) == theirs.view(np.uint32)) | (np.isnan(ours) & np.isnan(theirs))
        bad = np.flatnonzero(~same)
        scope = "finite range" if row["saturating"] else "all inputs"
        status = "ok" if bad.size == 0 else f"{bad.size} MISMATCHES, first x={x[bad[0]]!r} swalp={ours[bad[0]]!r} ml_dtypes={theirs[bad[0]]!r}"
        print(f"{name:18s} vs {dtype_name:16s} {x.size:8d} inputs ({scope}): {status}")
        failures += bad.size
        checked.append(name)
    # The formats whose oracle is ml_dtypes must all have been checked (a renamed type or an
    # old ml_dtypes must not pass silently).
    required = {"bf16", "fp16", "fp8e4m3", "fp8e5m2", "fp8e4m3:nosat", "fp8e4m3fnuz",
                "fp8e5m2fnuz", "fp8e4m3fnuz:nosat", "fp8e5m2fnuz:nosat", "e8m0", "fp6e2m3",
                "fp6e3m2", "fp4e2m1"}
    missing = required - set(checked)
    if missing:
        print(f"not checked: {sorted(missing)}")
        failures += 1
    print(f"ml_dtypes oracle: {'all formats agree' if failures == 0 else 'disagreement'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
