"""Datasets, Qt-free: MNIST and Fashion-MNIST (folder, cache, opt-in download), the offline mnist-sample,
device-resident batching with augmentation, and the preprocessing of hand-drawn digits.

    dataset = load_dataset("mnist", data_dir=None, allow_download=False, fallback_to_sample=True)
    print(dataset.source)
    train = DeviceData.from_dataset(dataset, "train", device)
    for x, y in train.batches(128, generator=seed, drop_last=True, augment=DEFAULT_AUGMENTATION): ...
"""

from .catalog import (
    DATASET_NAMES,
    FASHION_CLASSES,
    FASHION_NORMALIZATION,
    IDX_FILES,
    MNIST_NORMALIZATION,
    SPECS,
    DatasetSpec,
    Normalization,
    get_spec,
    normalization_for,
)
from .device import DEFAULT_AUGMENTATION, Augmentation, DeviceData, affine_images, make_generator, to_device
from .download import download_file
from .errors import DatasetError, DatasetNotFound, DownloadCancelled
from .idx import read_idx, read_images, read_labels, read_pair
from .images import MAX_SIDE, ImageFileError, read_image
from .preprocess import NO_INK, is_blank, preprocess_digit
from .sources import (
    CACHE_DIR_ENV,
    DATA_DIR_ENV,
    Dataset,
    cache_root,
    dataset_cache_dir,
    find_files,
    load_dataset,
    load_sample_dataset,
    requested_data_dir,
    search_folder,
)

__all__ = [
    "CACHE_DIR_ENV",
    "DATASET_NAMES",
    "DATA_DIR_ENV",
    "DEFAULT_AUGMENTATION",
    "FASHION_CLASSES",
    "FASHION_NORMALIZATION",
    "IDX_FILES",
    "MAX_SIDE",
    "MNIST_NORMALIZATION",
    "NO_INK",
    "SPECS",
    "Augmentation",
    "Dataset",
    "DatasetError",
    "DatasetNotFound",
    "DatasetSpec",
    "DeviceData",
    "DownloadCancelled",
    "ImageFileError",
    "Normalization",
    "affine_images",
    "cache_root",
    "dataset_cache_dir",
    "download_file",
    "find_files",
    "get_spec",
    "is_blank",
    "load_dataset",
    "load_sample_dataset",
    "make_generator",
    "normalization_for",
    "preprocess_digit",
    "read_idx",
    "read_image",
    "read_images",
    "read_labels",
    "read_pair",
    "requested_data_dir",
    "search_folder",
    "to_device",
]
