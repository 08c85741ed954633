"""Colour (RGB) images through the test split hand-over and the inference server (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.commands.common import fit_graph_to_folder
from playground.core.build import build_module
from playground.core.data import Normalization
from playground.core.graph import load_graph
from playground.core.inference.server import InferenceError, InferenceServer, channels_first, takes_colour
from playground.core.run.messages import arrays_of_test_split
from playground.core.run.publisher import published_config
from playground.core.train.config import TrainConfig


class Split:
    points = None

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def split(self, name):
        assert name == "test"
        return self.images, self.labels


def colour_images(n=6, side=32, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, (n, 3, side, side), dtype=np.uint8))


def colour_graph(shape=(3, 32, 32), classes=3):
    class Fake:
        sample_shape, num_classes = tuple(shape), classes

    return fit_graph_to_folder(load_graph("preset:mnist-cnn"), Fake)


def test_a_colour_test_split_stays_in_colour_channels_last():
    images = colour_images()
    labels = torch.arange(6) % 3
    out, out_labels = arrays_of_test_split(Split(images, labels))
    assert out.shape == (6, 32, 32, 3) and out.dtype == np.uint8
    assert np.array_equal(out, images.permute(0, 2, 3, 1).numpy())
    assert np.array_equal(out_labels, labels.numpy())
    gray, _ = arrays_of_test_split(Split(images[:, :1], labels))
    assert gray.shape == (6, 32, 32)
    assert np.array_equal(channels_first(out), images.numpy())
    assert channels_first(gray).shape == (6, 1, 32, 32)


def test_the_server_classifies_with_the_weights_own_normalization():
    torch.manual_seed(0)
    graph = colour_graph()
    assert takes_colour(graph)
    model = build_module(graph, "cpu").eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    own = Normalization(0.3, 0.2)
    server = InferenceServer()
    server.load(graph, state, "folder", {"normalization": {"mean": own.mean, "std": own.std}})
    images = colour_images(5, seed=1)
    with torch.no_grad():
        expected = model(own(images)).softmax(dim=1).numpy()
    channels_last = images.permute(0, 2, 3, 1).numpy()
    assert np.allclose(server.probabilities(channels_last), expected, atol=1e-5)
    assert np.allclose(server.probabilities(images.numpy()), expected, atol=1e-5)
    # Without its own scaling a folder's network falls back to MNIST's: other answers.
    server.load(graph, state, "folder", None)
    assert not np.allclose(server.probabilities(channels_last), expected, atol=1e-5)


def test_a_colour_network_refuses_a_drawing_in_words():
    graph = colour_graph()
    server = InferenceServer()
    server.load(graph, None, "folder", None)
    drawing = np.zeros((280, 280), np.uint8)
    drawing[100:180, 130:150] = 255
    with pytest.raises(InferenceError, match=r"Drawing is for digit networks.*colour images \(3×32×32\)"):
        server.classify_drawing(drawing)
    with pytest.raises(InferenceError, match="Drawing is for digit networks"):
        server.look_inside(np.zeros((28, 28), np.uint8))


def test_a_folder_run_publishes_its_normalization():
    class Trainer:
        config = TrainConfig()
        normalization = Normalization(0.4, 0.25)

        class dataset:
            name = "folder"

    config = published_config(Trainer)
    assert config["normalization"] == {"mean": 0.4, "std": 0.25}
    TrainConfig.from_dict(config)  # the extra key is tolerated where settings are read back
    Trainer.dataset.name = "mnist"
    assert "normalization" not in published_config(Trainer)


def test_which_networks_look_at_test_images_instead_of_the_drawing():
    from playground.core.inference.server import drawing_refused, looks_at_test_images

    assert looks_at_test_images(colour_graph())
    gray = colour_graph((1, 40, 40))
    assert looks_at_test_images(gray) and not takes_colour(gray)
    assert "gray images of 1×40×40" in drawing_refused(gray)
    for preset in ("mnist-cnn", "lstm-rows", "dcgan-mnist", "points-tfp"):
        graph = load_graph(f"preset:{preset}")
        assert not looks_at_test_images(graph), preset
        assert drawing_refused(graph) is None, preset


def test_the_server_looks_inside_a_colour_test_image_either_way_round():
    torch.manual_seed(0)
    graph = colour_graph()
    server = InferenceServer()
    server.load(graph, None, "folder", {"normalization": {"mean": 0.5, "std": 0.25}})
    first = colour_images(1, seed=2)[0].numpy()  # [3, H, W]
    probabilities, predicted, layers, heat = server.look_inside(first.transpose(1, 2, 0))  # [H, W, 3]
    again = server.look_inside(first)
    assert probabilities.shape == (3,) and predicted == int(probabilities.argmax())
    assert np.allclose(again[0], probabilities) and np.allclose(again[3], heat)
    assert layers[0].kind == "input" and layers[0].values.shape == (3, 32, 32)
    assert heat.shape == (32, 32) and np.abs(heat).max() > 0
    # A gray network of another size than the drawing's takes its [H, W] test images.
    gray = colour_graph((1, 40, 40))
    server.load(gray, None, "folder", None)
    assert server.look_inside(np.full((40, 40), 120, np.uint8))[3].shape == (40, 40)


def test_colour_saliency_is_each_pixels_strongest_channel_with_its_sign():
    from playground.core.train.insight import saliency

    torch.manual_seed(1)
    graph = colour_graph()
    model = build_module(graph, "cpu").eval()
    norm = Normalization(0.5, 0.25)
    raw = colour_images(1, seed=3)
    heat = saliency(model, raw, norm, 1)
    pixels = (raw.float() / 255).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(norm.unit(pixels))[0, 1], pixels)
    each = (grad * pixels.detach())[0].numpy()  # [3, H, W]
    strongest = np.take_along_axis(each, np.abs(each).argmax(axis=0)[None], axis=0)[0]
    assert np.allclose(heat, strongest, atol=1e-6)
    assert (np.abs(heat) >= np.abs(each).max(axis=0) - 1e-7).all()
    # One gray channel: gradient × input as before (its sum over the one channel).
    gray_graph = load_graph("preset:mnist-cnn")
    gray_model = build_module(gray_graph, "cpu").eval()
    digit = raw[:, :1, 2:30, 2:30].contiguous()
    gray_heat = saliency(gray_model, digit, norm, 4)
    pixels = (digit.float() / 255).requires_grad_(True)
    (grad,) = torch.autograd.grad(gray_model(norm.unit(pixels))[0, 4], pixels)
    assert np.allclose(gray_heat, (grad * pixels.detach())[0].sum(0).numpy(), atol=1e-6)
