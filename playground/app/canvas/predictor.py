"""Live prediction for the drawing canvas, on one background thread that keeps its own CPU model.

The GUI thread only drops things into a mailbox guarded by a `threading.Condition`
(the latest model, the latest drawing, an optional "find the mistakes" job) and
returns at once; the thread sleeps on the condition until there is work. A
drawing comes as a copy of the canvas's raster, made by the GUI thread, and this
thread turns it into the MNIST-style 28×28 image (`preprocess_digit`): the GUI
thread does no numpy work per prediction. The thread reconciles state rather
than draining a queue: whenever the latest drawing has not yet been classified
with the latest weights, it classifies it.
So requests sent faster than the model answers are dropped (latest wins), and
new weights published by a training run re-classify the drawing on the canvas
without the canvas asking again.

Results cross to the GUI thread through Qt signals: the `Predictor` is a QObject
living in the GUI thread, so a signal emitted from the worker thread is queued.
The worker never touches a widget. The model only ever lives on the CPU, so
predicting never races a CUDA training run, and weights arrive as the CPU copies
published with the training snapshots (loaded here, not in the GUI thread).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QCoreApplication, QObject, Signal
from threadpoolctl import threadpool_limits

from ...core.build import build_module
from ...core.data import normalization_for, preprocess_digit
from ...core.graph import Graph, graph_to_dict
from ...core.train.inference import output_probabilities, predict_probabilities
from ...core.train.insight import Insight, look_inside, saliency
from ...core.train.trainer import loss_function

MISTAKES_CHUNK = 500  # test images classified per step of a "find the mistakes" job
INSIGHT_INTERVAL = 0.25  # seconds between looks inside the network (activations, saliency), while a view wants them


@dataclass(frozen=True)
class Prediction:
    request_id: int
    probabilities: np.ndarray = field(repr=False)  # float32 [classes], sums to 1
    image: np.ndarray = field(repr=False)  # uint8 [28, 28]: what was classified (a drawing: once preprocessed)
    weights_version: int  # the `version` given to Predictor.set_model
    submitted_at: float  # time.perf_counter() of the request (or of the new weights, for a re-prediction)


def _stop_orphan(cond: threading.Condition, state: dict, *_args) -> None:
    with cond:
        state["_stop"] = True
        cond.notify_all()


def _first_line(exc: BaseException, limit: int = 240) -> str:
    """An exception as one short line (torch's state_dict errors span several)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 1] + "…"


def graph_fingerprint(graph: Graph) -> str:
    """What decides the module's structure: nodes, params and wires (not positions, names or descriptions)."""
    data = graph_to_dict(graph)
    for node in data["nodes"]:
        node.pop("position", None)
    data.pop("name", None)
    data.pop("description", None)
    return json.dumps(data, sort_keys=True, default=str)


@dataclass
class _ModelJob:
    graph: Graph
    state_dict: dict[str, Any] | None
    dataset: str
    version: int
    submitted_at: float


@dataclass
class _Request:
    image: np.ndarray | None  # None until the worker has preprocessed `drawing`
    request_id: int
    submitted_at: float
    drawing: np.ndarray | None = None  # a raster copy, preprocessed in the worker thread


@dataclass
class _MistakesJob:
    images: np.ndarray
    labels: np.ndarray
    start: int = 0
    found: list = field(default_factory=list)
    version: int | None = None  # the weights the chunks so far were classified with


class Predictor(QObject):
    """Classifies canvas drawings on its own thread. Every method is called from the GUI thread and returns at once."""

    predicted = Signal(object)  # Prediction
    mistakes_found = Signal(object)  # list of (index, true_label, predicted_label, confidence), most confident first
    failed = Signal(str)  # a plain message: the network cannot be built, the weights do not fit it, ...
    insight_ready = Signal(object)  # core.train.insight.Insight of the latest drawing (only while wanted)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cond = threading.Condition()
        # The mailbox (guarded by _cond).
        self._model_job: _ModelJob | None = None
        self._request: _Request | None = None
        self._mistakes: _MistakesJob | None = None
        self._stop = False
        self._insight_wanted = False
        self._thread: threading.Thread | None = None
        # Owned by the worker thread only.
        self._model: torch.nn.Module | None = None
        self._fingerprint: str | None = None
        self._initial = False  # the model holds the graph's initial weights (nothing loaded since it was built)
        self._version = -1
        self._loss = "cross_entropy"
        self._normalization = normalization_for("mnist")
        self._model_time = 0.0
        self._done: tuple[int, int] | None = None  # (request id, weights version) last classified
        self._graph: Graph | None = None  # the graph of the model (for looking inside it)
        self._insight_done: tuple[int, int] | None = None  # (request id, weights version) last looked inside
        self._insight_at = -INSIGHT_INTERVAL  # perf_counter() of the last look inside
        app = QCoreApplication.instance()
        if app is not None:  # never let the (non-daemon) thread outlive the application
            app.aboutToQuit.connect(self.shutdown)
        # Nor its QObject (deleted with a parent, say): stop the thread without touching the dead object.
        self.destroyed.connect(functools.partial(_stop_orphan, self._cond, self.__dict__))

    # -- GUI thread -------------------------------------------------------------------------------
    def set_model(self, graph: Graph, state_dict: dict | None, dataset: str, version: int) -> None:
        """Use this network from now on (the latest call wins). `state_dict` None: the graph's initial weights.
        The tensors are not copied here; they are loaded in the worker thread, so the caller must not change them."""
        job = _ModelJob(graph.copy(), state_dict, dataset, version, time.perf_counter())  # the graph is small
        self._post("_model_job", job)

    def request(self, image28: np.ndarray, request_id: int, submitted_at: float) -> None:
        """Classify this 28×28 uint8 image; an older request not yet started is dropped."""
        image = np.array(image28, dtype=np.uint8, copy=True)  # 784 bytes: the caller may reuse its array
        self._post("_request", _Request(image, int(request_id), float(submitted_at)))

    def request_drawing(self, drawing: np.ndarray, request_id: int, submitted_at: float) -> None:
        """Classify a drawing of any size (uint8, white on black, say the canvas's raster): it is copied here,
        then preprocessed like MNIST in the worker thread; the Prediction's `image` is the result.
        An older request not yet started is dropped."""
        copy = np.array(drawing, dtype=np.uint8, copy=True)  # the canvas goes on drawing into its raster
        self._post("_request", _Request(None, int(request_id), float(submitted_at), copy))

    def want_insight(self, wanted: bool) -> None:
        """Look inside the network for the latest drawing (`insight_ready`), at most every INSIGHT_INTERVAL and
        after its prediction, whenever the drawing or the weights change; off costs nothing."""
        self._post("_insight_wanted", bool(wanted))

    def find_mistakes(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Classify a test set with the current weights; answers with `mistakes_found`. Replaces a running job."""
        self._post("_mistakes", _MistakesJob(np.asarray(images), np.asarray(labels)))

    def shutdown(self) -> None:
        """Stop the thread and wait for it (it finishes at most the one batch it is classifying). Idempotent."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _post(self, slot: str, value) -> None:
        with self._cond:
            if self._stop:
                return
            setattr(self, slot, value)
            if self._thread is None:  # started on first use: a predictor never used costs no thread
                self._thread = threading.Thread(target=self._run, name="playground-predictor", daemon=False)
                self._thread.start()
            self._cond.notify()

    # -- worker thread ----------------------------------------------------------------------------
    def _has_work(self) -> bool:
        if self._stop or self._model_job is not None:
            return True
        if self._model is None:  # requests and mistakes wait in the mailbox for a usable model
            return False
        request = self._request
        return self._mistakes is not None or (
            request is not None and self._done != (request.request_id, self._version)) or self._insight_wait() == 0

    def _insight_wait(self) -> float | None:
        """Seconds until the latest drawing is due a look inside (0: now), or None when none is due."""
        request = self._request
        if not self._insight_wanted or self._model is None or request is None or request.image is None:
            return None
        key = (request.request_id, self._version)
        if self._done != key or self._insight_done == key:
            return None
        return max(0.0, self._insight_at + INSIGHT_INTERVAL - time.perf_counter())

    def _run(self) -> None:
        # One image at a time gains nothing from more intra-op threads, and on a small machine a second
        # thread fights the training run for a core (a 1 ms forward became 8-64 ms). Per thread: the
        # training worker keeps its own setting.
        torch.set_num_threads(1)
        # The same for numpy's BLAS (preprocessing multiplies small matrices): OpenBLAS would run a product on
        # every core and keep a spinning helper thread. Process-wide, as the app intends anyway; only libraries
        # already loaded can be limited, and here numpy certainly is.
        threadpool_limits(1, user_api="blas")
        try:
            self._loop()
        except RuntimeError as exc:  # the QObject was deleted under us: nobody is listening any more
            if "already deleted" not in str(exc):
                raise

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._has_work():
                    self._cond.wait(self._insight_wait())  # None: until notified
                if self._stop:
                    return
                model_job, self._model_job = self._model_job, None
                request = self._request
                mistakes = self._mistakes
            if model_job is not None:
                self._load(model_job)
                continue  # a newer model may have arrived meanwhile; then classify
            if self._model is None:
                continue
            if request is not None and self._done != (request.request_id, self._version):
                self._classify(request)
            elif self._insight_wait() == 0:
                self._look_inside(request)
            elif mistakes is not None:
                self._mistakes_step(mistakes)

    def _load(self, job: _ModelJob) -> None:
        """Rebuild the module only when the graph's structure changed (or for initial weights); else reload weights."""
        model = self._model
        try:
            fingerprint = graph_fingerprint(job.graph)
            loss = loss_function(job.graph)
            same = model is not None and fingerprint == self._fingerprint
            if not same or (job.state_dict is None and not self._initial):
                self._model = self._fingerprint = None
                model = build_module(job.graph, "cpu").eval()  # a fresh build carries the initial weights
                self._fingerprint = fingerprint
        except Exception as exc:  # GraphError names the problems; anything else is a bug worth showing too
            self._model = None
            self._emit(self.failed, f"The network cannot be built: {_first_line(exc)}")
            return
        if job.state_dict is not None:
            try:
                with torch.no_grad():
                    model.load_state_dict(job.state_dict)  # strict: a mismatch is reported, never half-loaded
            except Exception as exc:
                # The module may hold part of these weights now: rebuild it before it is used again.
                self._model = self._fingerprint = None
                self._emit(self.failed, f"The weights do not fit the network: {_first_line(exc)}")
                return
        try:
            self._normalization = normalization_for(job.dataset)
        except ValueError:
            self._normalization = normalization_for("mnist")
        self._model, self._loss, self._version, self._model_time = model, loss, job.version, job.submitted_at
        self._graph = job.graph
        self._initial = job.state_dict is None

    def _probabilities(self, images: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = predict_probabilities(self._model, torch.from_numpy(images), self._normalization, self._loss)
        return out.numpy()

    def _probabilities_of(self, image: np.ndarray) -> np.ndarray:
        """One image, with as little Python as `predict_probabilities` allows itself: the model is in eval mode
        here (built so, and nothing trains it), so its `eval_mode` round over every submodule is skipped."""
        if self._loss != "cross_entropy":
            return self._probabilities(image[None])[0]
        with torch.inference_mode():
            x = self._normalization(torch.from_numpy(image).view(1, 1, *image.shape))
            return self._model(x).float().softmax(dim=1)[0].numpy()

    def _classify(self, request: _Request) -> None:
        first_time = self._done is None or self._done[0] != request.request_id
        self._done = (request.request_id, self._version)
        try:
            if request.image is None:  # kept on the request: new weights re-classify it without preprocessing
                request.image, request.drawing = preprocess_digit(request.drawing), None
            probabilities = self._probabilities_of(request.image).astype(np.float32)
        except Exception as exc:  # e.g. a network whose input is not 28×28: say so, keep the thread alive
            self._model = None
            self._emit(self.failed, f"The network cannot classify a 28×28 drawing: {_first_line(exc)}")
            return
        submitted_at = request.submitted_at if first_time else self._model_time
        self._emit(self.predicted, Prediction(request.request_id, probabilities, request.image, self._version,
                                              submitted_at))

    def _look_inside(self, request: _Request) -> None:
        self._insight_done = (request.request_id, self._version)
        self._insight_at = time.perf_counter()
        try:
            raw = torch.from_numpy(request.image).view(1, 1, *request.image.shape)
            logits, layers = look_inside(self._model, self._graph, self._normalization(raw))
            probabilities = output_probabilities(logits, self._loss)[0].numpy().astype(np.float32)
            predicted = int(probabilities.argmax())
            heat = saliency(self._model, raw, self._normalization, predicted)
        except Exception as exc:  # never take the thread down: prediction goes on without the views
            self._emit(self.failed, f"Could not look inside the network: {_first_line(exc)}")
            return
        self._emit(self.insight_ready, Insight(image=request.image, probabilities=probabilities, predicted=predicted,
                                               layers=tuple(layers), saliency=heat, weights_version=self._version,
                                               request_id=request.request_id))

    def _mistakes_step(self, job: _MistakesJob) -> None:
        """Classify one chunk; a drawing waiting to be classified goes first, between chunks."""
        if job.version != self._version:  # new weights: start over, the chunks so far are stale
            job.start, job.found, job.version = 0, [], self._version
        stop = min(job.start + MISTAKES_CHUNK, len(job.images))
        try:
            chunk = np.array(job.images[job.start:stop], dtype=np.uint8)  # a writable copy for torch.from_numpy
            probabilities = self._probabilities(chunk) if len(chunk) else np.zeros((0, 1), np.float32)
        except Exception as exc:
            with self._cond:
                if self._mistakes is job:
                    self._mistakes = None
            self._emit(self.failed, f"Could not classify the test set: {_first_line(exc)}")
            return
        predicted = probabilities.argmax(axis=1)
        labels = job.labels[job.start:stop]
        for offset in np.flatnonzero(predicted != labels):
            job.found.append((job.start + int(offset), int(labels[offset]), int(predicted[offset]),
                              float(probabilities[offset, predicted[offset]])))
        job.start = stop
        if stop < len(job.images):
            return
        with self._cond:
            if self._mistakes is not job:  # replaced meanwhile
                return
            self._mistakes = None
        self._emit(self.mistakes_found, sorted(job.found, key=lambda m: -m[3]))

    def _emit(self, signal, value) -> None:
        if not self._stop:
            signal.emit(value)
