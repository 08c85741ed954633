"""2-D points: TensorFlow Playground's datasets, a person's own points, and CSV files of them (torch-free).

Every point lies on the input plane [-EXTENT, EXTENT]²; a classification point
has a class (0, 1, or 2 for a third drawn class), a regression point a value
in [-1, 1]. The generators follow TensorFlow Playground (src/dataset.ts): the
same shapes, the same meaning of noise (0 to 0.5), seeded so that a seed and
the settings give the same points everywhere (the app's Decision view, the
training process, the command line).

    data = make_points("spiral", count=500, noise=0.1, test_share=0.5, seed=0)
    data.train_xy, data.train_labels, data.test_xy, data.test_labels
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DatasetError
from .point_sets import (  # noqa: F401 (the names of the sets, here too)
    CLASSIFICATION_SETS,
    EXTENT,
    OWN_POINTS,
    POINT_SETS,
    REGRESSION_SETS,
    is_points_dataset,
    is_regression_set,
)

MAX_POINTS = 10_000  # what a document, a CSV file or the generators may hold
MAX_CSV_BYTES = 2 * 1024 * 1024
CLASS_NAMES = ("blue", "red", "green")  # class 0, 1, 2: the colours the Decision view paints them
OUTPUT_RESOLUTION = 64  # the Decision view's surface: a 64×64 grid over the plane
UNIT_RESOLUTION = 32  # each neuron's thumbnail: 32×32
MAX_UNIT_MAPS = 8  # thumbnails per node (the rest: "+N more")



@dataclass(frozen=True)
class Points:
    """Points and their labels: xy float32 [N, 2]; labels int64 [N] (classes) or float32 [N] (regression)."""

    xy: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        # Shared freely (a graph's copies, the undo history, a run's snapshot), so never changed in place.
        for array in (self.xy, self.labels):
            array.flags.writeable = False

    @property
    def regression(self) -> bool:
        return self.labels.dtype.kind == "f"

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def num_classes(self) -> int:
        """2 or 3 for classes (a third drawn class makes 3); 1 for regression."""
        if self.regression:
            return 1
        return max(2, int(self.labels.max()) + 1) if len(self.labels) else 2

    def to_rows(self) -> list[list[float]]:
        """[[x, y, label], ...] rounded to 4 decimals: how a document stores them (graph files' "points")."""
        labels = self.labels.tolist() if not self.regression else [round(v, 4) for v in self.labels.tolist()]
        return [[round(float(x), 4), round(float(y), 4), label] for (x, y), label in zip(self.xy.tolist(), labels,
                                                                                        strict=True)]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[float]], source: str = "points") -> Points:
        """The inverse of `to_rows`; raises DatasetError naming the first bad row (1-based)."""
        return _points_from_values([(i, row) for i, row in enumerate(rows, 1)], source, "row")

    @classmethod
    def empty(cls) -> Points:
        return cls(np.zeros((0, 2), np.float32), np.zeros(0, np.int64))


@dataclass(frozen=True)
class PointsSplit:
    """One dataset of points, split: what a run trains and tests on."""

    name: str  # a POINT_SETS key
    train: Points
    test: Points
    num_classes: int  # 1 for regression

    @property
    def regression(self) -> bool:
        return self.num_classes == 1

    @property
    def classes(self) -> tuple[str, ...]:
        return ("value",) if self.regression else CLASS_NAMES[: self.num_classes]

    @property
    def train_xy(self) -> np.ndarray:
        return self.train.xy

    @property
    def train_labels(self) -> np.ndarray:
        return self.train.labels

    @property
    def test_xy(self) -> np.ndarray:
        return self.test.xy

    @property
    def test_labels(self) -> np.ndarray:
        return self.test.labels


def _check_settings(count: int, noise: float, test_share: float) -> None:
    if not (isinstance(count, int) and 2 <= count <= MAX_POINTS):
        raise DatasetError(f"points: the number of points must be a whole number from 2 to {MAX_POINTS}, "
                           f"not {count!r}")
    if not (isinstance(noise, int | float) and 0 <= noise <= 0.5):
        raise DatasetError(f"noise must be between 0 and 0.5 (50 %), not {noise!r}")
    if not (isinstance(test_share, int | float) and 0 <= test_share < 1):
        raise DatasetError(f"the share held out for testing must be at least 0 and below 1, not {test_share!r}")


# -- the generators: (rng, count, noise) -> xy float [N, 2], labels ------------------------------------------


def _circle(rng: np.random.Generator, n: int, noise: float):
    radius = 5.0
    inside = np.arange(n) < n // 2
    r = np.where(inside, rng.uniform(0, radius * 0.5, n), rng.uniform(radius * 0.7, radius, n))
    angle = rng.uniform(0, 2 * math.pi, n)
    xy = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    # As TensorFlow Playground: the label is the class of the point moved by the noise, so noise blurs the border.
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    labels = (np.hypot(*(xy + jitter).T) < radius * 0.5).astype(np.int64)
    return xy, labels


def _xor(rng: np.random.Generator, n: int, noise: float):
    padding = 0.3
    xy = rng.uniform(-5, 5, (n, 2))
    xy += np.where(xy > 0, padding, -padding)  # keep points off the axes, where the class flips
    jitter = rng.uniform(-5, 5, (n, 2)) * noise
    moved = xy + jitter
    labels = (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)
    return xy, labels


def _gaussians(rng: np.random.Generator, n: int, noise: float):
    spread = 0.5 + 3.5 * (noise / 0.5)  # TensorFlow Playground: noise 0..0.5 -> spread 0.5..4
    labels = (np.arange(n) < n // 2).astype(np.int64)
    centre = np.where(labels[:, None] == 1, 2.0, -2.0)
    xy = centre + rng.normal(0, 1, (n, 2)) * spread
    return xy, labels


def _spiral(rng: np.random.Generator, n: int, noise: float):
    half = n // 2
    parts = []
    for label, delta, count in ((1, 0.0, half), (0, math.pi, n - half)):
        i = np.arange(count)
        r = i / max(count, 1) * 5
        t = 1.75 * i / max(count, 1) * 2 * math.pi + delta
        xy = np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + rng.uniform(-1, 1, (count, 2)) * noise
        parts.append((xy, np.full(count, label, np.int64)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _moons(rng: np.random.Generator, n: int, noise: float):
    # scikit-learn's two moons, scaled onto the plane: x in [-1, 2] -> [-6, 6], y in [-0.5, 1] -> [-3, 3].
    outer = n // 2
    t_out, t_in = rng.uniform(0, math.pi, outer), rng.uniform(0, math.pi, n - outer)
    xy = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                         np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    xy = (xy - [0.5, 0.25]) * 4.0 + rng.normal(0, 1, (n, 2)) * noise * 4.0
    labels = (np.arange(n) >= outer).astype(np.int64)
    return xy, labels


def _plane(rng: np.random.Generator, n: int, noise: float):
    xy = rng.uniform(-EXTENT, EXTENT, (n, 2))
    moved = xy + rng.uniform(-EXTENT, EXTENT, (n, 2)) * noise
    values = np.clip((moved[:, 0] + moved[:, 1]) / (2 * EXTENT), -1, 1)
    return xy, values.astype(np.float32)


_HILLS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def _gaussian(rng: np.random.Generator, n: int, noise: float):
    xy = rng.uniform(-EXTENT, EXTENT, (n, 2))
    moved = xy + rng.uniform(-EXTENT, EXTENT, (n, 2)) * noise
    values = np.zeros(n)
    for cx, cy, sign in _HILLS:  # each point takes the strongest hill's value: 1 on a peak, 0 two units away
        value = sign * np.clip(1 - np.hypot(moved[:, 0] - cx, moved[:, 1] - cy) / 2, 0, 1)
        values = np.where(np.abs(value) > np.abs(values), value, values)
    return xy, values.astype(np.float32)


GENERATORS = {"circle": _circle, "xor": _xor, "gaussians": _gaussians, "spiral": _spiral, "moons": _moons,
              "plane": _plane, "gaussian": _gaussian}


def generate(name: str, count: int, noise: float = 0.0, seed: int = 0) -> Points:
    """`count` points of a generated dataset, the same for the same arguments."""
    if name not in GENERATORS:
        raise DatasetError(f"unknown 2-D dataset {name!r}; choose one of {', '.join(GENERATORS)}")
    _check_settings(count, noise, 0.0)
    xy, labels = GENERATORS[name](np.random.default_rng(seed), count, float(noise))
    return Points(np.clip(xy, -EXTENT, EXTENT).astype(np.float32), labels)


def split_points(points: Points, test_share: float, seed: int = 0) -> tuple[Points, Points]:
    """(train, test): a seeded shuffle, then the last `test_share` of it held out."""
    order = np.random.default_rng(seed + 1).permutation(len(points))
    n_test = round(len(points) * test_share)
    if len(points) - n_test < 1:
        n_test = len(points) - 1
    train, test = order[: len(points) - n_test], order[len(points) - n_test:]
    return (Points(points.xy[train], points.labels[train]), Points(points.xy[test], points.labels[test]))


def make_points(name: str, count: int = 500, noise: float = 0.0, test_share: float = 0.5, seed: int = 0,
                own: Points | None = None, *, gan: bool = False) -> PointsSplit:
    """A run's points: a generated dataset, or (`name` OWN_POINTS) `own`, the document's points, split.

    `gan`: the real points of a GAN, which learns where points lie, not their labels: every point is a training
    point (a GAN is not tested: `test_share` is ignored) and own points may all be of one class."""
    _check_settings(count, noise, test_share)
    if gan:
        test_share = 0.0
    if name == OWN_POINTS:
        if own is None or len(own) < 2:
            raise DatasetError("your own points: there are fewer than 2 — draw some on the Decision view "
                               "(left click: blue, right click: red) or load a CSV file of x,y,label")
        if not gan and not own.regression and len(np.unique(own.labels)) < 2:
            raise DatasetError("your own points: they are all of one class — add points of another class "
                               "(left click: blue, right click: red, shift-click: green)")
        points = own
    else:
        points = generate(name, count, noise, seed)
    train, test = split_points(points, test_share, seed)
    return PointsSplit(name, train, test, 1 if points.regression else points.num_classes)


# -- CSV files of x,y,label -------------------------------------------------------------------------------------


def _points_from_values(rows: list[tuple[int, Sequence]], source: str, what: str) -> Points:
    if len(rows) > MAX_POINTS:
        raise DatasetError(f"{source}: {len(rows):,} points; Playground takes up to {MAX_POINTS:,}")
    xy, labels = np.zeros((len(rows), 2), np.float64), []
    for i, (number, row) in enumerate(rows):
        where = f"{source}, {what} {number}"
        if len(row) != 3:
            raise DatasetError(f"{where}: expected 3 values (x, y, label), found {len(row)}")
        for j, name in enumerate(("x", "y")):
            try:
                value = float(row[j])
            except (TypeError, ValueError):
                raise DatasetError(f"{where}: {name} is {str(row[j])!r}, not a number") from None
            if not math.isfinite(value) or abs(value) > EXTENT:
                raise DatasetError(f"{where}: {name} is {value:g}; points lie between -{EXTENT:g} and {EXTENT:g}")
            xy[i, j] = value
        try:
            label = float(row[2])
        except (TypeError, ValueError):
            raise DatasetError(f"{where}: the label is {str(row[2])!r}, not a number "
                               "(a class 0, 1 or 2, or a value between -1 and 1)") from None
        if not math.isfinite(label):
            raise DatasetError(f"{where}: the label is {label}, not a finite number")
        labels.append(label)
    values = np.asarray(labels, np.float64)
    if len(values) and np.all(values == np.round(values)) and values.min() >= 0:
        if values.max() > 2:
            bad = next(n for (n, _), v in zip(rows, values, strict=True) if v > 2)
            raise DatasetError(f"{source}, {what} {bad}: the label is {values.max():g}; classes are 0, 1 and 2 "
                               "(or give values between -1 and 1 for regression)")
        return Points(xy.astype(np.float32), values.astype(np.int64))
    if len(values) and np.abs(values).max() > 1:
        bad = next(n for (n, _), v in zip(rows, values, strict=True) if abs(v) > 1)
        raise DatasetError(f"{source}, {what} {bad}: a regression value must lie between -1 and 1")
    return Points(xy.astype(np.float32), values.astype(np.float32))


def parse_points_csv(text: str, source: str = "<csv>") -> Points:
    """Points from CSV text of `x,y,label` rows, a header row optional. Raises DatasetError naming the line:
    labels that are all whole numbers 0..2 are classes; otherwise values in [-1, 1] (regression)."""
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text))
    try:
        for line in reader:
            number = reader.line_num
            cells = [c.strip() for c in line]
            if not cells or all(not c for c in cells) or cells[0].startswith("#"):
                continue
            if not rows and number == _first_line(text) and _is_header(cells):
                continue
            rows.append((number, cells))
    except csv.Error as exc:
        raise DatasetError(f"{source}, line {reader.line_num}: {exc}") from None
    if not rows:
        raise DatasetError(f"{source}: no points in it (expected lines of x,y,label)")
    return _points_from_values(rows, source, "line")


def _first_line(text: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.strip().startswith("#"):
            return number
    return 1


def _is_header(cells: list[str]) -> bool:
    def number(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return False

    return not any(number(c) for c in cells)


def read_points_csv(path: str | os.PathLike) -> Points:
    """`parse_points_csv` of a file; a file that is missing, not a regular file, too big or not text is a
    DatasetError naming it."""
    path = Path(path)
    try:
        if not path.is_file():
            raise DatasetError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise DatasetError(f"{path}: {size / 2**20:.1f} MB; a CSV file of points may be up to "
                               f"{MAX_CSV_BYTES // 2**20} MB ({MAX_POINTS:,} points)")
        with open(path, "rb") as f:
            raw = f.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DatasetError(f"{path}, line {line}: not text (a CSV file of x,y,label is expected)") from None
    return parse_points_csv(text, str(path))


def write_points_csv(points: Points, path: str | os.PathLike) -> None:
    """`x,y,label` with a header; written beside and moved into place, so a failure keeps the old file."""
    path = Path(path)
    lines = ["x,y,label"] + [f"{x},{y},{label}" for x, y, label in points.to_rows()]
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def grid(resolution: int) -> np.ndarray:
    """float32 [resolution², 2]: the centres of a resolution×resolution grid over the plane, row by row from the
    top (y = +EXTENT) down, x from left to right: the order a picture's pixels have."""
    step = 2 * EXTENT / resolution
    centres = -EXTENT + step * (np.arange(resolution) + 0.5)
    xs, ys = np.meshgrid(centres, centres[::-1])
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
