"""A GAN on 2-D points, seen over the plane (GAN Lab's picture), and how near its points lie to the real ones.

    plane = trainer.plane                      # GanTrainer of a points GAN: made once, when first asked
    real, fake, gradient, surface = plane.frame()
    plane.report()                             # PointsReport: distances between generated and real points

- `fake`: the points the generator makes of the run's fixed noise (the same noise all run long, from the averaged
  generator when there is one, as image samples are), so each point can be followed as it moves;
- `gradient`: at each of them, -∂loss_G/∂x: the direction the generator's loss pushes that point (where the
  discriminator's verdict improves fastest for it), the arrows GAN Lab draws;
- `surface`: the discriminator over the grid of the plane (core/data/points.py `grid`, row 0 at the top): its
  probability of "real" for the non-saturating loss, its raw score (trained towards 1 for real, 0 for generated)
  for least squares.

All of it is one forward pass of the grid, one forward and backward pass of the generated points and one copy
from the device: about a millisecond for the small networks points take. Call it from the thread that trains,
between steps (a publishing callback does).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..data.points import OUTPUT_RESOLUTION, grid
from ..train.probes import eval_mode
from .samples import fixed_noise

REAL_SHOWN = 1000  # real points a frame carries and the report measures (a seeded choice when there are more)
FAKES = (100, 250)  # generated points a frame shows: half as many as the real points shown, within these bounds
REPORT_FAKES = 1000  # generated points the report measures


@dataclass(frozen=True)
class PointsReport:
    """How well the generated points cover the real ones: mean distances to the nearest point of the other set.

    `fake_to_real` is small when the generated points lie where real ones are (none stray off); `real_to_fake`
    is small when every part of the real set has generated points near it (no part is left out: the points'
    mode collapse). `spacing`, the real points' mean distance to their nearest neighbour, is the scale to read
    them against: a generator that has learnt the set comes near it."""

    global_step: int
    fake_to_real: float
    real_to_fake: float
    spacing: float
    samples: int  # generated points measured

    @property
    def verdict(self) -> str:
        return (f"the generated points lie {self.fake_to_real:.2f} from the nearest real point on average, and the "
                f"real ones {self.real_to_fake:.2f} from the nearest generated point")

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def nearest_distances(a: torch.Tensor, b: torch.Tensor, exclude_self: bool = False) -> torch.Tensor:
    """For each point of `a` [n, 2], the distance to the nearest point of `b` [m, 2] (not itself: exclude_self,
    when a is b)."""
    d = torch.cdist(a.float(), b.float())
    if exclude_self:
        d.fill_diagonal_(float("inf"))
    return d.min(dim=1).values


class Plane:
    """The pictures and the report of one points GAN (a GanTrainer whose `points` is set)."""

    def __init__(self, trainer):
        self.trainer = trainer
        device, config = trainer.device, trainer.config
        xy = trainer.points.train.xy
        if len(xy) > REAL_SHOWN:
            xy = xy[np.sort(np.random.default_rng(config.seed).choice(len(xy), REAL_SHOWN, replace=False))]
        self.real = np.array(xy, dtype=np.float32)  # a copy of its own (the points' arrays are read-only)
        self._real = torch.from_numpy(self.real).to(device)
        count = int(np.clip(len(self.real) // 2, *FAKES))
        self.noise = fixed_noise(count, trainer.noise_dim, trainer.noise_distribution, config.seed, "plane", device)
        self.report_noise = fixed_noise(REPORT_FAKES, trainer.noise_dim, trainer.noise_distribution, config.seed,
                                        "points-report", device)
        self.grid = torch.from_numpy(grid(OUTPUT_RESOLUTION)).to(device)
        self.spacing = float(nearest_distances(self._real, self._real, exclude_self=True).mean()) \
            if len(self.real) > 1 else 0.0

    def frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(real float32 [n, 2], fake float32 [m, 2], gradient float32 [m, 2], surface float32 [R, R])."""
        from .trainer import generator_loss  # the trainer's one definition of the loss

        t = self.trainer
        kind, D = t.config.gan_loss, t.discriminator
        with eval_mode(D), eval_mode(t.sampler):
            with torch.no_grad():
                fake = t.sampler(self.noise).float()
            fake.requires_grad_(True)
            with torch.enable_grad():
                # The loss of each point on its own (the mean's gradient, times m): -∂/∂x is where G pushes it.
                loss = generator_loss(kind, D(fake).float()) * len(fake)
                (grad,) = torch.autograd.grad(loss, fake)
            with torch.no_grad():
                out = D(self.grid).float()[:, 0]
                surface = out if kind == "least_squares" else out.sigmoid()
        m, r = len(fake), OUTPUT_RESOLUTION
        host = torch.cat([fake.detach().reshape(-1), grad.neg().reshape(-1), surface.reshape(-1)]).cpu().numpy()
        return (self.real, host[: 2 * m].reshape(m, 2).copy(), host[2 * m: 4 * m].reshape(m, 2).copy(),
                host[4 * m:].reshape(r, r).copy())

    def report(self) -> PointsReport:
        t = self.trainer
        with torch.no_grad(), eval_mode(t.sampler):
            fake = t.sampler(self.report_noise).float()
            fake_to_real = nearest_distances(fake, self._real).mean()
            real_to_fake = nearest_distances(self._real, fake).mean()
            both = torch.stack([fake_to_real, real_to_fake]).cpu().tolist()
        return PointsReport(t.global_step, both[0], both[1], self.spacing, len(fake))
