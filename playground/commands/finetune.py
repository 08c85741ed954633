"""`playground finetune model.ckpt --images DIR [--freeze-until NODE] -o tuned.ckpt`: a network taught a person's
own handwriting, headless. Human lines first, then one JSON line (before/after accuracy on the held-out own digits
and on the replay dataset's test split)."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import UserError


def read_digit_folder(root: str, classes: tuple[str, ...]):
    """(uint8 [N, 28, 28], int64 [N], notes) from an image folder with one sub-folder per class named by the
    checkpoint's class names. A 28×28 image with a dark border is taken as it is (MNIST style, what "Add to my
    digits" stores); anything else goes through preprocess_digit. Unreadable or blank images are skipped with a
    note; class folders that are no class of the network are an error naming them."""
    import numpy as np

    from ..core.data import DatasetError, is_blank, preprocess_digit, read_image
    from ..core.data.class_folders import list_class_folder

    try:
        folder = list_class_folder(root)
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    unknown = [name for name in folder.classes if name not in classes]
    if unknown:
        raise UserError(f"{root}: the class folders {', '.join(unknown)} are no class of the network; its classes "
                        f"are {', '.join(classes)} (name each sub-folder after one)")
    images, labels, notes = [], [], []
    for by_class in folder.files.values():
        for name, paths in by_class.items():
            for path in paths:
                try:
                    image = read_image(path)
                except DatasetError as exc:
                    notes.append(f"skipped {exc}")
                    continue
                border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
                digit = image if image.shape == (28, 28) and border.mean() < 128 else preprocess_digit(image)
                if is_blank(digit):
                    notes.append(f"skipped {path}: blank")
                    continue
                images.append(digit)
                labels.append(classes.index(name))
    if not images:
        raise UserError(f"{root}: no readable digits in it")
    return np.stack(images), np.asarray(labels, dtype=np.int64), notes


def cmd_finetune(args) -> int:
    from ..core.data import DatasetError
    from ..core.train.checkpoint import CheckpointError, save_checkpoint
    from ..core.train.finetune import FinetuneError, default_replay, finetune
    from .common import say
    from .train import _checkpoint_or_fail, _points_checkpoint, _writable_file

    output = _writable_file(args.output, "--output")
    ckpt = _checkpoint_or_fail(args.checkpoint, classifier=True)
    if _points_checkpoint(ckpt):
        raise UserError(f"{args.checkpoint}: holds a network on 2-D points; finetune teaches image classifiers")
    try:
        replay = default_replay(ckpt, args.data_dir)
    except (FinetuneError, DatasetError) as exc:
        raise UserError(str(exc)) from None
    classes = tuple(ckpt.extra.get("classes") or replay.classes)
    images, labels, notes = read_digit_folder(args.images, classes)
    for note in notes:
        say(note)
    say(f"{len(images)} own digits from {args.images}; replaying {replay.source}")
    try:
        result = finetune(ckpt, images, labels, freeze_until=args.freeze_until, replay=replay, seed=args.seed,
                          held_out_share=args.held_out)
    except FinetuneError as exc:
        raise UserError(f"{args.checkpoint}: {exc}") from None
    try:
        save_checkpoint(output, result.checkpoint)
    except (OSError, CheckpointError) as exc:
        raise UserError(f"--output {output}: cannot write ({exc})") from None
    s = result.summary()
    print(f"frozen: {', '.join(result.frozen)}; trained: {', '.join(result.trained) or 'nothing'}")
    print(f"own digits: {s['own_train']} trained on, {s['own_held_out']} held out")
    print(f"own held-out accuracy: {result.own_before:.1%} -> {result.own_after:.1%}")
    print(f"{replay.name} test accuracy: {result.replay_before:.2%} -> {result.replay_after:.2%}")
    print(f"{result.seconds:.1f} s; saved {Path(output)}")
    print(json.dumps({**s, "checkpoint": str(output)}), flush=True)
    return 0
