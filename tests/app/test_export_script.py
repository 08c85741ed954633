"""File ▸ Export ▸ Training script…: the open network with the panel's settings, or a finished run of the history;
refusals and write failures are said in a dialog and leave no file, and never a half-written one."""

from __future__ import annotations

import ast

from playground.app.training.session import IDLE
from playground.core.train import TrainConfig

from .conftest import make_window

RUN_TIMEOUT = 90_000


def test_export_the_network_with_the_panels_settings(qtbot, window, dialogs, tmp_path):
    a = window.acts
    assert a.export_train_script in window.export_menu.actions()
    assert window.export_menu.menuAction() in window.menus["file"].actions()
    assert a.export_train_script.isEnabled()
    window.training.panel.set_config(TrainConfig(epochs=2, optimizer="sgd", lr=0.01, batch_size=64, schedule="cosine",
                                                 warmup_epochs=1.0, device="cpu"))
    window.training.panel.select_dataset("fashion-mnist")
    out = tmp_path / "out"
    out.mkdir()
    dialogs.choose_file(str(out / "train_cnn"))  # no suffix: .py is added
    a.export_train_script.trigger()
    source = (out / "train_cnn.py").read_text()
    ast.parse(source)
    for line in ("class MNISTCNN(nn.Module):", "EPOCHS = 2", 'OPTIMIZER = "sgd"', "LR = 0.01", "BATCH_SIZE = 64",
                 'SCHEDULE = "cosine"', "WARMUP_EPOCHS = 1.0", 'DATASET = "fashion-mnist"'):
        assert line in source, line
    assert not dialogs.texts("critical")
    assert "train_cnn.py" in window.statusBar().currentMessage()
    assert sorted(p.name for p in out.iterdir()) == ["train_cnn.py"]  # no temporary file left


def test_a_refused_export_says_why_and_leaves_the_old_file(qtbot, settings, dialogs, tmp_path):
    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("points-tfp")
    out = tmp_path / "out"
    out.mkdir()
    old = out / "train.py"
    old.write_text("# my own script\n")
    dialogs.choose_file(str(old))
    window.acts.export_train_script.trigger()
    (text,) = dialogs.texts("critical")
    assert "2-D points" in text and "playground train" in text
    assert old.read_text() == "# my own script\n" and sorted(p.name for p in out.iterdir()) == ["train.py"]
    # A folder that does not exist: said, nothing written.
    window.workbench.files.new_from_preset("mlp")
    dialogs.choose_file(str(tmp_path / "missing" / "train.py"))
    window.acts.export_train_script.trigger()
    assert "does not exist" in dialogs.texts("critical")[-1]
    assert not (tmp_path / "missing").exists()


def test_export_a_finished_run_of_the_history(qtbot, settings, dialogs, tmp_path):
    """A run's own network and settings, even after the open network and the panel have changed."""
    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("lenet5")
    t = window.training
    t.panel.set_config(TrainConfig(epochs=3, batch_size=32, optimizer="adam", augment="none", device="cpu"))
    t.panel.select_dataset("mnist-sample")
    assert t.start(max_steps=2)
    qtbot.waitUntil(lambda: t.session.state == IDLE and t.charts.runs() and not t.charts.runs()[-1].live,
                    timeout=RUN_TIMEOUT)
    run = t.charts.runs()[-1]
    window.workbench.files.new_from_preset("mlp")
    t.panel.set_config(TrainConfig(epochs=9, device="cpu"))
    t.charts.history.select(run.id)
    dialogs.choose_file(str(tmp_path / "lenet.py"))
    window.acts.export_train_script.trigger()
    source = (tmp_path / "lenet.py").read_text()
    for line in ("class LeNet5(nn.Module):", "EPOCHS = 3", "BATCH_SIZE = 32", 'OPTIMIZER = "adam"',
                 "AUGMENT = False", 'DATASET = "mnist"'):  # the sample is a slice of MNIST: the script reads MNIST
        assert line in source, line
    # With no run selected, the open network and the panel's settings.
    t.charts.history.tree.clearSelection()
    dialogs.choose_file(str(tmp_path / "mlp.py"))
    window.acts.export_train_script.trigger()
    source = (tmp_path / "mlp.py").read_text()
    assert "class MLP(nn.Module):" in source and "EPOCHS = 9" in source


def test_export_the_network_as_source_onnx_and_pt2_with_the_weights_in_use(qtbot, settings, dialogs, tmp_path):
    """File ▸ Export's model formats: untrained before any weights, then with the weights in use; after an edit
    that changes a layer's shape, untrained again (and said); a refusal leaves the old file."""
    import torch

    from playground.core.build import build_module
    from playground.core.run.messages import WeightsPublished

    window = make_window(qtbot, settings)
    window.workbench.files.new_from_preset("mlp")
    a, out = window.acts, tmp_path
    assert {a.export_python, a.export_onnx, a.export_pt2} <= set(window.export_menu.actions())

    dialogs.choose_file(str(out / "untrained"))
    a.export_python.trigger()
    assert (out / "untrained.py").is_file() and not (out / "untrained.pth").exists()
    assert "untrained (no weights yet)" in window.statusBar().currentMessage()

    graph = window.workbench.document.graph.copy()
    state = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v
             for k, v in build_module(graph, "cpu").state_dict().items()}
    window.training.in_use.use(WeightsPublished(run_id=1, global_step=5, graph=graph, state_dict=state,
                                                dataset="mnist", classes=tuple("0123456789")), note="run 1")
    dialogs.choose_file(str(out / "mlp.py"))
    a.export_python.trigger()
    saved = torch.load(out / "mlp.pth", weights_only=True)
    assert all(torch.equal(saved[k], state[k]) for k in state)
    dialogs.choose_file(str(out / "mlp"))
    a.export_pt2.trigger()
    program = torch.export.load(out / "mlp.pt2")
    first = next(k for k in state if k.endswith("weight"))
    assert torch.equal(program.state_dict[first], state[first])
    dialogs.choose_file(str(out / "mlp.onnx"))
    a.export_onnx.trigger()
    assert (out / "mlp.onnx").stat().st_size > 1000 and not dialogs.texts("critical")

    doc = window.workbench.document
    dense = next(n for n in doc.graph.nodes.values() if n.kind == "dense")
    doc.set_param(dense.id, "units", int(dense.params.get("units", 128)) + 3)
    dialogs.choose_file(str(out / "edited.py"))
    a.export_python.trigger()
    assert "untrained: the weights in use do not fit" in window.statusBar().currentMessage()
    assert (out / "edited.py").is_file() and not (out / "edited.pth").exists()

    doc.set_param(dense.id, "units", 0)  # an impossible network: said, the old file kept
    (out / "bad.onnx").write_bytes(b"old")
    dialogs.choose_file(str(out / "bad.onnx"))
    a.export_onnx.trigger()
    assert dialogs.texts("critical") and (out / "bad.onnx").read_bytes() == b"old"
