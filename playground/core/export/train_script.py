"""Export a whole training run as one standalone, readable script: `--format train-script`.

The script holds the model (the very source of the Python export, `python_source.model_blocks`), the data loading
for the run's dataset, the recipe as the Trainer applies it (optimizer, schedule, warm-up, weight decay,
augmentation, clipping, seeds), evaluation each epoch, Playground checkpoints, resuming, and
DistributedDataParallel under torchrun. It imports only torch, NumPy and the standard library.

What it exports: image classifiers on MNIST or Fashion-MNIST (the mnist-sample is a slice of MNIST, so its script
reads MNIST). GANs, networks on 2-D points and runs on image folders are refused with an ExportError that says why
(`refusal`).
"""

from __future__ import annotations

import ast
import json
import math
import pprint
import re
import textwrap
from pathlib import Path

from ..build import plan_graph
from ..data.catalog import SPECS
from ..data.device import DEFAULT_AUGMENTATION
from ..data.point_sets import is_points_dataset
from ..graph import Graph, dumps_graph
from ..layers import fmt_shape
from ..task import is_gan_graph
from ..train.config import TrainConfig, default_config
from . import train_script_template as template
from .common import ExportError, check_destination, write_files
from .python_source import DOC_WIDTH, _docstring_text, _literal, _one_line, model_blocks

FORMAT = "train-script"
# The datasets a script can read, by the name Playground gives them: (the name it trains on, where its IDX files
# may lie below --data-dir). The mnist-sample is a slice of MNIST: its script reads the real thing.
SCRIPT_DATASETS = {"mnist": ("mnist", ("mnist", "MNIST", "MNIST/raw")),
                   "mnist-sample": ("mnist", ("mnist", "MNIST", "MNIST/raw")),
                   "fashion-mnist": ("fashion-mnist", ("fashion-mnist", "fashion_mnist", "Fashion-MNIST",
                                                       "FashionMNIST", "FashionMNIST/raw"))}
AMP_CHOICE = {True: "auto", False: "off", "bf16": "bf16"}  # TrainConfig.amp -> the script's --amp


def refusal(graph: Graph, dataset: str) -> str | None:
    """Why `graph` trained on `dataset` cannot be exported as a training script, or None when it can."""
    title = graph.name or "this network"
    if is_gan_graph(graph):
        return (f"{title} is a GAN (a generator and a discriminator trained against each other); the training "
                "script exports image classifiers. Train a GAN with `playground train`, or export its networks "
                "with --format python")
    if is_points_dataset(dataset):
        return (f"{title} trains on 2-D points ({dataset}), which train in seconds in Playground; the training "
                "script exports image classifiers (MNIST, Fashion-MNIST). Train it with `playground train`")
    if dataset == "folder":
        return (f"{title} trains on an image folder; the training script reads MNIST and Fashion-MNIST so far. "
                "Train it with `playground train --dataset folder --data-dir DIR`")
    if dataset not in SCRIPT_DATASETS:
        return f"{title}: the training script cannot read the dataset {dataset!r}"
    return None


def export_train_script(graph: Graph, path: Path, config: TrainConfig | None = None) -> list[Path]:
    """Write the training script of `graph` with `config` (default: the task's default recipe) to `path`.

    The dataset is `config.dataset`, else the graph's Input's. Raises ExportError (a refusal, a network that does
    not fit the data, a file that cannot be written) and GraphError (an invalid graph)."""
    path = Path(path)
    if path.suffix != ".py":
        raise ExportError(f"{path}: a training script is Python source; give a name ending in .py")
    check_destination(path)
    source = train_script_source(graph, config, script_name=path.name)
    return write_files({path: source.encode("utf-8")})


def train_script_source(graph: Graph, config: TrainConfig | None = None, script_name: str = "train.py") -> str:
    """The complete script (see the module's docstring). Raises ExportError or GraphError."""
    config = (config or default_config()).validate()
    dataset = config.dataset or graph.input_dataset()
    if (why := refusal(graph, dataset)) is not None:
        raise ExportError(f"cannot export a training script: {why}")
    name, spec_name = dataset, SCRIPT_DATASETS[dataset][0]
    spec = SPECS[spec_name]
    plan = plan_graph(graph)
    shapes = plan.analysis.shapes
    takes, answers = tuple(shapes[plan.input_id]), tuple(shapes[plan.result_id])
    if takes != (1, 28, 28) or answers != (spec.num_classes,):
        raise ExportError(f"cannot export a training script: {graph.name or 'the network'} takes "
                          f"{fmt_shape(takes)} and answers {fmt_shape(answers)}, but {name} holds 1×28×28 images "
                          f"of {spec.num_classes} classes")
    class_name, blocks = model_blocks(graph, plan)
    has_conv = any(ctor.cls.__name__ == "Conv2d" for _, _, ctor in plan.steps)
    frozen = [nid for nid, _, ctor in plan.steps if not graph.nodes[nid].trainable and _holds_state(ctor)]
    aug = DEFAULT_AUGMENTATION
    penalised = bool(config.l1 or config.l2)

    values = {
        "TITLE": _docstring_text(_one_line(graph.name) or "Untitled network"),
        "DESCRIPTION": _paragraph(graph.description),
        "SCRIPT": script_name if script_name.isprintable() and " " not in script_name else "train.py",
        "DATASET_TITLE": spec.title,
        "NAME": _literal(_one_line(graph.name) or "the network"),
        "DATASET": _literal(spec_name),
        "EPOCHS": _literal(config.epochs),
        "BATCH_SIZE": _literal(config.batch_size),
        "OPTIMIZER": _literal(config.optimizer),
        "LR": _literal(float(config.effective_lr)),
        "LR_NOTE": ("the peak rate of the one-cycle schedule" if config.schedule == "onecycle"
                    else "the base rate of the schedule"),
        "WEIGHT_DECAY": _literal(float(config.weight_decay)),
        "SCHEDULE": _literal(config.schedule),
        "WARMUP_EPOCHS": _literal(float(config.warmup_epochs)),
        "WARMUP_NOTE": ("a linear warm-up; for one-cycle 0 means the first 30% of the run"
                        if config.schedule == "onecycle" else "a linear warm-up from 0 over these epochs"),
        "AUGMENT": _literal(config.augment_name == "default"),
        "GRAD_CLIP": _literal(float(config.grad_clip)),
        "PENALTIES": (f"L1, L2 = {_literal(float(config.l1))}, {_literal(float(config.l2))}  # rate × Σ|w| and "
                      "rate × Σw² added to the loss, on weight matrices and kernels only\n" if penalised else ""),
        "SEED": _literal(config.seed),
        "AMP": _literal(AMP_CHOICE[config.amp]),
        "CLASSES": _literal(list(spec.classes)),
        "MEAN": _literal(spec.normalization.mean),
        "STD": _literal(spec.normalization.std),
        "DEGREES": _literal(float(aug.degrees)),
        "SCALE": _literal(tuple(float(v) for v in aug.scale)),
        "SHIFT": _literal(float(aug.shift)),
        "SUBFOLDERS": _literal(list(SCRIPT_DATASETS[dataset][1])),
        "LOSS_BODY": _loss_body(plan, graph),
        "GET_LR": _get_lr(config),
        "OPTIMIZER_CALL": _optimizer_call(config),
        "FROZEN": _frozen_block(frozen),
        "TRAIN_MODE": "set_train_mode(raw_model)" if frozen else "raw_model.train()",
        "CLASS": class_name,
        "PENALISED": ("    penalised = [p for p in clipped if p.dim() > 1]  # L1/L2: weight matrices and kernels "
                      "only\n" if penalised else ""),
        "CONFIG_PENALTIES": ' "l1": L1, "l2": L2,' if penalised else "",
        "OBJECTIVE": (textwrap.indent(textwrap.dedent("""\
            objective = loss  # the reported loss leaves the penalties out, as Playground reports it
            if L1:
                objective = objective + L1 * sum(p.abs().sum() for p in penalised)
            if L2:
                objective = objective + L2 * sum(p.square().sum() for p in penalised)
            """), " " * 12) if penalised else ""),
        "OBJECTIVE_NAME": "objective" if penalised else "loss",
    }
    memory = ("MEMORY_FORMAT = torch.channels_last  # oneDNN (CPU) and cuDNN (tensor cores) run the "
              "convolutions as they are stored\n" if has_conv else
              "MEMORY_FORMAT = torch.contiguous_format  # (channels_last pays for convolutions only)\n")
    model_part = ["# -- the model: the same source as `playground export --format python` --\n" + blocks[0],
                  *blocks[1:], memory]
    parts = [_fill(template.HEADER, values), *model_part, _fill(template.DATA, values),
             *_fill(template.TRAINING, values).split("\n\n\n"), _fill(template.MAIN, values), _graph_block(graph),
             'if __name__ == "__main__":\n    main()\n']
    source = "\n\n".join(part.rstrip("\n") + "\n" for part in parts if part.strip())
    source = re.sub(r"\n{4,}", "\n\n\n", source)  # two blank lines at most between blocks (none is empty)
    # Section rules ("# -- what ---…") run to the line length.
    source = re.sub(r"(?m)^(# -- .*?) -*$", lambda m: m.group(1) + " " + "-" * max(3, 119 - len(m.group(1))), source)
    ast.parse(source)  # a generator bug must never reach the user's disk as a broken file
    return source


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    if "@@" in text:
        raise AssertionError(f"unfilled placeholder in the training script: {text[text.index('@@'):][:40]}")
    return text


def _holds_state(ctor) -> bool:
    import torch

    with torch.device("meta"):
        return bool(ctor().state_dict())


def _paragraph(description: str) -> str:
    text = _one_line(description)
    if not text:
        return ""
    return "\n".join(textwrap.wrap(_docstring_text(text), DOC_WIDTH, break_long_words=False,
                                   break_on_hyphens=False)) + "\n\n"


def _loss_body(plan, graph: Graph) -> str:
    output = graph.nodes[plan.output_id]
    if output.params.get("loss", "cross_entropy") == "mse":
        return textwrap.indent(textwrap.dedent('''\
            """Mean squared error against one-hot targets (the network's loss); the class is still the largest
            score."""
            target = F.one_hot(labels, logits.shape[-1]).to(logits.dtype)
            per_sample = F.mse_loss(logits, target, reduction="none").mean(dim=-1)
            return per_sample.sum() if reduction == "sum" else per_sample.mean()'''), "    ")
    return ('    """Cross-entropy of the class scores (logits) against the labels: the network\'s loss."""\n'
            '    return F.cross_entropy(logits, labels, reduction=reduction)')


def _get_lr(config: TrainConfig) -> str:
    """get_lr for the recipe's schedule only, as `core/train/optim.py`'s `lr_at` computes it."""
    what = {"onecycle": "One-cycle (Smith's policy, as torch's OneCycleLR): up from LR/25 to LR over the warm-up, "
                        "then a cosine down to LR/10⁴",
            "constant": "Constant", "step": "×0.1 at half of the run and again at three quarters",
            "cosine": "A cosine decay from LR to 0"}[config.schedule]
    if config.schedule != "onecycle" and config.warmup_epochs:
        what += ", after a linear warm-up"
    doc = textwrap.wrap(f"The learning rate of the (0-based) global `step`: a pure function of the step, so that a "
                        f"resumed run goes on where the schedule was. {what}.", 112)
    lines = ["def get_lr(step, total_steps, steps_per_epoch):", f'    """{doc[0]}',
             *(f"    {line}" for line in doc[1:])]
    lines[-1] += '"""'
    if config.schedule == "onecycle":
        lines += ["    warmup = min(total_steps, round(WARMUP_EPOCHS * steps_per_epoch))"
                  " or max(1, round(0.3 * total_steps))",
                  "    start, end = LR / 25.0, LR / 1e4",
                  "    if step < warmup:",
                  "        return start + (LR - start) * step / warmup",
                  "    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))",
                  "    return end + (LR - end) * 0.5 * (1.0 + math.cos(math.pi * progress))"]
        return "\n".join(lines) + "\n"
    if config.warmup_epochs:
        lines += ["    warmup = min(total_steps, round(WARMUP_EPOCHS * steps_per_epoch))",
                  "    if step < warmup:",
                  "        return LR * (step + 1) / warmup"]
    if config.schedule == "constant":
        return "\n".join([*lines, "    return LR"]) + "\n"
    if not config.warmup_epochs:
        lines += ["    warmup = 0"]
    lines += ["    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))"]
    if config.schedule == "step":
        lines += ["    return LR * (0.1 if progress >= 0.5 else 1.0) * (0.1 if progress >= 0.75 else 1.0)"]
    else:
        lines += ["    return LR * 0.5 * (1.0 + math.cos(math.pi * progress))"]
    return "\n".join(lines) + "\n"


def _optimizer_call(config: TrainConfig) -> str:
    """The optimizer as `core/train/optim.py`'s `make_optimizer` makes it."""
    return {
        "sgd": "torch.optim.SGD(groups, lr=LR, fused=True)",
        "momentum": "torch.optim.SGD(groups, lr=LR, momentum=0.9, fused=True)",
        "nesterov": "torch.optim.SGD(groups, lr=LR, momentum=0.9, nesterov=True, fused=True)",
        "adam": "torch.optim.Adam(groups, lr=LR, fused=True)",
        "adamw": "torch.optim.AdamW(groups, lr=LR, fused=True)",
        # RMSprop has no fused kernel; foreach is its one-call-per-operation form.
        "rmsprop": "torch.optim.RMSprop(groups, lr=LR, alpha=0.99, eps=1e-8, foreach=True)",
    }[config.optimizer]


def _frozen_block(frozen: list[str]) -> str:
    if not frozen:
        return ""
    return textwrap.dedent(f'''\
        FROZEN = {_literal(frozen)}  # layers that do not train (trainable off in Playground) and hold state


        def set_train_mode(model):
            """Training mode, except for frozen layers: a frozen BatchNorm's statistics stay as they are."""
            model.train()
            for name in FROZEN:
                getattr(model, name).eval()
        ''')


def _graph_block(graph: Graph) -> str:
    """The graph as Playground saves it, as a Python literal: checkpoints carry it, so that Playground can open
    them."""
    data = json.loads(dumps_graph(graph))
    text = pprint.pformat(data, width=110, sort_dicts=False)
    if ast.literal_eval(text) != data or not _all_finite(data):
        raise ExportError("cannot export a training script: the graph holds values that Python source cannot carry")
    body = "\n".join(("        " + line if i else line) for i, line in enumerate(text.splitlines()))
    return ("# -- the network as Playground saves it: every checkpoint carries it, so that Playground can open it\n"
            "GRAPH = " + body + "\n")


def _all_finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return True
