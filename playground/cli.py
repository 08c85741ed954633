"""The `playground` command: the app by default, and headless subcommands.

Every failure a user can cause (bad paths, malformed files, impossible graphs)
ends in one clear message on stderr and exit code 2, never a traceback.
Heavy imports (torch, Qt) happen inside the commands that need them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback

from .commands.errors import EXIT_USER_ERROR, UserError
from .core.run.launcher import SERVE_FLAGS  # torch-free: a frozen app's executable serves its helper processes


def _cmd_presets(args) -> int:
    from .core.resources import preset_names

    print("\n".join(preset_names()))
    return 0


def _cmd_inspect(args) -> int:
    from .core.analysis import analyze  # torch-free: inspect never imports torch
    from .core.graph import GraphFileError, load_graph
    from .core.summary import summary_json, summary_table

    try:
        graph = load_graph(args.graph)
    except GraphFileError as exc:
        if args.json:
            print(json.dumps({"name": None, "valid": False, "params": 0, "nodes": [],
                              "errors": [{"node": None, "message": str(exc)}]}))
        raise UserError(str(exc)) from None
    analysis = analyze(graph)
    if args.json:
        print(json.dumps(summary_json(graph, analysis)))
    else:
        title = f"{graph.name or 'Untitled'} ({args.graph})"
        print(summary_table(graph, analysis, title))
    return 0 if analysis.ok else EXIT_USER_ERROR


def _cmd_export(args) -> int:
    from .core.build import GraphError
    from .core.export import ExportError, export_graph
    from .core.gan.model import ema_weights
    from .core.gan.structure import is_gan_graph
    from .core.graph import GraphFileError, load_graph
    from .core.train.checkpoint import CheckpointError, load_checkpoint
    from .core.train.config import ConfigError

    if args.config and args.format != "train-script":
        raise UserError("--config is the recipe of a training script: use it with --format train-script")
    if args.config and args.checkpoint:
        raise UserError("give the recipe with --config or with --checkpoint, not both")
    try:
        graph = load_graph(args.graph)
        if args.format == "train-script":
            written = export_graph(graph, "train-script", args.output, config=_script_recipe(args))
        else:
            state_dict = None
            if args.checkpoint:
                checkpoint = load_checkpoint(args.checkpoint)
                state_dict = checkpoint.state_dict
                if is_gan_graph(checkpoint.graph) and (ema := ema_weights(checkpoint, args.checkpoint)) is not None:
                    state_dict = {**state_dict, **ema}  # a GAN's samples come from its averaged generator
            written = export_graph(graph, args.format, args.output, state_dict=state_dict)
    except ConfigError as exc:
        raise UserError(f"{args.config or args.checkpoint}: {exc}") from None
    except (GraphFileError, CheckpointError, ExportError) as exc:
        raise UserError(str(exc)) from None
    except GraphError as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
        raise UserError(f"{args.graph}: the graph is not valid:\n{problems}") from None
    for path in written:
        print(path)
    return 0


def _script_recipe(args):
    """A training script's recipe: from --config (a JSON object of training settings), a checkpoint's (the run it
    records), or None (the default one). Raises UserError, ConfigError and CheckpointError."""
    from .core.train.checkpoint import load_checkpoint
    from .core.train.config import TrainConfig

    if args.config:
        try:
            with open(args.config, encoding="utf-8") as f:
                settings = json.load(f)
        except OSError as exc:
            raise UserError(f"--config {args.config}: cannot read it ({exc.strerror or exc})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"--config {args.config}: not a JSON file ({exc})") from None
        if not isinstance(settings, dict):
            raise UserError(f"--config {args.config}: expected a JSON object of training settings "
                            "(optimizer, lr, epochs, …)")
        return TrainConfig.from_dict({**settings, "device": "cpu"})
    if args.checkpoint:
        checkpoint = load_checkpoint(args.checkpoint)
        config = TrainConfig.from_dict({**checkpoint.config, "device": "cpu"})
        config.dataset = checkpoint.extra.get("dataset") or config.dataset
        return config
    return None


def _cmd_train(args) -> int:
    from .commands.train import cmd_train

    return cmd_train(args)


def _cmd_evaluate(args) -> int:
    from .commands.train import cmd_evaluate

    return cmd_evaluate(args)


def _cmd_predict(args) -> int:
    from .commands.train import cmd_predict

    return cmd_predict(args)


def _cmd_sample(args) -> int:
    from .commands.sample import cmd_sample

    return cmd_sample(args)


def _cmd_bench(args) -> int:
    from .commands.bench import cmd_bench

    return cmd_bench(args)


def _cmd_finetune(args) -> int:
    from .commands.finetune import cmd_finetune

    return cmd_finetune(args)


def _cmd_gui(path: str | None) -> int:
    from .app import run_app

    return run_app(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playground", description="A desktop neural-network playground.")
    parser.add_argument("--self-test", action="store_true", help="open the window, train a short run, classify a "
                        "drawn digit and quit: exit 0 if it all worked (see playground --self-test --help)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("presets", help="list the shipped preset graphs, one per line")
    p.set_defaults(run=_cmd_presets)

    p = sub.add_parser("inspect", help="summarise a graph: shapes, parameters, problems")
    p.add_argument("graph", metavar="GRAPH", help="a graph file or preset:NAME")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(run=_cmd_inspect)

    p = sub.add_parser("export", help="export a graph as PyTorch source, a training script (one GPU or many), a "
                                      "torch.export program or ONNX")
    p.add_argument("graph", metavar="GRAPH", help="a graph file or preset:NAME")
    p.add_argument("--format", required=True, choices=("python", "train-script", "pt2", "onnx"),
                   help="train-script: a standalone train.py (torch and NumPy only) that runs the recipe on one device "
                        "or under torchrun with DistributedDataParallel")
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="file to write")
    p.add_argument("--checkpoint", metavar="CKPT", help="take the weights from this training checkpoint "
                                                        "(train-script: the recipe of the run it records)")
    p.add_argument("--config", metavar="JSON", help="train-script: the recipe, a JSON object of training settings "
                                                    "(optimizer, lr, epochs, batch_size, …; default: the default "
                                                    "recipe)")
    p.set_defaults(run=_cmd_export)

    # = playground.core.data.DATASET_NAMES (not imported: torch), and "folder": an image folder
    datasets = ("mnist", "fashion-mnist", "mnist-sample", "folder")

    def data_options(p, download=True, points=False, folder_settings=False):
        from .core.data.point_sets import POINT_SETS  # no torch, no NumPy

        p.add_argument("--dataset", choices=datasets + (tuple(POINT_SETS) if points else ()),
                       help="default: the dataset named by the graph's Input node; folder: the image folder "
                            "--data-dir DIR (one sub-folder per class of PNG/JPEG/BMP/GIF files, optionally in "
                            "train/ and test/)")
        p.add_argument("--data-dir", metavar="DIR", help="folder holding the dataset's IDX files (--dataset folder: "
                       "the image folder; evaluate: default the one the checkpoint was trained on)"
                       + (" (for 2-D points: a CSV file of x,y,label, or a folder holding points.csv)" if points
                          else ""))
        if folder_settings:
            img = p.add_argument_group("image folders (--dataset folder)")
            img.add_argument("--image-size", type=int, metavar="N", help="resize to N×N (each image's centre "
                             "square; default: the smallest side, rounded down to a multiple of 4, at most 64)")
            img.add_argument("--channels", choices=("auto", "gray", "rgb"),
                             help="auto (default): RGB when any image has colour, else grayscale")
        if download:
            p.add_argument("--download", action="store_true", help="allow downloading the dataset into the cache")
        p.add_argument("--device", default="auto", help="auto (CUDA if there is one), cpu, cuda or cuda:N")

    p = sub.add_parser("train", help="train a graph headless; the last line of output is a JSON summary")
    p.add_argument("graph", metavar="GRAPH", help="a graph file or preset:NAME")
    data_options(p, points=True, folder_settings=True)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--optimizer", choices=("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"))
    p.add_argument("--lr", type=float, help="learning rate (default: a good one for the optimizer)")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=("constant", "step", "cosine", "onecycle"))
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--grad-clip", type=float, metavar="NORM", help="largest gradient norm per step (0: off; default 1)")
    p.add_argument("--augment", choices=("none", "default"))
    p.add_argument("--amp", choices=("on", "off", "bf16"),
                   help="mixed precision. on (default): where it pays, a CUDA GPU (bf16 or fp16); bf16: bf16 "
                        "autocast where the GPU or the CPU computes in bf16 (AMX-BF16, AVX512-BF16), fp32 "
                        "elsewhere; off: fp32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", metavar="OUT", help="write a checkpoint here (each epoch, and at the end)")
    p.add_argument("--init-from", metavar="CKPT", help="start from the weights of this checkpoint where names "
                                                       "and shapes match (transfer learning)")
    p.add_argument("--metrics-jsonl", metavar="FILE", help="write one JSON object per epoch (and logged step)")
    p.add_argument("--log-every", type=int, default=50, metavar="N", help="log the loss every N steps to "
                                                                         "--metrics-jsonl (0: epochs only)")
    pts = p.add_argument_group("2-D points (an Input node of shape [2]; see --dataset)")
    pts.add_argument("--csv", metavar="FILE", help="train on the points of this CSV file of x,y,label (a header "
                                                   "row optional; labels 0, 1, 2 are classes, values in -1..1 a "
                                                   "regression)")
    pts.add_argument("--points", type=int, metavar="N", help="points in a generated dataset (default 500)")
    pts.add_argument("--noise", type=float, metavar="F", help="noise, 0 to 0.5 (default 0)")
    pts.add_argument("--test-share", type=float, metavar="F", help="share held out for testing (default 0.5; an "
                                                                  "image folder without train/ and test/: 0.2)")
    pts.add_argument("--data-seed", type=int, metavar="N", help="the generator's seed (default 0)")
    pts.add_argument("--l1", type=float, metavar="RATE", help="L1 regularisation of the weights (default 0)")
    pts.add_argument("--l2", type=float, metavar="RATE", help="L2 regularisation of the weights (default 0)")
    gan = p.add_argument_group("GANs (graphs with a Noise node)")
    gan.add_argument("--threads", type=int, metavar="N", help="torch threads on a CPU (default for a GAN: 1, see "
                                                              "docs/performance.md; 0: torch's choice)")
    gan.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds of training (judging not "
                                                                "counted); without --epochs, S alone ends the run")
    gan.add_argument("--gan-loss", choices=("non_saturating", "least_squares"), help="default: non_saturating")
    gan.add_argument("--d-steps", type=int, metavar="K", help="discriminator steps per generator step (default 1)")
    gan.add_argument("--lr-g", type=float, metavar="LR", help="the generator's learning rate (Adam; default 2e-3)")
    gan.add_argument("--lr-d", type=float, metavar="LR", help="the discriminator's (default 2e-3)")
    gan.add_argument("--beta1", type=float, help="Adam's β1 for both networks (default 0.5)")
    gan.add_argument("--label-smoothing", type=float, metavar="S",
                     help="one-sided: the discriminator's target for real images is 1 - S (default 0: off)")
    gan.add_argument("--judge-every", type=float, metavar="S",
                     help="also judge every S seconds of training (a line each, and \"judged\" in the JSON)")
    gan.add_argument("--no-judge", action="store_true",
                     help="do not judge samples (the judge is a digit classifier trained once and cached)")
    p.set_defaults(run=_cmd_train)

    p = sub.add_parser("sample", help="draw a grid of samples from a GAN checkpoint into a PNG file")
    p.add_argument("checkpoint", metavar="CKPT", help="a checkpoint of a GAN (playground train … --checkpoint)")
    p.add_argument("-n", "--samples", type=int, default=64, metavar="N", help="how many samples (default 64)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the PNG file to write (a GAN on 2-D "
                                                                         "points: a CSV file of x,y,label)")
    p.add_argument("--cols", type=int, metavar="C", help="columns of the grid (default: as square as fits)")
    p.add_argument("--scale", type=int, default=2, metavar="K", help="enlarge each pixel K times (default 2)")
    p.add_argument("--seed", type=int, help="noise seed (default: the run's, so 64 samples are the grid the app "
                                            "showed)")
    p.add_argument("--walk", action="store_true", help="a latent walk instead: N images on the line between two "
                                                       "noise vectors")
    p.add_argument("--device", default="cpu", help="cpu (default), auto, cuda or cuda:N")
    p.set_defaults(run=_cmd_sample)

    p = sub.add_parser("evaluate", help="test accuracy and loss of a checkpoint; the last line is JSON")
    p.add_argument("checkpoint", metavar="CKPT")
    data_options(p)
    p.set_defaults(run=_cmd_evaluate)

    p = sub.add_parser("predict", help="classify image files with a checkpoint; one JSON line per image "
                       "(an \"error\" line for one that cannot be read or is blank; exit 2 if any)")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("images", metavar="IMAGE", nargs="+")
    p.set_defaults(run=_cmd_predict)

    # finetune: a checkpoint taught a person's own digits (issue 22)
    p = sub.add_parser("finetune", help="fine-tune a checkpoint on your own digits (a folder with a sub-folder per "
                       "class) mixed with replayed MNIST; the last line is JSON with before/after accuracies")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("--images", required=True, metavar="DIR", help="one sub-folder per class, named by the class "
                   "(e.g. 0/ … 9/; what the Draw dock's \"Add to my digits\" keeps)")
    p.add_argument("--freeze-until", metavar="NODE", help="freeze NODE and every node before it (default: all but "
                   "the last Dense layer)")
    p.add_argument("--data-dir", metavar="DIR", help="the MNIST files to replay (default: $PLAYGROUND_DATA_DIR or "
                   "the cache, else the offline sample)")
    p.add_argument("--held-out", type=float, default=0.2, metavar="SHARE",
                   help="the share of each class's digits held out to measure on (default 0.2, at least one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True, metavar="CKPT", help="the tuned checkpoint to write")
    p.set_defaults(run=_cmd_finetune)

    p = sub.add_parser("bench", help="training speed against a plain PyTorch loop, and shape-inference time")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--dataset", choices=datasets, help="default: mnist-sample (always there); folder: the image "
                                                       "folder --data-dir DIR, with the preset fitted to its images")
    p.add_argument("--data-dir", metavar="DIR")
    p.add_argument("--folder", action="store_true",
                   help="image folders: draw 10,000 small PNGs in 10 classes and time their first load and the "
                        "load from the cache (targets: 10 s and 1 s)")
    p.add_argument("--folder-files", type=int, default=10_000, help=argparse.SUPPRESS)
    p.add_argument("--device", help="auto (CUDA if there is one), cpu, cuda or cuda:N; default: auto, and cpu with "
                                    "--gui (its figures compare across machines)")
    p.add_argument("--batch-size", type=int, help="default 128 (with --gan: 16, a GAN run's default)")
    p.add_argument("--epochs", type=int, default=3, help="measured epochs per variant (after one warm-up epoch)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gui", action="store_true",
                   help="measure the main window while it trains (offscreen): GUI vs headless samples/s, "
                        "event-loop lateness and live-prediction latency")
    p.add_argument("--steps", type=int, default=800,
                   help="with --gui: training steps of the run (window and headless turns together); with "
                        "--points: each run's steps (default: each preset's whole default run)")
    p.add_argument("--turn-seconds", type=float, default=2.0, metavar="S",
                   help="with --gui: how long each turn lasts (window live, then headless)")
    p.add_argument("--show", action="store_true", help="with --gui: show the window instead of offscreen")
    p.add_argument("--threads", type=int, default=0, metavar="N", help="torch threads (default: torch's choice)")
    p.add_argument("--ab", action="append", metavar="NAME",
                   choices=("bf16", "publisher", "malloc"),
                   help="also a paired A/B, steps taking turns in one run (repeatable): bf16 (autocast against "
                        "fp32), publisher (the Trainer with and without the app's Publisher), malloc (glibc's "
                        "defaults against core/host_memory.py; two training processes taking turns)")
    p.add_argument("--ab-only", action="store_true", help="with --ab: only the A/B, not (a), (b) and (c)")
    p.add_argument("--gan", action="store_true",
                   help="the GAN trainer's step (dcgan-mnist) against a plain PyTorch GAN loop of the same networks, "
                        "batch size and optimizers, taking turns in one run (--steps: measured steps each, default "
                        "120; --batch-size)")
    p.add_argument("--points", action="store_true",
                   help="2-D points (points-tfp, batch 10 as TensorFlow Playground): training steps/s headless (a "
                        "bare Trainer, and the run's path with its publishers) and with the window live (offscreen), "
                        "how often the neuron heatmaps and the Decision view were refreshed, event-loop lateness; "
                        "and points-spiral's time and test accuracy with 10%% noise")
    p.add_argument("--shape-repeats", type=int, default=20, help=argparse.SUPPRESS)
    p.add_argument("--train-samples", type=int, default=0, help=argparse.SUPPRESS)  # fewer, for tests
    p.set_defaults(run=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    served = {flag: module for module, flag in SERVE_FLAGS.items()}.get(argv[0]) if argv else None
    if served is not None:  # a frozen app runs its helper processes from its own executable
        importlib.import_module(served).serve_fds(int(argv[1]), int(argv[2]))
        return 0
    from .core.host_memory import keep_buffers_in_the_heap

    keep_buffers_in_the_heap()  # first, before any thread: every command may train on the CPU
    if argv and argv[0] == "--self-test":  # train, draw, predict, quit: exit 0 if it all worked (packaging/smoke.sh)
        from .app.self_test import main as self_test

        return self_test(argv[1:])
    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices  # argparse keeps the names only here
    # `playground` opens the app; `playground FILE` opens the app on a graph file.
    if not argv or (len(argv) == 1 and argv[0] not in subcommands and not argv[0].startswith("-")):
        return _run_reporting_errors(lambda: _cmd_gui(argv[0] if argv else None))
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.error("choose a command, or give a graph file to open in the app")
    return _run_reporting_errors(lambda: args.run(args))


def _run_reporting_errors(run) -> int:
    try:
        return run()
    except UserError as exc:
        print(f"playground: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("playground: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still no traceback unless asked for
        if os.environ.get("PLAYGROUND_DEBUG"):
            traceback.print_exc()
        print(f"playground: internal error: {type(exc).__name__}: {exc} "
              "(set PLAYGROUND_DEBUG=1 for details)", file=sys.stderr)
        return 1
