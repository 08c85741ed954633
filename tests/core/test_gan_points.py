"""A GAN on 2-D points (GAN Lab's lesson): the graph and its errors, training toward the real points, the frames of
the plane (shapes, the gradient arrows' direction), the run protocol, checkpoints and the command line.

Kept fast: an epoch of a few hundred steps of the preset's small networks (well under a second each)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from playground.core.build import analyze
from playground.core.data.points import OWN_POINTS, Points, grid, make_points
from playground.core.data.points_dataset import load_points_dataset
from playground.core.gan import trainer as gan_trainer
from playground.core.gan.model import build_gan
from playground.core.gan.plane import PointsReport
from playground.core.gan.structure import gan_parts, is_points_gan, task_of
from playground.core.gan.trainer import GanTrainer
from playground.core.graph import Edge, Graph, Node
from playground.core.run.job import RunControl, TrainingJob, run_job
from playground.core.run.messages import (
    GanEpochEnded,
    GanPointsFrame,
    GanProgress,
    GanSamples,
    RunFinished,
    RunStarted,
)
from playground.core.task import on_plane
from playground.core.train import ConfigError, default_config, load_checkpoint

from .cli_runs import run_cli
from .graphs import messages, preset

EPOCH_SAMPLES = 6_000  # an epoch of 403 steps of 16 (the app's is 16,000: a run long enough to watch)


@pytest.fixture(autouse=True)
def short_epochs(monkeypatch):
    monkeypatch.setattr(gan_trainer, "POINTS_EPOCH_SAMPLES", EPOCH_SAMPLES)


@pytest.fixture(autouse=True)
def one_thread():
    """As a points run trains on a CPU (core/run/job.py POINTS_CPU_THREADS): one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gan_on(dataset: str = "moons", **changes):
    graph = preset("gan-points")
    graph.nodes["input"].params["dataset"] = dataset
    for node_id, params in changes.items():
        graph.nodes[node_id].params.update(params)
    return graph


def config(**kw):
    return default_config("generation", **{"device": "cpu", "epochs": 1, **kw})


# -- the graph -------------------------------------------------------------------------------------


def test_the_gan_lab_preset_is_a_gan_on_points():
    graph = preset("gan-points")
    analysis = analyze(graph)
    assert analysis.ok, analysis.problems
    assert is_points_gan(graph) and on_plane(graph) and task_of(graph) == "generation"
    assert not is_points_gan(preset("dcgan-mnist")) and not is_points_gan(preset("points-tfp"))
    assert on_plane(preset("points-tfp")) and not on_plane(preset("dcgan-mnist"))
    parts = gan_parts(graph)
    assert analysis.shapes[parts.generated] == (2,) and analysis.shapes[parts.output] == (1,)
    points = build_gan(graph).generator(torch.randn(5, 2))
    assert points.shape == (5, 2)


def test_a_generator_that_does_not_make_the_points_is_named_on_its_node():
    # Three values instead of x, y.
    assert messages(analyze(gan_on(g_dense3={"units": 3}))) == {"generated": [
        "a generator must make images (channels×height×width) or 2-D points (x, y: 2 values), but this gets a "
        "vector of 3 — add a Reshape to channels×height×width for images, or end with Dense(2) for points"]}
    # Images, for points: 784 values reshaped to an image.
    graph = gan_on(g_dense3={"units": 784})
    graph.disconnect(Edge("g_dense3", "generated"))
    graph.add_node(Node("g_reshape", "reshape", {"shape": [1, 28, 28]}))
    graph.connect(Edge("g_dense3", "g_reshape"))
    graph.connect(Edge("g_reshape", "generated"))
    assert messages(analyze(graph)) == {"generated": [
        "the generator must make 2-D points like moons's (x, y: 2 values), not an image 1×28×28 "
        "(channels×height×width) — end it with Dense(2)"]}
    # A pixel range squashes points; points need one for images.
    assert messages(analyze(gan_on(generated={"range": "tanh"}))) == {"generated": [
        "range tanh would squash the generated points into -1…1, while moons's lie between -6 and 6: choose range "
        "none (the points as they are)"]}
    graph = preset("dcgan-mnist")
    graph.nodes["generated"].params["range"] = "none"
    assert messages(analyze(graph)) == {"generated": [
        "images need a pixel range: choose tanh (after a Tanh: -1…1) or sigmoid (after a Sigmoid: 0…1); range none "
        "is for 2-D points"]}
    # The discriminator's Input and end.
    assert messages(analyze(gan_on(input={"shape": [1, 28, 28]})))["input"] == [
        "moons points are x, y: 2, not 1×28×28"]
    assert messages(analyze(gan_on(d_dense3={"units": 2}))) == {
        "output": ["the discriminator must end in one value (how real the point looks), not 2 — end with Dense(1)"]}


def test_the_trainer_refuses_data_the_generator_does_not_make():
    with pytest.raises(ConfigError, match=r"moons holds 2-D points .* but the generator makes an image 1×28×28"):
        GanTrainer(preset("dcgan-mnist"), config(dataset="moons"))
    with pytest.raises(ConfigError, match="mnist-sample holds images, but this GAN's generator makes 2-D points"):
        GanTrainer(preset("gan-points"), config(dataset="mnist-sample"))


def test_a_gan_takes_every_point_as_real_whatever_its_class():
    split = make_points("moons", 300, 0.1, 0.5, 3, gan=True)
    assert len(split.train) == 300 and len(split.test) == 0
    one_class = Points(np.array([[0, 0], [1, 1], [2, -1]], np.float32), np.zeros(3, np.int64))
    dataset = load_points_dataset(OWN_POINTS, config(), own=one_class, gan=True)
    assert len(dataset.points.train) == 3 and "real points for the GAN" in dataset.source
    with pytest.raises(Exception, match="all of one class"):
        load_points_dataset(OWN_POINTS, config(), own=one_class)  # a classifier needs two classes


# -- training and the frames -----------------------------------------------------------------------


def test_a_points_gan_learns_where_the_real_points_lie_and_its_arrows_point_there():
    trainer = GanTrainer(gan_on("moons"), config(gan_judge=True))  # the judge knows digits: off for points
    assert trainer.judge is None and trainer.prepare_judge() is None
    assert len(trainer.train_data) == 500  # every point: a GAN is not tested
    assert trainer.steps_per_epoch == 403  # 13 passes over 31 batches of 16 (EPOCH_SAMPLES)
    before = trainer.points_report_now()
    real, fake, gradient, surface = trainer.plane.frame()
    assert real.shape == (500, 2) and fake.shape == gradient.shape == (250, 2)
    assert surface.shape == (64, 64) and all(a.dtype == np.float32 for a in (real, fake, gradient, surface))
    assert 0 <= surface.min() <= surface.max() <= 1  # P(real)

    result = trainer.fit()
    assert result.status == "completed" and result.global_step == 403 and result.judge is None
    after = result.points
    assert isinstance(after, PointsReport) and after.global_step == 403
    # The generated points came to the real ones, and reached all parts of them.
    assert after.fake_to_real < 0.75 * before.fake_to_real, (before, after)
    assert after.real_to_fake < 0.25 * before.real_to_fake, (before, after)
    assert result.history.epochs[-1]["points"]["fake_to_real"] == round(after.fake_to_real, 4)
    summary = result.summary()
    assert summary["fake_to_real"] == round(after.fake_to_real, 4) and summary["recognisable"] is None

    real, fake, gradient, surface = trainer.plane.frame()
    # The frame's points are the averaged generator's of the run's fixed noise.
    with torch.no_grad():
        assert np.allclose(fake, trainer.generator_ema(trainer.plane.noise).numpy(), atol=1e-5)
    # Each arrow points where the generator's loss falls: on the whole, toward the nearest real point.
    nearest = real[np.linalg.norm(fake[:, None] - real[None], axis=2).argmin(axis=1)]
    toward = ((nearest - fake) * gradient).sum(axis=1)
    assert toward.mean() > 0 and (toward > 0).mean() > 0.5, (toward.mean(), (toward > 0).mean())
    # ... and uphill on the discriminator's verdict: D is higher a small step along an arrow.
    with torch.no_grad():
        d = trainer.discriminator
        step = torch.from_numpy(gradient / np.maximum(np.linalg.norm(gradient, axis=1, keepdims=True), 1e-12))
        here, there = d(torch.from_numpy(fake)), d(torch.from_numpy(fake) + 0.01 * step)
    assert (there > here).float().mean() > 0.9


def test_least_squares_frames_carry_the_raw_score():
    trainer = GanTrainer(gan_on("gaussians"), config(gan_loss="least_squares"))
    trainer.fit()
    _, _, gradient, surface = trainer.plane.frame()
    assert np.isfinite(surface).all() and np.isfinite(gradient).all()
    with torch.no_grad():
        raw = trainer.discriminator(torch.from_numpy(grid(64)))[:, 0].numpy().reshape(64, 64)
    assert np.allclose(surface, raw, atol=1e-5)


def test_a_points_gan_run_sends_frames_of_the_plane_instead_of_samples():
    sent = []
    job = TrainingJob(run_id=5, name="gan lab", graph=preset("gan-points"), config=config(), samples_interval=0.0)
    run_job(job, RunControl(), sent.append)
    kinds = [type(m).__name__ for m in sent]
    assert isinstance(sent[0], RunStarted) and sent[0].task == "generation" and sent[0].dataset == "moons"
    assert isinstance(sent[-1], RunFinished) and sent[-1].ok, sent[-1]
    assert "GanSamples" not in kinds and kinds.count("GanEpochEnded") == 1
    frames = [m for m in sent if isinstance(m, GanPointsFrame)]
    assert len(frames) >= 2 and frames[0].global_step == 0 and frames[-1].global_step == 403
    last = frames[-1]
    assert last.real.shape == (500, 2) and last.fake.shape == last.gradient.shape == (250, 2)
    assert last.surface.shape == (64, 64) and last.extent == 6.0 and last.gan_loss == "non_saturating"
    assert np.isfinite([last.loss_d, last.loss_g]).all() and np.isnan(frames[0].loss_d)  # no step yet
    steps = np.concatenate([m.steps for m in sent if isinstance(m, GanProgress)])
    assert steps.tolist() == list(range(1, 404))
    epoch = next(m for m in sent if isinstance(m, GanEpochEnded))
    assert epoch.recognisable is None and epoch.global_step == 403
    assert epoch.verdict.startswith("the generated points lie ")
    assert not any(isinstance(m, GanSamples) for m in sent)


def test_a_points_gan_checkpoint_continues_on_the_same_points(tmp_path):
    path = tmp_path / "gan.ckpt"
    trainer = GanTrainer(preset("gan-points"), config(points=200, points_noise=0.1), checkpoint_path=path)
    trainer.fit()
    ckpt = load_checkpoint(path)
    assert ckpt.extra["dataset"] == "moons" and ckpt.extra["points"]["global_step"] == trainer.global_step
    again = GanTrainer.from_checkpoint(path, epochs=2)
    assert np.array_equal(again.points.train.xy, trainer.points.train.xy)
    assert again.fit().global_step == 2 * trainer.steps_per_epoch


# -- the command line ------------------------------------------------------------------------------


def test_cli_trains_a_points_gan_without_a_judge_and_writes_its_points(tmp_path, capsys):
    ckpt = tmp_path / "gan.ckpt"
    code, out, err = run_cli(capsys, "train", "preset:gan-points", "--epochs", "1", "--checkpoint", ckpt)
    assert code == 0, err
    assert "the judge is off for a GAN on 2-D points" in err and "all of them real points" in err
    assert out[0].startswith("epoch 1/1") and "generated → real" in out[0]
    summary = json.loads(out[-1])
    assert summary["status"] == "completed" and summary["steps"] == 403 and summary["dataset"] == "moons"
    assert summary["judge"].startswith("off") and summary["recognisable"] is None
    assert 0 < summary["fake_to_real"] < 1.5 and "generated points lie" in summary["verdict"]
    code, _, err = run_cli(capsys, "train", "preset:gan-points", "--epochs", "1", "--judge-every", "5")
    assert code == 2 and "no judge" in err

    csv = tmp_path / "points.csv"
    code, out, err = run_cli(capsys, "sample", ckpt, "-n", "50", "-o", csv)
    assert code == 0, err
    assert json.loads(out[-1])["points"] is True
    lines = csv.read_text().splitlines()
    assert lines[0] == "x,y,label" and len(lines) == 51
    code, _, err = run_cli(capsys, "sample", ckpt, "-o", tmp_path / "grid.png")
    assert code == 2 and "makes 2-D points, not images" in err and ".csv" in err


def test_cli_trains_a_gan_on_a_csv_file_of_points(tmp_path, capsys):
    csv = tmp_path / "ring.csv"
    angle = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    csv.write_text("x,y,label\n" + "".join(f"{4 * np.cos(a):.3f},{4 * np.sin(a):.3f},0\n" for a in angle))
    code, out, err = run_cli(capsys, "train", "preset:gan-points", "--csv", csv, "--epochs", "1")
    assert code == 0, err
    assert json.loads(out[-1])["dataset"] == OWN_POINTS


def test_the_smallest_points_gan_is_valid():
    """A points GAN built from nothing: Noise → Dense(2) → Generated(none); Input[2] spiral → Dense(1) → Output."""
    graph = Graph(name="tiny")
    for node in (Node("z", "noise", {"dim": 2}), Node("g", "dense", {"units": 2}),
                 Node("gen", "generated", {"range": "none"}),
                 Node("real", "input", {"shape": [2], "dataset": "spiral"}), Node("d", "dense", {"units": 1}),
                 Node("out", "output", {})):
        graph.add_node(node)
    for a, b in (("z", "g"), ("g", "gen"), ("real", "d"), ("d", "out")):
        graph.connect(Edge(a, b))
    assert analyze(graph).ok and is_points_gan(graph)


def test_the_python_export_of_a_points_gan_makes_points(tmp_path):
    import importlib.util

    from playground.core.export import export_graph

    graph = preset("gan-points")
    gan = build_gan(graph, seed=2).eval()
    export_graph(graph, "python", tmp_path / "gan_lab.py", state_dict=gan.state_dict())
    source = (tmp_path / "gan_lab.py").read_text()
    assert "POINT_SHAPE = (2,)" in source and "to_pixels" not in source
    spec = importlib.util.spec_from_file_location("exported_gan_lab", tmp_path / "gan_lab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generator, discriminator = module.Generator().eval(), module.Discriminator().eval()
    weights = torch.load(tmp_path / "gan_lab.pth", weights_only=True)
    for network in (generator, discriminator):
        names = dict(network.named_children())
        network.load_state_dict({k: v for k, v in weights.items() if k.split(".")[0] in names})
    z = module.noise(4)
    with torch.no_grad():
        assert torch.equal(generator(z), gan.generator(z)) and generator(z).shape == (4, 2)
        assert torch.equal(discriminator(generator(z)), gan.discriminator(gan.generator(z)))
