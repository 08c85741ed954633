"""The window limits numpy's BLAS to one thread (extra BLAS threads take the training core)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
from playground.app.launch import limit_blas_threads
limit_blas_threads()
from threadpoolctl import threadpool_info
print(max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
"""


def test_limit_blas_threads_works_in_a_fresh_process_before_numpy_is_imported():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
