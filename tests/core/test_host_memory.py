"""glibc's malloc set for training: the step's big buffers stay in the heap (core/host_memory.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Train in a thread and count the training thread's page faults after warm-up. Batch 512: mnist-cnn's second
# convolution then gives 75 MB of activations, above the most (32 MB) glibc's default malloc ever takes from the
# heap, so by default those pages are mapped fresh at every step, whatever the heap's history. (At batch 128 the
# default's faults depend on that history and on how the step frees its buffers: 0.2 to 1,900 a step.)
SCRIPT = r"""
import json, sys, threading
BATCH = 512
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
    config = TrainConfig(epochs=1, batch_size=BATCH, device="cpu", augment="default")
    trainer = Trainer(load_graph("preset:mnist-cnn"), config, dataset=load_dataset("mnist-sample"))
    batches = list(trainer.train_data.batches(BATCH, generator=0))[:4]
    for x, y in batches * 2:  # warm-up: the heap grows to the step's peak
        trainer._train_step(x.contiguous(memory_format=torch.channels_last), y)
    before = faults()
    for x, y in batches * 3:
        trainer._train_step(x.contiguous(memory_format=torch.channels_last), y)
    out["per_step"] = (faults() - before) / 12
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
    assert default > 10_000, default  # glibc's defaults: fresh pages for the big buffers at every step (~50,000)
    assert tuned < default / 50, (tuned, default)  # measured 0-30 a step


def test_the_cli_tunes_malloc_without_importing_torch():
    code = ("import sys; from playground.core.host_memory import keep_buffers_in_the_heap; "
            "keep_buffers_in_the_heap(); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False"  # the window still opens before torch has loaded
