"""Transfer learning: copy weights from one network into another, by node name and shape.

Layers are submodules named after their node ids, so `conv1.weight` in a
checkpoint fits `conv1.weight` of any graph with a node `conv1` of the same
shape. Everything else is reported, never silently guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class TransferReport:
    loaded: list[str] = field(default_factory=list)  # state_dict keys copied
    skipped: dict[str, str] = field(default_factory=dict)  # source key -> why it was not used
    missing: list[str] = field(default_factory=list)  # target keys left as they were (initialised fresh)

    @property
    def loaded_nodes(self) -> list[str]:
        return sorted({k.split(".", 1)[0] for k in self.loaded})

    def summary(self) -> str:
        text = f"loaded {len(self.loaded)} tensors ({', '.join(self.loaded_nodes) or 'none'})"
        if self.skipped:
            text += f"; skipped {len(self.skipped)}: " + "; ".join(f"{k} ({why})" for k, why in self.skipped.items())
        if self.missing:
            text += f"; {len(self.missing)} kept their fresh initialisation: {', '.join(self.missing)}"
        return text


def load_matching_weights(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> TransferReport:
    """Copy every tensor of `state_dict` whose key and shape match one of `model`'s, in place.

    Copies happen under no_grad into the existing tensors (so an optimizer
    built on them stays valid). Frozen parameters are loaded too: freezing
    transferred layers is the point of fine-tuning.
    """
    report = TransferReport()
    target = model.state_dict()  # references to the live tensors
    with torch.no_grad():
        for key, value in state_dict.items():
            if key not in target:
                report.skipped[key] = "no such layer here"
            elif not isinstance(value, torch.Tensor):
                report.skipped[key] = "not a tensor"
            elif tuple(value.shape) != tuple(target[key].shape):
                report.skipped[key] = (f"shape {list(value.shape)} does not fit {list(target[key].shape)}")
            elif value.dtype.is_floating_point != target[key].dtype.is_floating_point:
                report.skipped[key] = f"type {value.dtype} does not fit {target[key].dtype}"
            else:
                target[key].copy_(value)
                report.loaded.append(key)
    report.missing = [k for k in target if k not in report.loaded]
    return report
