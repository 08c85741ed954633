"""`playground sample`: a grid of a GAN checkpoint's samples (or a latent walk), as a PNG file.

A GAN on 2-D points makes points, not images: its samples go to a CSV file of x,y,label lines (label 0: they load
as one's own points in the Decision view, or with `playground train --csv`); a PNG file is refused, saying so.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from .common import resolve_device_or_fail
from .errors import UserError

MAX_SAMPLES = 4096


def cmd_sample(args) -> int:
    import numpy as np
    from PIL import Image

    from ..core.analysis import GraphError
    from ..core.files import atomic_write
    from ..core.gan.model import build_gan, ema_weights, noise_params, pixel_range
    from ..core.gan.samples import as_uint8, draw_noise, fixed_noise, generate, latent_walk, noise_seed, tile
    from ..core.gan.structure import is_gan_graph
    from ..core.layers.generative import NO_RANGE
    from ..core.train import CheckpointError, load_checkpoint

    if not 1 <= args.samples <= MAX_SAMPLES:
        raise UserError(f"-n must be from 1 to {MAX_SAMPLES}, not {args.samples}")
    if args.cols is not None and args.cols < 1:
        raise UserError(f"--cols must be 1 or more, not {args.cols}")
    if not 1 <= args.scale <= 16:
        raise UserError(f"--scale must be from 1 to 16, not {args.scale}")
    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".csv"):
        raise UserError(f"-o {out}: give a file name ending in .png (a GAN on 2-D points: .csv)")
    if out.is_dir():
        raise UserError(f"-o {out}: is a folder; give a file name")
    if not out.parent.is_dir():
        raise UserError(f"-o {out}: the folder {out.parent} does not exist")
    device = resolve_device_or_fail(args.device)
    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    if not is_gan_graph(ckpt.graph):
        raise UserError(f"{args.checkpoint}: holds a classifier, not a GAN; `playground sample` draws images from a "
                        "GAN's generator (train one: playground train preset:dcgan-mnist --checkpoint gan.ckpt)")
    try:
        gan = build_gan(ckpt.graph, device)
        gan.load_state_dict(ckpt.state_dict)
        if (ema := ema_weights(ckpt, args.checkpoint)) is not None:  # samples come from the averaged generator
            gan.generator.load_state_dict(ema)
    except CheckpointError as exc:
        raise UserError(str(exc)) from None
    except GraphError as exc:
        raise UserError(f"{args.checkpoint}: the GAN stored in the checkpoint is not valid: {exc}") from None
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[0]
        raise UserError(f"{args.checkpoint}: the weights do not fit the GAN stored with them ({detail})") from None
    noise = noise_params(ckpt.graph)
    pixels = pixel_range(ckpt.graph)
    seed = args.seed if args.seed is not None else int(ckpt.config.get("seed", 0) or 0)
    if pixels == NO_RANGE or out.suffix.lower() == ".csv":
        return _sample_points(args, ckpt, gan, noise, seed, out, points=pixels == NO_RANGE, device=device)
    if args.walk:
        ends = draw_noise(2, noise["dim"], noise["distribution"], generator=noise_seed(seed, "walk"), device=device)
        images = latent_walk(gan.generator, ends[0], ends[1], args.samples, pixels)
        cols = args.cols or args.samples
    else:
        z = fixed_noise(args.samples, noise["dim"], noise["distribution"], seed, "grid", device)
        images = as_uint8(generate(gan.generator, z, pixels))
        cols = args.cols
    grid = tile(images, cols)
    if args.scale > 1:
        grid = np.repeat(np.repeat(grid, args.scale, axis=0), args.scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    try:
        atomic_write(out, buffer.getvalue())
    except OSError as exc:
        raise UserError(f"-o {out}: cannot write it ({exc.strerror or exc})") from None
    print(json.dumps({"output": str(out), "samples": args.samples, "walk": bool(args.walk),
                      "width": grid.shape[1], "height": grid.shape[0], "seed": seed,
                      "global_step": ckpt.extra.get("global_step"), "judge": ckpt.extra.get("judge")}), flush=True)
    return 0


def _sample_points(args, ckpt, gan, noise, seed: int, out: Path, points: bool, device) -> int:
    """A GAN on 2-D points: `-n` of its points of fixed noise as x,y,label (label 0) lines of a CSV file."""
    import numpy as np
    import torch

    from ..core.data.points import EXTENT, MAX_POINTS, Points, write_points_csv
    from ..core.gan.samples import fixed_noise

    if not points:
        raise UserError(f"-o {out}: this GAN makes images; give a file name ending in .png (a CSV file is for the "
                        "points of a GAN on 2-D points)")
    if out.suffix.lower() != ".csv":
        raise UserError(f"-o {out}: this GAN makes 2-D points, not images; give a file name ending in .csv to "
                        "write them as x,y,label lines")
    if args.walk:
        raise UserError("--walk draws images along a line of noise; a GAN on 2-D points makes points: leave it out")
    if args.samples > MAX_POINTS:
        raise UserError(f"-n {args.samples}: a CSV file of points holds up to {MAX_POINTS:,}")
    z = fixed_noise(args.samples, noise["dim"], noise["distribution"], seed, "grid", device)
    with torch.no_grad():
        xy = gan.generator.eval()(z).float().cpu().numpy()
    outside = int((np.abs(xy) > EXTENT).any(axis=1).sum())
    xy = np.clip(xy, -EXTENT, EXTENT).astype(np.float32)
    try:
        write_points_csv(Points(xy, np.zeros(len(xy), np.int64)), out)
    except OSError as exc:
        raise UserError(f"-o {out}: cannot write it ({exc.strerror or exc})") from None
    print(json.dumps({"output": str(out), "samples": args.samples, "points": True, "outside_plane": outside,
                      "seed": seed, "global_step": ckpt.extra.get("global_step"),
                      "points_report": ckpt.extra.get("points")}), flush=True)
    return 0
