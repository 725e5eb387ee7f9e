"""Averaging in a given format for torch.optim.swa_utils.AveragedModel.

    swa_model = AveragedModel(model, avg_fn=swalp.swa.averaging_fn("bfp:8"))

Each update computes avg + (p - avg) / (n + 1) in fp32 and rounds it to `format` (SWALP keeps
the average in high precision: pass format=None or use AveragedModel's default for that). The
averaging function draws stream (AVERAGE, call number): every tensor of every update its own bits.
"""

from . import streams
from .quantization import canonical_format, quantize


def averaging_fn(format, rounding="nearest", seed=0):
    """An avg_fn(averaged, current, num_averaged) that keeps the average in `format`."""
    spelling = None if format is None else canonical_format(format)
    calls = [0]

    def average(averaged, current, num_averaged):
        value = averaged + (current - averaged) / (num_averaged + 1)
        if spelling is None:
            return value
        k = calls[0]
        calls[0] += 1
        stream = streams.compose_stream(streams.AVERAGE, streams.TRAIN, k >> 42 & 0xFFFF, k & ((1 << 42) - 1))
        return quantize(value.contiguous().float(), spelling, rounding, seed, stream)

    return average
