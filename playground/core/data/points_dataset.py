"""2-D points as a run's dataset: what the Trainer takes in place of images (`PointsDataset`), and its splits
on the training device (`PointsData`, served in batches as `DeviceData` serves images).

    dataset = load_points_dataset("spiral", config, own=graph.points)
    trainer = Trainer(graph, config, dataset=dataset)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .device import make_generator, to_device
from .errors import DatasetError
from .points import OWN_POINTS, POINT_SETS, Points, PointsSplit, make_points, read_points_csv


@dataclass
class PointsDataset:
    """A run's points: the same roles as sources.Dataset (name, source, classes, splits), for points."""

    name: str  # a key of points.POINT_SETS
    source: str  # in words: "Spiral: 500 points, noise 10 %, seed 0"
    points: PointsSplit
    normalization = None  # coordinates go in as they are (the plane is [-6, 6]², as TensorFlow Playground's)
    fallback_from = None
    fallback_reason = None

    @property
    def classes(self) -> tuple[str, ...]:
        return self.points.classes

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def regression(self) -> bool:
        return self.points.regression

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return (2,)

    def split(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(xy float32 [N, 2], labels) of "train" or "test" as CPU tensors."""
        if which not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {which!r}")
        part = self.points.train if which == "train" else self.points.test
        return torch.from_numpy(part.xy.copy()), torch.from_numpy(part.labels.copy())

    def on_device(self, which: str, device: str | torch.device) -> PointsData:
        return PointsData(*self.split(which), device)


def load_points_dataset(name: str, config, own: Points | None = None, csv: str | os.PathLike | None = None,
                        gan: bool = False) -> PointsDataset:
    """The points a run with `config` (a TrainConfig: points, points_noise, points_test_share, points_seed)
    trains on: a generated set, or the document's own points (`own`), or those of a CSV file (`csv`, which
    stands in for the own points). `gan`: a GAN's real points (all of them, labels unused: make_points). Raises
    DatasetError in words."""
    if csv is not None:
        own, name = read_points_csv(csv), OWN_POINTS
    if name not in POINT_SETS:
        raise DatasetError(f"unknown 2-D dataset {name!r}; choose one of {', '.join(POINT_SETS)}")
    split = make_points(name, config.points, config.points_noise, config.points_test_share, config.points_seed,
                        own=own, gan=gan)
    total = len(split.train) + len(split.test)
    if name == OWN_POINTS:
        where = f"from {csv}" if csv is not None else "drawn or loaded into the document"
        source = f"your own points ({total:,}, {where})"
    else:
        source = (f"{POINT_SETS[name]}: {total:,} points, noise {config.points_noise:.0%}, "
                  f"seed {config.points_seed}")
    held_out = "all of them real points for the GAN" if gan else f"{len(split.test):,} held out for testing"
    return PointsDataset(name, f"{source}; {held_out}", split)


class PointsData:
    """One split of points, resident on `device`, served as batches of (xy float32 [B, 2], labels [B])."""

    def __init__(self, xy: torch.Tensor, labels: torch.Tensor, device: str | torch.device = "cpu"):
        if xy.dim() != 2 or xy.shape[1] != 2:
            raise ValueError(f"points must be [N, 2], not {list(xy.shape)}")
        if labels.dim() != 1 or len(labels) != len(xy):
            raise ValueError(f"labels must be [N] with N = {len(xy)}, not {list(labels.shape)}")
        self.device = torch.device(device)
        self.xy = to_device(xy.to(torch.float32).contiguous(), self.device)
        labels = labels.to(torch.float32 if labels.is_floating_point() else torch.int64)
        self.labels = to_device(labels.contiguous(), self.device)

    def __len__(self) -> int:
        return len(self.xy)

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        return len(self) // batch_size if drop_last else -(-len(self) // batch_size)

    def batches(self, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | int | None = None,
                drop_last: bool = False, augment=None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of batches, as DeviceData.batches (`augment` is for images and ignored here)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if isinstance(generator, int):
            generator = make_generator(generator)
        n = len(self)
        stop = n - n % batch_size if drop_last else n
        if shuffle:
            order = to_device(torch.randperm(n, generator=generator), self.device)
            xy, labels = self.xy.index_select(0, order), self.labels.index_select(0, order)
        else:
            xy, labels = self.xy, self.labels
        # Slices of one shuffled copy: a tiny network's step is short, so per-batch indexing would show.
        for start in range(0, stop, batch_size):
            yield xy[start:start + batch_size], labels[start:start + batch_size]


def points_of(dataset) -> PointsSplit | None:
    """The points of a run's dataset, or None for images."""
    return dataset.points if isinstance(dataset, PointsDataset) else None
