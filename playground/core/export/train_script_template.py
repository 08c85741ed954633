"""The body of the exported training script (train_script.py fills in the @@NAMES@@).

Kept as a plain text template, not as code run here: what you read below is what the user gets, top to bottom.
Each @@NAME@@ is a block or a value that train_script.py generates from the graph and the recipe.
"""

HEADER = '''\
"""@@TITLE@@ — a training script exported from Playground.

@@DESCRIPTION@@One device:
    python @@SCRIPT@@ --data-dir DIR
Several processes with DistributedDataParallel (one per GPU; or N CPU processes, with gloo):
    torchrun --nproc_per_node=N @@SCRIPT@@ --data-dir DIR

DIR holds @@DATASET_TITLE@@'s four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; gzip-compressed or not). The recipe below is the one
Playground trains with, so a run here and `playground train` with the same seed and recipe reach the same
accuracy. The checkpoint it writes (--checkpoint, default train.ckpt) is a Playground checkpoint: open it with
`playground evaluate train.ckpt --data-dir DIR`, Network > Load Weights in the app, or continue with --resume.
The script needs only PyTorch and NumPy. Its printed lines, and its last line of JSON, are those of
`playground train`, so the two can be compared.
"""

import argparse
import gzip
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

# -- the recipe: Playground's training settings when this script was exported -------------------------------------
NAME = @@NAME@@
DATASET = @@DATASET@@  # what Playground calls the data (written into checkpoints)
EPOCHS = @@EPOCHS@@
BATCH_SIZE = @@BATCH_SIZE@@  # per process: N processes together take N × BATCH_SIZE images per optimizer step
OPTIMIZER = @@OPTIMIZER@@
LR = @@LR@@  # @@LR_NOTE@@
WEIGHT_DECAY = @@WEIGHT_DECAY@@  # on weight matrices and kernels only, never on biases or normalization scales
SCHEDULE = @@SCHEDULE@@
WARMUP_EPOCHS = @@WARMUP_EPOCHS@@  # @@WARMUP_NOTE@@
AUGMENT = @@AUGMENT@@  # small random turns, zooms and shifts of each training image (fresh ones every epoch)
GRAD_CLIP = @@GRAD_CLIP@@  # the largest gradient norm per step (0: no clipping)
@@PENALTIES@@SEED = @@SEED@@  # the data order, the augmentation and dropout of epoch e all follow from (SEED, e)
AMP = @@AMP@@  # the default of --amp: auto is bf16 (or fp16 where a GPU lacks bf16) on CUDA, fp32 on a CPU
CLASSES = @@CLASSES@@
MEAN, STD = @@MEAN@@, @@STD@@  # of the training pixels (0..1): inputs are scaled to mean 0 and deviation 1
# The augmentation Playground applies: a turn of up to ±DEGREES, a zoom in SCALE and a shift of up to ±SHIFT pixels.
DEGREES, SCALE, SHIFT = @@DEGREES@@, @@SCALE@@, @@SHIFT@@
EVAL_BATCH_SIZE = {"cuda": 1000, "cpu": 256}  # on a CPU, batches of 256 stay in cache
'''

DATA = '''\
# -- the data: @@DATASET_TITLE@@'s IDX files, the whole split kept on the training device as uint8 ---------------
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SUBFOLDERS = @@SUBFOLDERS@@  # where DIR/… may hold them (torchvision's layout among them)


def read_idx(path):
    """An IDX file of unsigned bytes (gzip-compressed or not) as a uint8 array shaped as its header says."""
    data = path.read_bytes()
    if data[:2] == b"\\x1f\\x8b":  # gzip, by content rather than by name
        data = gzip.decompress(data)
    ndim = data[3] if len(data) > 3 else 0
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    if len(data) < 4 or data[:3] != b"\\x00\\x00\\x08" or len(data) != 4 + 4 * ndim + math.prod(dims):
        sys.exit(f"{path}: not an IDX file of unsigned bytes, or truncated")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_idx(data_dir, name):
    for folder in [data_dir, *(data_dir / sub for sub in SUBFOLDERS)]:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    sys.exit(f"--data-dir {data_dir}: {name} (or {name}.gz) is not there; it should hold @@DATASET_TITLE@@'s "
             "four IDX files")


def load_split(data_dir, split, device):
    """(uint8 images [N, 1, 28, 28], int64 labels [N]) of the "train" or "test" split, on `device`.

    A whole split of @@DATASET_TITLE@@ is 47 MB at most: it is copied to the device once, and every batch is an index
    into it (no DataLoader, no per-image Python)."""
    images, labels = (read_idx(find_idx(data_dir, name)) for name in IDX_FILES[split])
    if images.ndim != 3 or len(images) != len(labels):
        sys.exit(f"--data-dir {data_dir}: the {split} images and labels do not match")
    images = torch.from_numpy(images.copy()).unsqueeze(1)  # [N, 1, H, W]: one channel
    labels = torch.from_numpy(labels.astype(np.int64))
    if tuple(images.shape[1:]) != INPUT_SHAPE:
        sys.exit(f"--data-dir {data_dir}: the images are {list(images.shape[1:])}; the network takes "
                 f"{list(INPUT_SHAPE)}")
    if device.type == "cuda":  # through pinned memory, without blocking
        return images.pin_memory().to(device, non_blocking=True), labels.pin_memory().to(device, non_blocking=True)
    return images.to(device), labels.to(device)


def normalize(images):
    """uint8 images (or 0..255 floats) -> float32 with the training set's mean 0 and deviation 1."""
    return images.to(torch.float32, copy=True).mul_(1.0 / (255.0 * STD)).sub_(MEAN / STD)


def epoch_seed(epoch):
    """The seed of one epoch: its data order, augmentation and dropout depend on (SEED, epoch) only, so a run resumed
    from an epoch's checkpoint goes on exactly as the uninterrupted run would have."""
    digest = hashlib.blake2b(f"{SEED}:{epoch}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def augmentation(n, generator, height, width):
    """affine_grid's matrices [n, 2, 3] for n random turns, zooms and shifts about the image's centre.

    affine_grid maps each output pixel to the input pixel it samples, so these are the inverse transforms."""
    u = torch.rand(n, 4, generator=generator)
    angle = (u[:, 0] * 2 - 1) * math.radians(DEGREES)
    zoom = SCALE[0] + u[:, 1] * (SCALE[1] - SCALE[0])
    tx, ty = (u[:, 2] * 2 - 1) * SHIFT, (u[:, 3] * 2 - 1) * SHIFT  # in pixels
    m00, m01 = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    m10, m11 = -m01, m00
    h, w = height, width  # affine_grid's coordinates run from -1 to 1: 2/w per pixel across, 2/h down
    return torch.stack([
        torch.stack([m00, m01 * (h / w), -(2 / w) * (m00 * tx + m01 * ty)], dim=1),
        torch.stack([m10 * (w / h), m11, -(2 / h) * (m10 * tx + m11 * ty)], dim=1),
    ], dim=1)


def train_batches(images, labels, epoch, positions, batch_size):
    """One epoch of (normalized float images, labels) for this process, on the data's device.

    Every process draws the same permutation and the same augmentation from the epoch's seed (on the CPU, so that
    every device gets the same numbers), and takes the positions in it that its DistributedSampler gives it: the
    processes see disjoint parts of each epoch, and one process sees it all, in Playground's own order."""
    generator = torch.Generator().manual_seed(epoch_seed(epoch))
    order = torch.randperm(len(images), generator=generator)
    theta = augmentation(len(images), generator, *images.shape[2:]) if AUGMENT else None
    order = order[positions].to(images.device)
    theta = theta[positions].to(images.device) if theta is not None else None
    # The last partial batch is dropped (when there is a full one): same-sized steps weigh alike.
    stop = len(positions) - len(positions) % batch_size if len(positions) >= batch_size else len(positions)
    for start in range(0, stop, batch_size):
        index = order[start:start + batch_size]
        x, y = images.index_select(0, index), labels.index_select(0, index)
        if theta is not None:  # warping is linear: warping 0..255 and then normalizing is the same as the reverse
            grid = F.affine_grid(theta[start:start + batch_size], list(x.shape), align_corners=False)
            x = F.grid_sample(x.to(torch.float32), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        yield normalize(x), y
'''

TRAINING = '''\
# -- training ----------------------------------------------------------------------------------------------------
def compute_loss(logits, labels, reduction="mean"):
@@LOSS_BODY@@


@@GET_LR@@

def make_optimizer(model):
    """Weight decay on weight matrices and kernels (2 or more dimensions) only; frozen layers stay out.

    fused=True: one kernel call updates every parameter (CUDA and CPU alike)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [group for group in ({"params": [p for p in params if p.ndim >= 2], "weight_decay": WEIGHT_DECAY},
                                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0})
              if group["params"]]
    return @@OPTIMIZER_CALL@@


def cpu_has_bf16():
    """Whether this CPU computes in bf16 (AMX-BF16 or AVX512-BF16); elsewhere bf16 is emulated, slower than fp32."""
    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is not None:
        flags = {name for name, value in capabilities().items() if value is True}
    else:
        try:
            flags = set(Path("/proc/cpuinfo").read_text().split())
        except OSError:
            return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def precision(device, amp):
    """(autocast on, its dtype) for --amp on `device`, and a note when what was asked for cannot be had."""
    if amp == "off":
        return False, torch.float32, None
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        if amp == "fp16" or (amp == "auto" and not bf16):
            return True, torch.float16, None  # with loss scaling (a GradScaler) so small gradients do not vanish
        if bf16:
            return True, torch.bfloat16, None  # the range of fp32: no loss scaling needed
        return False, torch.float32, "--amp bf16: this GPU does not compute in bf16; training in fp32"
    if amp == "bf16" and cpu_has_bf16():
        return True, torch.bfloat16, None
    if amp in ("bf16", "fp16"):
        return False, torch.float32, f"--amp {amp}: this CPU does not compute in {amp}; training in fp32"
    return False, torch.float32, None


@torch.no_grad()
def evaluate(model, images, labels, rank, world, amp, amp_dtype, memory_format):
    """Loss, accuracy and confusion matrix over the test split; each process scores every world-th image and the
    sums are added up across processes. (A DistributedSampler would pad the split with repeated images so that
    every process gets as many: some would count twice.)"""
    was_training = model.training
    model.eval()
    device, k = images.device, len(CLASSES)
    confusion = torch.zeros(k * k, dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    mine = torch.arange(rank, len(images), world, device=device)
    batch_size = EVAL_BATCH_SIZE.get(device.type, EVAL_BATCH_SIZE["cpu"])
    start = time.perf_counter()
    for begin in range(0, len(mine), batch_size):
        index = mine[begin:begin + batch_size]
        x, y = normalize(images.index_select(0, index)), labels.index_select(0, index)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
            logits = model(x.contiguous(memory_format=memory_format)).float()
        loss_sum += compute_loss(logits, y, reduction="sum")
        confusion += torch.bincount(y * k + logits.argmax(dim=1), minlength=k * k)
    if world > 1:
        dist.all_reduce(confusion)
        dist.all_reduce(loss_sum)
    confusion = confusion.view(k, k).cpu()  # the one copy to the host
    total, correct = int(confusion.sum()), int(confusion.diagonal().sum())
    per_class = (confusion.diagonal().double() / confusion.sum(dim=1).clamp(min=1).double()).tolist()
    model.train(was_training)
    return {"loss": float(loss_sum) / max(1, total), "accuracy": correct / max(1, total),
            "confusion": confusion.tolist(), "per_class_accuracy": per_class, "samples": total,
            "seconds": time.perf_counter() - start}


@@FROZEN@@
def epoch_line(epoch, epochs, train_loss, train_accuracy, test, samples_per_second, seconds):
    """The line `playground train` prints after each epoch."""
    return (f"epoch {epoch + 1}/{epochs}  train loss {train_loss:.4f} acc {train_accuracy:6.2%}  "
            f"test loss {test['loss']:.4f} acc {test['accuracy']:6.2%}  {samples_per_second:,.0f} samples/s  "
            f"{seconds:.2f} s")


def to_cpu(value):
    """Tensors (in the optimizer's state, nested) copied to the CPU: a checkpoint loads on any machine."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(to_cpu(v) for v in value)
    return value


def save_checkpoint(path, model, optimizer, scaler, history, extra, config):
    """A Playground checkpoint (format 1): the network as Playground saves it, the weights, the optimizer, the
    recipe, the history. Only plain values and tensors, so that torch.load(weights_only=True) reads it. Written to a
    temporary file and renamed: a crash mid-write never leaves half a checkpoint."""
    # Copied through JSON: the test results sit in both the history and `extra`, and Playground refuses a value
    # stored in two places (a pickle would share it).
    metadata = json.loads(json.dumps({"config": config, "history": history, "extra": extra}))
    payload = {"format": "playground-checkpoint", "format_version": 1, "graph_json": json.dumps(GRAPH),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "optimizer_state": to_cpu(optimizer.state_dict()), **metadata}
    payload["extra"].update(scaler=scaler.state_dict() if scaler.is_enabled() else None,
                            torch_version=str(torch.__version__))
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(payload, temporary)
    os.replace(temporary, path)
'''

MAIN = '''\
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\\n\\n")[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="the folder of @@DATASET_TITLE@@'s IDX files")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--max-steps", type=int, help="stop after this many steps (for quick checks)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="per process")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"), default=AMP,
                        help="mixed precision: auto is bf16 on a GPU that has it, else fp16, and fp32 on a CPU; "
                             "bf16 on a CPU needs AMX-BF16 or AVX512-BF16")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (slow start, faster steps)")
    parser.add_argument("--checkpoint", type=Path, default=Path("train.ckpt"), help="written after every epoch")
    parser.add_argument("--resume", type=Path, help="go on from this checkpoint (written by this script or by "
                                                    "Playground for the same network)")
    parser.add_argument("--log-every", type=int, default=100, help="print the loss every N steps (0: epochs only)")
    args = parser.parse_args()

    # -- processes and the device. torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; a plain run is one process.
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        sys.exit("--device cuda: this PyTorch sees no CUDA GPU (use --device cpu or auto)")
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True  # fixed batch shapes: cuDNN times its kernels once, then keeps the best
    if world > 1:  # NCCL between GPUs, gloo between CPU processes
        dist.init_process_group("nccl" if cuda else "gloo", device_id=device if cuda else None)
    main_process = rank == 0  # the one that prints and writes checkpoints

    def say(message):
        if main_process:
            print(message, file=sys.stderr, flush=True)

    amp, amp_dtype, note = precision(device, args.amp)
    if note:
        say(f"note: {note}")
    # fp16 needs loss scaling so that small gradients do not flush to zero; bf16 and fp32 do not.
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)

    # -- the data. Every process loads both splits; the sampler decides which training images are whose.
    train_images, train_labels = load_split(args.data_dir, "train", device)
    test_images, test_labels = load_split(args.data_dir, "test", device)
    say(f"data: @@DATASET_TITLE@@ from folder {args.data_dir}")
    sampler = DistributedSampler(range(len(train_images)), num_replicas=world, rank=rank, shuffle=False,
                                 drop_last=True)
    positions = torch.tensor(list(sampler), dtype=torch.int64)
    batch_size = args.batch_size
    steps_per_epoch = len(positions) // batch_size if len(positions) >= batch_size else 1
    total_steps = steps_per_epoch * args.epochs

    # -- the model, its optimizer, and where it starts.
    torch.manual_seed(SEED)  # the same initial weights in every process (DDP also copies rank 0's to the others)
    model = @@CLASS@@().to(device, memory_format=MEMORY_FORMAT)
    optimizer = make_optimizer(model)
    clipped = [p for p in model.parameters() if p.requires_grad]
@@PENALISED@@    history = {"step_loss": [], "epochs": [], "last_eval": None}
    epochs_done = 0
    if args.resume is not None:
        ckpt = torch.load(args.resume, map_location="cpu", weights_only=True)  # tensors and plain values only
        if not isinstance(ckpt, dict) or ckpt.get("format") != "playground-checkpoint":
            sys.exit(f"--resume {args.resume}: not a Playground checkpoint")
        try:
            model.load_state_dict(ckpt["state_dict"])
        except RuntimeError as exc:
            sys.exit(f"--resume {args.resume}: its weights do not fit this network ({str(exc).splitlines()[0]})")
        if ckpt.get("optimizer_state"):
            # fused/foreach are this machine's choice, not the saved run's
            kept = [{k: g[k] for k in ("fused", "foreach") if k in g} for g in optimizer.param_groups]
            optimizer.load_state_dict(ckpt["optimizer_state"])
            for group, impl in zip(optimizer.param_groups, kept, strict=True):
                group.update(impl)
        if ckpt["extra"].get("scaler") and scaler.is_enabled():
            scaler.load_state_dict(ckpt["extra"]["scaler"])
        history = ckpt.get("history") or history
        epochs_done = int(ckpt["extra"].get("epochs_completed", 0))
        history["step_loss"] = history["step_loss"][:epochs_done * steps_per_epoch]  # only finished epochs count
        say(f"resuming from {args.resume} after {epochs_done} epoch(s)")
    raw_model = model  # what is evaluated and saved: the DDP and compile wrappers hold the same parameters
    if args.compile:
        model = torch.compile(model)
    if world > 1:
        model = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)

    config = {"optimizer": OPTIMIZER, "lr": LR, "weight_decay": WEIGHT_DECAY, "batch_size": batch_size * world,
              "epochs": args.epochs, "schedule": SCHEDULE, "warmup_epochs": WARMUP_EPOCHS,
              "augment": "default" if AUGMENT else "none", "grad_clip": GRAD_CLIP,@@CONFIG_PENALTIES@@ "seed": SEED,
              "device": "auto", "amp": {"auto": True, "fp16": True, "bf16": "bf16", "off": False}[args.amp],
              "dataset": DATASET}
    batch_words = f"{world}×{batch_size}" if world > 1 else f"{batch_size}"
    say(f"training {NAME} on {device} for {args.epochs} epoch(s): {steps_per_epoch} steps of {batch_words} per "
        f"epoch, {OPTIMIZER} lr {LR:g}, {SCHEDULE} schedule, augment {'default' if AUGMENT else 'none'}, "
        f"{str(amp_dtype).removeprefix('torch.') if amp else 'fp32'}" + (f", {world} processes" if world > 1 else ""))

    # -- the loop: nothing per step copies from the device (a GPU never waits for the host).
    global_step = epochs_done * steps_per_epoch
    steps_run, status, test = 0, "completed", None
    train_seconds, train_samples = 0.0, 0
    run_start = time.perf_counter()
    step_losses = torch.zeros(steps_per_epoch, dtype=torch.float32, device=device)
    for epoch in range(epochs_done, args.epochs):
        torch.manual_seed(epoch_seed(epoch) + rank)  # dropout: fresh masks per epoch, different in each process
        @@TRAIN_MODE@@
        correct = torch.zeros((), dtype=torch.int64, device=device)
        sizes, lr = [], get_lr(global_step, total_steps, steps_per_epoch)
        if cuda:
            torch.cuda.synchronize()  # time this epoch's steps, not the evaluation before them
        start = time.perf_counter()
        for i, (x, y) in enumerate(train_batches(train_images, train_labels, epoch, positions, batch_size)):
            lr = get_lr(global_step, total_steps, steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
                logits = model(x.contiguous(memory_format=MEMORY_FORMAT))
                loss = compute_loss(logits.float(), y)
@@OBJECTIVE@@            optimizer.zero_grad(set_to_none=True)
            scaler.scale(@@OBJECTIVE_NAME@@).backward()  # under DDP the gradients are averaged across processes here
            if GRAD_CLIP:
                scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                nn.utils.clip_grad_norm_(clipped, GRAD_CLIP, foreach=True)
            scaler.step(optimizer)
            scaler.update()
            step_losses[i] = loss.detach()
            correct += (logits.detach().argmax(dim=1) == y).sum()
            sizes.append(len(y))
            global_step += 1
            steps_run += 1
            if args.log_every and global_step % args.log_every == 0:
                say(f"step {global_step}/{total_steps}  loss {loss.item():.4f}  lr {lr:.3g}")  # .item() waits
            if args.max_steps is not None and steps_run >= args.max_steps:
                break
        steps = len(sizes)
        # The one copy per epoch (it waits for the device, so the time is honest), summed over the processes.
        losses = step_losses[:steps].clone()
        totals = torch.stack([(losses.double() * torch.tensor(sizes, dtype=torch.float64, device=device)).sum(),
                              correct.double(), torch.tensor(float(sum(sizes)), dtype=torch.float64, device=device)])
        if world > 1:
            dist.all_reduce(losses)
            losses /= world
            dist.all_reduce(totals)
        losses, (loss_sum, correct_count, samples) = losses.tolist(), totals.tolist()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        train_samples += int(samples)
        if not all(math.isfinite(v) for v in losses):
            bad = next(s for s, v in enumerate(losses) if not math.isfinite(v))
            message = (f"training diverged: the loss became NaN or infinite at step {bad + 1} of epoch {epoch + 1}. "
                       f"The learning rate ({lr:.3g}) is probably too high for this network: try a lower one.")
            say(message)
            if main_process:
                print(json.dumps({"status": "diverged", "error": message}), flush=True)
            sys.exit(1)
        if world > 1:
            # BatchNorm's running statistics are each process's own (from its own batches): take rank 0's, so that
            # every process evaluates, and the checkpoint holds, the same network.
            for buffer in raw_model.buffers():
                dist.broadcast(buffer, 0)
        test = evaluate(raw_model, test_images, test_labels, rank, world, amp, amp_dtype, MEMORY_FORMAT)
        rate = samples / seconds if seconds > 0 else 0.0
        train_loss, train_accuracy = loss_sum / max(1, samples), correct_count / max(1, samples)
        history["step_loss"] += losses
        history["last_eval"] = test
        finished = steps == steps_per_epoch  # an epoch cut short by --max-steps is measured, not counted
        last = epoch + 1 == args.epochs or (args.max_steps is not None and steps_run >= args.max_steps)
        if last and not (finished and epoch + 1 == args.epochs):
            status = "stopped"
        if finished:
            epochs_done = epoch + 1
            history["epochs"].append({"epoch": epoch, "train_loss": train_loss, "train_accuracy": train_accuracy,
                                      "val_loss": test["loss"], "val_accuracy": test["accuracy"], "lr": lr,
                                      "seconds": seconds, "samples_per_second": rate, "steps": steps})
        if main_process:
            print(epoch_line(epoch, args.epochs, train_loss, train_accuracy, test, rate, seconds), flush=True)
            extra = {"epochs_completed": epochs_done, "global_step": global_step,
                     "status": status if last else "running", "dataset": DATASET,
                     "classes": CLASSES, "test": test}
            save_checkpoint(args.checkpoint, raw_model, optimizer, scaler, history, extra, config)
        if last:
            if status == "stopped":
                say(f"stopped after {steps_run} steps (--max-steps {args.max_steps}): {epochs_done} full epochs")
            break

    if test is None:  # nothing left to train (a resumed run that had finished): measure what there is
        test = evaluate(raw_model, test_images, test_labels, rank, world, amp, amp_dtype, MEMORY_FORMAT)
    if main_process:
        say(f"checkpoint: {args.checkpoint}")
        # The line `playground train` ends with, and the processes that trained.
        print(json.dumps({"status": status, "test_accuracy": test["accuracy"], "test_loss": test["loss"],
                          "epochs": epochs_done, "steps": global_step,
                          "seconds": round(time.perf_counter() - run_start, 3),
                          "train_seconds": round(train_seconds, 3),
                          "samples_per_second": round(train_samples / train_seconds if train_seconds else 0.0, 1),
                          "device": str(device), "dataset": DATASET, "checkpoint": str(args.checkpoint),
                          "processes": world}), flush=True)
    if world > 1:
        dist.destroy_process_group()
    return raw_model
'''
