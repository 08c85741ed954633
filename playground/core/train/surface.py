"""What a network on 2-D points computes over the whole input plane: the output's surface and every neuron's.

`Surface(model, graph, ...)` runs one grid of OUTPUT_RESOLUTION² points through
the network with forward hooks on the nodes whose output is a vector (Features,
Dense, the activations after them, ...): the output's class probabilities (or
regression value) at every grid point, and each unit's value, pooled down to
UNIT_RESOLUTION² for the editor's thumbnails. It also measures the loss over
every training and test point. Call it from the thread that trains, between
steps (a publishing callback does), never during one.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.points import MAX_UNIT_MAPS, OUTPUT_RESOLUTION, UNIT_RESOLUTION, grid
from ..graph import Graph
from .inference import output_probabilities
from .probes import eval_mode


def mapped_nodes(model: nn.Module, graph: Graph) -> list[str]:
    """The nodes that may get a picture per unit, in execution order: every layer (those whose output turns out
    to be a vector per point get one). The last layer is kept too: TensorFlow Playground draws the output neuron."""
    return [node_id for node_id, _ in model.plan if graph.nodes[node_id].kind not in ("input", "output")]


class Surface:
    """The network's pictures over the plane, for one model (kept; hooks are added only while it looks)."""

    def __init__(self, model: nn.Module, graph: Graph, device: torch.device, loss_kind: str, regression: bool):
        self.model = model
        self.device = device
        self.loss_kind = loss_kind
        self.regression = regression
        self.nodes = mapped_nodes(model, graph)
        self.grid = torch.from_numpy(grid(OUTPUT_RESOLUTION)).to(device)

    def _pictures(self) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, int]]:
        seen: dict[str, torch.Tensor] = {}
        hooks = []
        for node_id in self.nodes:
            module = getattr(self.model, node_id)

            def keep(_module, _args, out, node_id=node_id):
                if isinstance(out, torch.Tensor) and out.dim() == 2:  # [points, units]: a vector per point
                    seen[node_id] = out
            hooks.append(module.register_forward_hook(keep))
        try:
            with torch.no_grad(), eval_mode(self.model):
                out = self.model(self.grid).float()
        finally:
            for hook in hooks:
                hook.remove()
        r, ur = OUTPUT_RESOLUTION, UNIT_RESOLUTION
        if self.regression:
            output = out[:, :1].T.reshape(1, r, r)
        else:
            output = output_probabilities(out, self.loss_kind).T.reshape(-1, r, r)
        units, totals = {}, {}
        for node_id, values in seen.items():
            totals[node_id] = values.shape[1]
            maps = values[:, :MAX_UNIT_MAPS].float().T.reshape(-1, 1, r, r)
            units[node_id] = F.adaptive_avg_pool2d(maps, ur)[:, 0]
        return output, units, totals

    def _loss(self, data) -> float | None:
        from .trainer import compute_loss  # the trainer's one definition of the loss

        if data is None or len(data) == 0:
            return None
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        with torch.no_grad(), eval_mode(self.model):
            for x, y in data.batches(4096, shuffle=False):
                total += compute_loss(self.loss_kind, self.model(x).float(), y, reduction="sum")
        return total

    def frame(self, train_data, test_data) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, int], float,
                                                    float | None]:
        """(output float32 [K, R, R], units {node: float16 [u, r, r]}, totals {node: units}, train loss,
        test loss or None): one copy from the device for all of it."""
        output, units, totals = self._pictures()
        train_loss, test_loss = self._loss(train_data), self._loss(test_data)
        losses = torch.stack([torch.as_tensor(v if v is not None else math.nan, dtype=torch.float64,
                                              device=self.device) for v in (train_loss, test_loss)])
        names = list(units)
        flat = torch.cat([output.reshape(-1).double(), losses, *(units[n].reshape(-1).double() for n in names)])
        host = flat.cpu().numpy()
        k = output.numel()
        output_np = host[:k].astype(np.float32).reshape(output.shape)
        train, test = float(host[k]) / max(1, len(train_data)), host[k + 1]
        test = None if test_data is None or len(test_data) == 0 else float(test) / len(test_data)
        at, maps = k + 2, {}
        for name in names:
            n = units[name].numel()
            maps[name] = host[at:at + n].astype(np.float16).reshape(units[name].shape)
            at += n
        return output_np, maps, totals, train, test

