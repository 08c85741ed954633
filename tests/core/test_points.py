"""2-D points (issue 21): the datasets, CSV files, a document's own points, the Features layer, training on points
(classification, regression, L1/L2), the decision frames a run sends, and `playground train` on points."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from playground.core.analysis import analyze
from playground.core.data import DatasetError
from playground.core.data.points import (
    CLASSIFICATION_SETS,
    EXTENT,
    MAX_UNIT_MAPS,
    OUTPUT_RESOLUTION,
    OWN_POINTS,
    REGRESSION_SETS,
    UNIT_RESOLUTION,
    Points,
    generate,
    grid,
    make_points,
    parse_points_csv,
    read_points_csv,
    write_points_csv,
)
from playground.core.data.points_dataset import load_points_dataset
from playground.core.graph import Node
from playground.core.graph.io import GraphFileError, load_graph, loads_graph, save_graph
from playground.core.run.job import RunControl, TrainingJob, run_job
from playground.core.run.messages import DecisionFrame, RunFinished, RunStarted
from playground.core.task import task_of
from playground.core.train import Trainer
from playground.core.train.config import ConfigError, default_config

from .cli_runs import run_cli


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: as a run on points trains
    yield
    torch.set_num_threads(before)


# -- the generators ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CLASSIFICATION_SETS))
def test_each_classification_set_makes_two_balanced_classes_on_the_plane(name):
    points = generate(name, 400, noise=0.2, seed=3)
    assert points.xy.shape == (400, 2) and points.xy.dtype == np.float32
    assert points.labels.dtype == np.int64 and set(points.labels.tolist()) == {0, 1}
    assert np.abs(points.xy).max() <= EXTENT
    assert 0.3 < points.labels.mean() < 0.7  # neither class is rare
    again = generate(name, 400, noise=0.2, seed=3)
    assert np.array_equal(points.xy, again.xy) and np.array_equal(points.labels, again.labels)
    other = generate(name, 400, noise=0.2, seed=4)
    assert not np.array_equal(points.xy, other.xy)


@pytest.mark.parametrize("name", sorted(REGRESSION_SETS))
def test_each_regression_set_gives_values_between_minus_one_and_one(name):
    points = generate(name, 300, noise=0.0, seed=0)
    assert points.regression and points.labels.dtype == np.float32 and points.labels.shape == (300,)
    assert points.labels.min() >= -1 and points.labels.max() <= 1 and points.labels.std() > 0.1


def test_the_classes_are_where_their_shapes_say():
    circle = generate("circle", 500, 0.0, 0)
    inside = np.hypot(*circle.xy.T) < 2.5
    assert np.all(circle.labels[inside] == 1) and np.all(circle.labels[~inside] == 0)
    xor = generate("xor", 500, 0.0, 0)
    assert np.all(xor.labels == (xor.xy[:, 0] * xor.xy[:, 1] >= 0))
    plane = generate("plane", 200, 0.0, 0)
    assert np.allclose(plane.labels, (plane.xy[:, 0] + plane.xy[:, 1]) / 12, atol=1e-5)


def test_noise_blurs_the_border():
    clean, noisy = generate("circle", 1000, 0.0, 1), generate("circle", 1000, 0.5, 1)
    inside = np.hypot(*noisy.xy.T) < 2.5
    assert np.all(clean.labels == (np.hypot(*clean.xy.T) < 2.5))
    assert np.any(noisy.labels != inside)


def test_split_holds_out_the_test_share_and_own_points_need_two_classes():
    split = make_points("moons", 200, 0.1, test_share=0.3, seed=2)
    assert len(split.train) == 140 and len(split.test) == 60 and split.classes == ("blue", "red")
    three = Points(np.array([[0, 0], [1, 1], [2, 2], [3, 3]], np.float32), np.array([0, 1, 2, 2]))
    own = make_points(OWN_POINTS, 500, 0.0, 0.25, 0, own=three)
    assert own.num_classes == 3 and len(own.train) + len(own.test) == 4
    with pytest.raises(DatasetError, match="fewer than 2"):
        make_points(OWN_POINTS, own=None)
    with pytest.raises(DatasetError, match="all of one class"):
        make_points(OWN_POINTS, own=Points(three.xy, np.zeros(4, np.int64)))
    with pytest.raises(DatasetError, match="noise"):
        make_points("spiral", 100, noise=0.7)


def test_grid_runs_row_by_row_from_the_top_left():
    g = grid(4)
    assert g.shape == (16, 2)
    assert g[0].tolist() == [-4.5, 4.5] and g[3].tolist() == [4.5, 4.5] and g[-1].tolist() == [4.5, -4.5]


# -- CSV files --------------------------------------------------------------------------------------------------


def test_a_csv_file_with_or_without_header_reads_classes_or_values(tmp_path):
    points = parse_points_csv("x,y,label\n1.5,-2,0\n0,3,1\n\n-1,-1,2\n")
    assert points.xy.tolist() == [[1.5, -2.0], [0.0, 3.0], [-1.0, -1.0]] and points.labels.tolist() == [0, 1, 2]
    values = parse_points_csv("1,1,0.5\n2,2,-0.25\n")
    assert values.regression and values.labels.tolist() == [0.5, -0.25]
    path = tmp_path / "p.csv"
    write_points_csv(points, path)
    again = read_points_csv(path)
    assert np.array_equal(again.xy, points.xy) and np.array_equal(again.labels, points.labels)


@pytest.mark.parametrize("text, line, words", [
    ("x,y,label\n1,2,0\n3,oops,1\n", 3, "y is 'oops'"),
    ("1,2,0\n1,2\n", 2, "expected 3 values"),
    ("1,2,0\n1,2,0,4\n", 2, "expected 3 values"),
    ("1,2,0\n1,99,1\n", 2, "points lie between"),
    ("1,2,0\n1,2,cat\n", 2, "the label is 'cat'"),
    ("1,2,0\n1,2,7\n", 2, "classes are 0, 1 and 2"),
    ("1,2,0.5\n1,2,3.5\n", 2, "between -1 and 1"),
    ("1,2,0\n1,nan,1\n", 2, "points lie between"),
])
def test_a_malformed_csv_line_is_refused_by_its_number(text, line, words):
    with pytest.raises(DatasetError, match=f"line {line}: .*{words}"):
        parse_points_csv(text, "pts.csv")


def test_unreadable_csv_files_are_refused_in_words(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_points_csv(tmp_path / "missing.csv")
    with pytest.raises(DatasetError, match="not a regular file"):
        read_points_csv(tmp_path)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"1,2,0\n\xff\xfe\x00")
    with pytest.raises(DatasetError, match="line 2: not text"):
        read_points_csv(binary)
    empty = tmp_path / "e.csv"
    empty.write_text("x,y,label\n")
    with pytest.raises(DatasetError, match="no points"):
        read_points_csv(empty)


# -- the document's own points, and the graph -------------------------------------------------------------------


def test_drawn_points_survive_save_and_load(tmp_path):
    graph = load_graph("preset:points-tfp")
    graph.nodes["input"].params["dataset"] = OWN_POINTS
    graph.points = Points(np.array([[1.25, -2.5], [0, 0], [3, 3]], np.float32), np.array([0, 1, 2]))
    path = tmp_path / "own.json"
    save_graph(graph, path)
    loaded = load_graph(path)
    assert loaded.points.to_rows() == [[1.25, -2.5, 0], [0.0, 0.0, 1], [3.0, 3.0, 2]]
    assert loaded.copy().points is loaded.points  # immutable, so shared
    with pytest.raises(ValueError):
        loaded.points.xy[0, 0] = 5


def test_bad_points_in_a_graph_file_are_refused_by_row(tmp_path):
    text = load_graph("preset:points-tfp")
    from playground.core.graph.io import dumps_graph

    data = json.loads(dumps_graph(text))
    data["points"] = [[1, 2, 0], [1, "x", 1]]
    with pytest.raises(GraphFileError, match="row 2: y is 'x'"):
        loads_graph(json.dumps(data))
    data["points"] = {"x": 1}
    with pytest.raises(GraphFileError, match="points: must be a list"):
        loads_graph(json.dumps(data))


def test_a_points_graph_has_the_points_task_and_its_checks():
    graph = load_graph("preset:points-spiral")
    assert task_of(graph) == "points" and analyze(graph).ok
    assert task_of(load_graph("preset:mlp")) == "classification"
    graph.nodes["scores"].params["units"] = 10
    assert any("spiral has 2 classes" in p.message for p in analyze(graph).problems)
    regression = load_graph("preset:points-regression")
    assert analyze(regression).ok
    regression.nodes["output"].params["loss"] = "cross_entropy"
    assert any("is a regression" in p.message for p in analyze(regression).problems)
    graph = load_graph("preset:points-tfp")
    graph.nodes["input"].params["dataset"] = OWN_POINTS
    graph.points = Points(np.zeros((3, 2), np.float32), np.array([0, 1, 2]))
    assert any("has 3 classes" in p.message for p in analyze(graph).problems)  # Dense(2) for 3 drawn classes


# -- the Features layer -----------------------------------------------------------------------------------------


def test_a_features_nodes_output_width_follows_its_ticks():
    graph = load_graph("preset:points-tfp")
    assert analyze(graph).shapes["features"] == (2,)
    graph.nodes["features"].params.update(x_squared=True, sin_y=True, x_times_y=True)
    analysis = analyze(graph)
    assert analysis.shapes["features"] == (5,) and analysis.shapes["dense1"] == (4,)
    assert analysis.param_counts["dense1"] == 5 * 4 + 4
    graph.nodes["features"].params.update(x=False, y=False, x_squared=False, sin_y=False, x_times_y=False)
    assert any("tick at least one feature" in p.message for p in analyze(graph).problems)


def test_the_features_module_computes_its_formulas_in_order():
    from playground.core.layers.modules import Features

    points = torch.tensor([[2.0, -3.0], [0.5, 1.0]])
    out = Features(["sin_y", "x", "x_times_y", "y_squared"])(points)
    x, y = points[:, 0], points[:, 1]
    assert torch.allclose(out, torch.stack([x, y * y, x * y, torch.sin(y)], dim=1))


def test_features_on_images_is_a_problem_on_that_node():
    graph = load_graph("preset:mlp")
    graph.add_node(Node("features", "features", {}))
    from playground.core.graph import Edge

    graph.edges = [e for e in graph.edges if e.source != "input"]
    graph.connect(Edge("input", "features"))
    graph.connect(Edge("features", "flatten"))
    problems = [p for p in analyze(graph).problems if p.node == "features"]
    assert problems and "needs 2-D points" in problems[0].message


# -- training ---------------------------------------------------------------------------------------------------


def test_a_small_network_learns_xor_from_points():
    trainer = Trainer(load_graph("preset:points-tfp"), default_config("points", epochs=40, seed=1))
    before = trainer.evaluate("test").accuracy
    result = trainer.fit()
    assert result.test.accuracy > 0.9 > before + 0.2
    assert trainer.task == "points" and result.summary()["dataset"] == "xor"


def test_a_regression_trains_on_values_and_reports_no_accuracy():
    trainer = Trainer(load_graph("preset:points-regression"), default_config("points", epochs=15))
    before = trainer.evaluate("test").loss
    result = trainer.fit()
    assert result.test.accuracy is None and result.summary()["test_accuracy"] is None
    assert result.test.loss < before / 2
    assert np.isnan(result.history.epochs[-1]["train_accuracy"])


def test_l1_and_l2_shrink_the_weights():
    def weights(**reg):
        trainer = Trainer(load_graph("preset:points-tfp"), default_config("points", epochs=8, **reg))
        trainer.fit()
        return trainer.model.dense1.weight.abs().mean().item(), (trainer.model.dense1.weight.abs() < 0.01).sum()

    plain, l1, l2 = weights(), weights(l1=0.05), weights(l2=0.1)
    assert l1[0] < 0.6 * plain[0] and l2[0] < 0.6 * plain[0]
    assert l1[1] > plain[1]  # L1 drives some weights to (nearly) zero
    with pytest.raises(ConfigError, match="l2"):
        default_config("points", l2=-1).validate()


def test_a_network_that_does_not_fit_the_points_is_refused_in_words(tmp_path):
    csv = tmp_path / "three.csv"
    csv.write_text("1,1,0\n2,2,1\n3,3,2\n-1,-1,0\n")
    config = default_config("points")
    dataset = load_points_dataset(OWN_POINTS, config, csv=csv)
    with pytest.raises(ConfigError, match=r"has 3 classes .* Dense\(3\)"):
        Trainer(load_graph("preset:points-tfp"), config, dataset=dataset)
    with pytest.raises(ConfigError, match="Input takes 1×28×28"):
        Trainer(load_graph("preset:mlp"), config, dataset=load_points_dataset("spiral", config))


def test_a_points_run_sends_decision_frames_of_every_neuron():
    sent = []
    job = TrainingJob(run_id=3, name="tfp", graph=load_graph("preset:points-tfp"),
                      config=default_config("points", epochs=6))
    run_job(job, RunControl(), sent.append)
    assert isinstance(sent[0], RunStarted) and sent[0].task == "points" and sent[0].classes == ("blue", "red")
    assert isinstance(sent[-1], RunFinished) and sent[-1].ok, sent[-1]
    frames = [m for m in sent if isinstance(m, DecisionFrame)]
    assert len(frames) >= 2  # the untrained network at once, and the last
    first, last = frames[0], frames[-1]
    r, u = OUTPUT_RESOLUTION, UNIT_RESOLUTION
    assert last.output.shape == (2, r, r) and np.allclose(last.output.sum(axis=0), 1, atol=1e-4)
    assert set(last.units) == {"features", "dense1", "tanh1", "dense2", "tanh2", "scores"}
    assert last.units["dense1"].shape == (4, u, u) and last.units_total["dense1"] == 4
    assert last.units["tanh1"].dtype == np.float16 and np.abs(last.units["tanh1"]).max() <= 1
    # The Features node's first map is x itself: it grows from left to right.
    x_map = last.units["features"][0].astype(np.float32)
    assert np.all(np.diff(x_map, axis=1) > 0) and np.allclose(x_map[:, 0], x_map[0, 0])
    assert last.train_loss < first.train_loss and last.test_loss is not None
    assert last.global_step == sent[-1].global_step


def test_unit_maps_are_capped_per_node():
    graph = load_graph("preset:points-tfp")
    graph.nodes["dense1"].params["units"] = 20
    sent = []
    run_job(TrainingJob(run_id=1, name="wide", graph=graph, config=default_config("points", epochs=1)),
            RunControl(), sent.append)
    frame = next(m for m in sent if isinstance(m, DecisionFrame))
    assert frame.units["dense1"].shape[0] == MAX_UNIT_MAPS and frame.units_total["dense1"] == 20


# -- the command line -------------------------------------------------------------------------------------------


def test_playground_train_on_points_ends_in_json(capsys):
    code, lines, err = run_cli(capsys, "train", "preset:points-tfp", "--dataset", "circle", "--epochs", "10",
                               "--noise", "0.1", "--points", "300")
    summary = json.loads(lines[-1])
    assert code == 0 and summary["dataset"] == "circle" and summary["test_accuracy"] > 0.8
    assert "300 points, noise 10%" in err
    code, lines, _ = run_cli(capsys, "train", "preset:points-regression", "--epochs", "3")
    assert code == 0 and json.loads(lines[-1])["test_accuracy"] is None


def test_playground_train_takes_a_csv_of_points_and_names_a_bad_line(capsys, tmp_path):
    good = tmp_path / "points.csv"
    write_points_csv(generate("gaussians", 100, 0.0, 0), good)
    code, lines, _ = run_cli(capsys, "train", "preset:points-tfp", "--csv", good, "--epochs", "3")
    assert code == 0 and json.loads(lines[-1])["dataset"] == OWN_POINTS
    code, lines, _ = run_cli(capsys, "train", "preset:points-tfp", "--data-dir", tmp_path, "--epochs", "1")
    assert code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y,label\n1,2,0\n3,oops,1\n")
    code, _, err = run_cli(capsys, "train", "preset:points-tfp", "--csv", bad)
    assert code == 2 and "bad.csv, line 3: y is 'oops', not a number" in err
    code, _, err = run_cli(capsys, "train", "preset:mlp", "--dataset", "spiral")
    assert code == 2 and "give the Input the shape [2]" in err


def test_a_points_checkpoint_is_evaluated_on_its_own_points_and_refused_by_predict(capsys, tmp_path):
    ckpt = tmp_path / "xor.pt"
    code, lines, _ = run_cli(capsys, "train", "preset:points-tfp", "--epochs", "4", "--data-seed", "5",
                             "--checkpoint", ckpt)
    trained = json.loads(lines[-1])
    code, lines, _ = run_cli(capsys, "evaluate", ckpt)
    again = json.loads(lines[-1])
    assert code == 0 and again["dataset"] == "xor" and again["samples"] == 250
    assert again["test_accuracy"] == pytest.approx(trained["test_accuracy"])  # the same points: the run's seed
    code, _, err = run_cli(capsys, "predict", ckpt, tmp_path / "digit.png")
    assert code == 2 and "holds a network on 2-D points" in err
