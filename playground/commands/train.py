"""`playground train`, `evaluate` and `predict`: the Trainer and a checkpoint's model, without a window.

Human-readable lines go to stdout as the run goes (and notes to stderr); the
very last line of stdout is one JSON object, for scripts.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

from .common import graph_problems, load_data, resolve_device_or_fail, say
from .errors import UserError


def _graph_or_fail(ref: str):
    from ..core.graph import GraphFileError, load_graph

    try:
        return load_graph(ref)
    except GraphFileError as exc:
        raise UserError(str(exc)) from None


def _checkpoint_or_fail(path: str, classifier: bool = False):
    from ..core.gan.structure import is_gan_graph
    from ..core.train import CheckpointError, load_checkpoint

    try:
        ckpt = load_checkpoint(path)
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    if classifier and is_gan_graph(ckpt.graph):
        raise UserError(f"{path}: holds a GAN, which makes images instead of classifying them; draw its samples "
                        f"with: playground sample {path} -o grid.png")
    return ckpt


def _writable_file(path: str, what: str) -> Path:
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{what} {p}: is a folder; give a file name")
    if not p.parent.is_dir():
        raise UserError(f"{what} {p}: the folder {p.parent} does not exist")
    return p


# -- train --------------------------------------------------------------------------------


def _epoch_line(m, epochs: int) -> str:
    def accuracy(value):
        return "" if value is None or value != value else f" acc {value:6.2%}"  # none for a regression

    return (f"epoch {m.epoch + 1}/{epochs}  train loss {m.train_loss:.4f}{accuracy(m.train_accuracy)}  "
            f"test loss {m.val_loss:.4f}{accuracy(m.val_accuracy)}  {m.samples_per_second:,.0f} samples/s  "
            f"{m.seconds:.2f} s")


def _callbacks(epochs: int, progress_bar: bool):
    from ..core.train import Callback

    every = max(1, epochs // 20)  # 2-D points run hundreds of short epochs: about 20 lines, and the last

    class EpochLines(Callback):
        def on_epoch_end(self, trainer, metrics):
            if (metrics.epoch + 1) % every == 0 or metrics.epoch + 1 == epochs:
                print(_epoch_line(metrics, epochs), flush=True)

    class ProgressBar(Callback):
        """A live line on the terminal (stderr), redrawn at most 10 times a second."""

        WIDTH = 28

        def __init__(self):
            self.next_draw = 0.0
            self.epoch_start = 0.0
            self.shown = False

        def on_step_end(self, trainer, step):
            now = time.monotonic()
            if step.step == 0:
                self.epoch_start = now
            if now < self.next_draw and step.step + 1 < step.steps_per_epoch:
                return
            self.next_draw = now + 0.1
            done = (step.step + 1) / step.steps_per_epoch
            filled = int(done * self.WIDTH)
            rate = (step.step + 1) * step.batch_size / max(1e-9, now - self.epoch_start)
            bar = "█" * filled + "·" * (self.WIDTH - filled)
            print(f"\repoch {step.epoch + 1}/{epochs} {bar} {done:4.0%}  loss {trainer.latest_loss():.4f}  "
                  f"{rate:,.0f} samples/s ", end="", file=sys.stderr, flush=True)
            self.shown = True

        def clear(self, *_):
            if self.shown:
                print("\r\033[K", end="", file=sys.stderr, flush=True)
                self.shown = False

        on_validation_end = on_pause = on_fit_end = on_exception = clear

    return [ProgressBar(), EpochLines()] if progress_bar else [EpochLines()]


class _StopOnInterrupt:
    """The first Ctrl-C stops the run cleanly after the current step (a checkpoint is still written);
    a second one interrupts at once."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        say("\nstopping after this step (Ctrl-C again to interrupt at once)")
        self.trainer.stop()
        signal.signal(signal.SIGINT, self.previous or signal.default_int_handler)

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def cmd_train(args) -> int:
    from ..core.analysis import GraphError, analyze
    from ..core.data.points import is_points_dataset
    from ..core.gan.structure import is_gan_graph
    from ..core.run.job import POINTS_CPU_THREADS
    from ..core.task import CLASSIFICATION, POINTS
    from ..core.train import ConfigError, JsonlLogger, Trainer, TrainingError
    from ..core.train.config import default_config

    graph = _graph_or_fail(args.graph)
    analysis = analyze(graph)  # milliseconds: report an invalid graph before loading any data
    if not analysis.ok:
        raise graph_problems(args.graph, GraphError(analysis.problems))
    if is_gan_graph(graph):  # a generator and a discriminator: commands/gan.py
        from .gan import cmd_train_gan

        return cmd_train_gan(args, graph)
    if getattr(args, "seconds", None) is not None:
        raise UserError("--seconds limits GAN runs only; give a classifier --epochs")
    csv = _points_csv(args)
    points = csv is not None or is_points_dataset(args.dataset or graph.input_dataset())
    config = default_config(POINTS if points else CLASSIFICATION, seed=args.seed, device=args.device)
    for name in ("epochs", "batch_size", "optimizer", "lr", "schedule", "augment", "weight_decay", "warmup_epochs",
                 "grad_clip", "points", "l1", "l2"):
        if getattr(args, name, None) is not None:
            setattr(config, name, getattr(args, name))
    folder = not points and (args.dataset or graph.input_dataset()) == "folder"
    for name, field in (("noise", "points_noise"), ("test_share", "folder_test_share" if folder else
                                                    "points_test_share"), ("data_seed", "points_seed"),
                        ("image_size", "folder_size"), ("channels", "folder_channels")):
        if getattr(args, name, None) is not None:
            if field.startswith("folder_") and not folder:
                raise UserError(f"--{name.replace('_', '-')} is for image folders (--dataset folder --data-dir DIR)")
            setattr(config, field, getattr(args, name))
    if folder and args.augment is None:
        config.augment = "none"  # the shifts and turns are for digits; --augment default asks for them
    if getattr(args, "amp", None) is not None:
        config.amp = {"on": True, "off": False}.get(args.amp, args.amp)
    try:
        config.validate()
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    checkpoint = _writable_file(args.checkpoint, "--checkpoint") if args.checkpoint else None
    metrics_path = _writable_file(args.metrics_jsonl, "--metrics-jsonl") if args.metrics_jsonl else None
    init_from = _checkpoint_or_fail(args.init_from) if args.init_from else None  # before the data: fail fast

    if points:
        dataset = _load_points(args, graph, config, csv)
        threads = POINTS_CPU_THREADS if args.threads is None else args.threads
        if threads > 0 and resolve_device_or_fail(config.device).type == "cpu":
            import torch

            torch.set_num_threads(threads)
    else:
        dataset = load_data(args.dataset, graph.input_dataset(), args.data_dir, args.download, config)
        if dataset.skipped:
            say(f"note: {dataset.skipped_summary}")
    config.dataset = dataset.name
    try:
        trainer = Trainer(graph, config, dataset=dataset, checkpoint_path=checkpoint)
    except GraphError as exc:
        raise graph_problems(args.graph, exc) from None
    except ValueError as exc:  # e.g. every layer frozen; a network that does not fit the points (ConfigError)
        raise UserError(f"{args.graph}: {exc}") from None
    if init_from is not None:
        report = trainer.load_weights(init_from)
        say(f"--init-from: {report.summary()}")

    callbacks = _callbacks(config.epochs, progress_bar=sys.stderr.isatty())
    if metrics_path is not None:
        callbacks.append(JsonlLogger(metrics_path, every_steps=args.log_every, mode="w"))
    if config.amp == "bf16" and not trainer.amp:
        say(f"note: --amp bf16: {trainer.device} does not compute in bf16 (on a CPU that takes AMX-BF16 or "
            "AVX512-BF16), where it would be slower than fp32: training in fp32")
    precision = str(trainer.amp_dtype).removeprefix("torch.") if trainer.amp else "fp32"
    augment = "" if points else f", augment {config.augment_name}"
    regularised = "".join(f", {name.upper()} {getattr(config, name):g}" for name in ("l1", "l2")
                          if getattr(config, name))
    say(f"training {graph.name or args.graph} on {trainer.device} for {config.epochs} epoch(s): "
        f"{trainer.steps_per_epoch} steps of {config.batch_size} per epoch, {config.optimizer} "
        f"lr {config.effective_lr:g}, {config.schedule} schedule{augment}{regularised}, {precision}")
    try:
        with _StopOnInterrupt(trainer):
            result = trainer.fit(callbacks)
    except TrainingError as exc:
        summary = exc.result.summary() if exc.result else {"status": exc.kind}
        print(json.dumps({**summary, "error": str(exc)}), flush=True)
        raise UserError(str(exc)) from None
    except OSError as exc:  # the checkpoint or the log could not be written
        raise UserError(f"cannot write {exc.filename or 'a file'}: {exc.strerror or exc}") from None
    if result.status == "stopped":
        say(f"stopped after {result.global_step} steps ({result.epochs_completed} full epochs)")
    if result.test is None:  # stopped before the first epoch ended: measure what there is
        result.test = trainer.evaluate("test")
    if result.checkpoint_path:
        say(f"checkpoint: {result.checkpoint_path}")
    print(json.dumps(result.summary()), flush=True)
    return 0


def _points_csv(args) -> Path | None:
    """The CSV file of points asked for: --csv FILE, or --data-dir naming a .csv file or a folder with
    points.csv (a folder of IDX files is for images)."""
    if getattr(args, "csv", None):
        return Path(args.csv)
    if args.data_dir is None:
        return None
    folder = Path(args.data_dir)
    if folder.is_file() and folder.suffix.lower() == ".csv":
        return folder
    if folder.is_dir() and (folder / "points.csv").is_file():
        return folder / "points.csv"
    return None


def _load_points(args, graph, config, csv: Path | None):
    from ..core.data import DatasetError
    from ..core.data.points import OWN_POINTS
    from ..core.data.points_dataset import load_points_dataset

    name = OWN_POINTS if csv is not None else args.dataset or graph.input_dataset()
    if csv is None and args.data_dir is not None:
        raise UserError(f"--data-dir {args.data_dir}: for 2-D points give a CSV file of x,y,label (or a folder "
                        "holding points.csv)")
    try:
        dataset = load_points_dataset(name, config, own=graph.points, csv=csv)
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    say(f"data: {dataset.source}")
    return dataset


# -- evaluate -----------------------------------------------------------------------------


def cmd_evaluate(args) -> int:
    from ..core.data import DeviceData
    from ..core.train import CheckpointError, evaluate
    from ..core.train.inference import model_from_checkpoint
    from ..core.train.trainer import loss_function

    ckpt = _checkpoint_or_fail(args.checkpoint, classifier=True)
    device = resolve_device_or_fail(args.device)
    try:
        model = model_from_checkpoint(ckpt, device, source=args.checkpoint)
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    if _points_checkpoint(ckpt):
        return _evaluate_points(args, ckpt, model, device)
    dataset = _load_for_checkpoint(args, ckpt)
    _check_fits(args.checkpoint, ckpt, dataset)
    if dataset.name == "folder":  # scaled as the network was trained (its own folder's training pixels)
        from ..core.train.inference import checkpoint_normalization

        data = DeviceData(*dataset.split("test"), device, checkpoint_normalization(ckpt))
    else:
        data = DeviceData.from_dataset(dataset, "test", device)
    metrics = evaluate(model, data, loss=loss_function(ckpt.graph), num_classes=dataset.num_classes)
    print(f"{dataset.name} test: accuracy {metrics.accuracy:.2%}, loss {metrics.loss:.4f} "
          f"({metrics.samples:,} images, {metrics.seconds:.1f} s)")
    return _evaluation_json(metrics, dataset, device)


def _load_for_checkpoint(args, ckpt):
    """The data to evaluate a checkpoint on: --dataset/--data-dir, else what it was trained on. An image folder
    is read again with the run's settings (its size and channels), from --data-dir or the folder it names."""
    from ..core.train import TrainConfig
    from ..core.train.inference import checkpoint_dataset

    trained_on = checkpoint_dataset(ckpt)
    name = args.dataset or (trained_on if trained_on == "folder" else ckpt.graph.input_dataset())
    if name != "folder":
        return load_data(args.dataset, ckpt.graph.input_dataset(), args.data_dir, args.download)
    config = TrainConfig.from_dict({**ckpt.config, "device": "cpu"})
    if trained_on != "folder":  # another network asked to be scored on a folder: its Input's shape says how
        (input_node,) = ckpt.graph.nodes_of_kind("input")
        shape = tuple(input_node.params.get("shape", ()))
        if len(shape) == 3 and shape[0] in (1, 3) and shape[1] == shape[2]:
            config.folder_size, config.folder_channels = shape[1], "rgb" if shape[0] == 3 else "gray"
    data_dir = args.data_dir or config.folder
    if data_dir is None:
        raise UserError(f"{args.checkpoint}: give the image folder with --data-dir DIR")
    if args.data_dir is None and not Path(data_dir).is_dir():
        raise UserError(f"{args.checkpoint}: was trained on the image folder {data_dir}, which is not there any "
                        "more; give it with --data-dir DIR")
    dataset = load_data("folder", "folder", data_dir, False, config)
    if dataset.skipped:
        say(f"note: {dataset.skipped_summary}")
    return dataset


def _evaluation_json(metrics, dataset, device) -> int:
    """The evaluation's last line, for scripts (test_accuracy is null for a regression)."""
    print(json.dumps({"test_accuracy": metrics.accuracy, "test_loss": metrics.loss, "samples": metrics.samples,
                      "dataset": dataset.name, "device": str(device),
                      "per_class_accuracy": metrics.per_class_accuracy}), flush=True)
    return 0


def _points_checkpoint(ckpt) -> bool:
    from ..core.data.points import is_points_dataset
    from ..core.train.inference import checkpoint_dataset

    return is_points_dataset(checkpoint_dataset(ckpt))


def _evaluate_points(args, ckpt, model, device) -> int:
    """A network on 2-D points: its test points again, made from the run's own settings (or --csv)."""
    from ..core.data import DatasetError
    from ..core.data.points_dataset import load_points_dataset
    from ..core.train import TrainConfig, evaluate
    from ..core.train.inference import checkpoint_dataset
    from ..core.train.trainer import evaluate_regression, loss_function

    if args.dataset is not None or args.data_dir is not None:
        raise UserError(f"{args.checkpoint}: a network on 2-D points is evaluated on the points it was trained "
                        "with (its settings are in the checkpoint); --dataset and --data-dir are for images")
    config = TrainConfig.from_dict(ckpt.config)
    try:
        dataset = load_points_dataset(checkpoint_dataset(ckpt), config, own=ckpt.graph.points)
    except DatasetError as exc:
        raise UserError(f"{args.checkpoint}: {exc}") from None
    data = dataset.on_device("test", device)
    if dataset.regression:
        metrics = evaluate_regression(model, data)
        print(f"{dataset.source}: test loss (mean squared error) {metrics.loss:.4f} ({metrics.samples:,} points)")
    else:
        metrics = evaluate(model, data, loss=loss_function(ckpt.graph), num_classes=dataset.num_classes)
        print(f"{dataset.source}: test accuracy {metrics.accuracy:.2%}, loss {metrics.loss:.4f} "
              f"({metrics.samples:,} points)")
    return _evaluation_json(metrics, dataset, device)


def _check_fits(source: str, ckpt, dataset) -> None:
    """Refuse a dataset the checkpoint's network cannot take; note one it was not trained on."""
    from ..core.build import analyze
    from ..core.layers import fmt_shape
    from ..core.train.inference import checkpoint_dataset

    analysis = analyze(ckpt.graph)  # valid: the checkpoint reader checked it
    (input_node,) = ckpt.graph.nodes_of_kind("input")
    (output_node,) = ckpt.graph.nodes_of_kind("output")
    takes, answers = tuple(analysis.shapes[input_node.id]), tuple(analysis.shapes[output_node.id])
    if takes != tuple(dataset.sample_shape) or answers != (dataset.num_classes,):
        raise UserError(f"{source}: its network takes {fmt_shape(takes)} and answers {fmt_shape(answers)}, but "
                        f"{dataset.name} holds {fmt_shape(tuple(dataset.sample_shape))} images of "
                        f"{dataset.num_classes} classes")
    trained_on = checkpoint_dataset(ckpt)
    if dataset.name == "folder" and ckpt.extra.get("classes") and list(ckpt.extra["classes"]) != \
            list(dataset.classes):
        say(f"note: {source} names its classes {', '.join(ckpt.extra['classes'])}; the folder's are "
            f"{', '.join(dataset.classes)}")
    if trained_on.removesuffix("-sample") != dataset.name.removesuffix("-sample"):
        say(f"note: {source} was trained on {trained_on}; these are its scores on {dataset.name}")


# -- predict ------------------------------------------------------------------------------


def cmd_predict(args) -> int:
    import numpy as np
    import torch

    from ..core.data import NO_INK, ImageFileError, is_blank, preprocess_digit, read_image
    from ..core.train import CheckpointError
    from ..core.train.inference import (
        checkpoint_dataset,
        checkpoint_normalization,
        model_from_checkpoint,
        predict_probabilities,
    )
    from ..core.train.trainer import loss_function

    ckpt = _checkpoint_or_fail(args.checkpoint, classifier=True)
    if _points_checkpoint(ckpt):
        raise UserError(f"{args.checkpoint}: holds a network on 2-D points, and predict classifies images; see "
                        f"its test points with: playground evaluate {args.checkpoint}")
    try:
        model = model_from_checkpoint(ckpt, "cpu", source=args.checkpoint)
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    # One bad file does not sink the batch: every file gets its line, in order; a failure is an "error" line.
    answers: list[dict | None] = []  # None: to be classified
    digits, readable = [], []
    folder = checkpoint_dataset(ckpt) == "folder"
    if folder:  # read as its image folder was: the centre square resized, in colour for an RGB network
        from ..core.data.folders import square_image

        (input_node,) = ckpt.graph.nodes_of_kind("input")
        channels, _, side = (int(v) for v in input_node.params["shape"])
    for path in args.images:
        try:
            if folder:
                image = square_image(read_image(path, color=channels == 3), side, channels)
                answers.append(None)
                digits.append(image)
                readable.append(path)
                continue
            digit = preprocess_digit(read_image(path))
        except ImageFileError as exc:
            answers.append({"file": path, "error": _without_path(str(exc), path)})
            continue
        except ValueError as exc:
            answers.append({"file": path, "error": str(exc)})
            continue
        if is_blank(digit):  # any network answers a blank field, often confidently: say it is blank instead
            answers.append({"file": path, "error": NO_INK})
            continue
        answers.append(None)
        digits.append(digit)
        readable.append(path)
    classified = iter(())
    if digits:
        images = torch.from_numpy(np.stack(digits))
        probabilities = predict_probabilities(model, images, checkpoint_normalization(ckpt), loss_function(ckpt.graph))
        classes = ckpt.extra.get("classes") or [str(i) for i in range(probabilities.shape[1])]
        results = []
        for path, p in zip(readable, probabilities.double().tolist(), strict=True):
            best = max(range(len(p)), key=p.__getitem__)
            label = str(classes[best]) if best < len(classes) else None
            results.append({"file": path, "digit": best, "label": label, "probabilities": p} if not folder
                           else {"file": path, "class": best, "label": label, "probabilities": p})
        classified = iter(results)
    failed = 0
    for answer in answers:
        if answer is None:
            answer = next(classified)
        else:
            failed += 1
            print(f"playground: error: {answer['file']}: {answer['error']}", file=sys.stderr, flush=True)
        print(json.dumps(answer), flush=True)
    return 2 if failed else 0


def _without_path(message: str, path: str) -> str:
    """An ImageFileError's message less the file name it starts with (the JSON line names the file)."""
    for prefix in (f"{path}: ", f"{Path(path)}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message
