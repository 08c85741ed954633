"""`playground bench --folder`: how long an image folder of 10,000 small PNGs takes to load, first and cached.

It draws the folder itself (32×32 colour shapes in 10 classes, in a temporary folder) and loads it twice with a
fresh cache folder: the first load decodes every file (and writes the cache), the second reads the cache.
Targets (issue 22): first load ≤ 10 s, cached ≤ 1 s on two CPU cores.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

FIRST_TARGET_S = 10.0
CACHED_TARGET_S = 1.0


def draw_folder(root: Path, count: int = 10_000, classes: int = 10, size: int = 32, colour: bool = True,
                seed: int = 0) -> Path:
    """`count` PNGs of drawn shapes (a circle, square, triangle or cross, in a colour per class) in `classes`
    sub-folders of `root`."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    for c in range(classes):
        (root / f"class{c:02d}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        c = i % classes
        bg = tuple(int(v) for v in rng.integers(0, 80, 3))
        img = Image.new("RGB", (size, size), bg)
        draw = ImageDraw.Draw(img)
        hue = [(255, 60, 60), (60, 255, 60), (60, 60, 255)][c % 3]
        fg = tuple(min(255, h + int(v)) for h, v in zip(hue, rng.integers(-40, 40, 3), strict=True))
        r = int(rng.integers(size // 5, size // 3))
        cx, cy = (int(v) for v in rng.integers(r + 1, size - r - 1, 2))
        shape = (c // 3 + c) % 4
        if shape == 0:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
        elif shape == 1:
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fg)
        elif shape == 2:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fg)
        else:
            draw.line([cx - r, cy, cx + r, cy], fill=fg, width=3)
            draw.line([cx, cy - r, cx, cy + r], fill=fg, width=3)
        if not colour:
            img = img.convert("L")
        img.save(root / f"class{c:02d}" / f"{i:05d}.png")
    return root


def run_bench(count: int = 10_000) -> dict:
    from ..core.data import load_image_folder
    from ..core.data.sources import CACHE_DIR_ENV

    with tempfile.TemporaryDirectory(prefix="playground-bench-folders-") as tmp:
        root = Path(tmp) / "images"
        t0 = time.perf_counter()
        draw_folder(root, count)
        drawn = time.perf_counter() - t0
        before = os.environ.get(CACHE_DIR_ENV)
        os.environ[CACHE_DIR_ENV] = str(Path(tmp) / "cache")
        try:
            t0 = time.perf_counter()
            first = load_image_folder(root)
            first_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            cached = load_image_folder(root)
            cached_s = time.perf_counter() - t0
        finally:
            if before is None:
                os.environ.pop(CACHE_DIR_ENV, None)
            else:
                os.environ[CACHE_DIR_ENV] = before
        same = bool((first.train_images == cached.train_images).all())
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {"files": count, "shape": list(first.sample_shape), "classes": first.num_classes,
            "draw_seconds": round(drawn, 2), "first_load_seconds": round(first_s, 3),
            "cached_load_seconds": round(cached_s, 3), "cached_equals_first": same,
            "first_target_seconds": FIRST_TARGET_S, "cached_target_seconds": CACHED_TARGET_S,
            "first_met": first_s <= FIRST_TARGET_S, "cached_met": cached_s <= CACHED_TARGET_S,
            "cpu_count": os.cpu_count(), "load_average_1min": load}


def cmd_bench_folders(args) -> int:
    count = getattr(args, "folder_files", None) or 10_000
    result = run_bench(count)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"image folder: {result['files']:,} PNGs, {result['classes']} classes, "
          f"{'×'.join(map(str, result['shape']))} (drawn in {result['draw_seconds']:.1f} s)")
    print(f"  first load (decode, cache written): {result['first_load_seconds']:.2f} s "
          f"(target ≤ {FIRST_TARGET_S:g} s: {'met' if result['first_met'] else 'MISSED'})")
    print(f"  cached load:                        {result['cached_load_seconds']:.2f} s "
          f"(target ≤ {CACHED_TARGET_S:g} s: {'met' if result['cached_met'] else 'MISSED'})")
    print(f"  {result['cpu_count']} CPUs, load average {result['load_average_1min']}")
    return 0
