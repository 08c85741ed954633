"""The inference server, in a process of its own: a CPU model that answers the app's questions about one image.

Why a process: a forward pass per stroke (60 a second) and looks inside the
network several times a second take Python's interpreter lock thousands of
times a second, between torch ops; in the window's process every repaint would
wait for them, and they for every repaint. So the app's predictor thread only
relays: it sends a request down a pipe and sleeps (lock released) until the
answer comes back.

    inference = InferenceProcess()    # on first use: takes the spare process the app started at launch
                                      # (core/run/launcher.py), or starts one
    inference.call("load", graph, state_dict, "mnist")  # state_dict: name -> CPU tensor, or None (initial weights)
    image, probabilities = inference.call("classify_drawing", raster)  # probabilities None: a blank drawing
    inference.close()

A GAN graph (core/gan) loads too, as both of its networks: then `classify` and
`probabilities` answer the discriminator's "real" probability (one value per
image), `look_inside` looks inside the discriminator, and `look_at_generator`
makes images from noise (a latent walk) and, when asked, shows every layer of
the generator for the walk's first noise vector.

`InferenceServer` does the work, and serves in-process as well
(`LocalInference`): both take the same `call(method, *args)`. Failures come back
as `InferenceError` with a one-line message; the server keeps running. If the process
dies, the next call says so (`InferenceError(..., restarted=True)`) and a fresh
process starts: the caller loads its model again.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import subprocess
import sys
import threading
from typing import Any

import numpy as np

from ..errors import one_line
from ..run.launcher import INFERENCE_MODULE, spawn, take_spare
from ..run.wire import Duplex
from ..train.cores import pin

START_TIMEOUT = 60.0  # seconds for a new process to import torch and answer (a slow, loaded machine)


class InferenceError(Exception):
    def __init__(self, message: str, restarted: bool = False):
        super().__init__(message)
        self.restarted = restarted  # the process had died: a new one knows no model yet


def graph_fingerprint(graph) -> str:
    """What decides the module's structure: nodes, params and wires (not positions, names or descriptions)."""
    from ..graph import graph_to_dict

    data = graph_to_dict(graph)
    for node in data["nodes"]:
        node.pop("position", None)
    data.pop("name", None)
    data.pop("description", None)
    return json.dumps(data, sort_keys=True, default=str)


def image_input_shape(graph) -> tuple[int, ...] | None:
    """The one Input node's sample shape ((1, 28, 28), (3, 32, 32), (2,) for points), or None when there is not
    exactly one Input node or its shape cannot be read."""
    from ..analysis import resolved_params

    try:
        inputs = graph.nodes_of_kind("input")
        if len(inputs) != 1:
            return None
        return tuple(int(v) for v in resolved_params(inputs[0])["shape"])
    except Exception:  # a damaged or unfinished graph: no shape to tell
        return None


def takes_colour(graph) -> bool:
    """The network takes colour images (a 3-channel input, [3, H, W]): the Draw dock's gray digits do not fit it."""
    shape = image_input_shape(graph)
    return shape is not None and len(shape) == 3 and shape[0] == 3


def shape_text(shape: tuple[int, ...] | None) -> str:
    return "×".join(str(v) for v in shape) if shape else "?"


def channels_first(images: np.ndarray) -> np.ndarray:
    """uint8 images as the network takes them, [N, C, H, W], from gray [N, H, W] or colour channels-last
    [N, H, W, 3] (how `RunStarted.test_images` holds them); [N, C, H, W] passes as it is."""
    images = np.asarray(images)
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4 and images.shape[-1] == 3 and images.shape[1] != 3:
        return images.transpose(0, 3, 1, 2)
    return images


DRAWING_SHAPE = (1, 28, 28)  # what the Draw dock's drawing becomes (`preprocess_digit`): a gray MNIST-style digit


def looks_at_test_images(graph) -> bool:
    """An image network the Draw dock's drawing cannot feed: colour ([3, H, W]) or gray of another size than 28×28.
    Its Activations and Saliency look inside a test image instead (`Predictor.look_at`)."""
    shape = image_input_shape(graph)
    return shape is not None and len(shape) == 3 and shape != DRAWING_SHAPE


def drawing_refused(graph) -> str | None:
    """Why the Draw dock's drawing cannot go to this network (None: it can)."""
    if takes_colour(graph):
        return (f"Drawing is for digit networks: this network takes colour images "
                f"({shape_text(image_input_shape(graph))}), not a gray drawing.")
    if looks_at_test_images(graph):
        return (f"Drawing is for digit networks: this network takes gray images of "
                f"{shape_text(image_input_shape(graph))}, not a 28×28 drawing.")
    return None


class InferenceServer:
    """One CPU model in eval mode, rebuilt only when the graph's structure changes. Not thread-safe: one caller."""

    def __init__(self):
        self.model = None
        self.graph = None
        self.fingerprint: str | None = None
        self.initial = False  # the model holds the graph's initial weights (nothing loaded since it was built)
        self.builds = 0  # modules built so far (a rebuild is the costly case)
        self.loss = "cross_entropy"
        self.normalization = None
        self.gan_loss: str | None = None  # a GAN: "non_saturating" or "least_squares" (how D's output reads)

    def call(self, method: str, *args) -> Any:
        if method.startswith("_") or not callable(getattr(self, method, None)) or method == "call":
            raise InferenceError(f"unknown inference request {method!r}")
        return getattr(self, method)(*args)

    # -- requests ------------------------------------------------------------------------------------
    def load(self, graph, state_dict: dict[str, Any] | None, dataset: str, options: dict | None = None) -> None:
        """`options`: for a GAN graph, {"gan_loss": ...} (the run's loss says how to read the discriminator); for
        any network, {"normalization": {"mean": ..., "std": ...}}: the input scaling of the weights' own data (an
        image folder's, which the catalog does not know: a run's or checkpoint's), used instead of the dataset's.
        A "folder" network with no normalization given falls back to MNIST's scaling."""
        import torch

        from ..build import build_module
        from ..data import normalization_for
        from ..gan.structure import is_gan_graph
        from ..train.trainer import loss_function

        gan = is_gan_graph(graph)
        try:
            fingerprint = graph_fingerprint(graph)
            loss = "gan" if gan else loss_function(graph)
            if self.model is None or fingerprint != self.fingerprint or (state_dict is None and not self.initial):
                self.model = self.fingerprint = None
                if gan:
                    from ..gan.model import build_gan

                    self.model = build_gan(graph, "cpu").eval()
                else:
                    self.model = build_module(graph, "cpu").eval()  # a fresh build carries the initial weights
                self.fingerprint = fingerprint
                self.builds += 1
        except Exception as exc:  # GraphError names the problems; anything else is a bug worth showing too
            self.model = None
            raise InferenceError(f"The network cannot be built: {one_line(exc)}") from None
        if state_dict is not None:
            from ..train.checkpoint import weights_problem

            try:
                tensors = {k: _as_tensor(v) for k, v in state_dict.items()}
                # Checked before any is copied (the check every reader of weights uses): names, shapes, kinds of
                # number, and finite values, as NaN weights would answer NaN for every drawing.
                problem = weights_problem(self.model.state_dict(), tensors)
                if problem is None:
                    with torch.no_grad():
                        self.model.load_state_dict(tensors)  # strict: a mismatch is reported, never half-loaded
            except Exception as exc:  # e.g. a value that is no array of numbers
                problem = one_line(exc)
            if problem is not None:
                self.model = self.fingerprint = None  # it may hold part of these weights: rebuild before use
                raise InferenceError(f"The weights do not fit the network: {problem}")
        if gan:  # real images are scaled to the generator's pixel range, as the GAN trainer scales them
            from ..data import Normalization
            from ..gan.model import pixel_range
            from ..layers.generative import PIXEL_RANGES

            # (A GAN on 2-D points, range "none", takes points as they are: no drawing is scaled for it.)
            self.normalization = Normalization(*PIXEL_RANGES.get(pixel_range(graph), (0.0, 1.0)))
            self.gan_loss = str((options or {}).get("gan_loss") or "non_saturating")
        else:
            self.gan_loss = None
            own = own_normalization(options)
            if own is not None:
                self.normalization = own
            else:
                try:
                    self.normalization = normalization_for(dataset)
                except ValueError:
                    self.normalization = normalization_for("mnist")
        self.graph, self.loss, self.initial = graph, loss, state_dict is None

    def preprocess(self, drawing: np.ndarray) -> np.ndarray:
        """A drawing of any size (uint8, white on black) as the MNIST-style 28×28 image the network sees."""
        from ..data import preprocess_digit

        return preprocess_digit(drawing)

    def classify(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities (float32 [classes]) of one 28×28 uint8 image."""
        import torch

        self._need_model()
        refused = drawing_refused(self.graph) if image.ndim == 2 else None
        if refused:
            raise InferenceError(refused)
        try:
            with torch.inference_mode():
                if self.gan_loss is not None:
                    return self.probabilities(image[None])[0]
                if self.loss == "cross_entropy":  # the model is in eval mode already: no eval_mode round
                    x = self.normalization(torch.from_numpy(np.ascontiguousarray(image)).view(1, 1, *image.shape))
                    return self.model(x).float().softmax(dim=1)[0].numpy().astype(np.float32)
                return self.probabilities(image[None])[0]
        except InferenceError:
            raise
        except Exception as exc:  # e.g. a network whose input is not 28×28
            raise InferenceError(f"The network cannot classify a 28×28 drawing: {one_line(exc)}") from None

    def classify_drawing(self, drawing: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(the 28×28 image the network sees, its class probabilities) of a drawing. Probabilities None: the
        drawing holds no ink once preprocessed (e.g. the whole canvas painted over), and any network would still
        answer it, often confidently; the Draw dock says "draw a digit" instead, as for an empty canvas."""
        from ..data import is_blank

        image = self.preprocess(drawing)
        return image, None if is_blank(image) else self.classify(image)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (float32 [N, classes]) of uint8 images [N, H, W] (gray), [N, H, W, 3] (colour,
        channels last, as `RunStarted.test_images`) or [N, C, H, W]."""
        import torch

        from ..train.inference import predict_probabilities

        self._need_model()
        with torch.inference_mode():
            images = torch.from_numpy(np.array(channels_first(images), dtype=np.uint8))  # a writable copy
            if self.gan_loss is not None:
                x = images.unsqueeze(1) if images.dim() == 3 else images
                return self._realness(self.model.discriminator(self.normalization(x)).float()).numpy().astype(
                    np.float32)
            return predict_probabilities(self.model, images, self.normalization, self.loss).numpy().astype(
                np.float32)

    def look_inside(self, image: np.ndarray):
        """(probabilities, predicted class, LayerViews in graph order, saliency [H, W]) of one uint8 image: a 28×28
        drawing, or a test image of any shape the network takes ([H, W] gray, [H, W, 3] or [C, H, W])."""
        import torch

        from ..train.inference import output_probabilities
        from ..train.insight import look_inside, saliency

        self._need_model()
        refused = drawing_refused(self.graph) if image.shape == DRAWING_SHAPE[1:] else None
        if refused:
            raise InferenceError(refused)
        try:
            raw = torch.from_numpy(np.ascontiguousarray(channels_first(image[None])))
            if self.gan_loss is not None:  # a GAN: inside its discriminator, and which pixels made it say "real"
                discriminator = self.model.discriminator
                logits, layers = look_inside(discriminator, self.graph, self.normalization(raw))
                probabilities = self._realness(logits.float())[0].numpy().astype(np.float32)
                return probabilities, 0, tuple(layers), saliency(discriminator, raw, self.normalization, 0)
            logits, layers = look_inside(self.model, self.graph, self.normalization(raw))
            probabilities = output_probabilities(logits, self.loss)[0].numpy().astype(np.float32)
            predicted = int(probabilities.argmax())
            heat = saliency(self.model, raw, self.normalization, predicted)
        except Exception as exc:
            raise InferenceError(f"Could not look inside the network: {one_line(exc)}") from None
        return probabilities, predicted, tuple(layers), heat

    def look_at_generator(self, seed_a: int, seed_b: int, steps: int, layers: bool = False):
        """A GAN's generator, from two noise vectors drawn from `seed_a` and `seed_b`: (uint8 images [steps, H, W]
        (or [steps, H, W, C]) along the straight line between them, and the generator's LayerViews for the first
        vector when `layers`, else None). None when the model is no GAN (it has no generator)."""
        import torch

        from ..gan.model import noise_params, pixel_range
        from ..gan.samples import draw_noise, latent_walk
        from ..layers.generative import PIXEL_RANGES
        from ..train.insight import look_inside

        self._need_model()
        if self.gan_loss is None or pixel_range(self.graph) not in PIXEL_RANGES:
            return None  # no GAN, or a GAN on 2-D points (no images: the Decision view shows its points)
        try:
            noise = noise_params(self.graph)
            ends = [draw_noise(1, noise["dim"], noise["distribution"], generator=int(seed))[0]
                    for seed in (seed_a, seed_b)]
            generator, pixels = self.model.generator, pixel_range(self.graph)
            with torch.inference_mode():
                images = latent_walk(generator, ends[0], ends[1], max(2, int(steps)), pixels)
            views = None
            if layers:
                _, views = look_inside(generator, self.graph, ends[0][None])
                views = tuple(views)
        except Exception as exc:
            raise InferenceError(f"Could not run the generator: {one_line(exc)}") from None
        return images, views

    def _realness(self, out):
        """The discriminator's outputs [N, 1] as how real each image looks, 0..1 ([N, 1]): its probability for the
        non-saturating loss (a logit), its score clipped to 0..1 for least squares (trained towards 1 for real)."""
        return out.clamp(0, 1) if self.gan_loss == "least_squares" else out.sigmoid()

    def stats(self) -> dict[str, Any]:  # for tests: what the server has done
        return {"builds": self.builds, "has_model": self.model is not None}

    def _need_model(self) -> None:
        if self.model is None:
            raise InferenceError("No network is loaded.")


class LocalInference(InferenceServer):
    """The server in the caller's thread (no process): for callers that do not share a process with training."""

    def close(self) -> None:
        self.model = None

    def keep_to(self, cores: frozenset[int] | None) -> None:
        """Nothing to do: it runs in its caller's thread, which the caller keeps where it wants."""


def own_normalization(options: dict | None):
    """The Normalization `options` carry ({"normalization": {"mean", "std"}}: finite, std above 0), else None."""
    import math

    from ..data import Normalization

    own = (options or {}).get("normalization") if isinstance(options, dict) else None
    if not isinstance(own, dict):
        return None
    try:
        mean, std = float(own["mean"]), float(own["std"])
    except (KeyError, TypeError, ValueError):
        return None
    return Normalization(mean, std) if math.isfinite(mean) and math.isfinite(std) and std > 0 else None


def _as_tensor(value: Any) -> Any:
    """A NumPy array of numbers (how the wire sends tensors) as a tensor; anything else as it is, for the check of
    the weights to name."""
    import torch

    if isinstance(value, np.ndarray) and value.dtype != object:
        return torch.from_numpy(value)
    return value


def warm_up() -> bool:
    """Build and run the default network once, in a throwaway server. Torch imports much of itself lazily, on the
    first shape inference and the first convolution (1.5 s or more on a busy 2-core machine): done before the
    process says "ready", so the first drawing's model loads in milliseconds. The process started at launch
    does this while the app imports torch. False: it failed (only a head start: a real load reports its own
    errors)."""
    from ..graph import load_graph

    try:
        server = InferenceServer()
        server.load(load_graph("preset:mnist-cnn"), None, "mnist")
        return server.classify(np.zeros((28, 28), np.uint8)).shape == (10,)
    except Exception:
        return False


def serve(conn) -> None:
    """The inference process: answer requests from the pipe until told to stop or the app goes away."""
    import torch
    from threadpoolctl import threadpool_limits

    # One image at a time gains nothing from more threads, and the training run owns the other cores.
    torch.set_num_threads(1)
    threadpool_limits(1, user_api="blas")
    warm_up()
    server = InferenceServer()
    try:
        conn.send((True, "ready"))
    except (BrokenPipeError, OSError):  # the app went away while this process started (a spare, say)
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the app has gone: so do we
            return
        except pickle.UnpicklingError:  # the app closed us in the middle of a request (InferenceProcess.close)
            return
        if message is None:
            return
        method, args = message
        try:
            reply = (True, server.call(method, *args))
        except InferenceError as exc:
            reply = (False, str(exc))
        except Exception as exc:  # a bug: say it, keep serving
            reply = (False, f"{type(exc).__name__}: {one_line(exc)}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


def serve_fds(read_fd: int, write_fd: int) -> None:
    """`serve` on two inherited pipe ends (the child's side of `InferenceProcess`)."""
    serve(Duplex.over(read_fd, write_fd))


class InferenceProcess:
    """The server in a child process. One caller thread at a time; `close` may come from any thread."""

    def __init__(self):
        self._conn: Duplex | None = None
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()  # guards _conn/_process/_starting against close() from another thread
        self._closed = False
        self._starting: subprocess.Popen | None = None  # a process importing torch, not answering yet
        self._cores: frozenset[int] | None = None  # keep the process to these (None: where the OS puts it)

    def keep_to(self, cores: frozenset[int] | None) -> None:
        """Keep the process, and any started after it, to `cores` (None: every core again). See cores.py:
        while a CPU run trains, inference stays off the training cores. Any thread."""
        self._cores = cores
        process = self._process or self._starting
        if process is not None:
            pin(cores, process.pid)

    def _start(self) -> None:
        try:
            process, conn = take_spare(INFERENCE_MODULE) or spawn(INFERENCE_MODULE)
        except OSError as exc:
            raise InferenceError(f"The prediction process could not start: {exc}") from None
        if self._cores is not None:
            pin(self._cores, process.pid)
        with self._lock:
            self._starting = process  # close() ends it at once: nobody waits seconds for torch to import
            closed = self._closed
        try:
            ready = not closed and conn.poll(START_TIMEOUT) and conn.recv() == (True, "ready")
        except (EOFError, OSError):
            ready = False
        with self._lock:
            self._starting = None
        if not ready:
            conn.close()
            process.kill()
            process.wait(5)
            raise InferenceError("The inference process is closed." if self._closed
                                 else "The prediction process did not start.")
        with self._lock:
            if self._closed:
                conn.close()
                process.kill()
                process.wait(5)
                raise InferenceError("The inference process is closed.")
            self._conn, self._process = conn, process

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def call(self, method: str, *args) -> Any:
        if self._closed:
            raise InferenceError("The inference process is closed.")
        if self._conn is None:
            had_died = self._process is not None
            self._start()
            if had_died and method != "load":  # the new process knows no model: the caller must load it first
                raise InferenceError("The prediction process was restarted.", restarted=True)
        conn = self._conn
        try:
            conn.send((method, args))
            ok, value = conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            self._forget_process()
            if self._closed:
                raise InferenceError("The inference process is closed.") from None
            raise InferenceError(f"The prediction process stopped unexpectedly ({type(exc).__name__}); a new one "
                              "starts with the next request.", restarted=True) from None
        if not ok:
            raise InferenceError(value)
        return value

    def _forget_process(self) -> None:
        with self._lock:
            conn, process = self._conn, self._process
            self._conn = None
        if conn is not None:
            conn.close()
        if process is not None:
            _end(process, 0.1)

    def close(self) -> None:
        """Stop the process (idempotent). From another thread than the caller's, an answer in flight is lost."""
        with self._lock:
            self._closed = True
            conn, process, starting = self._conn, self._process, self._starting
            self._conn = self._process = None
        if starting is not None:
            starting.kill()  # its pipe closes: the caller waiting for "ready" hears EOF and gives up
        if conn is not None:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send(None)
        if process is not None:
            _end(process, 2)
        if conn is not None:
            conn.close()


def _end(process: subprocess.Popen, grace: float) -> None:
    """Wait `grace` seconds for the process to leave by itself, then kill it; never leaves a zombie."""
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


if __name__ == "__main__":  # python -m playground.core.inference.server READ_FD WRITE_FD (started by InferenceProcess)
    serve_fds(int(sys.argv[1]), int(sys.argv[2]))
