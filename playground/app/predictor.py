"""The app's client of the inference process, for the Draw dock's live prediction and the views' looks inside
the network: a relay thread in the app, the model in an inference process.

The GUI thread only drops things into a mailbox guarded by a lock (the latest
model, the latest drawing, optional test-set jobs, and whether a view wants to
look inside the network), wakes the relay thread (`_Wake`) and returns at once.
The relay thread sleeps until there is work, then hands it to the
inference server (`core.inference.server`): by default a separate process, so that
the forward passes, the preprocessing (the MNIST-style 28×28 image) and the
looks inside never take the interpreter lock the training thread needs. The
relay reconciles state rather than draining a queue: whenever the latest drawing
has not yet been classified with the latest weights, it has it classified. So
requests sent faster than the server answers are dropped (latest wins), and new
weights published by a training run re-classify the drawing on the canvas
without the canvas asking again. A network the canvas cannot feed (colour, or
gray of another size) is looked inside at a test image the views choose
(`look_at`) instead of the drawing; an old drawing is not sent to it again.

Results cross to the GUI thread through Qt signals: the `Predictor` is a QObject
living in the GUI thread, so a signal emitted from the relay thread is queued.
Nothing here touches a widget. The model only ever lives on the CPU, so
predicting never races a CUDA training run, and weights arrive as the CPU copies
published with the training snapshots.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal

from ..core.data import is_blank
from ..core.graph import Graph
from ..core.inference.server import InferenceError, InferenceProcess, LocalInference, drawing_refused
from ..core.train.cores import pin
from ..core.train.insight import Insight

log = logging.getLogger(__name__)

MISTAKES_CHUNK = 500  # test images classified per step of a "find the mistakes" job
INSIGHT_INTERVAL = 0.25  # seconds between looks inside the network (activations, saliency), while a view wants them
# While strokes keep coming, a look inside (several ms in the inference process) would hold up the next stroke's
# prediction: it waits until the drawing pauses this long, or at most INSIGHT_WHILE_DRAWING since the last one.
DRAWING_PAUSE = 0.15
INSIGHT_WHILE_DRAWING = 2.0
# A GAN's generator (the Samples dock's latent walk, the Activations view's generator): asked again for new weights
# at most this often. Four weights a second come while a run trains; the walk needs no more than one or two.
GENERATOR_INTERVAL = 0.5


@dataclass(frozen=True)
class Prediction:
    request_id: int
    probabilities: np.ndarray | None = field(repr=False)  # float32 [classes], sums to 1; None: a blank drawing
    image: np.ndarray = field(repr=False)  # uint8 [28, 28]: what was classified (a drawing: once preprocessed)
    weights_version: int  # the `version` given to Predictor.set_model
    submitted_at: float  # time.perf_counter() of the request (or of the new weights, for a re-prediction)


class _Wake:
    """How the GUI thread wakes the relay thread: a byte through a socket pair, sent with the interpreter lock
    released. A `threading.Condition` wakes its waiter by releasing a semaphore with the lock held: on the
    window's core, the woken relay thread could then preempt the GUI thread, interpreter lock and all, and the
    training thread on the other core waited for that lock meanwhile. py-spy counted 15% of the GUI thread's
    time holding the lock in `Condition.notify` during `bench --gui`. A wake is never lost: the byte waits
    in the socket until the relay looks."""

    def __init__(self):
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def set(self) -> None:
        with contextlib.suppress(OSError):  # full: a wake is pending anyway; closed: shutting down
            self._writer.send(b"\0")

    def wait(self, timeout: float | None) -> None:
        """Until woken, or `timeout` seconds (None: no limit). Drains the pending wakes."""
        with contextlib.suppress(OSError, ValueError):  # closed under us at shutdown
            select.select([self._reader], [], [], timeout)
            while self._reader.recv(4096):
                pass

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


def _stop_orphan(lock: threading.RLock, wake: _Wake, state: dict, *_args) -> None:
    with lock:
        state["_stop"] = True
    wake.set()


@dataclass
class _ModelJob:
    graph: Graph
    state_dict: dict[str, Any] | None
    dataset: str
    version: int
    submitted_at: float
    options: dict | None = None  # for a GAN: {"gan_loss": ...}


@dataclass(frozen=True)
class GeneratorRequest:
    """What to ask a GAN's generator: a latent walk of `steps` images between the noise vectors of two seeds, and
    (`layers`) every layer of the generator for the first one."""
    seed_a: int
    seed_b: int
    steps: int = 10
    layers: bool = False


@dataclass(frozen=True)
class GeneratorLook:
    """The generator's answer to a GeneratorRequest, with the weights of `weights_version`."""
    request: GeneratorRequest
    images: np.ndarray = field(repr=False)  # uint8 [steps, H, W]: the walk, from seed_a's noise to seed_b's
    layers: tuple | None = field(repr=False)  # core.train.insight.LayerView of each generator layer (or None)
    weights_version: int


@dataclass
class _Request:
    image: np.ndarray | None  # None until the worker has preprocessed `drawing`
    request_id: int
    submitted_at: float
    drawing: np.ndarray | None = None  # a raster copy, preprocessed in the worker thread
    drawn: bool = False  # from request_drawing: a blank one gets no answer (probabilities None)


@dataclass(eq=False)  # compared by identity: a new look_at is a new subject, even of the same image
class _Subject:
    """A test image to look inside instead of the drawing (`Predictor.look_at`)."""
    image: np.ndarray  # uint8, as given: [H, W], [H, W, 3] or [C, H, W]
    index: int  # its place in the test split (the Insight's `test_index`)


@dataclass(frozen=True)
class TestSetResults:
    """A whole test set classified with one version of the weights (`Predictor.evaluate_test_set`)."""
    images: np.ndarray = field(repr=False)  # as given: the results are about these
    labels: np.ndarray = field(repr=False)
    predictions: np.ndarray = field(repr=False)  # int64 [N]
    confidences: np.ndarray = field(repr=False)  # float32 [N]: the probability of the predicted class
    weights_version: int

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean()) if len(self.labels) else 0.0


@dataclass
class _TestSetJob:
    """A test set classified a chunk at a time, between drawings (a drawing waiting goes first)."""
    images: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray = field(init=False)
    confidences: np.ndarray = field(init=False)
    start: int = 0
    version: int | None = None  # the weights the chunks so far were classified with

    def __post_init__(self):
        self.predictions = np.zeros(len(self.labels), dtype=np.int64)
        self.confidences = np.zeros(len(self.labels), dtype=np.float32)


class Predictor(QObject):
    """Classifies canvas drawings on its own thread. Every method is called from the GUI thread and returns at once."""

    predicted = Signal(object)  # Prediction
    mistakes_found = Signal(object)  # list of (index, true_label, predicted_label, confidence), most confident first
    test_set_evaluated = Signal(object)  # TestSetResults
    failed = Signal(str)  # a plain message: the network cannot be built, the weights do not fit it, ...
    insight_ready = Signal(object)  # core.train.insight.Insight of the latest drawing or look_at image (while wanted)
    generator_ready = Signal(object)  # GeneratorLook (a GAN's generator, only while wanted)

    def __init__(self, parent: QObject | None = None, in_process: bool = False):
        """`in_process`: run the model in the relay thread instead of a child process (for callers that train
        nothing in this process, and for tests of the mailbox alone)."""
        super().__init__(parent)
        self._inference = LocalInference() if in_process else InferenceProcess()
        self._lock = threading.RLock()  # re-entrant: a test holds it to post two things at once
        self._wake = _Wake()
        # The mailbox (guarded by _lock).
        self._model_job: _ModelJob | None = None
        self._request: _Request | None = None
        self._mistakes: _TestSetJob | None = None
        self._evaluation: _TestSetJob | None = None
        self._stop = False
        self._insight_wanted = False
        self._generator_wanted: GeneratorRequest | None = None
        self._subject: _Subject | None = None  # look_at's test image: looked inside instead of the drawing
        self._thread: threading.Thread | None = None
        # Owned by the relay thread only.
        self._has_model = False  # the inference server holds a usable model
        self._drawable = True  # ... that takes the Draw dock's drawings (a colour network does not)
        self._loaded: _ModelJob | None = None  # the last model the server took (loaded again after a restart)
        self._version = -1
        self._model_time = 0.0
        self._done: tuple[int, int] | None = None  # (request id, weights version) last classified
        self._insight_done: tuple[int, int] | None = None  # (request id, weights version) last looked inside
        self._subject_done: tuple[_Subject, int] | None = None  # (look_at subject, weights version) last looked inside
        self._insight_at = -INSIGHT_INTERVAL  # perf_counter() of the last look inside
        self._generator_done: tuple[GeneratorRequest, int] | None = None  # (request, weights version) last answered
        self._generator_at = -GENERATOR_INTERVAL  # perf_counter() of the last answer
        app = QCoreApplication.instance()
        if app is not None:  # never let the (non-daemon) thread outlive the application
            app.aboutToQuit.connect(self.shutdown)
        # Nor its QObject (deleted with a parent, say): stop the thread without touching the dead object.
        self.destroyed.connect(functools.partial(_stop_orphan, self._lock, self._wake, self.__dict__))

    # -- GUI thread -------------------------------------------------------------------------------
    def set_model(self, graph: Graph, state_dict: dict | None, dataset: str, version: int,
                  options: dict | None = None) -> None:
        """Use this network from now on (the latest call wins). `state_dict` None: the graph's initial weights.
        Neither the graph nor the tensors are copied here (a run publishes them four times a second): they go to
        the server from the relay thread, so the caller must not change them afterwards. `options`: for a GAN,
        {"gan_loss": ...} (how the discriminator's output reads)."""
        job = _ModelJob(graph, state_dict, dataset, version, time.perf_counter(), options)
        self._post("_model_job", job)

    def request(self, image28: np.ndarray, request_id: int, submitted_at: float) -> None:
        """Classify this 28×28 uint8 image; an older request not yet started is dropped."""
        image = np.array(image28, dtype=np.uint8, copy=True)  # 784 bytes: the caller may reuse its array
        self._post("_request", _Request(image, int(request_id), float(submitted_at)))

    def request_drawing(self, drawing: np.ndarray, request_id: int, submitted_at: float) -> None:
        """Classify a drawing of any size (uint8, white on black, say the canvas's raster): it is copied here,
        then preprocessed like MNIST in the worker thread; the Prediction's `image` is the result, and its
        `probabilities` are None when that holds no ink (a blank drawing gets no answer).
        An older request not yet started is dropped."""
        copy = np.array(drawing, dtype=np.uint8, copy=True)  # the canvas goes on drawing into its raster
        self._post("_request", _Request(None, int(request_id), float(submitted_at), copy, drawn=True))

    def want_insight(self, wanted: bool) -> None:
        """Look inside the network for the latest drawing (`insight_ready`), at most every INSIGHT_INTERVAL and
        after its prediction, whenever the drawing or the weights change; off costs nothing."""
        self._post("_insight_wanted", bool(wanted))

    def look_at(self, image: np.ndarray | None, index: int = 0) -> None:
        """Look inside the network at this test image (`insight_ready`, its `test_index` is `index`) instead of
        the latest drawing, while a view wants insight and again whenever the weights change: for a network the
        Draw dock cannot feed (colour, or gray of another size: `server.looks_at_test_images`). The image is any
        shape the network takes, uint8 [H, W], [H, W, 3] or [C, H, W]; it is copied here. None: the drawing again."""
        subject = None if image is None else _Subject(np.array(image, dtype=np.uint8, copy=True), int(index))
        self._post("_subject", subject)

    def want_generator(self, request: GeneratorRequest | None) -> None:
        """Ask a GAN's generator `request` (`generator_ready`), again whenever the weights change, at most every
        GENERATOR_INTERVAL; None: nothing (costs nothing). A model that is no GAN answers nothing."""
        self._post("_generator_wanted", request)

    def find_mistakes(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Classify a test set with the current weights; answers with `mistakes_found`. Replaces a running search."""
        self._post("_mistakes", _TestSetJob(np.asarray(images), np.asarray(labels)))

    def evaluate_test_set(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Classify a test set with the current weights (say, weights loaded from a file, which no run has
        evaluated); answers with `test_set_evaluated`. Replaces a running evaluation. Weights that come while it
        runs wait for it to end, so the answer is about one version of the weights, its `weights_version`."""
        self._post("_evaluation", _TestSetJob(np.asarray(images), np.asarray(labels)))

    def shutdown(self) -> None:
        """Stop the relay thread and the inference process, and wait for both (an answer in flight is dropped).
        Idempotent."""
        with self._lock:
            self._stop = True
            thread, self._thread = self._thread, None
        self._wake.set()
        self._inference.close()  # wakes a relay waiting on an answer
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            self._wake.close()

    def keep_to(self, cores: frozenset[int] | None) -> None:
        """Keep the relay thread and the inference process to `cores` (None: every core again); see
        core/train/cores.py. Threads the relay starts later inherit its cores."""
        thread = self._thread
        if thread is not None and thread.native_id is not None:
            pin(cores, thread.native_id)
        self._inference.keep_to(cores)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _post(self, slot: str, value) -> None:
        with self._lock:
            if self._stop:
                return
            setattr(self, slot, value)
            if self._thread is None:  # started on first use: a predictor never used costs no thread
                self._thread = threading.Thread(target=self._run, name="playground-predictor", daemon=False)
                self._thread.start()
        self._wake.set()

    # -- relay thread -----------------------------------------------------------------------------
    def _has_work(self) -> bool:
        if self._stop or self._model_job is not None:
            return True
        if not self._has_model:  # requests and mistakes wait in the mailbox for a usable model
            return False
        return (self._mistakes is not None or self._evaluation is not None or self._classify_wait() == 0
                or self._insight_wait() == 0 or self._generator_wait() == 0)

    def _classify_wait(self) -> float | None:
        """Seconds until the latest drawing is due to be classified (0: now), or None when it is up to date.
        A new drawing is due at once. One shown already, to be classified again only for new weights, waits
        while strokes keep coming: the next stroke is classified with those weights anyway, and a repeat (four
        a second while a run trains) would hold that stroke up."""
        request = self._request
        if request is None or self._done == (request.request_id, self._version):
            return None
        if self._done is None or self._done[0] != request.request_id:
            return 0.0  # a new drawing: answered even by a network that refuses it (the answer says why)
        if not self._drawable:  # an older drawing and a network it cannot feed (colour): nothing to ask again
            return None
        return max(0.0, request.submitted_at + DRAWING_PAUSE - time.perf_counter())

    def _insight_wait(self) -> float | None:
        """Seconds until the look_at image, or else the latest drawing, is due a look inside (0: now), or None when
        none is due."""
        if not self._insight_wanted or not self._has_model:
            return None
        subject = self._subject
        if subject is not None:
            done = self._subject_done
            if done is not None and done[0] is subject and done[1] == self._version:
                return None
            if done is None or done[0] is not subject:
                return 0.0  # another image (a click in Predictions): at once
            return max(0.0, self._insight_at + INSIGHT_INTERVAL - time.perf_counter())
        request = self._request
        if request is None or request.image is None or not self._drawable:
            return None
        key = (request.request_id, self._version)
        if self._done != key or self._insight_done == key:
            return None
        now = time.perf_counter()
        due = self._insight_at + INSIGHT_INTERVAL
        if now - request.submitted_at < DRAWING_PAUSE:  # someone is drawing: predictions first
            due = max(due, min(request.submitted_at + DRAWING_PAUSE, self._insight_at + INSIGHT_WHILE_DRAWING))
        return max(0.0, due - now)

    def _generator_wait(self) -> float | None:
        """Seconds until the generator is due to answer the wanted request (0: now), or None when none is due."""
        request = self._generator_wanted
        if request is None or not self._has_model or self._generator_done == (request, self._version):
            return None
        if self._generator_done is not None and self._generator_done[0] != request:
            return 0.0  # asked for something else: at once
        return max(0.0, self._generator_at + GENERATOR_INTERVAL - time.perf_counter())

    def _run(self) -> None:
        try:
            self._loop()
        except RuntimeError as exc:  # the QObject was deleted under us: nobody is listening any more
            if "already deleted" not in str(exc):
                raise

    def _loop(self) -> None:
        while True:
            with self._lock:
                idle = not self._has_work()
                if idle:
                    waits = [w for w in (self._classify_wait(), self._insight_wait(), self._generator_wait())
                             if w is not None]
            if idle:
                self._wake.wait(min(waits) if waits else None)  # None: until woken
                continue
            with self._lock:
                if self._stop:
                    return
                request = self._request
                subject = self._subject
                generator_request = self._generator_wanted
                test_set_slot = "_mistakes" if self._mistakes is not None else "_evaluation"
                test_set_job = getattr(self, test_set_slot)
                # A new stroke goes before new weights (four a second while training, each a few ms to send and
                # load): it is answered with the weights of a quarter of a second ago, then again with the new ones.
                fresh = request is not None and self._has_model and (
                    self._done is None or self._done[0] != request.request_id)
                # A test set half classified is finished with the weights it began with (a second or so for
                # 10,000 images): a run publishes new ones four times a second, and starting over at each would
                # never finish. Drawings are classified meanwhile, with those weights.
                test_set_begun = test_set_job is not None and test_set_job.start > 0 and self._has_model
                model_job = None
                if not fresh and not test_set_begun:
                    model_job, self._model_job = self._model_job, None
            try:
                if model_job is not None:
                    self._load(model_job)
                    continue  # a newer model may have arrived meanwhile; then classify
                if self._classify_wait() == 0:
                    self._classify(request)
                elif self._insight_wait() == 0:
                    self._look_inside(request, subject)
                elif generator_request is not None and self._generator_wait() == 0:
                    self._look_at_generator(generator_request)
                elif test_set_job is not None:
                    self._test_set_step(test_set_job, test_set_slot)
            except InferenceError as exc:
                if self._stop:
                    return
                self._inference_failed(exc)

    def _inference_failed(self, exc: InferenceError) -> None:
        if exc.restarted:  # the process died and a new one knows no model: give it the last one again
            log.warning("inference process restarted: %s", exc)
            self._has_model = False
            # What was asked of the dead process is asked again.
            self._done = self._insight_done = self._subject_done = self._generator_done = None
            with self._lock:
                if self._model_job is None and self._loaded is not None:
                    self._model_job = self._loaded
        self._emit(self.failed, str(exc))

    def _load(self, job: _ModelJob) -> None:
        """The server rebuilds the module only when the graph's structure changed (or for initial weights)."""
        self._has_model = False
        try:
            self._inference.call("load", job.graph, job.state_dict, job.dataset, job.options)
        except InferenceError as exc:
            if not exc.restarted:
                self._loaded = None
            raise
        self._loaded = job
        self._has_model = True
        self._drawable = drawing_refused(job.graph) is None
        self._version, self._model_time = job.version, job.submitted_at

    def _classify(self, request: _Request) -> None:
        first_time = self._done is None or self._done[0] != request.request_id
        self._done = (request.request_id, self._version)
        try:
            if request.image is None:  # kept on the request: new weights re-classify it without preprocessing
                request.image, probabilities = self._inference.call("classify_drawing", request.drawing)
                request.drawing = None
            elif request.drawn and is_blank(request.image):  # as classify_drawing answered it: no answer
                probabilities = None
            else:
                probabilities = self._inference.call("classify", request.image)
        except InferenceError as exc:
            # A network that takes no drawings (colour) keeps serving its test images; any other failure: wait for
            # another model.
            if not exc.restarted and self._drawable:
                self._has_model = False
            raise
        submitted_at = request.submitted_at if first_time else self._model_time
        if probabilities is not None:
            probabilities = np.asarray(probabilities, np.float32)
        self._emit(self.predicted, Prediction(request.request_id, probabilities,
                                              request.image, self._version, submitted_at))

    def _look_inside(self, request: _Request | None, subject: _Subject | None) -> None:
        """Inside the network for the look_at image if there is one, else for the latest drawing."""
        self._insight_at = time.perf_counter()
        if subject is not None:
            self._subject_done = (subject, self._version)
            image, request_id, index = subject.image, 0, subject.index
        else:
            self._insight_done = (request.request_id, self._version)
            image, request_id, index = request.image, request.request_id, None
        probabilities, predicted, layers, heat = self._inference.call("look_inside", image)
        self._emit(self.insight_ready, Insight(image=image, probabilities=probabilities, predicted=predicted,
                                               layers=layers, saliency=heat, weights_version=self._version,
                                               request_id=request_id, test_index=index))

    def _look_at_generator(self, request: GeneratorRequest) -> None:
        self._generator_done = (request, self._version)
        self._generator_at = time.perf_counter()
        try:
            answer = self._inference.call("look_at_generator", request.seed_a, request.seed_b, request.steps,
                                          request.layers)
        except InferenceError as exc:
            if exc.restarted:
                raise
            log.warning("the generator could not answer: %s", exc)  # the drawing's prediction says what is wrong
            return
        if answer is not None:  # None: the model is no GAN
            images, layers = answer
            self._emit(self.generator_ready, GeneratorLook(request, np.asarray(images), layers, self._version))

    def _test_set_step(self, job: _TestSetJob, slot: str) -> None:
        """Classify one chunk of the test-set job in mailbox `slot` ("_mistakes" or "_evaluation"); a drawing
        waiting to be classified goes first, between chunks."""
        if job.version != self._version:  # new weights: start over, the chunks so far are stale
            job.start, job.version = 0, self._version
        stop = min(job.start + MISTAKES_CHUNK, len(job.images))
        try:
            chunk = np.asarray(job.images[job.start:stop], dtype=np.uint8)
            probabilities = self._inference.call("probabilities", chunk) if len(chunk) else np.zeros((0, 1), np.float32)
        except InferenceError as exc:
            with self._lock:
                if getattr(self, slot) is job:
                    setattr(self, slot, None)
            if exc.restarted:
                raise
            self._emit(self.failed, f"Could not classify the test set: {exc}")
            return
        predicted = probabilities.argmax(axis=1)
        job.predictions[job.start:stop] = predicted
        job.confidences[job.start:stop] = probabilities[np.arange(len(predicted)), predicted]
        job.start = stop
        if stop < len(job.images):
            return
        with self._lock:
            if getattr(self, slot) is not job:  # replaced meanwhile
                return
            setattr(self, slot, None)
        if slot == "_evaluation":
            self._emit(self.test_set_evaluated, TestSetResults(job.images, job.labels, job.predictions,
                                                               job.confidences, job.version))
            return
        wrong = np.flatnonzero(job.predictions != job.labels)
        found = [(int(i), int(job.labels[i]), int(job.predictions[i]), float(job.confidences[i])) for i in wrong]
        self._emit(self.mistakes_found, sorted(found, key=lambda m: -m[3]))

    def inference_stats(self) -> dict[str, Any]:
        """What the inference server says about itself (builds so far, whether it has a model); for tests. Only safe
        while the relay thread is idle, and only in-process (LocalInference)."""
        return self._inference.call("stats")

    def _emit(self, signal, value) -> None:
        if not self._stop:
            signal.emit(value)
