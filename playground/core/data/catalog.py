"""What the data layer knows about each dataset: files, checksums, mirrors, classes, normalization."""

from __future__ import annotations

from dataclasses import dataclass

import torch

# The four IDX files of MNIST and Fashion-MNIST (both use the same names), by role.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Normalization:
    """`(x / 255 - mean) / std`, the one input scaling shared by training, evaluation, predict and the canvas."""

    mean: float
    std: float

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (or 0..255 float) images -> float32 normalized, on the images' device."""
        x = images.to(torch.float32, copy=True)  # never scale the caller's tensor in place
        return x.mul_(1.0 / (255.0 * self.std)).sub_(self.mean / self.std)

    def unit(self, x01: torch.Tensor) -> torch.Tensor:
        """0..1 float images -> normalized."""
        return x01.to(torch.float32, copy=True).sub_(self.mean).div_(self.std)

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized float -> 0..255 float (for showing inputs)."""
        return (x * self.std + self.mean) * 255.0


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str  # for messages: "MNIST"
    classes: tuple[str, ...]
    normalization: Normalization
    # Official checksums of the gzip files (md5: 32 hex digits, or sha256: 64), keyed by IDX_FILES base name.
    checksums: dict[str, str]
    mirrors: tuple[str, ...] = ()  # base URLs ending in "/"
    # The first test labels: tells MNIST and Fashion-MNIST apart, whose files have the same names.
    test_label_fingerprint: tuple[int, ...] = ()
    folder_aliases: tuple[str, ...] = ()  # subfolders of a data folder that may hold it

    @property
    def num_classes(self) -> int:
        return len(self.classes)


MNIST_NORMALIZATION = Normalization(0.1307, 0.3081)
FASHION_NORMALIZATION = Normalization(0.2860, 0.3530)

DIGITS = tuple(str(i) for i in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        classes=DIGITS,
        normalization=MNIST_NORMALIZATION,
        checksums={
            "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        test_label_fingerprint=(7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5),
        folder_aliases=("mnist", "MNIST", "MNIST/raw"),  # the last is torchvision's layout
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        classes=FASHION_CLASSES,
        normalization=FASHION_NORMALIZATION,
        checksums={
            "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        test_label_fingerprint=(9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1),
        folder_aliases=("fashion-mnist", "fashion_mnist", "Fashion-MNIST", "FashionMNIST", "FashionMNIST/raw"),
    ),
    "mnist-sample": DatasetSpec(
        name="mnist-sample",
        title="mnist-sample",
        classes=DIGITS,
        normalization=MNIST_NORMALIZATION,
        checksums={},
    ),
}

DATASET_NAMES = tuple(SPECS)


def get_spec(name: str) -> DatasetSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASET_NAMES)}") from None


def normalization_for(name: str) -> Normalization:
    """The normalization a network trained on dataset `name` expects."""
    return get_spec(name).normalization
