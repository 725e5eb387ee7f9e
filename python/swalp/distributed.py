"""8-bit gradient compression for DistributedDataParallel (Dettmers 2016), on swalp's codecs.

    model.register_comm_hook(None, swalp.distributed.compression_hook("dt8", exchange="reduce-scatter"))

exchange="all-gather": each rank encodes its bucket (uint8 codes + one float32 scale per block;
sign1: one bit per value + two float32 per block)
and all-gathers the messages; every rank decodes and averages all of them (bytes sent per rank:
(N - 1) x message). exchange="reduce-scatter": each rank encodes its bucket in N chunks and sends
chunk j to rank j (all_to_all); rank j decodes, averages and re-encodes its chunk and all-gathers
it: 2 (N - 1) / N x message per rank, about 25% of the fp32 ring allreduce's 2 (N - 1) / N x 4n
bytes at any N. Every rank decodes the same bytes, so the replicas stay identical. With
error_feedback, what the codec lost from a bucket is added to that bucket's next gradient.
hook.bytes_sent counts the bytes this rank put on the wire; hook.fp32_bytes what a ring allreduce
of the same buckets would have sent.
"""

import torch
import torch.distributed as dist

from . import _swalp

EXCHANGES = ("all-gather", "reduce-scatter")


class _CompressionHook:
    def __init__(self, codec, exchange, error_feedback, block, stochastic, seed):
        if codec not in _swalp.codec_names():
            raise ValueError(f"bad codec {codec!r}; accepted: {', '.join(_swalp.codec_names())}")
        if exchange not in EXCHANGES:
            raise ValueError(f"bad exchange {exchange!r}; accepted: {', '.join(EXCHANGES)}")
        if not isinstance(block, int) or block < 0:
            raise ValueError(f"block must be an integer >= 0 (0: one scale per message), got {block!r}")
        self.codec, self.exchange, self.error_feedback = codec, exchange, error_feedback
        self.block, self.stochastic, self.seed = block, stochastic, seed
        self.residuals = {}
        self.calls = 0
        self.bytes_sent = 0
        self.fp32_bytes = 0

    def _encode(self, values):
        self.calls += 1  # a fresh stream per message
        return _swalp.encode(values.contiguous(), self.codec, self.stochastic, self.seed, self.calls,
                             self.block)

    def _decode_into(self, codes, scales, out, accumulate):
        _swalp.decode(codes, scales, self.codec, self.block, out, accumulate)

    def __call__(self, state, bucket):
        group = state if state is not None else dist.group.WORLD
        world = dist.get_world_size(group)
        grad = bucket.buffer()
        if grad.dtype != torch.float32:
            raise TypeError(f"compression_hook: gradients must be float32, got {grad.dtype}")
        values = grad.detach().clone()
        if self.error_feedback:
            residual = self.residuals.get(bucket.index())
            if residual is not None:
                values += residual
        n = values.numel()
        self.fp32_bytes += 2 * (world - 1) * 4 * n // world
        exchange = self._all_gather if self.exchange == "all-gather" else self._reduce_scatter
        out, lost = exchange(values, world, group)
        if self.error_feedback:
            self.residuals[bucket.index()] = lost
        grad.copy_(out)
        future = torch.futures.Future()
        future.set_result(grad)
        return future

    def _gather(self, codes, scales, world, group):
        """Every rank's message (codes and scales), in rank order; counts the bytes sent."""
        all_codes = [torch.empty_like(codes) for _ in range(world)]
        all_scales = [torch.empty_like(scales) for _ in range(world)]
        dist.all_gather(all_codes, codes, group=group)
        dist.all_gather(all_scales, scales, group=group)
        self.bytes_sent += (world - 1) * (codes.numel() + 4 * scales.numel())
        return all_codes, all_scales

    def _all_gather(self, values, world, group):
        """(the average of every rank's decoded message, what this rank's encoding lost)."""
        codes, scales = self._encode(values)
        lost = None
        if self.error_feedback:
            decoded = torch.empty_like(values)
            self._decode_into(codes, scales, decoded, False)
            lost = values - decoded
        all_codes, all_scales = self._gather(codes, scales, world, group)
        out = torch.zeros_like(values)
        for c, s in zip(all_codes, all_scales):  # rank order: the same sum on every rank
            self._decode_into(c, s, out, True)
        return out / world, lost

    def _reduce_scatter(self, values, world, group):
        n = values.numel()
        chunk = -(-n // world)
        padded = torch.zeros(chunk * world)
        padded[:n] = values
        pieces = [self._encode(padded[j * chunk:(j + 1) * chunk]) for j in range(world)]
        lost = None
        if self.error_feedback:
            decoded = torch.empty_like(padded)
            for j, (c, s) in enumerate(pieces):
                self._decode_into(c, s, decoded[j * chunk:(j + 1) * chunk], False)
            lost = (padded - decoded)[:n]
        send_codes = torch.cat([c for c, _ in pieces])
        send_scales = torch.cat([s for _, s in pieces])
        recv_codes, recv_scales = torch.empty_like(send_codes), torch.empty_like(send_scales)
        dist.all_to_all_single(recv_codes, send_codes, group=group)
        dist.all_to_all_single(recv_scales, send_scales, group=group)
        blocks = send_scales.numel() // world
        code_bytes = send_codes.numel() // world  # chunk for the 8-bit codecs, chunk / 8 for sign1
        mine = torch.zeros(chunk)
        for j in range(world):
            self._decode_into(recv_codes[j * code_bytes:(j + 1) * code_bytes],
                              recv_scales[j * blocks:(j + 1) * blocks], mine, True)
        codes, scales = self._encode(mine / world)
        self.bytes_sent += (world - 1) * (code_bytes + 4 * blocks)  # the all_to_all above
        all_codes, all_scales = self._gather(codes, scales, world, group)
        out = torch.empty(chunk * world)
        for j, (c, s) in enumerate(zip(all_codes, all_scales)):
            self._decode_into(c, s, out[j * chunk:(j + 1) * chunk], False)
        return out[:n], lost


def compression_hook(codec="dt8", exchange="all-gather", error_feedback=False, block=0,
                     stochastic=False, seed=0):
    """A DDP communication hook (model.register_comm_hook(process_group_or_None, hook)) that
    exchanges gradients through `codec` (dt8, st8, int8, fp8e4m3, fp8e5m2)."""
    hook = _CompressionHook(codec, exchange, error_feedback, block, stochastic, seed)

    def run(state, bucket):
        return hook(state, bucket)

    run.stats = hook
    return run
