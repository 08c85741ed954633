"""`playground bench --gan`: the GanTrainer's step against the plainest PyTorch GAN loop, paired, in one run.

Both sides train the same two networks (the dcgan-mnist preset, built twice
from the same seed) with the same batch size, the same Adam settings and the
same device-resident batches; the plain side is the loop of PyTorch's DCGAN
example (noise, G, D on real and on detached fakes, D's Adam; D on the fakes
again, G's Adam), written with nothing else. They take turns in blocks of
BLOCK steps inside one GanTrainer run: the trainer trains a block, then a
callback runs a block of the plain loop, and so on, so whatever else the
machine does falls on both alike. A trainer step is timed from the end of the
previous step's callbacks to the end of its own (the whole loop: pause/stop
checks, data, noise, both updates, the step's metrics, the NaN watch); the
first block of each side and the first step of each block are not counted.
Each side's figure is its median step time, as steps/s.
"""

from __future__ import annotations

import statistics
import time

from .common import say

BLOCK = 4
PRESET = "dcgan-mnist"


def _plain_side(graph, dataset, device, batch_size: int, lr_g: float, lr_d: float, beta1: float, seed: int):
    """A closure running one step of the plain loop (and its state)."""
    import torch
    import torch.nn.functional as F

    from ..core.data import DeviceData, Normalization
    from ..core.gan.model import build_gan, noise_params

    gan = build_gan(graph, device, seed=seed)
    G, D = gan.generator, gan.discriminator
    dim = noise_params(graph)["dim"]
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(beta1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(beta1, 0.999))
    images, labels = dataset.split("train")
    data = DeviceData(images, labels, device, Normalization(0.5, 0.5))
    state = {"epoch": 0, "batches": iter(())}

    def batch():
        x = next(state["batches"], None)
        if x is None:
            state["epoch"] += 1
            state["batches"] = data.batches(batch_size, generator=seed + state["epoch"], drop_last=True)
            x = next(state["batches"])
        return x[0]

    def step():
        x = batch()
        fake = G(torch.randn(batch_size, dim, device=device))
        real_out, fake_out = D(x), D(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(real_out, torch.ones_like(real_out))
                  + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        out = D(fake)
        loss_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return loss_g

    return step


def run_gan_bench(dataset, device, batch_size: int, steps: int, seed: int) -> dict:
    import torch

    from ..core.gan.trainer import GanTrainer
    from ..core.graph import load_graph
    from ..core.train import Callback, TrainConfig

    graph = load_graph(f"preset:{PRESET}")
    config = TrainConfig(batch_size=batch_size, epochs=10_000, seed=seed, device=str(device), amp=False,
                         gan_judge=False)
    trainer = GanTrainer(graph, config, dataset=dataset)
    plain_step = _plain_side(graph, dataset, device, batch_size, config.gan_lr_g, config.gan_lr_d, config.gan_beta1,
                             seed)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    class Turns(Callback):
        def __init__(self):
            self.trainer_times: list[float] = []
            self.plain_times: list[float] = []
            self.blocks = 0
            self.in_block = 0
            self.last_end: float | None = None

        def on_step_end(self, tr, step):
            sync()
            now = time.perf_counter()
            if self.last_end is not None and self.blocks > 0 and self.in_block > 0:
                self.trainer_times.append(now - self.last_end)
            self.in_block += 1
            if self.in_block == BLOCK:
                self.in_block = 0
                for i in range(BLOCK):  # the plain loop's block
                    start = time.perf_counter()
                    plain_step()
                    sync()
                    if self.blocks > 0 and i > 0:
                        self.plain_times.append(time.perf_counter() - start)
                self.blocks += 1
                if len(self.trainer_times) >= steps and len(self.plain_times) >= steps:
                    tr.stop()
            self.last_end = time.perf_counter()

    turns = Turns()
    trainer.fit([turns])
    t, p = statistics.median(turns.trainer_times), statistics.median(turns.plain_times)
    block_pairs = [statistics.median(turns.plain_times[i:i + BLOCK - 1]) /
                   statistics.median(turns.trainer_times[i:i + BLOCK - 1])
                   for i in range(0, min(len(turns.trainer_times), len(turns.plain_times)), BLOCK - 1)]
    quartiles = statistics.quantiles(block_pairs, n=4) if len(block_pairs) >= 4 else [min(block_pairs)] * 3
    return {"model": PRESET, "batch_size": batch_size, "device": str(device), "torch_threads": torch.get_num_threads(),
            "trainer_steps_per_second": round(1 / t, 3), "plain_loop_steps_per_second": round(1 / p, 3),
            "trainer_vs_plain": round(p / t, 4),
            "block_ratio_quartiles": [round(q, 4) for q in quartiles],
            "measured_steps": {"trainer": len(turns.trainer_times), "plain": len(turns.plain_times)},
            "meets_target": p / t >= 0.95}


def cmd_gan_bench(args, dataset, device) -> dict:
    steps = args.steps if args.steps != 800 else 120  # --steps defaults to 800 for --gui
    say(f"bench --gan: {PRESET}, batch {args.batch_size}, {dataset.name}, {device}: GanTrainer and a plain PyTorch "
        f"loop taking turns in blocks of {BLOCK} steps, {steps} measured steps each")
    return run_gan_bench(dataset, device, args.batch_size, steps, args.seed)
