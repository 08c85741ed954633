"""The inference engine in its own process: same answers as in-process, plain errors, survives a crash."""

from __future__ import annotations

import os
import signal
import sys

import numpy as np
import pytest

from playground.core.build import build_module
from playground.core.graph import Edge, load_graph
from playground.core.train.engine import EngineError, LocalEngine, ProcessEngine


@pytest.fixture
def engine():
    e = ProcessEngine()
    yield e
    e.close()


def drawing() -> np.ndarray:
    d = np.zeros((280, 280), np.uint8)
    d[60:220, 120:160] = 255
    return d


def numpy_weights(graph, seed: int) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in build_module(graph, "cpu", seed=seed).state_dict().items()}


def test_the_process_answers_as_the_engine_does_in_process(engine):
    graph = load_graph("preset:mnist-cnn")
    weights = numpy_weights(graph, seed=3)
    local = LocalEngine()
    for e in (engine, local):
        e.call("load", graph, weights, "mnist")
    image, probabilities = engine.call("classify_drawing", drawing())
    local_image, local_probabilities = local.call("classify_drawing", drawing())
    assert np.array_equal(image, local_image) and image.shape == (28, 28)
    np.testing.assert_allclose(probabilities, local_probabilities, rtol=1e-5, atol=1e-7)
    looked, predicted, layers, heat = engine.call("look_inside", image)
    np.testing.assert_allclose(looked, probabilities, rtol=1e-5, atol=1e-6)
    assert predicted == int(np.argmax(probabilities)) and heat.shape == (28, 28)
    assert [layer.node_id for layer in layers][:2] == ["input", "conv1"]
    batch = engine.call("probabilities", np.stack([image, image]))
    np.testing.assert_allclose(batch[0], probabilities, rtol=1e-5, atol=1e-6)
    assert engine.pid is not None and engine.pid != os.getpid()


def test_failures_come_back_as_plain_messages_and_the_engine_keeps_serving(engine):
    graph = load_graph("preset:mlp")
    broken = graph.copy()
    broken.disconnect(Edge("dense3", "output"))
    with pytest.raises(EngineError, match="cannot be built"):
        engine.call("load", broken, None, "mnist")
    with pytest.raises(EngineError, match="No network is loaded"):
        engine.call("classify", np.zeros((28, 28), np.uint8))
    wider = graph.copy()
    wider.nodes["dense1"].params["units"] = 64
    with pytest.raises(EngineError, match="do not fit"):
        engine.call("load", wider, numpy_weights(graph, seed=1), "mnist")
    with pytest.raises(EngineError, match="unknown engine request"):
        engine.call("_need_model")
    engine.call("load", graph, None, "mnist")
    assert engine.call("classify", np.zeros((28, 28), np.uint8)).shape == (10,)


def test_a_crashed_process_is_reported_then_replaced(engine):
    graph = load_graph("preset:mlp")
    engine.call("load", graph, None, "mnist")
    first = engine.pid
    os.kill(first, signal.SIGKILL)
    with pytest.raises(EngineError) as died:
        engine.call("classify", np.zeros((28, 28), np.uint8))
    assert died.value.restarted and "stopped unexpectedly" in str(died.value)
    with pytest.raises(EngineError) as fresh:  # a new process knows no model: the caller must load first
        engine.call("classify", np.zeros((28, 28), np.uint8))
    assert fresh.value.restarted
    engine.call("load", graph, None, "mnist")
    assert engine.pid != first
    assert engine.call("classify", np.zeros((28, 28), np.uint8)).shape == (10,)


def test_close_ends_the_process_and_is_idempotent():
    engine = ProcessEngine()
    engine.call("stats")
    process = engine._process
    engine.close()
    assert process.poll() is not None  # ended, and reaped
    engine.close()
    with pytest.raises(EngineError, match="closed"):
        engine.call("stats")


@pytest.mark.parametrize("module", ["playground.core.train.engine", "playground.app.training.process"])
def test_a_frozen_app_starts_its_helper_processes_through_its_own_command_line(monkeypatch, module):
    """Frozen, a helper's command is the app's executable with a flag; the command line serves that helper on the
    pipes."""
    import importlib

    from playground import cli
    from playground.core import engine_process

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    command, _ = engine_process.engine_command(7, 9, module)
    assert command[0] == sys.executable and command[2:] == ["7", "9"]
    served = []
    for name in engine_process.SERVE_FLAGS:  # only the helper asked for serves
        monkeypatch.setattr(importlib.import_module(name), "serve_fds",
                            lambda r, w, name=name: served.append((name, r, w)))
    assert cli.main(command[1:]) == 0 and served == [(module, 7, 9)]


def test_the_first_engine_takes_the_spare_process_started_before_it():
    from playground.core.engine_process import start_spare_process

    spare = start_spare_process()
    assert spare is not None and start_spare_process() == spare  # one spare at most
    engine = ProcessEngine()
    try:
        assert engine.call("stats") is not None and engine.pid == spare
        other = ProcessEngine()  # the spare is taken: the next engine starts its own
        try:
            other.call("stats")
            assert other.pid not in (None, spare)
        finally:
            other.close()
    finally:
        engine.close()


def test_a_spare_that_died_is_not_taken():
    from playground.core.engine_process import start_spare_process

    spare = start_spare_process()
    os.kill(spare, signal.SIGKILL)
    os.waitpid(spare, 0)
    engine = ProcessEngine()
    try:
        engine.call("load", load_graph("preset:mlp"), None, "mnist")  # no error: a process of its own
        assert engine.pid != spare and engine.call("classify", np.zeros((28, 28), np.uint8)).shape == (10,)
    finally:
        engine.close()


@pytest.mark.skipif(not hasattr(os, "getsid"), reason="POSIX sessions")
def test_the_process_is_out_of_reach_of_the_terminals_ctrl_c():
    engine = ProcessEngine()
    try:
        engine.call("stats")
        assert os.getsid(engine.pid) == engine.pid != os.getsid(0)  # its own session, so not the terminal's group
    finally:
        engine.close()


def test_a_process_whose_app_went_away_while_it_started_ends_quietly():
    from playground.core.engine_process import spawn

    process, conn = spawn()
    conn.close()  # the app quits (say, a second after launch) while the process imports torch
    assert process.wait(60) == 0  # not 1: no BrokenPipeError escaped when it came to say "ready"


def test_the_process_warms_up_on_the_default_network_before_it_says_ready():
    from playground.core.train.engine import warm_up

    assert warm_up()  # it builds and runs mnist-cnn: False would mean the head start silently does nothing


def test_close_while_the_process_is_still_starting_ends_it_at_once():
    import threading
    import time

    engine = ProcessEngine()
    errors = []

    def first_call():
        try:
            engine.call("stats")
        except EngineError as exc:
            errors.append(str(exc))

    caller = threading.Thread(target=first_call)
    caller.start()
    time.sleep(0.3)  # the new process is importing torch (seconds), not answering yet
    assert engine._starting is not None
    started = time.perf_counter()
    engine.close()
    caller.join(5)
    assert not caller.is_alive() and time.perf_counter() - started < 1.5
    assert errors == ["The engine is closed."]
