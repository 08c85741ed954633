"""The inference server with a GAN: the discriminator's "real" probability, a look inside it, the generator's
latent walk and layers; a classifier has no generator to ask."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.gan.model import build_gan
from playground.core.graph import load_graph
from playground.core.inference.server import InferenceError, InferenceServer


@pytest.fixture(scope="module")
def dcgan():
    return load_graph("preset:dcgan-mnist")


def digit() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[5:23, 12:16] = 255
    return image


def test_a_gan_answers_its_discriminators_real_probability(dcgan):
    server = InferenceServer()
    server.load(dcgan, None, "mnist", {"gan_loss": "non_saturating"})
    p = server.classify(digit())
    assert p.shape == (1,) and p.dtype == np.float32 and 0 < p[0] < 1
    batch = server.probabilities(np.stack([digit(), np.zeros((28, 28), np.uint8)]))
    assert batch.shape == (2, 1) and np.isclose(batch[0, 0], p[0])
    # The same as the discriminator itself on pixels scaled as the GAN trainer scales them (tanh: -1..1).
    gan = build_gan(dcgan)
    x = torch.from_numpy(digit()).float().div(255).sub(0.5).div(0.5).view(1, 1, 28, 28)
    with torch.no_grad():
        expected = gan.eval().discriminator(x).sigmoid().item()
    assert p[0] == pytest.approx(expected, abs=1e-5)


def test_least_squares_reads_the_score_clipped_to_0_1(dcgan):
    server = InferenceServer()
    state = {k: v.clone() for k, v in build_gan(dcgan, seed=3).state_dict().items()}
    state["d_dense.bias"] += 5.0  # a score far above 1
    server.load(dcgan, state, "mnist", {"gan_loss": "least_squares"})
    assert server.classify(digit())[0] == 1.0


def test_a_look_inside_a_gan_is_inside_its_discriminator(dcgan):
    server = InferenceServer()
    server.load(dcgan, None, "mnist")
    probabilities, predicted, layers, heat = server.look_inside(digit())
    assert probabilities.shape == (1,) and predicted == 0
    from playground.core.gan.structure import gan_parts

    parts = gan_parts(dcgan)  # the discriminator's layers in execution order, and none of the generator's
    node_ids = [lv.node_id for lv in layers]
    assert node_ids[0] == "input" and node_ids[-1] == "d_dense" and set(node_ids) <= set(parts.discriminator)
    assert len(node_ids) == len(parts.discriminator) - 1  # all but the Output
    assert heat.shape == (28, 28) and np.isfinite(heat).all()


def test_the_generator_walks_between_two_noise_vectors_and_shows_its_layers(dcgan):
    server = InferenceServer()
    server.load(dcgan, None, "mnist")
    images, layers = server.look_at_generator(1, 2, 6)
    assert images.shape == (6, 28, 28) and images.dtype == np.uint8 and layers is None
    again, layers = server.look_at_generator(1, 2, 6, True)
    assert np.array_equal(images, again)  # the same seeds, the same noise, the same images
    assert [lv.node_id for lv in layers][:2] == ["noise", "g_dense"] and layers[-1].shape == (1, 28, 28)
    other, _ = server.look_at_generator(1, 3, 6)
    assert np.array_equal(other[0], images[0]) and not np.array_equal(other[-1], images[-1])


def test_a_classifier_has_no_generator_and_reads_as_before():
    server = InferenceServer()
    server.load(load_graph("preset:mlp"), None, "mnist")
    assert server.look_at_generator(1, 2, 4) is None
    assert server.classify(digit()).shape == (10,)


def test_gan_weights_that_do_not_fit_are_refused(dcgan):
    server = InferenceServer()
    state = build_gan(dcgan).state_dict()
    state["g_up1.weight"] = torch.zeros(3, 3)
    with pytest.raises(InferenceError, match="do not fit"):
        server.load(dcgan, state, "mnist")
