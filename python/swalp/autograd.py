"""Quantizer: QPyTorch's quantizer(forward_number, backward_number, ...) as an nn.Module.

Forward values are quantized to `forward`, gradients flowing back to `backward`; a side left
None passes straight through. Every call draws fresh random bits: call k uses the streams
(ACTIVATION, k) forward and (ERROR, k) backward of the module's `index`, so no two calls share
bits, and the call counter is a buffer: state_dict() saves it, load_state_dict() resumes it.
"""

import torch

from . import streams
from .quantization import _check_arguments, quantize


class _Quantize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, forward, forward_rounding, backward, backward_rounding, seed, fstream, bstream):
        ctx.backward_spec = (backward, backward_rounding, seed, bstream)
        if forward is None:
            return x.clone()
        return quantize(x.contiguous(), forward, forward_rounding, seed, fstream)

    @staticmethod
    def backward(ctx, grad):
        backward, rounding, seed, stream = ctx.backward_spec
        if backward is not None:
            grad = quantize(grad.contiguous(), backward, rounding, seed, stream)
        return grad, None, None, None, None, None, None, None


def quantizer(x, forward=None, backward=None, forward_rounding="stochastic",
              backward_rounding="stochastic", seed=0, forward_stream=0, backward_stream=1):
    """Functional form: x with its forward values and its gradient quantized (fixed streams)."""
    for fmt, rounding in ((forward, forward_rounding), (backward, backward_rounding)):
        if fmt is not None:
            _check_arguments(fmt, rounding, seed, 0, 0)
    return _Quantize.apply(x, forward, forward_rounding, backward, backward_rounding, seed,
                           forward_stream, backward_stream)


class Quantizer(torch.nn.Module):
    """x -> Q_forward(x) with dL/dx -> Q_backward(dL/dx); see the module docstring."""

    def __init__(self, forward=None, backward=None, forward_rounding="stochastic",
                 backward_rounding="stochastic", seed=0, index=0):
        super().__init__()
        from .quantization import canonical_format
        self.forward_format = None if forward is None else canonical_format(forward)
        self.backward_format = None if backward is None else canonical_format(backward)
        for fmt, rounding in ((forward, forward_rounding), (backward, backward_rounding)):
            if fmt is not None:
                _check_arguments(fmt, rounding, seed, 0, 0)
        self.forward_rounding, self.backward_rounding = forward_rounding, backward_rounding
        self.seed, self.index = seed, index
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        k = int(self.calls)
        self.calls += 1
        fstream = streams.compose_stream(streams.ACTIVATION, streams.TRAIN, self.index, k)
        bstream = streams.compose_stream(streams.ERROR, streams.TRAIN, self.index, k)
        return _Quantize.apply(x, self.forward_format, self.forward_rounding, self.backward_format,
                               self.backward_rounding, self.seed, fstream, bstream)

    def extra_repr(self):
        return (f"forward={self.forward_format}, backward={self.backward_format}, "
                f"forward_rounding={self.forward_rounding}, backward_rounding={self.backward_rounding}")
