"""OptimLP: any torch.optim optimizer with its stored quantities in low precision.

The step order is the C++ low-precision SGD's (torch/include/swalp/torch/lp_sgd.h), which is
SWALP's Algorithm 1 and QPyTorch's OptimLP:
    g   = Q_grad(grad_scaling * grad)
    p   = acc                          the optimizer sees the master weights (weight decay on them)
    optimizer.step()                   e.g. m = momentum * m + g; p -= lr * m   (fp32)
    acc = Q_acc(p);  p = Q_weight(acc)
    m   = Q_momentum(m)                SGD's momentum_buffer; Adam's exp_avg and exp_avg_sq
A quantity given as a format spelling is rounded with `rounding` from the streams of
swalp.streams (quantity, step, parameter number), so a run is reproducible from `seed`; a
callable is applied as it is (QPyTorch's quantizer functions). With torch.optim.SGD the result
is the C++ LowPrecisionSgd's, bit for bit.
"""

import torch

from . import streams
from .quantization import _check_arguments, canonical_format, quantize

_MOMENT_BUFFERS = (("momentum_buffer", streams.MOMENTUM), ("exp_avg", streams.MOMENTUM),
                   ("exp_avg_sq", streams.SECOND_MOMENT))


class OptimLP(torch.optim.Optimizer):
    def __init__(self, optimizer, weight=None, grad=None, momentum=None, acc=None, grad_scaling=1.0,
                 rounding="stochastic", seed=0):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"OptimLP wraps a torch.optim optimizer, got {type(optimizer).__name__}")
        # The wrapped optimizer's groups and state are ours (LR schedulers see them).
        super().__init__(optimizer.param_groups, optimizer.defaults)
        self.param_groups = optimizer.param_groups
        self.optimizer = optimizer
        self.grad_scaling = float(grad_scaling)
        self.rounding, self.seed = rounding, seed
        self.sites = {}
        for name, spec in (("weight", weight), ("grad", grad), ("momentum", momentum), ("acc", acc)):
            if isinstance(spec, str):
                _check_arguments(spec, rounding, seed, 0, 0)
                spec = canonical_format(spec)
            elif spec is not None and not callable(spec):
                raise TypeError(f"OptimLP: {name} must be a format spelling, a callable or None")
            self.sites[name] = spec
        self.steps = 0
        params = self._params()
        if len(params) >= 1 << 16:
            raise ValueError("OptimLP: at most 65535 parameters (the stream index has 16 bits)")
        # The master weights (accumulators), and the weights quantized before the first step.
        self.accumulators = []
        with torch.no_grad():
            for i, p in enumerate(params):
                acc = self._apply("acc", p.detach().clone(), streams.ACCUMULATOR, i, streams.STARTUP, 0)
                self.accumulators.append(acc)
                p.copy_(self._apply("weight", acc, streams.WEIGHT, i, streams.STARTUP, 0))

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def _apply(self, site, x, quantity, index, pass_, counter):
        spec = self.sites[site]
        if spec is None:
            return x.clone()
        if callable(spec):
            return spec(x)
        return quantize(x.contiguous(), spec, self.rounding, self.seed,
                        streams.compose_stream(quantity, pass_, index, counter))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        k = self.steps
        params = self._params()
        for i, p in enumerate(params):
            if p.grad is None:
                continue
            g = p.grad * self.grad_scaling if self.grad_scaling != 1.0 else p.grad
            p.grad.copy_(self._apply("grad", g, streams.GRAD, i, streams.TRAIN, k))
            p.copy_(self.accumulators[i])
        self.optimizer.step()
        for i, p in enumerate(params):
            if p.grad is None:
                continue
            self.accumulators[i].copy_(self._apply("acc", p, streams.ACCUMULATOR, i, streams.TRAIN, k))
            p.copy_(self._apply("weight", self.accumulators[i], streams.WEIGHT, i, streams.TRAIN, k))
            state = self.optimizer.state.get(p, {})
            for name, quantity in _MOMENT_BUFFERS:
                buffer = state.get(name)
                if isinstance(buffer, torch.Tensor) and self.sites["momentum"] is not None:
                    buffer.copy_(self._apply("momentum", buffer, quantity, i, streams.TRAIN, k))
        self.steps += 1
        return loss

    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self):
        return {"optimizer": self.optimizer.state_dict(), "steps": self.steps,
                "accumulators": [a.clone() for a in self.accumulators]}

    def load_state_dict(self, state):
        accumulators = state["accumulators"]
        if len(accumulators) != len(self.accumulators) or any(
                a.shape != b.shape for a, b in zip(accumulators, self.accumulators)):
            raise ValueError("OptimLP.load_state_dict: the accumulators do not fit these parameters")
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps = int(state["steps"])
        with torch.no_grad():
            for mine, saved in zip(self.accumulators, accumulators):
                mine.copy_(saved)
