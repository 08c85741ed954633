"""`playground sample`: a grid of a GAN checkpoint's samples (or a latent walk), as a PNG file."""

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

    from ..core.build import GraphError
    from ..core.files import atomic_write
    from ..core.gan.model import build_gan, noise_params, pixel_range
    from ..core.gan.samples import as_uint8, draw_noise, fixed_noise, generate, latent_walk, noise_seed, tile
    from ..core.gan.structure import is_gan_graph
    from ..core.train import CheckpointError, load_checkpoint

    if not 1 <= args.samples <= MAX_SAMPLES:
        raise UserError(f"-n must be from 1 to {MAX_SAMPLES}, not {args.samples}")
    if args.cols is not None and args.cols < 1:
        raise UserError(f"--cols must be 1 or more, not {args.cols}")
    if not 1 <= args.scale <= 16:
        raise UserError(f"--scale must be from 1 to 16, not {args.scale}")
    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise UserError(f"-o {out}: give a file name ending in .png")
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
        if isinstance(ckpt.extra.get("generator_ema"), dict):  # samples come from the averaged generator
            gan.generator.load_state_dict(ckpt.extra["generator_ema"])
    except GraphError as exc:
        raise UserError(f"{args.checkpoint}: the GAN stored in the checkpoint is not valid: {exc}") from None
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()[0]
        raise UserError(f"{args.checkpoint}: the weights do not fit the GAN stored with them ({detail})") from None
    noise = noise_params(ckpt.graph)
    pixels = pixel_range(ckpt.graph)
    seed = args.seed if args.seed is not None else int(ckpt.config.get("seed", 0) or 0)
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
