import os

# GUI tests run without a display; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# No test reads or writes the person's own user data folder (my digits, ...): a fresh one per session.
if not os.environ.get("PLAYGROUND_USER_DATA_DIR"):
    import tempfile

    os.environ["PLAYGROUND_USER_DATA_DIR"] = tempfile.mkdtemp(prefix="playground-user-data-")


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU (skipped without one); benchmarks/gpu_check.sh runs "
                                       "them with -m cuda")


def pytest_collection_modifyitems(config, items):
    if not any(item.get_closest_marker("cuda") for item in items):
        return
    import pytest
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)
