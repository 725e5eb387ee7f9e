"""matmul / linear: matrix products whose sums are rounded (docs/accumulation.md), on the C++
core's swalp::matmul, differentiable in every operand."""

import torch

from . import _swalp
from .quantization import _check_index, _check_tensor


def _streams(stream, streams):
    """Each product has its own random stream: by default stream S gives the forward product 3S,
    dA = dC B^T 3S+1 and dB = A^T dC 3S+2, so consecutive S never share bits."""
    if streams is not None:
        if len(streams) != 3:
            raise ValueError(f"streams must be (forward, grad_a, grad_b), got {streams!r}")
        for name, value in zip(("forward", "grad_a", "grad_b"), streams):
            _check_index(f"streams.{name}", value)
        return tuple(streams)
    _check_index("stream", stream)
    if 3 * stream + 2 >= 1 << 64:
        raise ValueError(f"stream must be below 2^64 / 3 (three products each), got {stream}")
    return 3 * stream, 3 * stream + 1, 3 * stream + 2


def _check(accumulate, seed, **tensors):
    if not isinstance(accumulate, str):
        raise TypeError("accumulate must be a spec string such as 'fp16' or "
                        f"'bf16:chunk=32:outer=fp32:rounding=stochastic', got {type(accumulate).__name__}")
    _check_index("seed", seed)
    for name, t in tensors.items():
        if t is None:
            continue
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch tensor, got {type(t).__name__}")
        _check_tensor(t, name)


def matmul(a, b, accumulate, seed=0, stream=0, streams=None):
    """C = A B for 2-D float32 CPU tensors, every addition rounded as `accumulate` says:
    `ACC[:chunk=C][:outer=F][:order=sequential|chunked|pairwise][:product=F][:result=F][:rounding=R]`
    (`fp16`, `bf16:order=pairwise`, `float:8:13:chunk=128:outer=fp32`, `fp32:result=bf16`,
    `exact`). The same bits as swalp::matmul for (seed, stream) whatever the thread count.
    Gradients dA = dC B^T and dB = A^T dC are rounded products too (see _streams)."""
    _check(accumulate, seed, a=a, b=b)
    forward, grad_a, grad_b = _streams(stream, streams)
    return _swalp.matmul_accumulate(a, b, accumulate, seed, forward, grad_a, grad_b)


def linear(x, weight, bias=None, *, accumulate, seed=0, stream=0, streams=None):
    """y = x W^T + bias (x: batch x in, W: out x in) with the rounded products of `matmul`; the
    bias is added in float32."""
    _check(accumulate, seed, x=x, weight=weight, bias=bias)
    forward, grad_a, grad_b = _streams(stream, streams)
    return _swalp.linear_accumulate(x, weight, bias, accumulate, seed, forward, grad_a, grad_b)
