"""glibc's malloc set for training: the step's big buffers stay in the heap (core/host_memory.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Train in a thread, as the window does, and count the training thread's page faults after warm-up.
SCRIPT = r"""
import json, sys, threading
if sys.argv[1] == "tuned":
    from playground.core.host_memory import keep_buffers_in_the_heap
    assert keep_buffers_in_the_heap()
import torch
torch.set_num_threads(1)
from playground.core.data import load_dataset
from playground.core.graph import load_graph
from playground.core.train import TrainConfig, Trainer

def faults():
    return int(open(f"/proc/self/task/{threading.get_native_id()}/stat").read().rsplit(")", 1)[1].split()[7])

out = {}
def train():
    config = TrainConfig(epochs=1, batch_size=128, device="cpu", augment="default")
    trainer = Trainer(load_graph("preset:mnist-cnn"), config, dataset=load_dataset("mnist-sample"))
    batches = list(trainer.train_data.batches(128, generator=0))[:8]
    for x, y in batches * 2:  # warm-up: the heap grows to the step's peak
        trainer._train_step(x.contiguous(memory_format=torch.channels_last), y)
    before = faults()
    for x, y in batches * 3:
        trainer._train_step(x.contiguous(memory_format=torch.channels_last), y)
    out["per_step"] = (faults() - before) / 24
t = threading.Thread(target=train)
t.start()
t.join()
print(json.dumps(out))
"""


def faults_per_step(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["per_step"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc and /proc are Linux's")
def test_a_cpu_step_in_a_thread_no_longer_faults_in_fresh_pages():
    default, tuned = faults_per_step("default"), faults_per_step("tuned")
    assert default > 300, default  # glibc's defaults: fresh pages for the big buffers at every step
    assert tuned < default / 5, (tuned, default)  # measured ~120 against ~2,000 this early; ~0 once warm


def test_the_cli_tunes_malloc_without_importing_torch():
    code = ("import sys; from playground.core.host_memory import keep_buffers_in_the_heap; "
            "keep_buffers_in_the_heap(); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False"  # the window still opens before torch has loaded
