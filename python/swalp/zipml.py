"""ZipML's quantization levels for model weights (Zhang et al., ICML 2017, section 5): stochastic
rounding of a value between two levels l <= v <= u is unbiased with variance (v - l)(u - v);
the variance-optimal levels minimize its sum over the values (the dynamic program of
engine/zipml/optimal_levels.h, run on a histogram), uniform levels split the range evenly.

    levels = swalp.zipml.optimal_levels(w, bits=3)
    w_q = swalp.zipml.quantize_to_levels(w, levels, seed=1)
"""

import torch

from . import _swalp


def _check(x):
    if not isinstance(x, torch.Tensor) or x.dtype != torch.float32:
        raise TypeError(f"expected a float32 torch tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    if x.numel() == 0:
        raise ValueError("expected a non-empty tensor")
    if not torch.isfinite(x).all():
        raise ValueError("the tensor holds NaN or Inf")


def _count(bits):
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 8:
        raise ValueError(f"bits must be an integer in 1..8, got {bits!r}")
    return 1 << bits


def uniform_levels(x, bits):
    """2^bits levels evenly spaced over [x.min(), x.max()] (float64 tensor)."""
    _check(x)
    return torch.linspace(float(x.min()), float(x.max()), _count(bits), dtype=torch.float64)


def optimal_levels(x, bits, bins=1024):
    """The 2^bits levels over [x.min(), x.max()] that minimize the total stochastic-rounding
    variance of x's values (float64 tensor; the first and last are the minimum and maximum)."""
    _check(x)
    return torch.tensor(_swalp.optimal_levels(x.detach().cpu(), _count(bits), bins), dtype=torch.float64)


def quantize_to_levels(x, levels, seed=0):
    """x stochastically rounded onto the sorted `levels` (which must span x): each value goes to
    the level above it with probability (v - l) / (u - l), so E[result] = x. Seeded."""
    _check(x)
    levels = torch.as_tensor(levels, dtype=torch.float64)
    v = x.detach().to(torch.float64).reshape(-1)
    if levels.numel() < 2 or not bool((levels[1:] >= levels[:-1]).all()):
        raise ValueError("levels must be sorted and number at least 2")
    if v.min() < levels[0] or v.max() > levels[-1]:
        raise ValueError("the levels must span the values (first <= min, last >= max)")
    upper = torch.bucketize(v, levels, right=True).clamp(1, levels.numel() - 1)
    lo, hi = levels[upper - 1], levels[upper]
    gap = hi - lo
    p = torch.where(gap > 0, (v - lo) / torch.where(gap > 0, gap, torch.ones_like(gap)), torch.zeros_like(v))
    gen = torch.Generator().manual_seed(seed)
    up = torch.rand(v.shape, generator=gen, dtype=torch.float64) < p
    return torch.where(up, hi, lo).to(torch.float32).reshape(x.shape)


def rounding_variance(x, levels):
    """The mean variance of stochastically rounding x's values onto `levels`."""
    _check(x)
    levels = torch.as_tensor(levels, dtype=torch.float64)
    v = x.detach().to(torch.float64).reshape(-1)
    upper = torch.bucketize(v, levels, right=True).clamp(1, levels.numel() - 1)
    return float(((v - levels[upper - 1]) * (levels[upper] - v)).clamp(min=0).mean())
