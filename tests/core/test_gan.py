"""GANs: the generator's layers, GAN graphs and their errors, building, training, checkpoints, the judge, the CLI.

Kept fast (the CI budget): tiny data, a few dozen steps, a cheap judge.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

from playground.core.build import GraphError, analyze, build_module
from playground.core.data import load_dataset
from playground.core.gan.judge import Judge, JudgeRecipe, judge_path, junk_images
from playground.core.gan.model import build_gan, split_state_dict
from playground.core.gan.samples import as_uint8, tile
from playground.core.gan.structure import gan_parts, is_gan_graph, task_of
from playground.core.gan.trainer import GanTrainer, TimeLimit, discriminator_loss, generator_loss
from playground.core.graph import Edge, Node, save_graph
from playground.core.layers import CATALOG
from playground.core.layers.generative import (
    infer_conv_transpose,
    infer_generated,
    infer_noise,
    infer_upsample,
)
from playground.core.run.job import RunControl, TrainingJob, run_job
from playground.core.run.messages import (
    GanEpochEnded,
    GanProgress,
    GanSamples,
    RunFinished,
    RunStarted,
    WeightsPublished,
)
from playground.core.train import CheckpointError, TrainConfig, Trainer, default_config, load_checkpoint

from .cli_runs import run_cli
from .graphs import chain, messages, preset

GAN_PRESETS = ("dcgan-mnist", "mlp-gan-mnist", "dcgan-fashion")


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path_factory):
    """Judges are cached in a folder of the test run's, never the user's."""
    monkeypatch.setenv("PLAYGROUND_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "gan-cache"))
    monkeypatch.delenv("PLAYGROUND_DATA_DIR", raising=False)


@pytest.fixture(autouse=True)
def one_thread():
    """As `playground train` trains a GAN on a CPU (commands/gan.py GAN_CPU_THREADS): small steps, one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def sample_data():
    return load_dataset("mnist-sample")


def small(dataset, n: int):
    return dataclasses.replace(dataset, train_images=dataset.train_images[:n], train_labels=dataset.train_labels[:n])


# -- layers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "shape"), [
    ({}, (8, 7, 7)),
    ({"filters": 3, "kernel_size": 3, "stride": 1, "padding": 1}, (5, 9, 11)),
    ({"filters": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}, (4, 7, 7)),
    ({"filters": 6, "kernel_size": 5, "stride": 3, "padding": 0, "bias": False}, (2, 4, 6)),
])
def test_conv_transpose_agrees_with_torch(params, shape):
    spec = CATALOG["conv_transpose2d"]
    resolved = spec.resolve(params)
    assert spec.check(resolved, [shape]) is None
    module = spec.make(resolved, [shape])()
    assert isinstance(module, nn.ConvTranspose2d)
    out = module(torch.randn(2, *shape))
    out_shape, count = infer_conv_transpose(resolved, [shape])
    assert tuple(out.shape[1:]) == out_shape
    assert count == sum(p.numel() for p in module.parameters())
    graph = chain(("up", "conv_transpose2d", params), ("f", "flatten", {}), ("d", "dense", {"units": 10}),
                  shape=shape)
    assert analyze(graph).shapes["up"] == out_shape


@pytest.mark.parametrize(("params", "shape", "expected"), [
    ({}, (3, 7, 7), (3, 14, 14)), ({"scale": 3, "mode": "bilinear"}, (1, 5, 4), (1, 15, 12))])
def test_upsample_agrees_with_torch(params, shape, expected):
    spec = CATALOG["upsample"]
    resolved = spec.resolve(params)
    x = torch.randn(2, *shape)
    out = spec.make(resolved, [shape])()(x)
    assert tuple(out.shape[1:]) == expected == infer_upsample(resolved, [shape])[0]
    mode = resolved["mode"]
    reference = nn.functional.interpolate(x, scale_factor=resolved["scale"], mode=mode,
                                          **({"align_corners": False} if mode == "bilinear" else {}))
    assert torch.equal(out, reference)


def test_generator_layers_explain_what_does_not_fit():
    ct, up = CATALOG["conv_transpose2d"], CATALOG["upsample"]
    assert "needs an image" in ct.check(ct.defaults(), [(64,)])
    assert "smaller than the stride" in ct.check(ct.resolve({"stride": 2, "output_padding": 2}), [(4, 7, 7)])
    assert "use less padding" in ct.check(ct.resolve({"kernel_size": 1, "stride": 1, "padding": 3}), [(4, 2, 2)])
    assert "needs an image" in up.check(up.defaults(), [(16, 8)])
    assert infer_noise(CATALOG["noise"].resolve({"dim": 32}), []) == ((32,), 0)
    assert infer_generated({}, [(1, 28, 28)]) == ((1, 28, 28), 0)


def test_batchnorm_takes_the_vectors_and_images_a_generator_makes():
    bn = CATALOG["batchnorm"]
    for shape, cls in (((256,), nn.BatchNorm1d), ((32, 7, 7), nn.BatchNorm2d)):
        module = bn.make(bn.defaults(), [shape])()
        assert isinstance(module, cls) and module(torch.randn(4, *shape)).shape == (4, *shape)


# -- GAN graphs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GAN_PRESETS)
def test_gan_presets_are_valid_two_network_graphs(name):
    graph = preset(name)
    assert is_gan_graph(graph) and task_of(graph) == "generation"
    analysis = analyze(graph)
    assert analysis.ok, analysis.problems
    parts = gan_parts(graph)
    assert analysis.shapes[parts.generated] == (1, 28, 28) and analysis.shapes[parts.output] == (1,)
    assert not parts.generator & parts.discriminator
    assert parts.generator | parts.discriminator == set(graph.nodes)
    gan = build_gan(graph)
    assert sum(p.numel() for p in gan.parameters()) == analysis.total_params
    # One state_dict keyed by node id covers both networks; each network is a GraphModule of its own nodes.
    assert {k.split(".")[0] for k in gan.state_dict()} <= set(graph.nodes)
    g_sd, d_sd = split_state_dict(parts, gan.state_dict())
    assert set(g_sd) == set(gan.generator.state_dict()) and set(d_sd) == set(gan.discriminator.state_dict())
    images = gan.generator(torch.randn(3, graph.nodes[parts.noise].params["dim"]))
    assert images.shape == (3, 1, 28, 28) and images.abs().max() <= 1
    assert gan.discriminator(images).shape == (3, 1)
    assert task_of(preset("mnist-cnn")) == "classification"


def test_gan_build_is_seeded_per_node_and_refused_as_one_network():
    a, b = build_gan(preset("dcgan-mnist"), seed=3).state_dict(), build_gan(preset("dcgan-mnist"), seed=3).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(GraphError, match="two networks"):
        build_module(preset("dcgan-mnist"))


def _gan(**changes):
    graph = preset("dcgan-mnist")
    for node_id, params in changes.items():
        graph.nodes[node_id].params.update(params)
    return graph


def test_generator_of_the_wrong_size_is_named_on_the_generated_node():
    graph = _gan(g_up2={"padding": 0, "kernel_size": 8})  # 14 -> 34
    made = analyze(graph).shapes["generated"]
    assert messages(analyze(graph)) == {
        "generated": [f"generator makes 1×{made[1]}×{made[2]}, the data is 1×28×28"]}
    graph = _gan(g_up2={"padding": 0, "kernel_size": 6})  # 14 -> 32
    assert messages(analyze(graph)) == {"generated": ["generator makes 1×32×32, the data is 1×28×28"]}


def test_discriminator_must_end_in_one_value():
    graph = _gan(d_dense={"units": 10})
    assert messages(analyze(graph)) == {
        "output": ["the discriminator must end in one value (how real the image looks), not 10 — end with Dense(1)"]}


def test_malformed_gan_documents_name_their_nodes():
    # No discriminator at all.
    graph = preset("dcgan-mnist")
    for node_id in [n for n in graph.nodes if gan_parts(graph).network_of(n) == "discriminator"]:
        graph.remove_node(node_id)
    assert "no discriminator" in str(analyze(graph).problems)
    # No Generated node: the error sits on the Noise node.
    graph = preset("dcgan-mnist")
    graph.remove_node("generated")
    found = messages(analyze(graph))
    assert any("no Generated node" in m for m in found["noise"])
    assert "is not connected" in " ".join(found["g_tanh"])
    # A wire from the generator into the discriminator.
    graph = preset("dcgan-mnist")
    graph.add_node(Node("mix", "add"))
    graph.disconnect(Edge("d_lrelu1", "d_conv2"))
    graph.connect(Edge("d_lrelu1", "mix"))
    graph.connect(Edge("g_relu2", "mix"))
    graph.connect(Edge("mix", "d_conv2"))
    found = messages(analyze(graph))
    assert any("joins the generator to the discriminator" in m for m in found["mix"])
    # A wire out of Generated, and a second Noise node.
    graph = preset("dcgan-mnist")
    graph.add_node(Node("noise2", "noise", {"dim": 8}))
    graph.add_node(Node("r", "relu"))
    graph.connect(Edge("generated", "r"))
    graph.connect(Edge("noise2", "r"))
    found = messages(analyze(graph))
    assert any("only one Noise node" in m for m in found["noise2"])
    assert any("no outgoing wires" in m for m in found["generated"])
    with pytest.raises(GraphError):
        build_gan(graph)


# -- training ------------------------------------------------------------------------------------


def test_losses_are_the_textbook_ones():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    bce = nn.functional.binary_cross_entropy_with_logits
    assert torch.allclose(discriminator_loss("non_saturating", real, fake, 0.9),
                          bce(real, torch.full_like(real, 0.9)) + bce(fake, torch.zeros_like(fake)))
    assert torch.allclose(generator_loss("non_saturating", fake), bce(fake, torch.ones_like(fake)))
    assert torch.allclose(discriminator_loss("least_squares", real, fake, 1.0),
                          0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean())
    assert torch.allclose(generator_loss("least_squares", fake), 0.5 * ((fake - 1) ** 2).mean())


def _config(**kw):
    return TrainConfig(**{"epochs": 1, "batch_size": 32, "device": "cpu", "gan_judge": False, **kw})


def test_checkpoint_round_trips_both_networks_and_optimizers(sample_data, tmp_path):
    data = small(sample_data, 256)
    path = tmp_path / "gan.ckpt"
    trainer = GanTrainer(preset("dcgan-mnist"), _config(gan_loss="least_squares", gan_d_steps=2), dataset=data,
                         checkpoint_path=path)
    result = trainer.fit()
    assert result.status == "completed" and result.global_step == 4 == trainer.steps_per_epoch
    assert len(result.history.steps["loss_d"]) == 4 and np.isfinite(result.history.steps["loss_g"]).all()
    ckpt = load_checkpoint(path)
    assert ckpt.extra["task"] == "generation" and set(ckpt.optimizer_state) == {"generator", "discriminator"}
    again = GanTrainer.from_checkpoint(path, dataset=data, epochs=2)
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[key], value), key
    for mine, theirs in ((trainer.optimizer_g, again.optimizer_g), (trainer.optimizer_d, again.optimizer_d)):
        a, b = mine.state_dict()["state"], theirs.state_dict()["state"]
        assert a.keys() == b.keys() and all(torch.equal(a[k]["exp_avg"], b[k]["exp_avg"]) for k in a)
    for key, value in trainer.generator_ema.state_dict().items():  # the averaged generator samples come from
        assert torch.equal(again.generator_ema.state_dict()[key], value), key
    assert not torch.equal(trainer.generator_ema.state_dict()["g_dense.weight"],
                           trainer.generator.state_dict()["g_dense.weight"])
    assert again.epochs_completed == 1 and again.global_step == 4 and again.config.gan_loss == "least_squares"
    assert again.fit().global_step == 8  # continues
    # A GAN checkpoint is not a classifier's, nor the other way round.
    with pytest.raises(GraphError):
        Trainer.from_checkpoint(path, dataset=data)
    classifier = tmp_path / "mlp.ckpt"
    Trainer(preset("mlp"), TrainConfig(epochs=1, device="cpu"), dataset=small(sample_data, 128)).save_checkpoint(
        classifier)
    with pytest.raises(CheckpointError, match="classifier, not a GAN"):
        GanTrainer.from_checkpoint(classifier, dataset=data)


def test_time_limit_pause_free_stop_and_frozen_networks(sample_data):
    trainer = GanTrainer(preset("mlp-gan-mnist"), _config(epochs=50), dataset=small(sample_data, 512))
    result = trainer.fit([TimeLimit(0.5)])
    assert result.status == "stopped" and 0.5 <= result.train_seconds < 5 and result.global_step > 0
    graph = preset("mlp-gan-mnist")
    for node_id in gan_parts(graph).generator:
        graph.nodes[node_id].trainable = False
    with pytest.raises(ValueError, match="generator is frozen"):
        GanTrainer(graph, _config(), dataset=sample_data)


def test_junk_is_not_recognised_by_the_judge_but_digits_are(sample_data):
    judge = Judge.load_or_train(sample_data, "cpu", JudgeRecipe(epochs=3))
    assert "trained now" in judge.source
    assert Judge.load_or_train(sample_data, "cpu", JudgeRecipe(epochs=3)).source.startswith("judge from cache")
    real = sample_data.test_images[:500].float()
    on_real = judge.judge(real)
    assert on_real.recognisable > 0.6 and on_real.classes_covered == 10 and not on_real.mode_collapse
    junk = judge.judge(junk_images(real, torch.Generator().manual_seed(1)))
    noise = judge.judge(torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(2)) * 255)
    assert junk.recognisable < 0.05 and noise.recognisable < 0.05
    ones = judge.judge(real[sample_data.test_labels[:500] == 1])
    assert ones.mode_collapse and "mode collapse" in ones.verdict and ones.classes_covered == 1


def test_a_short_seeded_run_beats_the_untrained_generator(sample_data):
    """Two epochs of dcgan-mnist with its default recipe on the offline sample (500 steps): its samples are
    recognisable far more often than the untrained generator's (judged by a cheap judge; 0.13-0.14 here)."""
    judge = Judge.load_or_train(sample_data, "cpu", JudgeRecipe(epochs=3))
    config = default_config("generation", epochs=2, device="cpu", seed=1)
    trainer = GanTrainer(preset("dcgan-mnist"), config, dataset=sample_data, judge=judge)
    before = trainer.judge_now()
    result = trainer.fit()
    assert result.global_step == 500
    assert result.judge.recognisable > before.recognisable + 0.08, (before, result.judge)
    assert result.history.epochs[-1]["judge"]["recognisable"] == result.judge.recognisable


def test_a_gan_run_speaks_the_run_protocol(sample_data):
    sent = []
    job = TrainingJob(run_id=7, name="gan", graph=preset("mlp-gan-mnist"),
                      config=_config(batch_size=128, dataset="mnist-sample"), samples_interval=0.0)
    run_job(job, RunControl(), sent.append)
    kinds = [type(m).__name__ for m in sent]
    assert isinstance(sent[0], RunStarted) and sent[0].task == "generation"
    assert isinstance(sent[-1], RunFinished) and sent[-1].ok, sent[-1]
    assert "EpochEnded" not in kinds and kinds.count("GanEpochEnded") == 1
    progress = [m for m in sent if isinstance(m, GanProgress)]
    steps = np.concatenate([m.steps for m in progress])
    assert steps.tolist() == list(range(1, 32))  # every step once, in order
    assert all(len(m.loss_d) == len(m.steps) == len(m.d_fake) for m in progress)
    grids = [m for m in sent if isinstance(m, GanSamples)]
    assert grids[0].global_step == 0 and grids[0].images.shape == (64, 28, 28) and grids[0].images.dtype == np.uint8
    epoch = next(m for m in sent if isinstance(m, GanEpochEnded))
    assert epoch.recognisable is None and epoch.global_step == 31
    weights = [m for m in sent if isinstance(m, WeightsPublished)][-1]
    assert {"g_dense1.weight", "d_dense1.weight"} <= set(weights.state_dict)  # both networks, by node id
    assert len(weights.history["steps"]["loss_d"]) == 31
    # Continue from the last weights: every tensor of both networks loads.
    again = []
    run_job(dataclasses.replace(job, run_id=8, initial_weights=weights.state_dict), RunControl(), again.append)
    assert again[0].transfer_note == "" and again[-1].ok


def test_grid_helpers():
    images = as_uint8(torch.full((5, 1, 4, 3), 255.0))
    assert images.shape == (5, 4, 3) and images.dtype == np.uint8
    grid = tile(images, cols=3, pad=1)
    assert grid.shape == (2 * 5 + 1, 3 * 4 + 1) and grid.max() == 255 and grid[0].max() == 0


# -- the command line ------------------------------------------------------------------------------


def test_cli_trains_a_gan_and_draws_its_samples(tmp_path, capsys):
    from PIL import Image

    ckpt = tmp_path / "gan.ckpt"
    code, out, err = run_cli(capsys, "train", "preset:mlp-gan-mnist", "--dataset", "mnist-sample", "--seconds", "1",
                         "--no-judge", "--checkpoint", ckpt, "--batch-size", "64", "--device", "cpu")
    assert code == 0, err
    summary = json.loads(out[-1])
    assert summary["status"] == "stopped" and summary["steps"] > 0 and summary["steps_per_second"] > 0
    assert {"recognisable", "classes_covered", "steps", "seconds", "steps_per_second"} <= set(summary)
    png = tmp_path / "grid.png"
    code, out, err = run_cli(capsys, "sample", ckpt, "-n", "16", "-o", png, "--scale", "1")
    assert code == 0, err
    with Image.open(png) as image:
        assert image.size == (4 * 30 + 2, 4 * 30 + 2)
    code, out, err = run_cli(capsys, "sample", ckpt, "-n", "5", "-o", tmp_path / "walk.png", "--walk")
    assert code == 0, err
    # Clear errors: a classifier's checkpoint, a damaged file, a bad output name.
    classifier = tmp_path / "mlp.ckpt"
    Trainer(preset("mlp"), TrainConfig(epochs=1, device="cpu"),
            dataset=small(load_dataset("mnist-sample"), 64)).save_checkpoint(classifier)
    code, _, err = run_cli(capsys, "sample", classifier, "-o", png)
    assert code == 2 and "holds a classifier, not a GAN" in err
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not a checkpoint")
    code, _, err = run_cli(capsys, "sample", broken, "-o", png)
    assert code == 2 and "not a PyTorch checkpoint" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "sample", ckpt, "-o", tmp_path / "grid.jpg")
    assert code == 2 and ".png" in err
    # A damaged averaged generator is refused in words, not loaded.
    damaged = load_checkpoint(ckpt)
    damaged.extra["generator_ema"]["g_dense1.weight"] = torch.zeros(3, 3)
    from playground.core.train import save_checkpoint

    save_checkpoint(tmp_path / "damaged.ckpt", damaged)
    code, _, err = run_cli(capsys, "sample", tmp_path / "damaged.ckpt", "-o", png)
    assert code == 2 and "averaged generator's weights are damaged" in err and "g_dense1.weight" in err


def test_cli_inspect_and_train_refuse_a_malformed_gan(tmp_path, capsys):
    graph = _gan(d_dense={"units": 10})
    path = tmp_path / "bad-gan.json"
    save_graph(graph, path)
    code, out, _ = run_cli(capsys, "inspect", path, "--json")
    assert code == 2
    assert {"node": "output", "message": "the discriminator must end in one value (how real the image looks), not "
                                         "10 — end with Dense(1)"} in json.loads(out[-1])["errors"]
    code, _, err = run_cli(capsys, "train", path, "--dataset", "mnist-sample", "--no-judge", "--seconds", "1")
    assert code == 2 and "output: the discriminator must end in one value" in err


# -- export ----------------------------------------------------------------------------------------


def test_export_writes_both_networks_as_source_and_the_generator_as_onnx(tmp_path):
    import importlib.util

    graph = preset("dcgan-mnist")
    gan = build_gan(graph, seed=5).eval()
    state = gan.state_dict()
    from playground.core.export import export_graph

    written = export_graph(graph, "python", tmp_path / "gan.py", state_dict=state)
    assert [p.name for p in written] == ["gan.py", "gan.pth"]
    spec = importlib.util.spec_from_file_location("exported_gan", tmp_path / "gan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generator, discriminator = module.Generator().eval(), module.Discriminator().eval()
    weights = torch.load(tmp_path / "gan.pth", weights_only=True)
    for network in (generator, discriminator):
        names = dict(network.named_children())
        network.load_state_dict({k: v for k, v in weights.items() if k.split(".")[0] in names})
    z = torch.randn(3, module.NOISE_DIM)
    with torch.no_grad():
        assert torch.equal(generator(z), gan.generator(z))
        assert torch.equal(discriminator(generator(z)), gan.discriminator(gan.generator(z)))
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    export_graph(graph, "onnx", tmp_path / "g.onnx", state_dict=state)
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    (images,) = session.run(None, {"noise": z.numpy()})
    assert np.allclose(images, gan.generator(z).detach().numpy(), atol=1e-5)


def test_bench_gan_pairs_the_trainer_with_a_plain_loop(capsys):
    code, out, err = run_cli(capsys, "bench", "--gan", "--json", "--steps", "6", "--train-samples", "512")
    assert code == 0, err
    report = json.loads(out[-1])
    assert report["batch_size"] == 16 and report["torch_threads"] == 1
    assert report["measured_steps"]["trainer"] >= 6 and report["measured_steps"]["plain"] >= 6
    assert report["trainer_steps_per_second"] > 0 and report["plain_loop_steps_per_second"] > 0
    assert report["trainer_vs_plain"] > 0


def test_stop_reaches_the_judge_while_it_trains(sample_data):
    import threading

    recipe = JudgeRecipe(epochs=3, seed=9)  # a judge of its own: not in the cache yet
    trainer = GanTrainer(preset("mlp-gan-mnist"), _config(gan_judge=True), dataset=sample_data,
                         judge_recipe=recipe)

    def stop_when_the_judge_trains():
        for _ in range(2000):
            if trainer._judge_trainer is not None:
                trainer.stop()
                return
            threading.Event().wait(0.005)

    watcher = threading.Thread(target=stop_when_the_judge_trains)
    watcher.start()
    result = trainer.fit()
    watcher.join()
    assert result.status == "stopped" and result.judge is None and result.global_step == 0
    assert not judge_path(sample_data, recipe).exists()  # a judge cut short is not cached


def test_a_parameter_edit_of_a_gan_is_reanalysed_as_a_fresh_analysis_would():
    from playground.core.analysis import reanalyze

    graph = preset("dcgan-mnist")
    before = analyze(graph)
    graph.nodes["g_up2"].params.update({"padding": 0, "kernel_size": 6})
    after = reanalyze(graph, before, ["g_up2"])
    fresh = analyze(graph)
    assert after.problems == fresh.problems == [fresh.problems[0]] and after.shapes == fresh.shapes
    assert str(after.problems[0]) == "generated: generator makes 1×32×32, the data is 1×28×28"
    assert {"g_up2", "g_tanh", "generated"} <= after.changed
    graph.nodes["g_up2"].params.update({"padding": 1, "kernel_size": 4})
    assert reanalyze(graph, after, ["g_up2"]).ok
