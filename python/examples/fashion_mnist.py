"""Fashion-MNIST for the examples: the IDX files of Debian's dataset-fashion-mnist (or Zalando's
release in another folder) as normalized torch tensors."""
import gzip

import numpy as np
import torch

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def load(data_dir, split, limit=None):
    """(images float32 [N, 1, 28, 28], normalized to mean 0 and deviation 1; labels int64 [N]) of
    split "train" or "t10k", the first `limit` examples (all when None)."""
    with gzip.open(f"{data_dir}/{split}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:limit]
    with gzip.open(f"{data_dir}/{split}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:limit]
    return (torch.from_numpy(x.astype(np.float32)) / 255 - 0.286) / 0.353, torch.from_numpy(y.astype(np.int64))
