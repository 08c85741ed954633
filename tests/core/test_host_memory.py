"""glibc's malloc set for training: the step's big buffers stay in the heap (core/host_memory.py).

The training process (core/run/process.py) and every CLI command call `keep_buffers_in_the_heap()` first thing,
then train in their main thread. So does each child here, or not, before training mnist-cnn on the CPU.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Batch 512: mnist-cnn's second convolution then gives 75 MB of activations, above the most (32 MB) that glibc's
# default malloc ever serves from the heap, so by default those pages are mapped fresh at every step whatever
# the heap's history. Each step's faults are counted, after a warm-up epoch (in which the tuned heap grows to the
# step's peak) and not for the first step of an epoch (it follows the evaluation); the median step is the
# figure, since the tuned heap may still grow once more later (a one-off of a few thousand faults).
SCRIPT = r"""
import json, resource, statistics, sys
if sys.argv[1] == "tuned":
    from playground.core.host_memory import keep_buffers_in_the_heap
    assert keep_buffers_in_the_heap()
from playground.core.data import load_dataset
from playground.core.graph import load_graph
from playground.core.train import Callback, TrainConfig, Trainer

class Faults(Callback):
    def __init__(self):
        self.last, self.per_step = 0, []
    def on_step_end(self, trainer, step):
        now = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        if step.epoch > 0 and step.step > 0:
            self.per_step.append(now - self.last)
        self.last = now

faults = Faults()
config = TrainConfig(epochs=2, batch_size=512, device="cpu")
Trainer(load_graph("preset:mnist-cnn"), config, dataset=load_dataset("mnist-sample")).fit([faults])
print(json.dumps({"median": statistics.median(faults.per_step), "steps": len(faults.per_step)}))
"""


def faults_per_step(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["steps"] >= 5, result
    return result["median"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_a_tuned_training_process_stops_faulting_in_fresh_pages_for_its_steps():
    default, tuned = faults_per_step("default"), faults_per_step("tuned")
    assert default > 5_000, default  # glibc's defaults: the big buffers come as fresh pages at every step
    assert tuned < default / 100, (tuned, default)  # measured: ~55,000 a step against 0-1


def test_the_cli_tunes_malloc_without_importing_torch():
    code = ("import sys; from playground.core.host_memory import keep_buffers_in_the_heap; "
            "keep_buffers_in_the_heap(); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False"  # the window still opens before torch has loaded
