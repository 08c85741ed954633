"""`playground bench`: what the Trainer costs, measured against the plainest PyTorch loop.

(a) a hand-written loop (model, AdamW, cross-entropy, the same device-resident
    batches, nothing else), (b) the Trainer headless, (c) the Trainer with the
    Publisher a run in the app trains with (core/run/publisher.py), each
    message encoded for the pipe as the training process does and then
    dropped; and the time of one shape inference of the largest preset, cold
    (the whole graph) and warm (after a parameter edit of one layer). All
    training figures are samples per second of training steps (no
    evaluation), the first epoch of each being a warm-up that is not counted.

`--ab NAME` adds a paired A/B of one choice the training step makes (bench_ab.py). `--gui` measures the window
(bench_gui.py), `--gan` a GAN (bench_gan.py), `--points` 2-D points headless and in the window (bench_points.py).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections import Counter

from .common import load_data, resolve_device_or_fail, say
from .errors import UserError

MODEL = "mnist-cnn"


def _plain_loop(graph, dataset, device, batch_size: int, epochs: int, seed: int) -> float:
    import torch
    import torch.nn.functional as F

    from ..core.build import build_module
    from ..core.data import DeviceData

    model = build_module(graph, device, seed=seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = DeviceData.from_dataset(dataset, "train", device)
    rates = []
    for epoch in range(epochs):
        model.train()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start, samples = time.perf_counter(), 0
        for x, y in data.batches(batch_size, generator=seed + epoch, drop_last=True):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            samples += len(y)
        float(loss.detach())  # wait for the device
        rates.append(samples / (time.perf_counter() - start))
    return _steady(rates)


def _steady(rates: list[float]) -> float:
    """Samples/s over the epochs after the first (a warm-up: allocator, oneDNN/cuDNN kernel choice)."""
    rest = rates[1:] or rates
    return _together(rest)


def _together(rates: list[float]) -> float:
    """The rate over epochs of equal size together (their harmonic mean)."""
    return len(rates) / sum(1 / r for r in rates)


def _trainer_rate(graph, dataset, device, batch_size: int, epochs: int, seed: int, callbacks=()) -> float:
    from ..core.train import Trainer
    from .bench_ab import bench_config

    result = Trainer(graph, bench_config(device, batch_size, epochs, seed), dataset=dataset).fit(callbacks)
    return _steady([e["samples_per_second"] for e in result.history.epochs])


def first_examples(dataset, n: int):
    """The first `n` training and test examples (all of them when n is 0)."""
    if not n:
        return dataset
    return dataclasses.replace(dataset, train_images=dataset.train_images[:n], train_labels=dataset.train_labels[:n],
                               test_images=dataset.test_images[:n], test_labels=dataset.test_labels[:n])


# -- shape inference ------------------------------------------------------------------------------


def _shape_inference(repeats: int) -> dict:
    from ..core.analysis import analyze, reanalyze
    from ..core.graph import load_graph
    from ..core.resources import preset_names

    graphs = {name: load_graph(f"preset:{name}") for name in preset_names()}
    name = max(graphs, key=lambda n: (len(graphs[n].nodes), n))  # the most nodes: the most work
    graph = graphs[name]
    full = analyze(graph)
    edited = full.order[1:2]  # the first layer after the Input, as after an edit of its parameters

    def timed(run) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e3

    cold = timed(lambda: analyze(graph))  # the whole graph, as on opening it
    warm = timed(lambda: reanalyze(graph, full, edited))  # the editor's path after a parameter edit
    return {"preset": name, "nodes": len(graph.nodes), "cold_ms": round(cold, 3), "warm_ms": round(warm, 3)}


def cmd_gui_bench(args) -> int:
    from .bench_gui import meets_targets, run_gui_bench

    gan = bool(getattr(args, "gan", False))  # --gui --gan: a GAN in the window (commands/bench_gui.py)
    say(f"bench --gui: {'dcgan-mnist' if gan else 'mnist-cnn'} in the main window (offscreen), {args.steps} steps "
        f"in turns of {args.turn_seconds:g} s: window live, then headless (the window blocked)")
    device = str(resolve_device_or_fail(args.device or "cpu"))
    report = run_gui_bench(args.steps, args.dataset or "mnist-sample", args.data_dir, args.batch_size, args.seed,
                           show=args.show, turn_seconds=args.turn_seconds, device=device, gan=gan)
    report["meets_targets"] = meets_targets(report)
    if args.json:
        print(json.dumps(report))
        return 0
    ok = report["meets_targets"]
    mark = {True: "ok", False: "MISSED"}
    print(f"{report['model']}, batch {report['batch_size']}, {report['dataset']}, {report['steps']} steps, "
          f"{report['torch_threads']} torch thread(s) of {report['cpu_count']} cores")
    print(f"GUI       {report['gui_samples_per_second']:10,.0f} samples/s")
    print(f"headless  {report['headless_samples_per_second']:10,.0f} samples/s   GUI/headless "
          f"{report['gui_vs_headless']:.3f} ({mark[ok['gui_vs_headless']]}, target ≥ 0.95; "
          f"{report['turns']['gui']} and {report['turns']['headless']} turns of {report['turns']['seconds']} s, "
          f"{report['measured_steps']['gui']} and {report['measured_steps']['headless']} steps measured)")
    waiting = report["training_thread_waiting_share"]
    cpu = report["training_thread_cpu_ms_per_step"]
    print(f"training thread waiting (GIL, a core): {waiting['gui']:.1%} of the window turns, "
          f"{waiting['headless']:.1%} headless; CPU per step {cpu['gui']:.1f} ms and {cpu['headless']:.1f} ms")
    core_steal = report["training_core_steal_share"]
    if core_steal["gui"] is not None and core_steal["headless"] is not None:
        print(f"  of which steal on the training core (the host's doing): {core_steal['gui']:.1%} and "
              f"{core_steal['headless']:.1%}; without it GUI/headless would be "
              f"{report['gui_vs_headless_steal_excluded']:.3f}")
    if report["window_core_steal_share"] is not None:
        print(f"steal on the window's core during the window turns: {report['window_core_steal_share']:.1%} "
              "(the host's part in the tails below)")
    print(f"event loop lateness p99 {report['event_loop_p99_ms']} ms, max {report['event_loop_max_ms']} ms "
          f"({mark[ok['event_loop_p99_ms']]}, target ≤ 16 ms)")
    print(f"stroke → bars p99 {report['predict_p99_ms']} ms, median {report['predict_p50_ms']} ms over "
          f"{report['predictions']} predictions ({mark[ok['predict_p99_ms']]}, target ≤ 16 ms)")
    if report["host_steal_share"] is not None:
        print(f"host: {report['host_steal_share']:.1%} of the machine's CPU time went to other guests meanwhile "
              "(steal; above 1% the figures measured a busy host)")
    return 0


def _ab_line(ab: dict) -> str:
    pairs = ab["pair_ratios"]
    return (f"A/B {ab['name']}: A {ab['a']} {ab['a_samples_per_second']:,.0f} samples/s, B {ab['b']} "
            f"{ab['b_samples_per_second']:,.0f} samples/s, A/B {ab['a_vs_b']:.3f} "
            + (f"(epochs {min(pairs):.3f}–{max(pairs):.3f}; median steps)" if pairs else "(median steps)"))


def cmd_bench(args) -> int:
    from ..core.graph import load_graph

    if getattr(args, "folder", False):  # image folders: first and cached load, commands/bench_folders.py
        from .bench_folders import cmd_bench_folders

        return cmd_bench_folders(args)
    if getattr(args, "points", False):  # 2-D points, headless and in the window: commands/bench_points.py
        from .bench_points import cmd_points_bench

        return cmd_points_bench(args)
    if args.batch_size is None:
        args.batch_size = 16 if getattr(args, "gan", False) else 128  # 16: core/train/config.py GAN_DEFAULTS

    if getattr(args, "gui", False):
        return cmd_gui_bench(args)

    import torch

    from . import bench_ab

    started = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    elif getattr(args, "gan", False):
        from .gan import GAN_CPU_THREADS

        torch.set_num_threads(GAN_CPU_THREADS)  # as `playground train` trains a GAN
    device = resolve_device_or_fail(args.device or "auto")
    dataset = first_examples(load_data(args.dataset, "mnist-sample", args.data_dir, download=False),
                             args.train_samples)
    if getattr(args, "gan", False):  # commands/bench_gan.py
        from .bench_gan import cmd_gan_bench

        report = cmd_gan_bench(args, dataset, device)
        report["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))
        return 0
    graph = load_graph(f"preset:{MODEL}")
    if dataset.name == "folder":  # the preset fitted to the folder's images and classes
        from .common import fit_graph_to_folder

        graph = fit_graph_to_folder(graph, dataset)
    epochs = args.epochs + 1  # + the warm-up epoch
    report = {"model": MODEL, "batch_size": args.batch_size, "dataset": dataset.name, "device": str(device),
              "torch_threads": torch.get_num_threads(), "measured_epochs": args.epochs,
              "train_samples": len(dataset.train_labels)}

    say(f"bench: {MODEL}, batch {args.batch_size}, {dataset.name}, {device}, {torch.get_num_threads()} torch "
        f"thread(s), {args.epochs} measured epoch(s) each")
    abs_ = []
    for name in args.ab or ():
        if name == "malloc":
            if device.type != "cpu":
                raise UserError(f"--ab malloc measures CPU training; this bench runs on {device}")
            ab = bench_ab.run_malloc_ab(dataset.name, args.data_dir, args.batch_size, args.epochs, args.seed,
                                        torch.get_num_threads(), args.train_samples)
        else:
            ab = bench_ab.run_ab(name, graph, dataset, device, args.batch_size, args.epochs, args.seed)
        say("  " + _ab_line(ab))
        abs_.append(ab)
    if args.ab_only:
        report.update(ab=abs_, seconds=round(time.perf_counter() - started, 1))
        _print(report, args.json)
        return 0

    plain = _plain_loop(graph, dataset, device, args.batch_size, epochs, args.seed)
    say(f"  (a) plain PyTorch loop        {plain:10,.0f} samples/s")
    headless = _trainer_rate(graph, dataset, device, args.batch_size, epochs, args.seed)
    say(f"  (b) Trainer, headless         {headless:10,.0f} samples/s")
    publisher = bench_ab.publisher(graph, bench_ab.bench_config(device, args.batch_size, epochs, args.seed))
    published = _trainer_rate(graph, dataset, device, args.batch_size, epochs, args.seed, [publisher])
    say(f"  (c) Trainer + Publisher       {published:10,.0f} samples/s ({_messages(publisher.sent)})")
    report.update({
        "plain_loop_samples_per_second": round(plain, 1),
        "trainer_samples_per_second": round(headless, 1),
        "trainer_publisher_samples_per_second": round(published, 1),
        "trainer_vs_plain": round(headless / plain, 3),
        "publisher_vs_headless": round(published / headless, 3),
        "publisher_vs_plain": round(published / plain, 3),
        "publisher_messages": dict(publisher.sent),
        "shape_inference": _shape_inference(repeats=args.shape_repeats),
        "ab": abs_,
        "seconds": round(time.perf_counter() - started, 1),
    })
    _print(report, args.json)
    return 0


def _messages(sent: Counter) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(sent.items())) or "no messages"


def _print(report: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    print(f"model {MODEL}, batch {report['batch_size']}, {report['dataset']} ({report['train_samples']:,} training "
          f"images), {report['device']}, {report['torch_threads']} torch thread(s)")
    if "plain_loop_samples_per_second" in report:
        plain, headless = report["plain_loop_samples_per_second"], report["trainer_samples_per_second"]
        published = report["trainer_publisher_samples_per_second"]
        print(f"(a) plain PyTorch loop        {plain:10,.0f} samples/s")
        print(f"(b) Trainer, headless         {headless:10,.0f} samples/s   {report['trainer_vs_plain']:.2f}× (a)")
        print(f"(c) Trainer + Publisher       {published:10,.0f} samples/s   {report['publisher_vs_headless']:.2f}× (b)"
              f"   ({_messages(Counter(report['publisher_messages']))})")
        shapes = report["shape_inference"]
        print(f"shape inference of {shapes['preset']} ({shapes['nodes']} nodes): cold {shapes['cold_ms']:.2f} ms, "
              f"warm {shapes['warm_ms']:.3f} ms")
    for ab in report["ab"]:
        print(_ab_line(ab))
        if "faults_per_step" in ab:
            print(f"    minor page faults per step: {ab['faults_per_step']}")
    print(f"took {report['seconds']:.0f} s")
