"""Datasets, Qt-free: MNIST and Fashion-MNIST (folder, cache, opt-in download), the offline mnist-sample,
device-resident batching with augmentation, and the preprocessing of hand-drawn digits.

    dataset = load_dataset("mnist", data_dir=None, allow_download=False, fallback_to_sample=True)
    print(dataset.source)
    train = DeviceData.from_dataset(dataset, "train", device)
    for x, y in train.batches(128, generator=seed, drop_last=True, augment=DEFAULT_AUGMENTATION): ...

The names below load their module on first use (PEP 562), so that importing one torch-free module of
this package (points.py, for the graph's checks) does not import torch.
"""

import importlib

_WHERE = {
    "Augmentation": "device",
    "CACHE_DIR_ENV": "sources",
    "DATASET_NAMES": "catalog",
    "DATA_DIR_ENV": "sources",
    "DEFAULT_AUGMENTATION": "device",
    "Dataset": "sources",
    "DatasetError": "errors",
    "DatasetNotFound": "errors",
    "DatasetSpec": "catalog",
    "DeviceData": "device",
    "DownloadCancelled": "errors",
    "FASHION_CLASSES": "catalog",
    "FOLDER": "class_folders",
    "FASHION_NORMALIZATION": "catalog",
    "IDX_FILES": "catalog",
    "ImageFileError": "images",
    "MAX_SIDE": "images",
    "MNIST_NORMALIZATION": "catalog",
    "NO_INK": "preprocess",
    "Normalization": "catalog",
    "SPECS": "catalog",
    "affine_images": "device",
    "cache_root": "sources",
    "dataset_cache_dir": "sources",
    "download_file": "download",
    "find_files": "sources",
    "get_spec": "catalog",
    "is_blank": "preprocess",
    "folder_options": "sources",
    "load_dataset": "sources",
    "load_image_folder": "folders",
    "load_sample_dataset": "sources",
    "make_generator": "device",
    "normalization_for": "catalog",
    "preprocess_digit": "preprocess",
    "read_idx": "idx",
    "read_image": "images",
    "read_images": "idx",
    "read_labels": "idx",
    "read_pair": "idx",
    "requested_data_dir": "sources",
    "search_folder": "sources",
    "to_device": "device",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
