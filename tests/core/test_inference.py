"""The inference server in its own process: same answers as in-process, plain errors, survives a crash."""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
import pytest

from playground.core.build import build_module
from playground.core.graph import Edge, load_graph
from playground.core.inference.server import InferenceError, InferenceProcess, LocalInference


@pytest.fixture
def inference():
    e = InferenceProcess()
    yield e
    e.close()


def drawing() -> np.ndarray:
    d = np.zeros((280, 280), np.uint8)
    d[60:220, 120:160] = 255
    return d


def numpy_weights(graph, seed: int) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in build_module(graph, "cpu", seed=seed).state_dict().items()}


def test_the_process_answers_as_the_server_does_in_process(inference):
    graph = load_graph("preset:mnist-cnn")
    weights = numpy_weights(graph, seed=3)
    local = LocalInference()
    for e in (inference, local):
        e.call("load", graph, weights, "mnist")
    image, probabilities = inference.call("classify_drawing", drawing())
    local_image, local_probabilities = local.call("classify_drawing", drawing())
    assert np.array_equal(image, local_image) and image.shape == (28, 28)
    np.testing.assert_allclose(probabilities, local_probabilities, rtol=1e-5, atol=1e-7)
    looked, predicted, layers, heat = inference.call("look_inside", image)
    np.testing.assert_allclose(looked, probabilities, rtol=1e-5, atol=1e-6)
    assert predicted == int(np.argmax(probabilities)) and heat.shape == (28, 28)
    assert [layer.node_id for layer in layers][:2] == ["input", "conv1"]
    batch = inference.call("probabilities", np.stack([image, image]))
    np.testing.assert_allclose(batch[0], probabilities, rtol=1e-5, atol=1e-6)
    assert inference.pid is not None and inference.pid != os.getpid()


def test_failures_come_back_as_plain_messages_and_the_server_keeps_serving(inference):
    graph = load_graph("preset:mlp")
    broken = graph.copy()
    broken.disconnect(Edge("dense3", "output"))
    with pytest.raises(InferenceError, match="cannot be built"):
        inference.call("load", broken, None, "mnist")
    with pytest.raises(InferenceError, match="No network is loaded"):
        inference.call("classify", np.zeros((28, 28), np.uint8))
    wider = graph.copy()
    wider.nodes["dense1"].params["units"] = 64
    with pytest.raises(InferenceError, match="do not fit"):
        inference.call("load", wider, numpy_weights(graph, seed=1), "mnist")
    with pytest.raises(InferenceError, match="unknown inference request"):
        inference.call("_need_model")
    inference.call("load", graph, None, "mnist")
    assert inference.call("classify", np.zeros((28, 28), np.uint8)).shape == (10,)


def test_a_crashed_process_is_reported_then_replaced(inference):
    graph = load_graph("preset:mlp")
    inference.call("load", graph, None, "mnist")
    first = inference.pid
    os.kill(first, signal.SIGKILL)
    with pytest.raises(InferenceError) as died:
        inference.call("classify", np.zeros((28, 28), np.uint8))
    assert died.value.restarted and "stopped unexpectedly" in str(died.value)
    with pytest.raises(InferenceError) as fresh:  # a new process knows no model: the caller must load first
        inference.call("classify", np.zeros((28, 28), np.uint8))
    assert fresh.value.restarted
    inference.call("load", graph, None, "mnist")
    assert inference.pid != first
    assert inference.call("classify", np.zeros((28, 28), np.uint8)).shape == (10,)


def test_close_ends_the_process_and_is_idempotent():
    inference = InferenceProcess()
    inference.call("stats")
    process = inference._process
    inference.close()
    assert process.poll() is not None  # ended, and reaped
    inference.close()
    with pytest.raises(InferenceError, match="closed"):
        inference.call("stats")


@pytest.mark.parametrize("module", ["playground.core.inference.server", "playground.core.run.process"])
def test_a_frozen_app_starts_its_helper_processes_through_its_own_command_line(monkeypatch, module):
    """Frozen, a helper's command is the app's executable with a flag; the command line serves that helper on the
    pipes."""
    import importlib

    from playground import cli
    from playground.core.run import launcher

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    command, _ = launcher.helper_command(7, 9, module)
    assert command[0] == sys.executable and command[2:] == ["7", "9"]
    served = []
    for name in launcher.SERVE_FLAGS:  # only the helper asked for serves
        monkeypatch.setattr(importlib.import_module(name), "serve_fds",
                            lambda r, w, name=name: served.append((name, r, w)))
    assert cli.main(command[1:]) == 0 and served == [(module, 7, 9)]


def test_the_first_inference_process_takes_the_spare_process_started_before_it():
    from playground.core.run.launcher import INFERENCE_MODULE, start_spare_process

    spare = start_spare_process(INFERENCE_MODULE)
    assert spare is not None and start_spare_process(INFERENCE_MODULE) == spare  # one spare at most
    inference = InferenceProcess()
    try:
        assert inference.call("stats") is not None and inference.pid == spare
        other = InferenceProcess()  # the spare is taken: the next inference starts its own
        try:
            other.call("stats")
            assert other.pid not in (None, spare)
        finally:
            other.close()
    finally:
        inference.close()


def test_a_spare_that_died_is_not_taken():
    from playground.core.run.launcher import INFERENCE_MODULE, start_spare_process

    spare = start_spare_process(INFERENCE_MODULE)
    os.kill(spare, signal.SIGKILL)
    os.waitpid(spare, 0)
    inference = InferenceProcess()
    try:
        inference.call("load", load_graph("preset:mlp"), None, "mnist")  # no error: a process of its own
        assert inference.pid != spare and inference.call("classify", np.zeros((28, 28), np.uint8)).shape == (10,)
    finally:
        inference.close()


@pytest.mark.skipif(not hasattr(os, "getsid"), reason="POSIX sessions")
def test_the_process_is_out_of_reach_of_the_terminals_ctrl_c():
    inference = InferenceProcess()
    try:
        inference.call("stats")
        assert os.getsid(inference.pid) == inference.pid != os.getsid(0)  # its own session, so not the terminal's group
    finally:
        inference.close()


def test_a_process_whose_app_went_away_while_it_started_ends_quietly():
    from playground.core.run.launcher import INFERENCE_MODULE, spawn

    process, conn = spawn(INFERENCE_MODULE)
    conn.close()  # the app quits (say, a second after launch) while the process imports torch
    assert process.wait(60) == 0  # not 1: no BrokenPipeError escaped when it came to say "ready"


def test_the_process_warms_up_on_the_default_network_before_it_says_ready():
    from playground.core.inference.server import warm_up

    assert warm_up()  # it builds and runs mnist-cnn: False would mean the head start silently does nothing


def test_close_while_the_process_is_still_starting_ends_it_at_once():
    import threading
    import time

    inference = InferenceProcess()
    errors = []

    def first_call():
        try:
            inference.call("stats")
        except InferenceError as exc:
            errors.append(str(exc))

    caller = threading.Thread(target=first_call)
    caller.start()
    time.sleep(0.3)  # the new process is importing torch (seconds), not answering yet
    assert inference._starting is not None
    started = time.perf_counter()
    inference.close()
    caller.join(5)
    assert not caller.is_alive() and time.perf_counter() - started < 1.5
    assert errors == ["The inference process is closed."]
