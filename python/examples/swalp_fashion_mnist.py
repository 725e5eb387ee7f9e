"""SWALP on Fashion-MNIST with `import swalp`, in QPyTorch's example style: a LeNet-style CNN
trained by SGD-FP32, SGD-LP (8-bit block floating point everywhere) and SWALP (SGD-LP plus an
fp32 average of the low-precision iterates). Prints the table of test errors and step times.

    python3 python/examples/swalp_fashion_mnist.py [--epochs 6] [--limit 60000]
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import SWALR, AveragedModel, update_bn

import fashion_mnist  # the examples' data loader, beside this file
import swalp

parser = argparse.ArgumentParser()
parser.add_argument("--data", default=fashion_mnist.DEFAULT_DIR)
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--swa-start", type=int, default=4)
parser.add_argument("--limit", type=int, default=60000)
parser.add_argument("--format", default="bfp:8")
args = parser.parse_args()
torch.set_num_threads(2)


train_x, train_y = fashion_mnist.load(args.data, "train", args.limit)
test_x, test_y = fashion_mnist.load(args.data, "t10k")


class LeNet(nn.Module):  # activations and errors quantized after each ReLU (SWALP's placement)
    def __init__(self, fmt):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)
        self.q = nn.ModuleList(swalp.Quantizer(fmt, fmt, index=i) if fmt else nn.Identity() for i in range(4))

    def forward(self, x):
        x = F.max_pool2d(self.q[0](F.relu(self.conv1(x))), 2)
        x = F.max_pool2d(self.q[1](F.relu(self.conv2(x))), 2).flatten(1)
        return self.fc3(self.q[3](F.relu(self.fc2(self.q[2](F.relu(self.fc1(x)))))))


def error(model):
    model.eval()
    with torch.no_grad():
        wrong = sum((model(test_x[i:i + 1000]).argmax(1) != test_y[i:i + 1000]).sum().item()
                    for i in range(0, len(test_y), 1000))
    model.train()
    return 100.0 * wrong / len(test_y)


def run(fmt):
    torch.manual_seed(0)
    model = LeNet(fmt)
    sgd = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    opt = swalp.optim.OptimLP(sgd, weight=fmt, grad=fmt, momentum=fmt, acc=fmt, seed=1) if fmt else sgd
    swa = AveragedModel(model)  # the average in fp32, as SWALP keeps it
    swa_scheduler = SWALR(opt, swa_lr=0.01, anneal_epochs=1, anneal_strategy="linear")
    steps, seconds = 0, 0.0
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(order), 128):
            batch = order[i:i + 128]
            start = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
            opt.step()
            seconds += time.perf_counter() - start
            steps += 1
        if epoch + 1 >= args.swa_start:
            swa.update_parameters(model)
            swa_scheduler.step()
    update_bn([train_x[i:i + 128] for i in range(0, 2048, 128)], swa)
    return error(model), error(swa.module), 1000 * seconds / steps


fp32_sgd, fp32_swa, fp32_ms = run(None)
lp_sgd, lp_swa, lp_ms = run(args.format)
print(f"{'method':<18} {'test error %':>12}")
for name, value in (("SGD-FP32", fp32_sgd), ("SWA-FP32", fp32_swa), (f"SGD-LP {args.format}", lp_sgd),
                    (f"SWALP {args.format}", lp_swa)):
    print(f"{name:<18} {value:>12.2f}")
print(f"step time: fp32 {fp32_ms:.2f} ms, low precision {lp_ms:.2f} ms ({lp_ms / fp32_ms:.2f}x)")
