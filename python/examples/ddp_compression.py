"""DistributedDataParallel on 2 gloo processes (localhost, CPU) with swalp's 8-bit gradient
compression hook, against the fp32 allreduce: test error of an MLP on Fashion-MNIST and the bytes
each rank put on the wire.

    python3 python/examples/ddp_compression.py [--epochs 3] [--limit 30000]
"""
import argparse
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

import fashion_mnist  # the examples' data loader, beside this file
import swalp

parser = argparse.ArgumentParser()
parser.add_argument("--data", default=fashion_mnist.DEFAULT_DIR)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--limit", type=int, default=30000)
parser.add_argument("--codec", default="dt8")
parser.add_argument("--lr", type=float, default=0.02)


def load(data, split, limit=None):
    x, y = fashion_mnist.load(data, split, limit)
    return x.flatten(1), y


def worker(rank, world, port, args, exchange, results):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    model = torch.nn.parallel.DistributedDataParallel(net)
    hook = None
    if exchange != "fp32":
        hook = swalp.distributed.compression_hook(args.codec, exchange=exchange)
        model.register_comm_hook(None, hook)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    x, y = load(args.data, "train", args.limit)
    for epoch in range(args.epochs):
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch))
        mine = order[rank::world]  # each rank its half of every epoch
        for i in range(0, len(mine), 64):
            batch = mine[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
    tx, ty = load(args.data, "t10k")
    with torch.no_grad():
        error = 100.0 * (net(tx).argmax(1) != ty).float().mean().item()
    params = torch.cat([p.detach().flatten() for p in net.parameters()])
    results[(exchange, rank)] = (error, hook.stats.bytes_sent if hook else None,
                                 hook.stats.fp32_bytes if hook else None, params)
    dist.destroy_process_group()


def main():
    args = parser.parse_args()
    manager = mp.Manager()
    results = manager.dict()
    for exchange in ("fp32", "all-gather", "reduce-scatter"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mp.spawn(worker, args=(2, port, args, exchange, results), nprocs=2, join=True)
    print(f"{'exchange':<16} {'test error %':>12} {'bytes/rank':>12} {'of fp32':>8} {'ranks equal':>11}")
    for exchange in ("fp32", "all-gather", "reduce-scatter"):
        error, sent, fp32, p0 = results[(exchange, 0)]
        equal = torch.equal(p0, results[(exchange, 1)][3])
        share = f"{sent / fp32:.3f}" if sent else "1"
        print(f"{exchange:<16} {error:>12.2f} {sent if sent else '-':>12} {share:>8} {str(equal):>11}")


if __name__ == "__main__":
    main()
