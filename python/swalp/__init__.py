"""swalp for PyTorch: exact simulated number formats, low-precision optimizers, SWALP averaging
and 8-bit gradient compression, on the same C++ kernels as the swalp command line.

    import swalp
    y = swalp.quantize(x, "fp8e4m3", rounding="stochastic", seed=1)
"""

import torch  # libtorch is loaded before the extension that links it

from . import _swalp  # noqa: E402
from . import distributed, optim, streams, swa, zipml  # noqa: E402
from .accumulation import linear, matmul  # noqa: E402
from .autograd import Quantizer, quantizer  # noqa: E402
from .quantization import (ROUNDINGS, built_with_cuda, canonical_format, empty_cache,  # noqa: E402
                           formats, quantize, quantize_)

__all__ = ["quantize", "quantize_", "empty_cache", "formats", "canonical_format", "built_with_cuda",
           "Quantizer", "quantizer", "matmul", "linear", "optim", "swa", "distributed", "streams", "zipml", "ROUNDINGS"]
