"""The Training panel's Optimizer, Schedule, and Device and seed groups: their fields and what they explain.

Each group also keeps its own fields consistent with one another (the automatic
learning rate follows the optimizer, say); reading and writing a `TrainConfig`
is the panel's job.
"""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox

from ...core.train.config import DEFAULT_LR
from .fields import (
    ComboBox,
    DoubleSpinBox,
    Field,
    FormGroup,
    PowerOfTwoSpinBox,
    RateEdit,
    SpinBox,
    choice_combo,
    format_number,
)

OPTIMIZER_TITLES = {
    "sgd": "SGD",
    "momentum": "SGD + momentum",
    "nesterov": "Nesterov",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
}
OPTIMIZER_TIPS = {
    "sgd": "Plain stochastic gradient descent: each step moves the weights against the gradient.",
    "momentum": "SGD with momentum 0.9: steps keep some of their previous direction, which smooths and speeds them.",
    "nesterov": "SGD with Nesterov momentum 0.9: momentum that looks one step ahead; often a little steadier.",
    "adam": "Adam: a step size per weight, from running averages of the gradient and its square.",
    "adamw": "AdamW: Adam with weight decay applied directly to the weights. A strong default.",
    "rmsprop": "RMSprop: scales each weight's step by a running average of its squared gradient.",
}
SCHEDULE_TITLES = {"constant": "Constant", "step": "Step", "cosine": "Cosine", "onecycle": "One-cycle"}
SCHEDULE_TIPS = {
    "constant": "The learning rate stays the same for the whole run.",
    "step": "The learning rate drops ×0.1 at half the run and again at three quarters.",
    "cosine": "The learning rate falls smoothly from its value to 0 along a cosine.",
    "onecycle": "The learning rate rises from 1/25 of its value to the full value, then falls along a cosine "
                "to almost 0 (Smith's one-cycle policy). Fast and robust.",
}
NO_CUDA_TIP = ("This PyTorch sees no CUDA GPU (no NVIDIA GPU, no driver, or a CPU-only build of PyTorch), "
               "so training runs on the CPU.")


class OptimizerBox(FormGroup):
    def __init__(self, parent=None):
        super().__init__("Optimizer", "training_optimizer", parent)
        self.optimizer_combo = choice_combo(OPTIMIZER_TITLES, OPTIMIZER_TIPS)
        self.add("Optimizer", Field(
            "optimizer", self.optimizer_combo, "How the weights are updated from their gradients at each step."))
        self.lr_edit = RateEdit(1e-6, False, start=lambda: DEFAULT_LR[self.optimizer()])
        self.lr_edit.setClearButtonEnabled(True)
        self.add("Learning rate", Field(
            "lr", self.lr_edit,
            "How big each step is (the peak rate for one-cycle). Leave it empty for a rate that works well with "
            "this optimizer. Write 0.002 or 2e-3; the Up and Down keys step through 1, 2, 5, 10…"))
        self.wd_edit = RateEdit(1e-6, True)
        self.add("Weight decay", Field(
            "weight_decay", self.wd_edit,
            "Pulls the weights towards 0 a little at each step, which fights overfitting (0: none). "
            "Applied to weight matrices and kernels, never to biases or normalization layers."))
        # Regularisation in the loss, as TensorFlow Playground's (its L1 makes weights exactly 0, which its
        # pictures of the network show well); both may be on at once.
        self.l1_edit = RateEdit(1e-6, True)
        self.add("L1 regularization", Field(
            "l1", self.l1_edit,
            "Adds this rate × the sum of the weights' sizes (|w|) to the loss: it pushes weights that matter "
            "little to exactly 0, leaving a sparser network (0: off). Weight matrices and kernels only."))
        self.l2_edit = RateEdit(1e-6, True)
        self.add("L2 regularization", Field(
            "l2", self.l2_edit,
            "Adds this rate × the sum of the squared weights (w²) to the loss: it keeps every weight small, "
            "which smooths what the network learns (0: off). Weight matrices and kernels only."))
        self.batch_spin = PowerOfTwoSpinBox(1, 65536)
        self.add("Batch size", Field(
            "batch_size", self.batch_spin,
            "How many images each step learns from. Bigger batches run faster per image on a GPU but take more "
            "memory. The arrows go through powers of two; type any number from 1 to 65536."))
        self.epochs_spin = SpinBox(1, 10_000)
        self.add("Epochs", Field(
            "epochs", self.epochs_spin, "How many times training goes through the whole training set."))

    def optimizer(self) -> str:
        return self.optimizer_combo.currentData() or "adamw"

    def update_dependents(self) -> None:
        """An empty learning rate means the optimizer's own: the field says which."""
        self.lr_edit.setPlaceholderText(f"auto ({format_number(DEFAULT_LR[self.optimizer()])})")


class ScheduleBox(FormGroup):
    def __init__(self, parent=None):
        super().__init__("Schedule", "training_schedule", parent)
        self.schedule_combo = choice_combo(SCHEDULE_TITLES, SCHEDULE_TIPS)
        self.add("Schedule", Field(
            "schedule", self.schedule_combo, "How the learning rate changes over the run.\n\n"
            + "\n".join(f"{SCHEDULE_TITLES[k]}: {v}" for k, v in SCHEDULE_TIPS.items())))
        self.warmup_spin = DoubleSpinBox(0.0, 10_000.0, 2, 0.5)
        self.warmup_spin.setSuffix(" epochs")
        self.add("Warm-up", Field(
            "warmup_epochs", self.warmup_spin,
            "Epochs over which the learning rate rises from near 0 to its value, which steadies the first "
            "steps. One-cycle: 0 means the first 30% of the run."))
        self.clip_spin = DoubleSpinBox(0.0, 1e6, 2, 0.5)
        self.clip_spin.setSpecialValueText("Off")
        self.add("Clip gradients", Field(
            "grad_clip", self.clip_spin,
            "The largest the gradient may be (its overall norm) at one step; bigger ones are scaled down to it. "
            "Protects a run from a sudden huge step. 0: off."))

    def schedule(self) -> str:
        return self.schedule_combo.currentData() or "onecycle"

    def update_dependents(self) -> None:
        """A warm-up of 0 means none, except with one-cycle, which then warms up over 30% of the run."""
        self.warmup_spin.setSpecialValueText("Auto (30%)" if self.schedule() == "onecycle" else "None")


class DeviceBox(FormGroup):
    def __init__(self, parent=None):
        super().__init__("Device and seed", "training_device", parent)
        self.device_combo = ComboBox()
        self.cuda_names = self._fill_devices()
        self.add("Device", Field(
            "device", self.device_combo,
            "Where training runs. Auto: the first CUDA GPU when there is one, else the CPU."))
        self.amp_check = QCheckBox("Mixed (16-bit)")
        self.add("Precision", Field(
            "amp", self.amp_check,
            "Compute in 16-bit floats where it is safe (bfloat16 where the GPU has it): faster and lighter on "
            "a GPU, with the same accuracy. CUDA only."))
        self.seed_spin = SpinBox(0, 2_147_483_647)
        self.add("Seed", Field(
            "seed", self.seed_spin,
            "Starts the random numbers: the initial weights, the order of the images and the augmentation. "
            "The same seed and settings give the same run on the same device."))

    def _fill_devices(self) -> list[str]:
        """Auto, the CPU and each CUDA GPU by name (a greyed CUDA item when there is none); returns the names."""
        combo = self.device_combo
        names: list[str] = []
        if torch.cuda.is_available():  # once, here, before any training: no torch calls during a run
            for i in range(torch.cuda.device_count()):
                try:
                    names.append(torch.cuda.get_device_name(i))
                except (RuntimeError, AssertionError):
                    names.append(f"CUDA device {i}")
        combo.addItem(f"Auto ({names[0]})" if names else "Auto (CPU)", "auto")
        combo.setItemData(0, "The first CUDA GPU when there is one, else the CPU.", Qt.ItemDataRole.ToolTipRole)
        combo.addItem("CPU", "cpu")
        for i, name in enumerate(names):
            combo.addItem(f"GPU {i}: {name}", f"cuda:{i}")
            combo.setItemData(combo.count() - 1, f"cuda:{i} — {name}", Qt.ItemDataRole.ToolTipRole)
        if not names:
            combo.addItem("CUDA (no GPU found)", "cuda")
            index = combo.count() - 1
            combo.setItemData(index, NO_CUDA_TIP, Qt.ItemDataRole.ToolTipRole)
            combo.model().item(index).setEnabled(False)
        return names

    def device_item(self, device: str) -> str:
        """The item to show for a config's `device`: "auto" for one this machine lacks (a config from elsewhere)."""
        if device == "cuda" and self.cuda_names:
            return "cuda:0"
        index = self.device_combo.findData(device)
        item = self.device_combo.model().item(index) if index >= 0 else None
        return device if item is not None and item.isEnabled() else "auto"

    def update_dependents(self) -> None:
        """Mixed precision is CUDA only: off (and saying why) when the chosen device is the CPU."""
        device = self.device_combo.currentData()
        cuda = str(device).startswith("cuda") or (device == "auto" and bool(self.cuda_names))
        self.amp_check.setEnabled(cuda)
        help_text = self.fields["amp"].help
        self.amp_check.setToolTip(help_text if cuda else help_text + "\n\nOff here: the chosen device is the CPU.")


GAN_LOSS_TITLES = {"non_saturating": "Non-saturating", "least_squares": "Least squares"}
GAN_LOSS_TIPS = {
    "non_saturating": "The discriminator learns real against fake with binary cross-entropy; the generator "
                      "maximises log D(G(z)), which keeps its gradients alive while the discriminator wins easily "
                      "(the DCGAN recipe).",
    "least_squares": "LSGAN: the discriminator's score is pulled towards 1 for real images and 0 for generated "
                     "ones by squared distance; the generator pulls its images' scores towards 1. Often steadier.",
}


class GanBox(FormGroup):
    """A GAN's own settings: what it trains with instead of the classifier's optimizer, rate and schedule."""

    def __init__(self, parent=None):
        super().__init__("Adversarial training", "training_gan", parent)
        self.loss_combo = choice_combo(GAN_LOSS_TITLES, GAN_LOSS_TIPS)
        self.add("Loss", Field(
            "gan_loss", self.loss_combo, "How the two networks score each other.\n\n"
            + "\n".join(f"{GAN_LOSS_TITLES[k]}: {v}" for k, v in GAN_LOSS_TIPS.items())))
        self.d_steps_spin = SpinBox(1, 10)
        self.add("D steps per G step", Field(
            "gan_d_steps", self.d_steps_spin,
            "How many discriminator steps (each on a batch of its own) come before each generator step. 1 is the "
            "usual choice; more lets the discriminator keep ahead of the generator."))
        self.lr_g_edit = RateEdit(1e-6, False)
        self.add("Generator rate", Field(
            "gan_lr_g", self.lr_g_edit,
            "The generator's learning rate (Adam, constant). 0.0002 is the DCGAN recipe. Write 0.0002 or 2e-4; "
            "the Up and Down keys step through 1, 2, 5, 10…"))
        self.lr_d_edit = RateEdit(1e-6, False)
        self.add("Discriminator rate", Field(
            "gan_lr_d", self.lr_d_edit,
            "The discriminator's learning rate (Adam, constant). When the discriminator wins too easily (D(fake) "
            "near 0 for long), lower it or raise the generator's."))
        self.beta1_spin = DoubleSpinBox(0.0, 0.999, 3, 0.05)
        self.add("Adam β1", Field(
            "gan_beta1", self.beta1_spin,
            "Adam's momentum for both networks. 0.5, as in DCGAN: less momentum steadies the two-player game "
            "(the classifiers' 0.9 tends to make it oscillate)."))
        self.smoothing_spin = DoubleSpinBox(0.0, 0.5, 2, 0.05)
        self.smoothing_spin.setSpecialValueText("Off")
        self.add("Label smoothing", Field(
            "gan_label_smoothing", self.smoothing_spin,
            "One-sided label smoothing: the discriminator's target for real images is 1 minus this (0.1 gives "
            "0.9), which keeps it from growing over-confident. 0: off."))
        self.ema_spin = DoubleSpinBox(0.0, 0.9999, 4, 0.001)
        self.ema_spin.setSpecialValueText("Off")
        self.add("Sample average", Field(
            "gan_ema", self.ema_spin,
            "The samples (the Samples dock's grid, the judge's) come from a moving average of the generator's "
            "weights with this decay: steadier, cleaner images than the last step's generator. 0.999 averages "
            "over about the last thousand steps; 0: off, the generator as it is."))
        self.judge_check = QCheckBox("Judge the samples after each epoch")
        self.add(None, Field(
            "gan_judge", self.judge_check,
            "After each epoch a frozen digit classifier looks at 1,000 samples: the share it recognises and how "
            "many classes they cover (few classes: mode collapse), plotted on the Charts. The classifier is "
            "trained once per dataset (a minute or two) and kept in the cache."))

    def loss(self) -> str:
        return self.loss_combo.currentData() or "non_saturating"

    def update_dependents(self) -> None:
        """Nothing depends on anything else here."""
