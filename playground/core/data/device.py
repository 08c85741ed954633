"""The whole dataset on the training device, batched there: no DataLoader, no per-sample Python.

MNIST is 47 MB as uint8, so each split is moved to the device once (pinned
memory and a non-blocking copy on CUDA) and every batch is an index into it,
converted to float and normalized on the device. Shuffling and augmentation
draw from one seeded torch.Generator, once per epoch and on the generator's
device (the CPU by default), then move to the data's device in a single copy:
the same seed gives the same batches on every device, and there is no
host-device round trip per batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .catalog import MNIST_NORMALIZATION, Normalization


@dataclass(frozen=True)
class Augmentation:
    """Random rotation, scaling and shift of each image, applied batched with affine_grid + grid_sample.

    Mild by default: digits stay digits (a 6 rotated 180° is a 9).
    """

    degrees: float = 10.0  # rotation drawn uniformly from ±degrees
    scale: tuple[float, float] = (0.9, 1.1)  # zoom factor drawn uniformly from this range
    shift: float = 2.0  # translation in pixels drawn uniformly from ±shift, per axis

    def __post_init__(self):
        if self.degrees < 0 or self.shift < 0 or not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"invalid augmentation {self}")

    @property
    def enabled(self) -> bool:
        return self.degrees > 0 or self.shift > 0 or tuple(self.scale) != (1.0, 1.0)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Parameters for `n` images: float32 [n, 4] = (angle in radians, scale, shift x, shift y in pixels)."""
        device = generator.device if generator is not None else torch.device("cpu")
        u = torch.rand(n, 4, generator=generator, device=device)
        low, high = self.scale
        return torch.stack([(u[:, 0] * 2 - 1) * math.radians(self.degrees),
                            low + u[:, 1] * (high - low),
                            (u[:, 2] * 2 - 1) * self.shift,
                            (u[:, 3] * 2 - 1) * self.shift], dim=1)


DEFAULT_AUGMENTATION = Augmentation()


def affine_theta(params: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """affine_grid's matrices [B, 2, 3] for `params` [B, 4] from Augmentation.sample, for images of that size.

    Rotation and scaling are about the image centre. affine_grid maps each
    output pixel to the input pixel it samples: the inverse of the transform.
    """
    h, w = height, width
    angle, scale, tx, ty = params.unbind(1)
    # In pixels about the centre: p_in = M (p_out - t), with M = R(-angle) / scale.
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    m00, m01, m10, m11 = cos, sin, -sin, cos
    # In affine_grid's normalized coordinates (x spans 2/w per pixel, y 2/h).
    return torch.stack([
        torch.stack([m00, m01 * (h / w), -(2 / w) * (m00 * tx + m01 * ty)], dim=1),
        torch.stack([m10 * (w / h), m11, -(2 / h) * (m10 * tx + m11 * ty)], dim=1),
    ], dim=1)


def warp_images(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample float images [B, C, H, W] through affine_theta's matrices (on x's device, in x's dtype); what
    comes in from outside is 0."""
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def affine_images(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Rotate, scale and shift float images [B, C, H, W] (black = 0) by `params` [B, 4] from Augmentation.sample."""
    return warp_images(x, affine_theta(params.to(device=x.device, dtype=x.dtype), x.shape[2], x.shape[3]))


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU tensor to `device`; through pinned memory, without blocking, for CUDA."""
    if t.device == device:
        return t
    if device.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(device, non_blocking=True)  # the caching host allocator keeps the buffer alive
    return t.to(device)


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator for `DeviceData.batches` (seed it per run or per epoch)."""
    g = torch.Generator(device="cpu")
    g.manual_seed(seed)
    return g


class DeviceData:
    """One split of a dataset, resident on `device` as uint8, served as normalized float batches."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, device: str | torch.device = "cpu",
                 normalization: Normalization = MNIST_NORMALIZATION):
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(f"images must be uint8 [N, C, H, W], not {images.dtype} {list(images.shape)}")
        if labels.dim() != 1 or len(labels) != len(images):
            raise ValueError(f"labels must be [N] with N = {len(images)}, not {list(labels.shape)}")
        self.device = torch.device(device)
        self.normalization = normalization
        self.images = to_device(images.contiguous(), self.device)
        self.labels = to_device(labels.to(torch.int64).contiguous(), self.device)

    @classmethod
    def from_dataset(cls, dataset, split: str = "train", device: str | torch.device = "cpu") -> DeviceData:
        """`dataset` is a sources.Dataset; `split` "train" or "test"."""
        images, labels = dataset.split(split)
        return cls(images, labels, device, dataset.normalization)

    def __len__(self) -> int:
        return len(self.images)

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        return len(self) // batch_size if drop_last else -(-len(self) // batch_size)

    def batches(self, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | int | None = None,
                drop_last: bool = False, augment: Augmentation | None = None,
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of (float32 [B, C, H, W] normalized, int64 [B]) batches on the device.

        Training: `shuffle=True, drop_last=True, augment=DEFAULT_AUGMENTATION`,
        with a generator (or an int seed) for reproducible order and augmentation.
        Evaluation: `shuffle=False` (keeps the final partial batch by default).
        The random draws for the whole epoch happen when iteration starts.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if isinstance(generator, int):
            generator = make_generator(generator)
        n = len(self)
        stop = n - n % batch_size if drop_last else n
        order = theta = None
        if shuffle:
            g_device = generator.device if generator is not None else torch.device("cpu")
            order = to_device(torch.randperm(n, generator=generator, device=g_device), self.device)
        if augment is not None and augment.enabled:
            # The whole epoch's matrices at once: per batch that leaves two ops of augmentation, where building
            # them per batch took ~15 small ones (each a GIL release that a busy window's thread can delay).
            theta = to_device(affine_theta(augment.sample(n, generator), *self.images.shape[2:]), self.device)
        for start in range(0, stop, batch_size):
            end = min(start + batch_size, stop)
            if order is None:
                x, y = self.images[start:end], self.labels[start:end]
            else:
                index = order[start:end]
                x, y = self.images.index_select(0, index), self.labels.index_select(0, index)
            if theta is not None:
                # Warping is linear, so warping 0..255 and then normalizing equals normalizing after warping 0..1.
                x = warp_images(x.to(torch.float32), theta[start:end])
            yield self.normalization(x), y
