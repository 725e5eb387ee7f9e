"""swalp's float formats against ml_dtypes, an independent implementation of them.

For each format ml_dtypes implements: every representable value, every midpoint and its two
float32 neighbours, and random float32 values, all within the format's finite range (ml_dtypes
turns overflow into NaN where swalp saturates), quantized with `swalp quantize` (nearest) and
converted by ml_dtypes; the float32 results must be identical bit for bit.
Usage: check_ml_dtypes.py PATH_TO_SWALP
"""
import subprocess
import sys

import ml_dtypes
import numpy as np

FORMATS = {
    "bf16": ml_dtypes.bfloat16,
    "fp16": np.float16,
    "fp8e4m3": ml_dtypes.float8_e4m3fn,
    "fp8e5m2": ml_dtypes.float8_e5m2,
    "fp6e2m3": ml_dtypes.float6_e2m3fn,
    "fp6e3m2": ml_dtypes.float6_e3m2fn,
    "fp4e2m1": ml_dtypes.float4_e2m1fn,
}


def representable(dtype):
    """Every finite value of the format, ascending, decoded by ml_dtypes from each bit pattern."""
    bits = np.dtype(dtype).itemsize * 8
    codes = np.arange(2 ** min(bits, 16), dtype=np.uint16 if bits == 16 else np.uint8)
    if bits < 8:  # ml_dtypes stores sub-byte formats in the low bits of a byte
        codes = np.arange(2**8, dtype=np.uint8)
    values = codes.view(dtype).astype(np.float32)
    values = values[np.isfinite(values)]
    return np.unique(values)


def inputs_for(dtype, rng):
    values = representable(dtype)
    top = values.max()
    mids = ((values[:-1].astype(np.float64) + values[1:]) / 2).astype(np.float32)
    parts = [values, mids, np.nextafter(mids, np.float32(np.inf)), np.nextafter(mids, np.float32(-np.inf))]
    random = rng.integers(0, 2**32, size=1 << 20, dtype=np.uint64).astype(np.uint32).view(np.float32)
    parts.append(random)
    x = np.concatenate(parts).astype(np.float32)
    return x[np.isfinite(x) & (np.abs(x) <= top)]


def main():
    swalp = sys.argv[1]
    rng = np.random.default_rng(2019)
    failures = 0
    for name, dtype in FORMATS.items():
        x = inputs_for(dtype, rng)
        ours = subprocess.run([swalp, "quantize", "--format", name], input=x.tobytes(),
                              capture_output=True, check=True).stdout
        ours = np.frombuffer(ours, dtype=np.float32)
        theirs = x.astype(dtype).astype(np.float32)
        same = (ours.view(np.uint32) == theirs.view(np.uint32)) | (np.isnan(ours) & np.isnan(theirs))
        bad = np.flatnonzero(~same)
        status = "ok" if bad.size == 0 else f"{bad.size} MISMATCHES, first x={x[bad[0]]!r} swalp={ours[bad[0]]!r} ml_dtypes={theirs[bad[0]]!r}"
        print(f"{name:8s} {x.size:8d} inputs: {status}")
        failures += bad.size
    print(f"ml_dtypes oracle: {'all formats agree' if failures == 0 else 'disagreement'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
