"""`playground bench`: what the engine costs, measured against the plainest PyTorch loop.

(a) a hand-written loop (model, AdamW, cross-entropy, the same device-resident
    batches, nothing else), (b) the Trainer headless, (c) the Trainer with a
    callback doing what the GUI bridge does — metrics snapshots at ~30 Hz,
    activations and weight statistics at ~4 Hz — and the time of one shape
    inference of the largest preset, cold and warm. All training figures are
    samples per second of training steps (no evaluation), the first epoch of
    each being a warm-up that is not counted.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time

from .common import load_data, resolve_device_or_fail, say

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
    return len(rest) / sum(1 / r for r in rest)  # the rate over those epochs together (equal sizes)


def _ui_callback(probe_images):
    from ..core.train import Callback

    class UiLike(Callback):
        """Does what the GUI bridge does, at its rates: publish metrics at 30 Hz, look inside at 4 Hz."""

        def __init__(self):
            self.next_metrics = self.next_probe = 0.0
            self.published = self.probed = 0
            self.layers = None

        def on_fit_start(self, trainer):
            self.layers = [n for n, m in trainer.model.named_children() if any(True for _ in m.parameters())]

        def on_step_end(self, trainer, step):
            now = time.monotonic()
            if now >= self.next_metrics:
                self.next_metrics = now + 1 / 30
                _ = {"loss": trainer.latest_loss(), "step": step.global_step, "lr": step.lr}
                self.published += 1
            if now >= self.next_probe:
                self.next_probe = now + 1 / 4
                acts = trainer.activations(self.layers, probe_images)
                stats = trainer.weight_stats()
                _ = ({k: v.numpy() for k, v in acts.items()}, stats)
                self.probed += 1

    return UiLike()


def _trainer_rate(graph, dataset, device, batch_size: int, epochs: int, seed: int, callbacks=()) -> float:
    from ..core.train import TrainConfig, Trainer

    config = TrainConfig(epochs=epochs, batch_size=batch_size, augment="none", device=str(device), seed=seed,
                         optimizer="adamw", schedule="constant", lr=1e-3)
    result = Trainer(graph, config, dataset=dataset).fit(callbacks)
    return _steady([e["samples_per_second"] for e in result.history.epochs])


def _shape_inference(repeats: int) -> dict:
    from ..core.build import _infer_layer, analyze
    from ..core.graph import load_graph
    from ..core.resources import preset_names

    graphs = {name: load_graph(f"preset:{name}") for name in preset_names()}
    name = max(graphs, key=lambda n: (len(graphs[n].nodes), n))  # the most nodes: the most work
    graph = graphs[name]

    def timed(clear: bool) -> float:
        times = []
        for _ in range(repeats):
            if clear:
                _infer_layer.cache_clear()
            start = time.perf_counter()
            analyze(graph)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e3

    cold = timed(clear=True)
    warm = timed(clear=False)
    return {"preset": name, "nodes": len(graph.nodes), "cold_ms": round(cold, 3), "warm_ms": round(warm, 3)}


def cmd_gui_bench(args) -> int:
    from .bench_gui import meets_targets, run_gui_bench

    say(f"bench --gui: mnist-cnn in the main window (offscreen), {args.steps} steps in turns of "
        f"{args.turn_seconds:g} s: window live, then headless (the window blocked)")
    report = run_gui_bench(args.steps, args.dataset or "mnist-sample", args.data_dir, args.batch_size, args.seed,
                           show=args.show, turn_seconds=args.turn_seconds)
    report["meets_targets"] = meets_targets(report)
    if args.json:
        print(json.dumps(report))
        return 0
    ok = report["meets_targets"]
    mark = {True: "ok", False: "MISSED"}
    print(f"mnist-cnn, batch {report['batch_size']}, {report['dataset']}, {report['steps']} steps, "
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


def cmd_bench(args) -> int:
    from ..core.graph import load_graph

    if getattr(args, "gui", False):
        return cmd_gui_bench(args)

    started = time.perf_counter()
    device = resolve_device_or_fail(args.device)
    dataset = load_data(args.dataset, "mnist-sample", args.data_dir, download=False)
    if args.train_samples:
        n = args.train_samples
        dataset = dataclasses.replace(dataset, train_images=dataset.train_images[:n],
                                      train_labels=dataset.train_labels[:n], test_images=dataset.test_images[:n],
                                      test_labels=dataset.test_labels[:n])
    graph = load_graph(f"preset:{MODEL}")
    epochs = args.epochs + 1  # + the warm-up epoch
    probe_images = dataset.test_images[:8]

    say(f"bench: {MODEL}, batch {args.batch_size}, {dataset.name}, {device}, {args.epochs} measured epoch(s) each")
    plain = _plain_loop(graph, dataset, device, args.batch_size, epochs, args.seed)
    say(f"  (a) plain PyTorch loop      {plain:10,.0f} samples/s")
    headless = _trainer_rate(graph, dataset, device, args.batch_size, epochs, args.seed)
    say(f"  (b) Trainer, headless       {headless:10,.0f} samples/s")
    ui = _ui_callback(probe_images)
    with_ui = _trainer_rate(graph, dataset, device, args.batch_size, epochs, args.seed, [ui])
    say(f"  (c) Trainer + UI callback   {with_ui:10,.0f} samples/s "
        f"({ui.published} metric snapshots, {ui.probed} activation probes)")
    shapes = _shape_inference(repeats=args.shape_repeats)

    report = {
        "model": MODEL, "batch_size": args.batch_size, "dataset": dataset.name, "device": str(device),
        "measured_epochs": args.epochs, "train_samples": len(dataset.train_labels),
        "plain_loop_samples_per_second": round(plain, 1),
        "trainer_samples_per_second": round(headless, 1),
        "trainer_ui_samples_per_second": round(with_ui, 1),
        "trainer_vs_plain": round(headless / plain, 3),
        "ui_vs_headless": round(with_ui / headless, 3),
        "ui_vs_plain": round(with_ui / plain, 3),
        "ui_metric_snapshots": ui.published, "ui_activation_probes": ui.probed,
        "shape_inference": shapes,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"model {MODEL}, batch {args.batch_size}, {dataset.name} ({report['train_samples']:,} training "
              f"images), {device}")
        print(f"(a) plain PyTorch loop      {plain:10,.0f} samples/s")
        print(f"(b) Trainer, headless       {headless:10,.0f} samples/s   {report['trainer_vs_plain']:.2f}× (a)")
        print(f"(c) Trainer + UI callback   {with_ui:10,.0f} samples/s   {report['ui_vs_headless']:.2f}× (b)")
        print(f"shape inference of {shapes['preset']} ({shapes['nodes']} nodes): cold {shapes['cold_ms']:.2f} ms, "
              f"warm {shapes['warm_ms']:.3f} ms")
        print(f"took {report['seconds']:.0f} s")
    return 0
