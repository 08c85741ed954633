"""Test sets with no run, and the evaluation of weights that no run has evaluated.

With no run, the test split of the dataset a run would use is loaded in the
background whenever that dataset (or where it comes from) changes, so that the
Draw dock's test-digit buttons work from the start. Weights loaded from a file
are classified on it by the predictor for the Confusion and Predictions views
(`evaluated`), and so are the final weights of a run stopped mid-epoch, on that
run's test split: its last evaluation was of the weights at the end of the
epoch before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ...core.data.points import is_points_dataset
from ...core.run.messages import RunFinished, RunStarted
from ..predictor import TestSetResults
from .data_box import dataset_title
from .datasets import DatasetLocation, TestSet, TestSetLoader


@dataclass(frozen=True)
class _Evaluation:
    """Weights that no run has evaluated, to be classified on a test set for the confusion matrix and gallery."""
    version: int  # the predictor's weights version they are
    name: str  # what they are, for the notes: "loaded from model.pt", "run 3, final weights"
    test_set: TestSet | None  # None: the one loaded in the background, once it is here
    trained_on: str = ""  # the dataset the weights were trained on, when known


class Evaluations(QObject):
    # TestSetResults of weights no run has evaluated (loaded from a file), their class names and a note
    evaluated = Signal(object, tuple, str)

    def __init__(self, session, panel, digits, predictor, weights, say: Callable[[str], None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.digits, self.predictor, self.weights, self.say = session, digits, predictor, weights, say
        # The test split a run would use now, loaded in the background (None until it has come).
        self.test_set: TestSet | None = None
        self._test_set_key: tuple | None = None  # the (dataset, where from) it was asked for
        self._test_set_token = 0
        self._loader = TestSetLoader(self)
        self._loader.loaded.connect(self._on_test_set)
        self._loader.failed.connect(self._on_test_set_failed)
        self._waiting: _Evaluation | None = None  # to evaluate once its test set is here
        self._evaluating: tuple[_Evaluation, TestSet] | None = None  # ... and the one the predictor is evaluating
        self._run_test_set: TestSet | None = None  # the test split of the run under way (or the last one)
        self._evaluated_step = -1  # the global step of the current (or last) run's last epoch-end evaluation
        panel.data_group.source_located.connect(self._on_source_located)
        predictor.test_set_evaluated.connect(self._on_evaluated)

    # -- the run's own evaluations ----------------------------------------------------------------------
    def run_started(self, started: RunStarted) -> None:
        self._evaluated_step = -1
        # A GAN's final weights have no classes to evaluate on a test set (its judge said how it did).
        # A GAN has no classes to score; points have no images (the Decision view shows how they are classified).
        self._run_test_set = None if started.task in ("generation", "points") else TestSet(
            name=started.dataset, images=started.test_images, labels=started.test_labels, classes=started.classes)

    def epoch_evaluated(self, global_step: int) -> None:
        self._evaluated_step = global_step

    def run_finished(self, finished: RunFinished) -> None:
        """Stopped mid-epoch: the views show the last epoch's evaluation, and the final weights are newer."""
        weights = self.weights.current
        if (weights is not None and weights.run_id == finished.run_id and finished.ok
                and self._run_test_set is not None and self._evaluated_step < weights.global_step):
            self._waiting = _Evaluation(self.weights.version, f"run {finished.run_id}, final weights (step "
                                        f"{weights.global_step:,})", self._run_test_set)
        self.evaluate_if_waiting()

    def evaluate_loaded(self, name: str, trained_on: str) -> None:
        """The weights just loaded (from a file), on the test set loaded in the background (images only: the
        Decision view shows a network on 2-D points at work once it trains)."""
        if is_points_dataset(trained_on):
            self._waiting = None
            return
        self._waiting = _Evaluation(self.weights.version, name, None, trained_on=trained_on)
        self.evaluate_if_waiting()

    # -- the test set, with no run -------------------------------------------------------------------
    def _on_source_located(self, location: DatasetLocation) -> None:
        """The dataset a run would use, or where it comes from, is known (again): load its test split if it
        is another one than the last asked for (a download that has just finished replaces the sample, say)."""
        if location.kind == "error":
            return
        key = (location.name, location.kind, str(location.folder or ""))
        if key == self._test_set_key:
            return
        self._test_set_key = key
        self._test_set_token += 1
        self._loader.load(self._test_set_token, location.name)

    def _on_test_set(self, token: int, test_set: TestSet) -> None:
        if token != self._test_set_token:
            return  # an answer for a dataset no longer chosen
        self.test_set = test_set
        if self.session.active:
            return  # the Draw dock keeps the running run's test set; this one serves after the run
        self.digits.set_test_set(test_set.images, test_set.labels)
        weights = self.weights.current
        if weights is None or not weights.classes:
            self.digits.set_classes(test_set.classes)
        self.evaluate_if_waiting()

    def _on_test_set_failed(self, token: int, message: str) -> None:
        if token == self._test_set_token:
            self.say(message)

    def evaluate_if_waiting(self) -> None:
        """Weights no run has evaluated are classified on their test set once it is here."""
        waiting = self._waiting
        if waiting is not None and waiting.version != self.weights.version:
            self._waiting = waiting = None  # other weights since (a run's, say): those are not in use any more
        test_set = (waiting.test_set or self.test_set) if waiting is not None else None
        if waiting is None or test_set is None or self.session.active:
            return
        self._waiting, self._evaluating = None, (waiting, test_set)
        self.predictor.evaluate_test_set(test_set.images, test_set.labels)
        self.say(f"Evaluating {waiting.name} on the test set ({len(test_set.labels):,} images)…")

    def _on_evaluated(self, results: TestSetResults) -> None:
        if self._evaluating is None:
            return
        evaluation, test_set = self._evaluating
        if (results.weights_version != evaluation.version or self.session.active
                or results.images is not test_set.images):
            return  # newer weights, a run under way or another test set since: these results are stale
        self._evaluating = None
        weights = self.weights.current
        classes = tuple(weights.classes) if weights is not None and weights.classes else test_set.classes
        title = dataset_title(test_set.name)
        trained_on = evaluation.trained_on
        other_data = bool(trained_on) and _family(trained_on) != _family(test_set.name)
        trained = dataset_title(trained_on)
        note = f"{evaluation.name} · {results.accuracy:.1%} correct on {len(results.labels):,} test images"
        if other_data:
            note += f" of {title} (trained on {trained})"
        self.evaluated.emit(results, classes, note)
        said = f"{evaluation.name}: {results.accuracy:.2%} correct on the {title} test set"
        if other_data:
            said += f", but they were trained on {trained} (choose it in the Training panel)"
        self.say(said)

    def shutdown(self) -> None:
        self._loader.shutdown()


def _family(dataset: str) -> str:
    """The data a dataset's images are drawn from: the offline sample is MNIST."""
    return "mnist" if dataset == "mnist-sample" else dataset
