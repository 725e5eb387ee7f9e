"""pytest suite of `import swalp` (python/): values against the CLI and ml_dtypes, autograd,
OptimLP against hand-computed steps, resume, SWA averaging, bad input, the DDP hook.
SWALP_CLI names the swalp executable the values are compared with."""

import os
import subprocess
import tempfile

import numpy as np
import pytest
import torch

import swalp

CLI = os.environ.get("SWALP_CLI")


def random_values(n, seed=0, scale=3.0):
    return (np.random.default_rng(seed).standard_normal(n) * scale).astype(np.float32)


@pytest.mark.skipif(not CLI, reason="SWALP_CLI not set")
@pytest.mark.parametrize("fmt", ["bf16", "fp16", "fp8e4m3", "fp8e5m2", "fp6e2m3", "fp4e2m1",
                                 "fixed:8:4", "bfp:8", "bfp:6:row", "mx:fp8e4m3", "int:8:col", "dt8"])
@pytest.mark.parametrize("rounding", ["nearest", "stochastic", "down"])
def test_same_bits_as_the_cli(fmt, rounding):
    x = random_values(64 * 48, seed=len(fmt))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in.raw")
        x.tofile(path)
        out = subprocess.run([CLI, "quantize", "--format", fmt, "--rounding", rounding, "--seed", "7",
                              "--stream", "3", "--shape", "64,48", "--in", path],
                             check=True, capture_output=True).stdout
    expected = np.frombuffer(out, dtype=np.float32).reshape(64, 48)
    got = swalp.quantize(torch.from_numpy(x.reshape(64, 48)), fmt, rounding, seed=7, stream=3)
    assert np.array_equal(got.numpy().view(np.uint32), expected.view(np.uint32))


def test_ml_dtypes_names_and_values():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = random_values(1 << 14, seed=1, scale=50.0)
    for name in ("bfloat16", "float8_e5m2", "float8_e4m3fn"):
        kept = x[np.abs(x) < 440] if name == "float8_e4m3fn" else x  # swalp saturates, ml_dtypes NaNs
        ours = swalp.quantize(kept, name)
        theirs = kept.astype(getattr(ml_dtypes, name)).astype(np.float32)
        assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32)), name


def test_formats_table_matches_the_registry():
    table = {row["name"]: row for row in swalp.formats()}
    assert table["fp8e4m3"]["max"] == 448.0 and table["fp8e4m3"]["bits"] == 8
    assert table["bf16"]["epsilon"] == 2.0 ** -7
    assert swalp.canonical_format("float4_e2m1fn") == "fp4e2m1"


def test_any_stride_numpy_and_in_place_agree():
    x = torch.from_numpy(random_values(32 * 16, seed=2).reshape(32, 16))
    whole = swalp.quantize(x.t().contiguous(), "fp8e4m3", "stochastic", seed=5)
    strided = swalp.quantize(x.t(), "fp8e4m3", "stochastic", seed=5)
    assert torch.equal(whole, strided)
    from_numpy = swalp.quantize(x.t().contiguous().numpy(), "fp8e4m3", "stochastic", seed=5)
    assert np.array_equal(from_numpy, whole.numpy())
    y = x.t().contiguous()
    assert swalp.quantize_(y, "fp8e4m3", "stochastic", seed=5) is y
    assert torch.equal(y, whole)
    out = torch.empty(16, 32)
    assert swalp.quantize(x.t(), "fp8e4m3", "stochastic", seed=5, out=out) is out
    assert torch.equal(out, whole)
    with pytest.raises(ValueError, match="out must be a float32 tensor of x's shape"):
        swalp.quantize(x, "bf16", out=torch.empty(3))


def test_reused_outputs_are_fresh_results():
    # Large outputs come from a pool of freed outputs: a reused one holds the new result only,
    # and one still alive is never handed out again.
    x = torch.from_numpy(random_values(1 << 19, seed=8))
    first = swalp.quantize(x, "bf16").clone()
    for _ in range(3):
        y = swalp.quantize(x, "fp8e4m3")
        del y
    again = swalp.quantize(x, "bf16")
    assert torch.equal(again, first)
    kept = swalp.quantize(x * 2, "bf16")
    other = swalp.quantize(x, "bf16")
    assert kept.data_ptr() != other.data_ptr() and torch.equal(other, first)
    assert torch.equal(kept, swalp.quantize(x * 2, "bf16", out=torch.empty_like(x)))
    swalp.empty_cache()


def test_bad_input_is_a_python_error():
    with pytest.raises(ValueError, match="accepted: fp32, bf16"):
        swalp.quantize(torch.zeros(3), "fp7")
    with pytest.raises(ValueError, match="nearest, stochastic"):
        swalp.quantize(torch.zeros(3), "bf16", rounding="even")
    with pytest.raises(TypeError, match="float64"):
        swalp.quantize(torch.zeros(3, dtype=torch.float64), "bf16")
    with pytest.raises(TypeError, match="int64"):
        swalp.quantize(torch.zeros(3, dtype=torch.int64), "bf16")
    with pytest.raises(TypeError, match="float64"):
        swalp.quantize(np.zeros(3), "bf16")
    with pytest.raises(ValueError, match="seed"):
        swalp.quantize(torch.zeros(3), "bf16", seed=-1)
    with pytest.raises(ValueError, match="cannot encode Inf"):
        swalp.quantize(torch.tensor([1.0, float("inf")]), "bfp:8")
    with pytest.raises(ValueError, match="needs a shape with 2 or more dimensions"):
        swalp.quantize(torch.zeros(4), "bfp:8:row")
    with pytest.raises(ValueError, match="cannot quantize a tensor on meta.*accepted: cpu"):
        swalp.quantize(torch.empty(3, device="meta"), "bf16")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_tensors_give_the_cpu_bits():
    x = torch.from_numpy(random_values(96 * 40, seed=9).reshape(96, 40))
    if not swalp.built_with_cuda():
        with pytest.raises(ValueError, match="accepted: cpu"):
            swalp.quantize(x.cuda(), "bf16")
        return
    for fmt in ("bf16", "fp8e4m3", "fp4e2m1", "bfp:8:row", "mx:fp8e4m3", "dt8"):
        for rounding in ("nearest", "stochastic"):
            cpu = swalp.quantize(x, fmt, rounding, seed=4, stream=2)
            gpu = swalp.quantize(x.cuda(), fmt, rounding, seed=4, stream=2)
            assert gpu.is_cuda and torch.equal(gpu.cpu().view(torch.int32), cpu.view(torch.int32)), fmt
            y = x.cuda()
            swalp.quantize_(y, fmt, rounding, seed=4, stream=2)
            assert torch.equal(y.cpu(), cpu), fmt


def test_quantizer_autograd_and_streams():
    x = torch.linspace(-2, 2, 101, requires_grad=True)
    w = torch.linspace(0.1, 3.3, 101)
    q = swalp.Quantizer(forward="fp8e4m3", backward="fp8e5m2", forward_rounding="nearest",
                        backward_rounding="nearest")
    y = q(x)
    assert torch.equal(y, swalp.quantize(x.detach(), "fp8e4m3"))
    (y * w).sum().backward()
    assert torch.equal(x.grad, swalp.quantize(w, "fp8e5m2"))
    # Straight through where no format is given.
    x.grad = None
    (swalp.Quantizer()(x) * w).sum().backward()
    assert torch.equal(x.grad, w)
    # Stochastic: each call fresh bits, reproducible from the seed and the saved call counter.
    s = swalp.Quantizer(forward="bf16", seed=3)
    v = torch.rand(10000)
    first, second = s(v), s(v)
    assert not torch.equal(first, second)
    again = swalp.Quantizer(forward="bf16", seed=3)
    assert torch.equal(again(v), first)
    again.load_state_dict(s.state_dict())
    assert torch.equal(again(v), s(v))


def _hand_sgd(p0, g, lr, momentum, wd, fmt):
    q = lambda t: swalp.quantize(t, fmt)  # noqa: E731
    acc = q(p0)
    m = q(g) + wd * acc
    acc = q(acc - lr * m)
    return q(acc), q(m)


def test_optimlp_sgd_step_by_hand():
    p0 = torch.from_numpy(random_values(50, seed=3))
    g = torch.from_numpy(random_values(50, seed=4))
    param = torch.nn.Parameter(p0.clone())
    sgd = torch.optim.SGD([param], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt = swalp.optim.OptimLP(sgd, weight="bfp:8", grad="bfp:8", momentum="bfp:8", acc="bfp:8",
                              rounding="nearest")
    param.grad = g.clone()
    opt.step()
    weight, m = _hand_sgd(p0, g, 0.1, 0.9, 0.01, "bfp:8")
    assert torch.equal(param.detach(), weight)
    assert torch.equal(sgd.state[param]["momentum_buffer"], m)


def test_optimlp_adam_step_by_hand():
    p0 = torch.from_numpy(random_values(40, seed=5))
    g = torch.from_numpy(random_values(40, seed=6))
    param = torch.nn.Parameter(p0.clone())
    adam = torch.optim.Adam([param], lr=0.01)
    opt = swalp.optim.OptimLP(adam, weight="bf16", grad="bf16", momentum="bf16", acc="fp32",
                              rounding="nearest")
    param.grad = g.clone()
    opt.step()
    q = lambda t: swalp.quantize(t, "bf16")  # noqa: E731
    gq = q(g)
    exp_avg, exp_avg_sq = 0.1 * gq, 0.001 * gq * gq
    denom = (exp_avg_sq.sqrt() / (1 - 0.999) ** 0.5) + 1e-8
    acc = p0 - (0.01 / (1 - 0.9)) * exp_avg / denom  # the master weights stay fp32 (acc="fp32")
    assert torch.allclose(param.detach(), q(acc), rtol=0, atol=0)
    assert torch.equal(adam.state[param]["exp_avg"], q(exp_avg))
    assert torch.equal(adam.state[param]["exp_avg_sq"], q(exp_avg_sq))


def _tiny_run(steps, state=None):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    opt = swalp.optim.OptimLP(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                              weight="bfp:6", grad="bfp:6", momentum="bfp:6", acc="bfp:10", seed=11)
    done = 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        done = state["done"]
    data = torch.from_numpy(random_values(64 * 8, seed=9).reshape(64, 8))
    labels = torch.arange(64) % 3
    for k in range(done, steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(data[k * 8:(k + 1) * 8]), labels[k * 8:(k + 1) * 8]).backward()
        opt.step()
    return model, opt


def test_optimlp_resume_is_bit_for_bit():
    whole, _ = _tiny_run(6)
    half, opt = _tiny_run(3)
    state = {"model": half.state_dict(), "optimizer": opt.state_dict(), "done": 3}
    with tempfile.TemporaryDirectory() as d:
        torch.save(state, os.path.join(d, "ckpt.pt"))
        resumed, _ = _tiny_run(6, torch.load(os.path.join(d, "ckpt.pt")))
    for a, b in zip(whole.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_swa_average_kept_in_a_format():
    from torch.optim.swa_utils import AveragedModel
    model = torch.nn.Linear(20, 4)
    swa = AveragedModel(model, avg_fn=swalp.swa.averaging_fn("bfp:8"))
    history = []
    for k in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * (k + 1))
        history.append([p.detach().clone() for p in model.parameters()])
        swa.update_parameters(model)
    for averaged in swa.module.parameters():
        assert torch.equal(averaged.detach(), swalp.quantize(averaged.detach(), "bfp:8"))
    exact = [sum(h[i] for h in history) / 3 for i in range(2)]
    for averaged, e in zip(swa.module.parameters(), exact):
        assert (averaged.detach() - e).abs().max() <= e.abs().max() * 2 ** -6


def _ddp_worker(rank, world, port, exchange, results, error_feedback=False, codec="dt8"):
    import torch.distributed as dist
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(64, 10))
    hook = swalp.distributed.compression_hook(codec, exchange=exchange, error_feedback=error_feedback)
    model.register_comm_hook(None, hook)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(100 + rank)
    for _ in range(5):
        x = torch.randn(32, 64, generator=gen)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), torch.arange(32) % 10).backward()
        opt.step()
    results[rank] = ([p.detach().clone() for p in model.parameters()], hook.stats.bytes_sent,
                     hook.stats.fp32_bytes, len(hook.stats.residuals))
    dist.destroy_process_group()


def _run_ddp(exchange, error_feedback, codec):
    import socket
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(_ddp_worker, args=(2, port, exchange, results, error_feedback, codec), nprocs=2, join=True)
    (p0, sent, fp32, residuals), (p1, _, _, _) = results[0], results[1]
    assert residuals == (1 if error_feedback else 0)  # one bucket: one residual kept
    for a, b in zip(p0, p1):
        assert torch.equal(a, b)  # every rank decodes the same bytes
    return sent, fp32


@pytest.mark.parametrize("error_feedback", [False, True])
@pytest.mark.parametrize("exchange", ["all-gather", "reduce-scatter"])
def test_ddp_hook_on_two_gloo_processes(exchange, error_feedback):
    sent, fp32 = _run_ddp(exchange, error_feedback, "dt8")
    limit = 0.26 if exchange == "reduce-scatter" else 0.52
    assert sent <= limit * fp32, (sent, fp32)


def test_ddp_hook_with_sign1_and_error_feedback():
    # One bit per value and two floats per chunk: 98 bytes per step against fp32's 2600.
    sent, fp32 = _run_ddp("reduce-scatter", True, "sign1")
    assert sent <= 0.04 * fp32, (sent, fp32)


def test_ddp_hook_refuses_bad_names():
    with pytest.raises(ValueError, match="accepted: dt8"):
        swalp.distributed.compression_hook("dt9")
    with pytest.raises(ValueError, match="all-gather, reduce-scatter"):
        swalp.distributed.compression_hook("dt8", exchange="ring")


def test_zipml_optimal_levels_for_weights():
    w = torch.from_numpy(random_values(1 << 14, seed=21, scale=0.05))
    for bits in (2, 3, 4):
        uniform, optimal = swalp.zipml.uniform_levels(w, bits), swalp.zipml.optimal_levels(w, bits)
        assert len(optimal) == 2 ** bits and optimal[0] == w.min() and optimal[-1] == w.max()
        # Gaussian weights crowd the middle of their range: the optimal levels follow them.
        assert swalp.zipml.rounding_variance(w, optimal) < 0.8 * swalp.zipml.rounding_variance(w, uniform)
    levels = swalp.zipml.optimal_levels(w, 3)
    draws = torch.stack([swalp.zipml.quantize_to_levels(w, levels, seed=s) for s in range(200)])
    assert torch.isin(draws[0].double(), levels.float().double()).all()  # every value on a level
    spread = (levels[1:] - levels[:-1]).max().item()
    assert (draws.mean(0) - w).abs().max().item() < 5 * spread / 2 / 200 ** 0.5  # unbiased
    assert torch.equal(draws[3], swalp.zipml.quantize_to_levels(w, levels, seed=3))  # seeded
    with pytest.raises(TypeError, match="float64"):
        swalp.zipml.optimal_levels(w.double(), 3)
    with pytest.raises(ValueError, match="1..8"):
        swalp.zipml.optimal_levels(w, 9)
    with pytest.raises(ValueError, match="span the values"):
        swalp.zipml.quantize_to_levels(w, levels[1:-1])
    with pytest.raises(ValueError, match="NaN or Inf"):
        swalp.zipml.uniform_levels(torch.tensor([1.0, float("nan")]), 2)


def test_matmul_with_rounded_sums():
    # An exact accumulator is a double-precision product rounded once to float32.
    g = torch.Generator().manual_seed(3)
    a = torch.randn(5, 40, generator=g)
    b = torch.randn(40, 7, generator=g)
    exact = swalp.matmul(a, b, "exact")
    assert torch.equal(exact, (a.double() @ b.double()).float())
    # 4096 ones summed in fp16: sequential round-to-nearest stagnates at 2048, pairwise does not.
    ones_a, ones_b = torch.ones(1, 4096), torch.ones(4096, 1)
    assert swalp.matmul(ones_a, ones_b, "fp16").item() == 2048.0
    assert swalp.matmul(ones_a, ones_b, "fp16:order=pairwise").item() == 4096.0
    assert swalp.matmul(ones_a, ones_b, "fp16:chunk=32:outer=fp32").item() == 4096.0
    # fp32 sums stored in bf16: every value on the bf16 grid.
    stored = swalp.matmul(a, b, "fp32:result=bf16")
    assert torch.equal(stored, swalp.quantize(swalp.matmul(a, b, "fp32"), "bf16"))
    # Stochastic sums: the seed decides, the thread count does not.
    spec = "bf16:rounding=stochastic"
    first = swalp.matmul(a, b, spec, seed=5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert torch.equal(first, swalp.matmul(a, b, spec, seed=5))
    finally:
        torch.set_num_threads(threads)
    assert not torch.equal(first, swalp.matmul(a, b, spec, seed=6))


def test_matmul_and_linear_gradients_are_rounded_products():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(6, 30, generator=g, requires_grad=True)
    w = torch.randn(9, 30, generator=g, requires_grad=True)
    bias = torch.randn(9, generator=g, requires_grad=True)
    upstream = torch.randn(6, 9, generator=g)
    # Exact sums: the values and every gradient of torch's own linear, to float32 rounding.
    y = swalp.linear(x, w, bias, accumulate="exact")
    y.backward(upstream)
    xr, wr, br = (t.detach().clone().requires_grad_() for t in (x, w, bias))
    torch.nn.functional.linear(xr, wr, br).backward(upstream)
    for got, want in [(y, torch.nn.functional.linear(xr, wr, br)), (x.grad, xr.grad),
                      (w.grad, wr.grad), (bias.grad, br.grad)]:
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # bf16 sums: the gradient of A is dC B^T through the same rounded product, on stream 3S+1.
    a = torch.randn(4, 64, generator=g, requires_grad=True)
    b = torch.randn(64, 5, generator=g)
    dc = torch.randn(4, 5, generator=g)
    spec = "bf16:rounding=stochastic"
    swalp.matmul(a, b, spec, seed=9, stream=2).backward(dc)
    assert torch.equal(a.grad, swalp.matmul(dc, b.t().contiguous(), spec, seed=9, streams=(7, 0, 0)))
    assert not torch.equal(a.grad, swalp.matmul(dc, b.t().contiguous(), spec, seed=9, streams=(6, 0, 0)))


def test_matmul_bad_input_is_a_python_error():
    a, b = torch.ones(2, 3), torch.ones(3, 4)
    with pytest.raises(ValueError, match="cannot hold one running sum"):
        swalp.matmul(a, b, "bfp:8")
    with pytest.raises(ValueError, match="unknown option 'speed'"):
        swalp.matmul(a, b, "fp16:speed=2")
    with pytest.raises(ValueError, match="but B has 4 rows"):
        swalp.matmul(a, torch.ones(4, 4), "fp16")
    with pytest.raises(ValueError, match="2-D float32 CPU tensor"):
        swalp.matmul(torch.ones(2, 3, 1), b, "fp16")
    with pytest.raises(TypeError, match="float64"):
        swalp.matmul(a.double(), b, "fp16")
    with pytest.raises(TypeError, match="spec string"):
        swalp.matmul(a, b, 16)
    with pytest.raises(ValueError, match="streams must be"):
        swalp.matmul(a, b, "fp16", streams=(1, 2))
    with pytest.raises(ValueError, match="seed"):
        swalp.linear(a, b.t(), accumulate="fp16", seed=-1)
    with pytest.raises(ValueError, match="stream must be below"):
        swalp.matmul(a, b, "fp16", stream=1 << 63)
    with pytest.raises(TypeError, match="expected a torch tensor, got list"):
        swalp.matmul([[1.0]], b, "fp16")
    with pytest.raises(TypeError, match="bias: expected float32"):
        swalp.linear(a, b.t(), torch.zeros(4, dtype=torch.float64), accumulate="fp16")


def test_matmul_edge_shapes_and_specials():
    # Empty operands, an empty inner dimension (sums of nothing are zero), a transposed view,
    # and Inf/NaN inputs as IEEE arithmetic gives them.
    assert swalp.matmul(torch.ones(0, 3), torch.ones(3, 4), "fp16").shape == (0, 4)
    assert torch.equal(swalp.matmul(torch.ones(2, 0), torch.ones(0, 4), "fp16"), torch.zeros(2, 4))
    g = torch.Generator().manual_seed(5)
    b = torch.randn(3, 6, generator=g)
    assert torch.equal(swalp.matmul(torch.ones(2, 3), b.t().contiguous().t(), "bf16"),
                       swalp.matmul(torch.ones(2, 3), b, "bf16"))
    c = swalp.matmul(torch.tensor([[float("inf"), 1.0], [float("nan"), 1.0]]), torch.ones(2, 1), "fp16")
    assert c[0, 0].item() == float("inf") and torch.isnan(c[1, 0])
