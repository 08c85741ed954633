"""What a generator makes, as pixels: noise (fixed or fresh), samples, grids and latent walks.

Every function returns CPU uint8 (0..255) images: what views show, PNG files hold and the judge reads.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import torch
from torch import nn

from ..train.probes import eval_mode

GRID_SAMPLES = 64  # the fixed-noise grid the app shows and `playground sample` writes (8×8)


def noise_seed(seed: int, purpose: str) -> int:
    """A seed of its own for each use of fixed noise ("grid", "judge"), from the run's seed."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{purpose}".encode(), digest_size=8).digest(), "little") >> 1


def draw_noise(n: int, dim: int, distribution: str = "normal", *, generator: torch.Generator | int | None = None,
               device: str | torch.device = "cpu") -> torch.Tensor:
    """Float32 [n, dim] noise: standard normal, or uniform in -1..1. With a generator (or an int seed) it is
    drawn on the CPU and moved, so the same seed gives the same noise on every device; without one it is drawn
    on `device` from torch's own generator there (training: fast, seeded per epoch)."""
    if isinstance(generator, int):
        generator = torch.Generator().manual_seed(generator)
    where = "cpu" if generator is not None else device
    if distribution == "uniform":
        z = torch.rand(n, dim, generator=generator, device=where).mul_(2).sub_(1)
    else:
        z = torch.randn(n, dim, generator=generator, device=where)
    return z.to(device)


def fixed_noise(n: int, dim: int, distribution: str, seed: int, purpose: str = "grid",
                device: str | torch.device = "cpu") -> torch.Tensor:
    return draw_noise(n, dim, distribution, generator=noise_seed(seed, purpose), device=device)


def to_pixels(x: torch.Tensor, pixel_range: str = "tanh") -> torch.Tensor:
    """Generator outputs (-1..1 for tanh, 0..1 for sigmoid) -> float 0..255, rounded, on x's device."""
    x = x.detach().float()
    x = (x + 1) * 127.5 if pixel_range == "tanh" else x * 255
    return x.round_().clamp_(0, 255)


def generate(generator: nn.Module, noise: torch.Tensor, pixel_range: str = "tanh",
             batch_size: int = 500) -> torch.Tensor:
    """The generator's images of `noise` as float 0..255 [N, C, H, W] on its device (eval mode, no gradients)."""
    out = []
    with torch.no_grad(), eval_mode(generator):
        for chunk in noise.split(batch_size):
            out.append(to_pixels(generator(chunk), pixel_range))
    return torch.cat(out)


def as_uint8(pixels: torch.Tensor) -> np.ndarray:
    """Float 0..255 [N, C, H, W] -> a NumPy uint8 copy: [N, H, W] for one channel, else [N, H, W, C]."""
    images = pixels.to("cpu", torch.uint8).numpy()
    return images[:, 0].copy() if images.shape[1] == 1 else images.transpose(0, 2, 3, 1).copy()


def latent_walk(generator: nn.Module, start: torch.Tensor, end: torch.Tensor, steps: int = 10,
                pixel_range: str = "tanh") -> np.ndarray:
    """Images along the straight line from noise vector `start` to `end` ([dim] each), as as_uint8 gives them."""
    t = torch.linspace(0, 1, steps, device=start.device)[:, None]
    return as_uint8(generate(generator, start[None] * (1 - t) + end[None] * t, pixel_range))


def tile(images: np.ndarray, cols: int | None = None, pad: int = 2, background: int = 0) -> np.ndarray:
    """Images [N, H, W] (or [N, H, W, C]) laid out in a grid of `cols` columns (default: as square as fits),
    `pad` pixels apart and around: uint8 [rows·(H+pad)+pad, cols·(W+pad)+pad] (or with C last)."""
    n, h, w = images.shape[:3]
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    shape = (rows * (h + pad) + pad, cols * (w + pad) + pad, *images.shape[3:])
    grid = np.full(shape, background, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y:y + h, x:x + w] = images[i]
    return grid
