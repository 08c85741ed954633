"""Fine-tune on my digits, from the window: whether it can start, how far the network stays frozen, the run.

The My digits window (app/draw/my_digits.py) shows what this decides. It can start when there are weights to
tune (a run's or loaded ones) of a digit classifier, no run is going, and the person's digits give each class
used at least two (one to learn from, one to measure on). The Frozen list holds the network's layers in
execution order up to the last Dense layer; the default keeps everything before the last Dense frozen
(core/train/finetune.py's `frozen_nodes`). Picking a layer there sets the editor's Trainable flags to match, as
one undoable edit, so the editor shows what will learn; Fine-tune sets them again (they may have been changed by
hand since), then starts the run: an ordinary run of the training process (charts, live weights, Stop) whose job
carries the digits, ending with a FinetuneReport that the My digits window shows before and after.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from ...core.inference.server import takes_colour
from ...core.layers import CATALOG
from ...core.run.job import FinetuneSpec
from ...core.run.messages import FinetuneReport
from ...core.task import CLASSIFICATION, task_of
from ...core.train.finetune import MIN_PER_CLASS, FinetuneError, frozen_nodes
from ..editor import commands
from .data_box import dataset_title


class FinetuneControl(QObject):
    def __init__(self, document, session, weights, runs, digits, say: Callable[[str], None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.document, self.session, self.weights, self.runs = document, session, weights, runs
        self.row = digits.my_digits
        self.say = say
        self._chosen: str | None = None  # the person's pick in the Frozen list (None: the default)
        document.changed.connect(self.update)
        document.reset.connect(self._network_replaced)
        session.state_changed.connect(self.update)
        weights.weights_in_use.connect(self.update)
        self.row.digits_changed.connect(self.update)
        self.row.freeze_chosen.connect(self.freeze_chosen)
        self.row.finetune_requested.connect(self.start)
        self.update()

    # -- what the window shows ----------------------------------------------------------------------
    def _choices(self) -> tuple[list[tuple[str, str]], str | None]:
        """The Frozen list's lines (node id, text) and the default's node (None: the network has no Dense layer)."""
        graph = self.document.graph
        if task_of(graph) != CLASSIFICATION:  # a GAN, a network on 2-D points: no digits to tune it on
            return [], None
        order, _ = graph.topological_order()
        dense = [nid for nid in order if graph.nodes[nid].kind == "dense"]
        try:
            frozen = frozen_nodes(graph)
        except FinetuneError:
            return [], None
        if not frozen or not dense:  # a Dense first in line (a loose one): nothing before it to keep
            return [], None
        default = frozen[-1]
        lines = []
        for nid in order[:order.index(dense[-1])]:
            kind = graph.nodes[nid].kind
            if kind == "input":
                text = "nothing (every layer learns)"
            else:
                spec = CATALOG.get(kind)
                text = f"{nid} · {spec.title if spec else kind}"
            lines.append((nid, text + ("  (default: only the last Dense learns)" if nid == default else "")))
        return lines, default

    def _counts(self) -> dict[str, int]:
        """How many digits each of the network's classes has."""
        counts = self.row.store.counts(self.row.classes)
        return {c: counts[c] for c in self.row.classes}

    def _why_not(self, choices: list, counts: dict[str, int]) -> str:
        """Why fine-tuning cannot start now ("" when it can), given the Frozen list's lines and `_counts()`."""
        weights = self.weights.current
        if self.session.active:
            return "A run is going: fine-tuning can start when it has ended."
        if weights is None:
            return "Train the network (or load weights) first: fine-tuning starts from trained weights."
        if task_of(weights.graph) != CLASSIFICATION or takes_colour(weights.graph):
            return "Fine-tuning on drawn digits is for networks that classify gray digits."
        alone = [c for c, n in counts.items() if n == 1]
        if alone:
            return (f"The class {alone[0]} has only 1 digit: keep another (each class used needs "
                    f"{MIN_PER_CLASS}: one to learn from, one to measure on), or delete it.")
        if not any(n >= MIN_PER_CLASS for n in counts.values()):
            return ("Keep a few digits first (draw, then Keep as …): at least 2 of a class, 5 of each is better.")
        if not choices:
            return "The network has no Dense layer to fine-tune."
        return ""

    def update(self, *_args) -> None:
        choices, default = self._choices()
        ids = [nid for nid, _ in choices]
        chosen = self._chosen if self._chosen in ids else default
        counts = self._counts()
        why = self._why_not(choices, counts)
        ready = not why
        if ready:
            why = (f"{sum(counts.values())} digits: about a fifth of each class is held out to measure on; the rest "
                   "are mixed with replayed training images so that the network does not forget them.")
        self.row.set_finetune(choices=choices, chosen=chosen, ready=ready, why=why)

    def _network_replaced(self) -> None:
        self._chosen = None
        self.update()

    # -- the person's actions ----------------------------------------------------------------------------
    def freeze_chosen(self, node_id: str) -> None:
        """The person picked a layer in the Frozen list: the editor's Trainable flags follow (one undo step)."""
        self._chosen = node_id or None
        self._apply_freeze(node_id)
        self.update()

    def _apply_freeze(self, node_id: str) -> bool:
        graph = self.document.graph
        try:
            frozen = frozen_nodes(graph, node_id or None)
        except FinetuneError as exc:
            self.say(f"Fine-tuning: {exc}")
            return False
        text = ("Unfreeze every layer for fine-tuning" if graph.nodes[frozen[-1]].kind == "input"
                else f"Freeze up to {frozen[-1]} for fine-tuning")
        edit = commands.set_frozen(self.document, frozen, text)
        return edit is None or self.document.push(edit)

    def start(self, node_id: str) -> bool:
        choices, default = self._choices()
        why = self._why_not(choices, self._counts())
        if why:
            self.say(why)
            self.update()
            return False
        node_id = node_id or default or ""
        if not self._apply_freeze(node_id):
            return False
        ids, images, labels = self.row.store.labelled(self.row.classes)
        spec = FinetuneSpec(images=images, labels=labels, ids=ids, freeze_until=node_id or None)
        return self.runs.start(finetune=spec)

    def reported(self, report: FinetuneReport) -> None:
        """A fine-tuning run's before and after: the My digits window, the counter line and the status bar."""
        weights = self.weights.current
        classes = tuple(weights.classes) if weights is not None and weights.classes else self.row.classes
        title = dataset_title(report.replay_dataset)
        self.row.show_report(report, classes, title)
        self.say(f"Fine-tuned on my digits: held-out own digits {report.own_before:.0%} → {report.own_after:.0%}, "
                 f"{title} test {report.replay_before:.2%} → {report.replay_after:.2%}")
