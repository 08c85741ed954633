"""`playground train` of a GAN graph (a graph with a Noise node): the GanTrainer, headless.

Lines for a person go to stdout as the run goes (notes to stderr); the last
line of stdout is one JSON object: recognisable, classes_covered, steps,
seconds, steps_per_second and more (GanResult.summary()).

A GAN on 2-D points (its Input names a points set, or --csv gives one) trains
on every point of the set (--points, --noise, --data-seed; --test-share does
not apply: a GAN is not tested) and is not judged (the judge knows digits):
each epoch says instead how near the generated points lie to the real ones,
and the JSON has fake_to_real, real_to_fake and real_spacing (core/gan/plane.py).
"""

from __future__ import annotations

import json
import sys
import time

from .common import graph_problems, load_data, resolve_device_or_fail, say
from .errors import UserError

# Torch threads of a GAN run on a CPU. A GAN step is many small operations (batches of 16): a second thread gains
# little, and when another process shares the cores each operation waits for the slower thread, which made steps
# twelve times slower on a shared 2-core machine (docs/performance.md).
GAN_CPU_THREADS = 1

# Classifier settings a GAN run does not use, and what it uses instead.
_CLASSIFIER_ONLY = {"optimizer": "each network has its own Adam (--lr-g, --lr-d, --beta1)",
                    "lr": "use --lr-g and --lr-d", "weight_decay": None, "schedule": "a GAN's rates are constant",
                    "warmup_epochs": None, "grad_clip": None, "augment": "a GAN sees the data as it is"}


def _epoch_line(m, epochs: int | None) -> str:
    of = f"/{epochs}" if epochs else ""
    line = (f"epoch {m.epoch + 1}{of}  loss D {m.loss_d:.3f} G {m.loss_g:.3f}  D(real) {m.d_real:.2f} "
            f"D(fake) {m.d_fake:.2f}  {m.steps_per_second:.1f} steps/s  {m.seconds:.1f} s")
    if m.judge:
        line += f"  judge: {m.judge['verdict']}"
    if m.points:
        line += (f"  generated → real {m.points['fake_to_real']:.3f}, real → generated "
                 f"{m.points['real_to_fake']:.3f}")
    return line


def gan_callbacks(epochs: int | None, progress_bar: bool):
    from ..core.train import Callback

    class Lines(Callback):
        def on_note(self, trainer, text):
            say(text)

        def on_epoch_end(self, trainer, metrics):
            print(_epoch_line(metrics, epochs), flush=True)

    class ProgressBar(Callback):
        """A live line on the terminal (stderr), redrawn at most 10 times a second."""

        def __init__(self):
            self.next_draw = 0.0
            self.shown = False

        def on_step_end(self, trainer, step):
            now = time.monotonic()
            if now < self.next_draw:
                return
            self.next_draw = now + 0.1
            m = trainer.latest_metrics()
            print(f"\repoch {step.epoch + 1} step {step.step + 1}/{step.steps_per_epoch}  loss D {m['loss_d']:.3f} "
                  f"G {m['loss_g']:.3f}  D(real) {m['d_real']:.2f} D(fake) {m['d_fake']:.2f}  "
                  f"{trainer.train_seconds():.0f} s ", end="", file=sys.stderr, flush=True)
            self.shown = True

        def clear(self, *_):
            if self.shown:
                print("\r\033[K", end="", file=sys.stderr, flush=True)
                self.shown = False

        on_validation_end = on_pause = on_fit_end = on_exception = clear

    return [Lines(), ProgressBar()] if progress_bar else [Lines()]


def gan_config(args):
    """The TrainConfig of a GAN run from the command line (ConfigError for a bad value)."""
    from ..core.train import default_config

    config = default_config("generation", seed=args.seed, device=args.device)
    for name in ("epochs", "batch_size"):
        if getattr(args, name, None) is not None:
            setattr(config, name, getattr(args, name))
    if getattr(args, "amp", None) is not None:
        config.amp = {"on": True, "off": False}.get(args.amp, args.amp)
    for option, name in (("gan_loss", "gan_loss"), ("d_steps", "gan_d_steps"), ("lr_g", "gan_lr_g"),
                         ("lr_d", "gan_lr_d"), ("beta1", "gan_beta1"), ("label_smoothing", "gan_label_smoothing"),
                         ("points", "points"), ("noise", "points_noise"), ("data_seed", "points_seed")):
        if getattr(args, option, None) is not None:
            setattr(config, name, getattr(args, option))
    if getattr(args, "no_judge", False):
        config.gan_judge = False
    if getattr(args, "seconds", None) and getattr(args, "epochs", None) is None:
        config.epochs = 10_000  # the time limit ends the run
    return config.validate()


def cmd_train_gan(args, graph) -> int:
    from ..core.analysis import GraphError
    from ..core.data.points import is_points_dataset
    from ..core.gan.trainer import GanTrainer, JudgeEvery, TimeLimit
    from ..core.train import ConfigError, JsonlLogger, TrainingError
    from .train import _checkpoint_or_fail, _points_csv, _StopOnInterrupt, _writable_file

    for name, instead in _CLASSIFIER_ONLY.items():
        if getattr(args, name, None) is not None:
            say(f"note: --{name.replace('_', '-')} is a classifier setting; a GAN run ignores it"
                + (f" ({instead})" if instead else ""))
    if args.seconds is not None and not args.seconds > 0:
        raise UserError(f"--seconds must be a positive number, not {args.seconds:g}")
    try:
        config = gan_config(args)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    threads = GAN_CPU_THREADS if args.threads is None else args.threads
    if threads < 0:
        raise UserError(f"--threads must be 0 (torch's choice) or more, not {threads}")
    checkpoint = _writable_file(args.checkpoint, "--checkpoint") if args.checkpoint else None
    metrics_path = _writable_file(args.metrics_jsonl, "--metrics-jsonl") if args.metrics_jsonl else None
    init_from = _checkpoint_or_fail(args.init_from) if args.init_from else None  # before the data: fail fast
    csv = _points_csv(args)
    if csv is not None or is_points_dataset(args.dataset or graph.input_dataset()):
        dataset = _load_gan_points(args, graph, config, csv)
        if getattr(args, "test_share", None) is not None:
            say("note: --test-share does not apply to a GAN: every point is a real point (a GAN is not tested)")
        if args.judge_every:
            raise UserError("--judge-every: a GAN on 2-D points has no judge (the judge knows digits); each epoch "
                            "reports how near the generated points lie to the real ones instead")
        say("note: the judge is off for a GAN on 2-D points (it is a digit classifier); each epoch reports how "
            "near the generated points lie to the real ones instead")
    else:
        dataset = load_data(args.dataset, graph.input_dataset(), args.data_dir, args.download)
    config.dataset = dataset.name
    if threads and resolve_device_or_fail(config.device).type == "cpu":
        import torch

        torch.set_num_threads(threads)
    try:
        trainer = GanTrainer(graph, config, dataset=dataset, checkpoint_path=checkpoint)
    except GraphError as exc:
        raise graph_problems(args.graph, exc) from None
    except ValueError as exc:  # e.g. every layer of one network frozen, a generator that does not fit the data
        raise UserError(f"{args.graph}: {exc}") from None
    if init_from is not None:
        report = trainer.load_weights(init_from)
        say(f"--init-from: {report.summary()}")

    callbacks = gan_callbacks(None if args.seconds else config.epochs, progress_bar=sys.stderr.isatty())
    if args.seconds:
        callbacks.append(TimeLimit(args.seconds))
    judged = None
    if args.judge_every:
        if not config.gan_judge:
            raise UserError("--judge-every needs the judge; leave out --no-judge")
        judged = JudgeEvery(args.judge_every, say=lambda text: print(text, flush=True))
        callbacks.append(judged)
    if metrics_path is not None:
        callbacks.append(_gan_jsonl(metrics_path, every_steps=args.log_every, mode="w", base=JsonlLogger))
    precision = str(trainer.amp_dtype).removeprefix("torch.") if trainer.amp else "fp32"
    limit = f"{args.seconds:g} s of training" if args.seconds else f"{config.epochs} epoch(s)"
    say(f"training the GAN {graph.name or args.graph} on {trainer.device} for {limit}: {trainer.steps_per_epoch} "
        f"steps of {config.batch_size} per epoch ({config.gan_d_steps} D step(s) per G step), {config.gan_loss} "
        f"loss, Adam lr G {config.gan_lr_g:g} D {config.gan_lr_d:g} β1 {config.gan_beta1:g}, {precision}")
    try:
        with _StopOnInterrupt(trainer):
            result = trainer.fit(callbacks)
    except TrainingError as exc:
        summary = exc.result.summary() if exc.result else {"status": exc.kind}
        print(json.dumps({**summary, "error": str(exc)}), flush=True)
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename or 'a file'}: {exc.strerror or exc}") from None
    if result.judge is not None:
        print(f"after {result.global_step} steps ({result.train_seconds:.0f} s of training): {result.judge.verdict}",
              flush=True)
    if result.points is not None:
        print(f"after {result.global_step} steps ({result.train_seconds:.0f} s of training): "
              f"{result.points.verdict}", flush=True)
    if result.checkpoint_path:
        drawn = "-n 500 -o points.csv" if result.points is not None else "-n 64 -o grid.png"
        say(f"checkpoint: {result.checkpoint_path} (draw samples: playground sample {result.checkpoint_path} "
            f"{drawn})")
    summary = result.summary()
    if result.points is not None:
        summary["judge"] = "off: a GAN on 2-D points (the judge knows digits)"
        summary["verdict"] = result.points.verdict
    if judged is not None:
        summary["judged"] = [{"train_seconds": round(t, 1), "steps": step, "recognisable": round(r.recognisable, 4),
                              "classes_covered": r.classes_covered} for t, step, r in judged.verdicts]
    print(json.dumps(summary), flush=True)
    return 0


def _load_gan_points(args, graph, config, csv):
    """The real points of a GAN on 2-D points: every point of the set (load_points_dataset(gan=True))."""
    from ..core.data import DatasetError
    from ..core.data.points import OWN_POINTS
    from ..core.data.points_dataset import load_points_dataset

    if csv is None and args.data_dir is not None:
        raise UserError(f"--data-dir {args.data_dir}: for 2-D points give a CSV file of x,y,label (or a folder "
                        "holding points.csv)")
    name = OWN_POINTS if csv is not None else args.dataset or graph.input_dataset()
    try:
        dataset = load_points_dataset(name, config, own=graph.points, csv=csv, gan=True)
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    say(f"data: {dataset.source}")
    return dataset


def _gan_jsonl(path, every_steps: int, mode: str, base):  # a class made on demand: no torch at import
    class GanJsonlLogger(base):
        """JsonlLogger with a GAN's last record: the judge's verdict instead of a test accuracy."""

        def on_step_end(self, trainer, step):
            if self.every_steps and step.global_step % self.every_steps == 0:
                self._write({"type": "step", "epoch": step.epoch, "global_step": step.global_step,
                             **trainer.latest_metrics()})

        def on_fit_end(self, trainer, result):
            self._write({"type": "end", "status": result.status, "epochs_completed": result.epochs_completed,
                         "judge": result.judge.to_dict() if result.judge else None,
                         **({"points": result.points.to_dict()} if result.points is not None else {})})
            self._close()

    return GanJsonlLogger(path, every_steps=every_steps, mode=mode)
