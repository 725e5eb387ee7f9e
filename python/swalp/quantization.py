"""quantize / quantize_ / formats: the C++ core's quantizer on torch tensors and numpy arrays."""

import numpy as np
import torch

from . import _swalp

ROUNDINGS = ("nearest", "stochastic", "zero", "up", "down")
_UINT64 = 1 << 64


def _check_index(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT64:
        raise ValueError(f"{name} must be an integer in [0, 2^64), got {value!r}")


def _check_arguments(format, rounding, seed, stream, offset):
    if not isinstance(format, str):
        raise TypeError(f"format must be a string such as 'bf16' or 'bfp:8', got {type(format).__name__}")
    if not isinstance(rounding, str):
        raise TypeError(f"rounding must be one of {', '.join(ROUNDINGS)}, got {type(rounding).__name__}")
    _check_index("seed", seed)
    _check_index("stream", stream)
    _check_index("offset", offset)


def _check_tensor(x, what):
    if x.dtype != torch.float32:
        raise TypeError(f"{what}: expected float32 values, got {x.dtype} (convert with .float())")


def quantize(x, format, rounding="nearest", seed=0, stream=0, offset=0, out=None):
    """x quantized to `format` (a new tensor or array, or `out`; x is untouched).

    x: a float32 torch tensor of any shape and stride, or a float32 numpy array. Its shape is
    the one row, col and blockN scopes refer to. Stochastic rounding draws the Philox bits of
    (seed, stream, offset + i) for element i in row-major order: the same bits as
    `swalp quantize --seed S --stream T` on the same values. No gradient flows through it; use
    swalp.Quantizer for autograd. `out` (a float32 tensor of x's shape) receives the result
    without allocating. Outputs of 1 MiB and more come from a pool of freed outputs (fresh
    memory costs page faults and zeroing); swalp.empty_cache() frees what the pool keeps.
    """
    _check_arguments(format, rounding, seed, stream, offset)
    if out is not None:
        if not isinstance(x, torch.Tensor) or not isinstance(out, torch.Tensor):
            raise TypeError("swalp.quantize: out= needs x and out to be torch tensors")
        _check_tensor(x, "swalp.quantize")
        _check_tensor(out, "swalp.quantize (out)")
        with torch.no_grad():
            _swalp.quantize_into(x.detach(), out.data, format, rounding, seed, stream, offset)
        return out
    if isinstance(x, np.ndarray):
        if x.dtype != np.float32:
            raise TypeError(f"swalp.quantize: expected a float32 array, got {x.dtype} (use .astype(np.float32))")
        return _swalp.quantize(torch.from_numpy(np.ascontiguousarray(x)), format, rounding, seed, stream,
                               offset).numpy()
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"swalp.quantize: expected a torch tensor or numpy array, got {type(x).__name__}")
    _check_tensor(x, "swalp.quantize")
    with torch.no_grad():
        return _swalp.quantize(x.detach(), format, rounding, seed, stream, offset)


def quantize_(x, format, rounding="nearest", seed=0, stream=0, offset=0):
    """Quantizes the float32 tensor (or numpy array) x in place and returns it."""
    _check_arguments(format, rounding, seed, stream, offset)
    if isinstance(x, np.ndarray):
        if x.dtype != np.float32:
            raise TypeError(f"swalp.quantize_: expected a float32 array, got {x.dtype}")
        if not x.flags.writeable:
            raise ValueError("swalp.quantize_: the array is read-only")
        _swalp.quantize_(torch.from_numpy(x), format, rounding, seed, stream, offset)
        return x
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"swalp.quantize_: expected a torch tensor or numpy array, got {type(x).__name__}")
    _check_tensor(x, "swalp.quantize_")
    with torch.no_grad():
        _swalp.quantize_(x.data, format, rounding, seed, stream, offset)
    return x


def built_with_cuda():
    """True when this build sends CUDA tensors to swalp's CUDA kernels (the CPU's bits for every
    format and rounding); a CPU-only build refuses CUDA tensors with a ValueError."""
    return bool(_swalp.built_with_cuda)


def empty_cache():
    """Frees the buffers swalp.quantize keeps for reuse (outputs of 1 MiB and more whose
    tensors were freed; at most 512 MiB are kept)."""
    _swalp.empty_cache()


def formats():
    """The table of `swalp formats`: one dict per named format (name, bits, max, min_normal,
    min_subnormal, epsilon, scaled, definition)."""
    return _swalp.format_table()


def canonical_format(format):
    """The canonical spelling of a format (ValueError, with the accepted ones, when bad)."""
    return _swalp.canonical_format(format)
