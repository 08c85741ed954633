"""The one codec on the pipes to the helper processes: tensors cross as tensors, by way of NumPy arrays."""

from __future__ import annotations

import os
import pickle

import numpy as np
import torch

from playground.core.run.messages import WeightsPublished
from playground.core.run.wire import Duplex, dumps, loads


def test_a_state_dict_crosses_as_equal_cpu_tensors_of_the_same_dtypes():
    state = {"w": torch.randn(3, 4), "steps": torch.tensor(7, dtype=torch.int64), "half": torch.randn(2).half(),
             "view": torch.arange(12.0).view(3, 4)[:, 1], "bf16": torch.randn(3).bfloat16()}
    back = loads(dumps(WeightsPublished(run_id=1, global_step=2, graph=None, state_dict=state, dataset="mnist",
                                        classes=("0",))))
    assert back.state_dict.keys() == state.keys()
    for name, tensor in state.items():
        got = back.state_dict[name]
        assert type(got) is torch.Tensor and got.dtype == tensor.dtype and torch.equal(got, tensor), name


def test_tensors_are_sent_as_numpy_arrays_not_as_torch_pickles():
    data = dumps({"w": torch.zeros(1000)})
    assert b"playground.core.run.wire" in data and b"torch._utils" not in data  # not torch's own reducer
    assert len(data) < len(pickle.dumps({"w": torch.zeros(1000)}))


def test_a_tensor_that_needs_its_gradient_or_is_a_parameter_pickles_as_itself():
    parameter = torch.nn.Parameter(torch.ones(3))
    back = loads(dumps({"p": parameter}))
    assert isinstance(back["p"], torch.nn.Parameter) and torch.equal(back["p"], parameter)


def test_messages_go_through_a_duplex_over_two_pipes():
    a_read, b_write = os.pipe()
    b_read, a_write = os.pipe()
    a, b = Duplex.over(a_read, a_write), Duplex.over(b_read, b_write)
    try:
        b.send({"image": np.arange(4, dtype=np.uint8), "weights": torch.ones(2)})
        assert a.poll(5)
        got = a.recv()
        assert got["image"].tolist() == [0, 1, 2, 3] and torch.equal(got["weights"], torch.ones(2))
        a.send_encoded(dumps("ready"))
        assert b.recv() == "ready"
    finally:
        a.close()
        b.close()
