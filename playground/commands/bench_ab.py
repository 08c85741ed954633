"""`playground bench --ab NAME`: a paired A/B of one choice the training step makes.

One Trainer run whose steps take turns in blocks, A, B, A, B, ... (BLOCK steps
each), so that whatever else the machine does (another process, the host, the
CPU's clock) falls on both sides alike; on a shared 2-core machine, runs made
one after the other differ by more than the effects measured here. A step's
time runs from the end of the previous step's `on_step_end` to the end of its
own, so it holds the whole loop (data, forward, backward, clipping, optimizer,
bookkeeping), and on side A also what A's own callback did in it. Not measured:
the warm-up epoch, the first step of each epoch (it follows the evaluation)
and the first step of each block (it follows the switch, and pays for what the
other side left behind). Each side's figure is its median step time, as
samples/s; the pair ratios are A's speed over B's within each epoch, and their
spread is the noise.

`malloc` cannot switch within one process (glibc's defaults cannot be put
back), so there two training processes take turns the same way, passing a
baton through two pipes: one with `keep_buffers_in_the_heap()`, one without.
Each trains in its main thread, as a run's training process does.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..core.train import Callback, TrainConfig, Trainer

BLOCK = 4  # steps a side takes in a row


def bench_config(device, batch_size: int, epochs: int, seed: int) -> TrainConfig:
    """The bench's training settings: the default recipe's step (AdamW, clipping) with no augmentation and a
    constant learning rate, so that every epoch does the same work."""
    return TrainConfig(epochs=epochs, batch_size=batch_size, augment="none", device=str(device), seed=seed,
                       optimizer="adamw", schedule="constant", lr=1e-3, amp=False)


class TakingTurns(Callback):
    """Times each step and hands over to the other side every BLOCK steps (`turn_over`)."""

    def __init__(self, block: int = BLOCK):
        self.block = block
        self.side = "a"
        self.in_block = 0
        self.last_end: float | None = None
        self.times: dict[str, dict[int, list[float]]] = {"a": defaultdict(list), "b": defaultdict(list)}
        self.faults: dict[str, list[int]] = {"a": [], "b": []}
        self._faults_at = 0

    def callback_step(self, trainer, step) -> None:
        """What this side's own callback does in a step (timed with the step)."""

    def turn_over(self, trainer) -> None:
        """Hand the next block to the other side."""

    def on_step_end(self, trainer, step):
        self.callback_step(trainer, step)
        now = time.perf_counter()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        if self.last_end is not None and step.epoch > 0 and step.step > 0 and self.in_block > 0:
            self.times[self.side][step.epoch].append(now - self.last_end)
            self.faults[self.side].append(faults - self._faults_at)
        self.in_block += 1
        if self.in_block == self.block:
            self.in_block = 0
            self.turn_over(trainer)
        self._faults_at = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        self.last_end = time.perf_counter()


@dataclass
class Variant:
    """One choice of the training step: `a` is what the code does, `b` the alternative."""

    a: str
    b: str
    use: Callable | None = None  # use(trainer, side): switch the Trainer to side "a" or "b" between steps
    callback_on_a: Callable | None = None  # make(graph, config): a Callback whose on_step_end runs on A's steps


def _use_bf16(trainer, side):
    trainer.amp, trainer.amp_dtype = (True, torch.bfloat16) if side == "a" else (False, torch.float32)


def publisher(graph, config):
    """The Publisher of a run in the app, with a `send` that encodes each message for the pipe (in the training
    thread, as the training process's sender does) and drops it. `.sent` counts the messages by type."""
    from ..core.run.job import TrainingJob
    from ..core.run.publisher import Publisher
    from ..core.run.wire import dumps

    sent: Counter[str] = Counter()

    def send(message) -> None:
        dumps(message)
        sent[type(message).__name__] += 1

    made = Publisher(send, TrainingJob(run_id=1, name="bench", graph=graph, config=config))
    made.sent = sent
    return made


VARIANTS = {
    "bf16": Variant("bf16 autocast", "fp32", _use_bf16),
    "publisher": Variant("Trainer + Publisher", "Trainer", callback_on_a=publisher),
}
NAMES = (*VARIANTS, "malloc")


class _Switching(TakingTurns):
    def __init__(self, variant: Variant, graph, config):
        super().__init__()
        self.variant = variant
        self.inner = variant.callback_on_a(graph, config) if variant.callback_on_a else None

    def on_fit_start(self, trainer):
        if self.inner is not None:
            self.inner.on_fit_start(trainer)
        if self.variant.use is not None:
            self.variant.use(trainer, "a")

    def callback_step(self, trainer, step):
        if self.inner is not None and self.side == "a":
            self.inner.on_step_end(trainer, step)

    def on_epoch_end(self, trainer, metrics):
        if self.inner is not None:  # not a step: untimed, and the Publisher counts each epoch's steps from here
            self.inner.on_epoch_end(trainer, metrics)

    def turn_over(self, trainer):
        self.side = "b" if self.side == "a" else "a"
        if self.variant.use is not None:
            self.variant.use(trainer, self.side)


def run_ab(name: str, graph, dataset, device, batch_size: int, epochs: int, seed: int) -> dict:
    """One Trainer run of a warm-up epoch and `epochs` measured ones, its steps taking turns between A and B."""
    variant = VARIANTS[name]
    config = bench_config(device, batch_size, epochs + 1, seed)
    turns = _Switching(variant, graph, config)
    Trainer(graph, config, dataset=dataset).fit([turns])
    extra = {"faults_per_step": {side: round(statistics.mean(f), 1) for side, f in turns.faults.items()}}
    if isinstance(getattr(turns.inner, "sent", None), Counter):
        extra["messages"] = dict(turns.inner.sent)
    return report(name, variant.a, variant.b, batch_size, turns.times["a"], turns.times["b"], **extra)


def report(name: str, a_label: str, b_label: str, batch_size: int, a: dict[int, list[float]],
           b: dict[int, list[float]], **extra) -> dict:
    """Each side's median step as samples/s, their ratio, and the ratio within each epoch."""
    a_all = [t for e in sorted(a) for t in a[e]]
    b_all = [t for e in sorted(b) for t in b[e]]
    a_step, b_step = statistics.median(a_all), statistics.median(b_all)
    pairs = [statistics.median(b[e]) / statistics.median(a[e]) for e in sorted(set(a) & set(b))]
    return {"name": name, "a": a_label, "b": b_label, "a_samples_per_second": round(batch_size / a_step, 1),
            "b_samples_per_second": round(batch_size / b_step, 1), "a_vs_b": round(b_step / a_step, 4),
            "pair_ratios": [round(r, 4) for r in pairs], "measured_steps": {"a": len(a_all), "b": len(b_all)},
            **extra}


# -- malloc: two processes taking turns -----------------------------------------------------------

_CHILD = """
import json, sys
if sys.argv[1] == "tuned":
    from playground.core.host_memory import keep_buffers_in_the_heap
    assert keep_buffers_in_the_heap()
from playground.commands.bench_ab import malloc_child
print(json.dumps(malloc_child(*sys.argv[2:])))
"""


class _Baton(TakingTurns):
    """Takes turns with another process: a byte through a pipe is the right to train the next block."""

    def __init__(self, read_fd: int, write_fd: int, first: bool):
        super().__init__()
        self.read_fd, self.write_fd, self.first = read_fd, write_fd, first
        self.partner_done = False

    def _wait(self):
        if not self.partner_done and os.read(self.read_fd, 1) == b"":
            self.partner_done = True

    def _pass(self):
        try:
            os.write(self.write_fd, b"x")
        except BrokenPipeError:
            self.partner_done = True

    def on_fit_start(self, trainer):
        if not self.first:
            self._wait()

    def turn_over(self, trainer):
        self._pass()
        self._wait()

    def on_fit_end(self, trainer, result):
        os.close(self.write_fd)  # the partner reads the end: it goes on alone


def malloc_child(read_fd, write_fd, first, dataset_name, data_dir, batch_size, epochs, seed, threads, samples):
    """In a child process of `--ab malloc`: train, taking turns with the other child; its step times and faults."""
    from ..core.data import load_dataset
    from ..core.graph import load_graph
    from .bench import first_examples

    if int(threads):
        torch.set_num_threads(int(threads))
    dataset = first_examples(load_dataset(dataset_name, data_dir or None), int(samples))
    baton = _Baton(int(read_fd), int(write_fd), first == "1")
    config = bench_config("cpu", int(batch_size), int(epochs), int(seed))
    try:
        Trainer(load_graph("preset:mnist-cnn"), config, dataset=dataset).fit([baton])
    finally:
        if not baton.partner_done:  # an error: let the partner go on
            with contextlib.suppress(OSError):
                os.close(baton.write_fd)
    return {"times": baton.times["a"], "faults": baton.faults["a"]}


def run_malloc_ab(dataset_name: str, data_dir: str | None, batch_size: int, epochs: int, seed: int,
                  threads: int, samples: int) -> dict:
    root = Path(__file__).resolve().parents[2]  # the folder holding this `playground` package: the children import it
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    a_to_b, b_to_a = os.pipe(), os.pipe()
    ends = {"tuned": (b_to_a[0], a_to_b[1], "1"), "default": (a_to_b[0], b_to_a[1], "0")}
    children = {}
    for mode, (read_fd, write_fd, first) in ends.items():
        argv = [sys.executable, "-c", _CHILD, mode, str(read_fd), str(write_fd), first, dataset_name, data_dir or "",
                str(batch_size), str(epochs + 1), str(seed), str(threads), str(samples)]
        children[mode] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                          pass_fds=(read_fd, write_fd))
    for fd in (*a_to_b, *b_to_a):
        os.close(fd)
    results = {}
    for mode, child in children.items():
        out, err = child.communicate(timeout=1800)
        if child.returncode != 0:
            raise RuntimeError(f"the {mode} process of --ab malloc failed: {err[-2000:]}")
        result = json.loads(out.strip().splitlines()[-1])
        results[mode] = ({int(e): t for e, t in result["times"].items()}, result["faults"])
    (a_times, a_faults), (b_times, b_faults) = results["tuned"], results["default"]
    return report("malloc", "keep_buffers_in_the_heap()", "glibc's defaults", batch_size, a_times, b_times,
                  faults_per_step={"a": round(statistics.mean(a_faults), 1), "b": round(statistics.mean(b_faults), 1)})
