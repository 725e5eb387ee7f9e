"""ZipML's optimal levels applied to neural-network weights (Zhang et al. 2017, section 5): an
MLP (784-512-10) and a LeNet-style CNN trained in fp32 on Fashion-MNIST, then every weight tensor
stochastically rounded onto 2^b levels over its range, uniform or variance-optimal
(swalp.zipml), biases kept fp32. Prints the test error (mean over draws) and the mean rounding
variance of the weights, per model, bit width and kind of levels.

    python3 python/examples/optimal_levels_weights.py [--epochs 3] [--draws 3]
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

import fashion_mnist  # the examples' data loader, beside this file
import swalp

parser = argparse.ArgumentParser()
parser.add_argument("--data", default=fashion_mnist.DEFAULT_DIR)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--limit", type=int, default=60000)
parser.add_argument("--draws", type=int, default=3)
parser.add_argument("--bits", default="2,3,4")
args = parser.parse_args()
torch.set_num_threads(2)


train_x, train_y = fashion_mnist.load(args.data, "train", args.limit)
test_x, test_y = fashion_mnist.load(args.data, "t10k")


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))


def error(model):
    with torch.no_grad():
        wrong = sum((model(test_x[i:i + 1000]).argmax(1) != test_y[i:i + 1000]).sum().item()
                    for i in range(0, len(test_y), 1000))
    return 100.0 * wrong / len(test_y)


def train(model):
    torch.manual_seed(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    for _ in range(args.epochs):
        for idx in torch.randperm(len(train_y)).split(128):
            opt.zero_grad()
            F.cross_entropy(model(train_x[idx]), train_y[idx]).backward()
            opt.step()
    return model


def quantized_error(model, bits, kind, draw):
    """Test error with every weight tensor (dim > 1) rounded onto its levels; weights restored."""
    saved = [p.detach().clone() for p in model.parameters()]
    variance, count = 0.0, 0
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            if p.dim() < 2:
                continue
            levels = (swalp.zipml.optimal_levels if kind == "optimal" else swalp.zipml.uniform_levels)(p, bits)
            variance += swalp.zipml.rounding_variance(p, levels) * p.numel()
            count += p.numel()
            p.copy_(swalp.zipml.quantize_to_levels(p, levels, seed=1000 * draw + i))
        result = error(model)
        for p, s in zip(model.parameters(), saved):
            p.copy_(s)
    return result, variance / count


print(f"{'model':6} {'fp32':>6} {'bits':>4} {'uniform err':>12} {'optimal err':>12} {'variance ratio':>15}")
for name, make in (("mlp", mlp), ("lenet", LeNet)):
    model = train(make()).eval()
    full = error(model)
    for bits in (int(b) for b in args.bits.split(",")):
        row = {}
        for kind in ("uniform", "optimal"):
            runs = [quantized_error(model, bits, kind, d) for d in range(args.draws)]
            row[kind] = (sum(r[0] for r in runs) / len(runs), runs[0][1])
        print(f"{name:6} {full:6.2f} {bits:4d} {row['uniform'][0]:12.2f} {row['optimal'][0]:12.2f} "
              f"{row['uniform'][1] / row['optimal'][1]:15.2f}", flush=True)
