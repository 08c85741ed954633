"""A CPU training step's forward pass as one call: a TorchScript trace, run without the JIT's optimizations.

Why: in eager mode every layer is a torch call from Python, each with its
dispatch and a GIL hand-over; the trace is one call for the whole forward pass.
It was made while the app trained in a thread beside the window's, where each
hand-over could wait for the window's Python: the training thread's waiting in
`bench --gui`'s window turns went from 4.7% to 3.3% of its time. The app now
trains in a process of its own, so that reason is gone. It stays because taking
it out (with the CPU `retain_graph`, which had the same reason) measured no
gain: `bench --gui` unchanged, and `playground bench`'s Trainer at 4,900-6,500
samples/s without against 6,900-7,000 with (three runs each, taking turns, on a
machine whose speed drifts by 10-20%): a loss, if anything.

Run unoptimized, the trace executes the very ATen ops that eager mode runs
(the same numbers, the same random numbers); the JIT's optimizing executor
re-specializes the graph and cost ~50% more CPU per step here. TorchScript is
deprecated (torch.compile and torch.export either run each op from Python or
need a compiler), so anything going wrong here (tracing fails, the API is gone,
the trace disagrees with eager mode on a batch of another size) leaves the step
in eager mode: never a failed run.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable

import torch
from torch import nn

log = logging.getLogger(__name__)


def traced_forward(model: nn.Module, batch: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """`model`'s forward pass, in its current train/eval modes, as one call; None: eager mode it is.

    `batch` is an example input. The model's buffers (batch-norm statistics) and the random number stream are as
    they were before: the trace's own forward passes leave no mark on the run."""
    buffers = {name: buffer.detach().clone() for name, buffer in model.named_buffers()}
    try:
        with warnings.catch_warnings(), torch.random.fork_rng(devices=[]), torch.jit.optimized_execution(False):
            warnings.simplefilter("ignore")  # the tracer's warnings and TorchScript's deprecation
            traced = torch.jit.trace(model, batch, check_trace=False)
            # Another batch size: a trace that baked in the batch size (or took one branch of data-dependent
            # Python) gives a wrong answer or an error here, not later in the run.
            other = batch[:max(1, batch.shape[0] // 2 - 1)]
            with torch.no_grad():
                torch.manual_seed(0)
                want = model(other)
                torch.manual_seed(0)
                got = traced(other)
            agrees = (isinstance(got, torch.Tensor) and got.shape == want.shape
                      and torch.allclose(got, want, rtol=1e-4, atol=1e-5))
    except Exception as exc:  # whatever the tracer trips on, eager mode still works
        log.info("the training forward pass stays in eager mode: %s", exc)
        return None
    finally:
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(buffers[name])
    if not agrees:
        log.info("the training forward pass stays in eager mode: its trace disagrees with the model")
        return None

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.jit.optimized_execution(False):
            return traced(x)

    return forward
