"""Exporters: Python source, torch.export (.pt2) and ONNX compute what the built graph computes.

Every preset, and one graph with the layer kinds the presets lack, is exported
once per format (a module-scoped fixture; the slow tracing runs in background
processes), and every artefact is checked against the `GraphModule` built from
the same graph.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.cli import main
from playground.core.build import GraphError, analyze, build_module
from playground.core.export import ExportError, export_graph
from playground.core.export.python_source import class_name
from playground.core.graph import Edge, Graph, Node, load_graph, save_graph
from playground.core.layers import fmt_shape
from playground.core.train.checkpoint import Checkpoint, save_checkpoint

from .graphs import classifier_presets

PRESETS = classifier_presets()  # GAN presets: tests/core/test_gan.py
SUFFIX = {"python": ".py", "pt2": ".pt2", "onnx": ".onnx"}


def batch(graph: Graph, size: int, seed: int = 0) -> torch.Tensor:
    (node,) = graph.nodes_of_kind("input")
    return torch.randn(size, *node.params["shape"], generator=torch.Generator().manual_seed(seed))


def import_file(path: Path):
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def onnx_session(path: Path):
    ort = pytest.importorskip("onnxruntime")
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def mixed_graph() -> Graph:
    """Kinds the presets lack, a frozen node, and merges whose wire order is not the node order."""
    g = Graph(name="Mixed bag", description='Tests "quotes", """triple quotes""", a back\\slash and a\x00NUL.')
    for nid, kind, params in [
        ("input", "input", {"shape": [1, 28, 28], "dataset": "mnist"}),
        ("join", "concatenate", {"axis": 0}),  # listed first: its wires decide its argument order
        ("conv_a", "conv2d", {"filters": 4, "stride": 2}),
        ("gate", "conv2d", {"filters": 4, "stride": 2}),
        ("sig", "sigmoid", {}),
        ("bn", "batchnorm", {"momentum": 0.2}),
        ("act", "leaky_relu", {"negative_slope": 0.2}),
        ("gated", "multiply", {}),
        ("ln", "layernorm", {}),
        ("rows", "reshape", {"shape": [4, -1]}),  # few steps: traced RNNs unroll every one
        ("attn", "self_attention", {"heads": 2}),
        ("res", "add", {}),
        ("gru", "gru", {"hidden_size": 16, "bidirectional": True}),
        ("gelu", "gelu", {}),
        ("drop", "dropout", {"p": 0.3}),
        ("dense", "dense", {"units": 10}),
        ("soft", "softmax", {}),
        ("output", "output", {}),
    ]:
        g.add_node(Node(nid, kind, params))
    g.nodes["gate"].trainable = False
    wires = ("input conv_a, input gate, gate sig, conv_a bn, bn act, act gated, sig gated, sig join, gated join, "
             "join ln, ln rows, rows attn, attn res, rows res, res gru, gru gelu, gelu drop, drop dense, dense soft, "
             "soft output")
    for a, b in (wire.split() for wire in wires.split(", ")):
        g.connect(Edge(a, b))
    return g


GRAPHS = {name: (lambda name=name: load_graph(f"preset:{name}")) for name in PRESETS} | {"mixed": mixed_graph}
ALL = [*PRESETS, "mixed"]
SLOW = {"gru-rows", "lstm-rows", "rnn-rows", "mixed"}  # recurrent layers are unrolled step by step when traced

WORKER = """
import json, sys
from playground.cli import main
for graph, fmt, out in json.loads(sys.argv[1]):
    if main(["export", graph, "--format", fmt, "-o", out]) != 0:
        sys.exit(1)
"""
SCRIPT_RUNNER = """
import contextlib, io, json, runpy, subprocess, sys, traceback
results = {}
for name, (path, alone) in json.loads(sys.argv[1]).items():
    if alone:  # exactly what a person types
        run = subprocess.run([sys.executable, path], capture_output=True, text=True)
        results[name] = [run.returncode, run.stdout, run.stderr]
        continue
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(path, run_name="__main__")
        except BaseException:
            traceback.print_exc()
            code = 1
    results[name] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(results))
"""


class Exports:
    """Every graph exported once per format, shared by the tests of this module.

    Python sources are written in this process, with weights that differ from the
    exported class's own initialisation (a script ignoring its weights file would
    be caught). The pt2 and ONNX exports, slow to trace, run through the CLI in two
    background processes, with the exported scripts running in a third, so the
    work overlaps (the tests that wait for it come last); those exports carry the
    builder's default weights.
    """

    def __init__(self, tmp_path_factory):
        self.root = tmp_path_factory.mktemp("exports")
        self.graphs = {name: make() for name, make in GRAPHS.items()}
        save_graph(self.graphs["mixed"], self.root / "mixed.json")
        self.built = {}
        self.written = {}
        for name, graph in self.graphs.items():
            self.built[name] = build_module(graph, seed=7).eval()
            self.written[name] = export_graph(graph, "python", self.path(name, "python"),
                                              state_dict=self.built[name].state_dict())
        fresh = self.root / "fresh" / "lenet5.py"
        fresh.parent.mkdir()
        export_graph(self.graphs["lenet5"], "python", fresh)  # and no weights file next to it
        # Each script runs as __main__ in a fresh namespace. Two run as `python file.py` in a
        # process of their own; the others share one process, saving a torch import (2 s) each.
        scripts = {name: [str(self.path(name, "python")), name == "mixed"] for name in ALL}
        scripts["fresh"] = [str(fresh), True]
        # From another folder: a script must find its weights next to itself, not in the cwd.
        self.script_runner = self._start(SCRIPT_RUNNER, scripts, cwd=tmp_path_factory.mktemp("elsewhere"))

        jobs = sorted(((name, fmt) for name in ALL for fmt in ("pt2", "onnx")), key=self._cost, reverse=True)
        shares: list[list] = [[], []]
        for job in jobs:  # the costliest first, each to the least loaded worker
            min(shares, key=lambda share: sum(map(self._cost, share))).append(job)
        self.workers = []
        for share in shares:
            args = [[self._ref(name), fmt, str(self.path(name, fmt))] for name, fmt in share]
            self.workers.append((share, self._start(WORKER, args)))
        self._results: dict = {}

    @staticmethod
    def _cost(job) -> int:
        name, fmt = job
        return (3 if fmt == "onnx" else 1) * (3 if name in SLOW else 1)

    def _ref(self, name: str) -> str:
        return str(self.root / "mixed.json") if name == "mixed" else f"preset:{name}"

    @staticmethod
    def _start(code: str, arg, cwd=None) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", code, json.dumps(arg)], cwd=cwd, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def _wait(self, proc: subprocess.Popen) -> tuple[int, str, str]:
        if proc not in self._results:
            out, err = proc.communicate(timeout=600)
            self._results[proc] = (proc.returncode, out, err)
        return self._results[proc]

    def path(self, name: str, fmt: str) -> Path:
        return self.root / f"{name}{SUFFIX[fmt]}"

    def script_run(self, name: str) -> tuple[int, str, str]:
        code, out, err = self._wait(self.script_runner)
        assert code == 0, err
        return json.loads(out)[name]

    def cli_export(self, name: str, fmt: str) -> Path:
        """The file the CLI wrote, after checking it printed its path and nothing else."""
        share, proc = next((share, proc) for share, proc in self.workers if (name, fmt) in share)
        code, out, err = self._wait(proc)
        assert code == 0, err
        assert err == ""  # no warnings, logs or progress lines from torch's tracers
        assert out.splitlines() == [str(self.path(*job)) for job in share]
        return self.path(name, fmt)

    def close(self):
        for proc in [self.script_runner, *(proc for _, proc in self.workers)]:
            if proc not in self._results:  # not waited for: only some tests were selected
                proc.kill()
                proc.communicate()


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    exports = Exports(tmp_path_factory)
    yield exports
    exports.close()


# -- Python source --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_python_export_computes_exactly_what_the_graph_computes(exports, name):
    graph, built, path = exports.graphs[name], exports.built[name], exports.path(name, "python")
    model = getattr(import_file(path), class_name(graph))()
    assert list(model.state_dict()) == list(built.state_dict())
    model.load_state_dict(built.state_dict())
    model.eval()
    x = batch(graph, 4)
    with torch.no_grad():
        expected = built(x)
        assert torch.equal(model(x), expected)
        # The weights file written next to the source holds the same weights.
        model.load_state_dict(torch.load(path.with_suffix(".pth"), weights_only=True))
        assert torch.equal(model(x), expected)


@pytest.mark.parametrize("name", ALL)
def test_python_export_is_standalone_and_readable(exports, name):
    source = exports.path(name, "python").read_text(encoding="utf-8")
    tree = ast.parse(source)
    imports = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert imports == ["import torch", "from torch import nn"]
    assert "playground" not in source.split('"""', 2)[2]  # only the docstring may mention it

    graph = exports.graphs[name]
    analysis = analyze(graph)
    docstring = " ".join(ast.get_docstring(tree).split())
    (input_node,) = graph.nodes_of_kind("input")
    (output_node,) = graph.nodes_of_kind("output")
    takes, classes = fmt_shape(analysis.shapes[input_node.id]), analysis.shapes[output_node.id][0]
    assert graph.name in docstring and f"N×{takes}" in docstring  # digits, or 2-D points
    said = {"mixed": "class probabilities", "points-regression": "values"}.get(name, "class scores")
    assert f"N×{classes} {said}" in docstring
    assert " ".join(graph.description.replace("\x00", " ").split()) in docstring
    # One constructor per layer, in execution order, each commented with its output shape.
    commented = re.findall(r"^        self\.(\w+) = .+  # -> (\S+)$", source, flags=re.MULTILINE)
    layers = [n for n in analysis.order if graph.nodes[n].kind not in ("input", "output")]
    assert commented == [(n, fmt_shape(analysis.shapes[n])) for n in layers]
    assert max(len(line) for line in source.splitlines()) <= 120


def test_python_export_copies_only_the_custom_classes_it_uses(exports):
    def classes(name):
        tree = ast.parse(exports.path(name, "python").read_text(encoding="utf-8"))
        return [n.name for n in tree.body if isinstance(n, ast.ClassDef)]

    assert classes("mnist-cnn") == ["MNISTCNN"]
    assert classes("lenet5") == ["LeNet5"]
    assert classes("vit-mini") == ["PatchEmbedding", "PositionalEmbedding", "SelfAttention", "TransformerBlock",
                                   "TokenPool", "ViTMini"]
    assert classes("mixed") == ["Reshape", "Add", "Multiply", "Concatenate", "SequenceRNN", "SelfAttention",
                                "MixedBag"]


def test_python_export_keeps_wire_order_defaults_and_frozen_layers(exports):
    path = exports.path("mixed", "python")
    source = path.read_text(encoding="utf-8")
    assert "        join = self.join(sig, gated)\n" in source
    assert "        res = self.res(attn, rows)\n" in source
    assert "self.gate = nn.Conv2d(1, 4, 3, stride=2)  # -> 4×13×13" in source  # defaults left out
    assert "self.rows = Reshape([4, -1])" in source
    assert "self.act = nn.LeakyReLU(negative_slope=0.2)" in source
    assert "self.soft = nn.Softmax(dim=-1)" in source
    assert "self.gate.requires_grad_(False)" in source
    model = import_file(path).MixedBag()
    assert [n for n, p in model.named_parameters() if not p.requires_grad] == ["gate.weight", "gate.bias"]
    built = exports.built["mixed"]
    assert [n for n, p in built.named_parameters() if not p.requires_grad] == ["gate.weight", "gate.bias"]


def test_generated_python_passes_ruff(exports):
    ruff = pytest.importorskip("ruff.__main__")
    files = [str(exports.path(name, "python")) for name in ALL]
    # The project's rule selection; × in comments and docstrings is intended, as in the project.
    result = subprocess.run([ruff.find_ruff_bin(), "check", "--isolated", "--no-cache", "--line-length", "120",
                             "--select", "E,F,W,I,B,UP,SIM,RUF", "--ignore", "RUF001,RUF002,RUF003", *files],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("name", "expected"), [
    ("ResNet mini", "ResNetMini"), ("LeNet-5", "LeNet5"), ("my   net!", "MyNet"), ("Réseau à deux", "ReseauADeux"),
    ("", "Net"), ("3 layers", "Net"), ("ε", "Net"), ("Add", "AddNet"), ("class", "Class"),
])
def test_class_name(name, expected):
    assert class_name(Graph(name=name)) == expected


# -- weights from a checkpoint --------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def checkpoint_of(tmp_path, preset: str, perturb: bool) -> tuple[Path, dict]:
    graph = load_graph(f"preset:{preset}")
    weights = build_module(graph).state_dict()
    if perturb:
        gen = torch.Generator().manual_seed(1)
        weights = {k: v + 0.5 * torch.randn(v.shape, generator=gen) for k, v in weights.items()}
    path = tmp_path / f"{preset}.ckpt"
    save_checkpoint(path, Checkpoint(graph=graph, state_dict=weights))
    return path, weights


def run_artefact(fmt: str, path: Path, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        if fmt == "python":
            model = import_file(path).LeNet5()
            model.load_state_dict(torch.load(path.with_suffix(".pth"), weights_only=True))
            return model.eval()(x)
        if fmt == "pt2":
            return torch.export.load(path).module()(x)
        (scores,) = onnx_session(path).run(["scores"], {"image": x.numpy()})
        return torch.from_numpy(scores)


@pytest.mark.parametrize("fmt", ["python", "pt2", "onnx"])
def test_export_with_checkpoint_carries_its_weights(tmp_path, capsys, fmt):
    ckpt, weights = checkpoint_of(tmp_path, "lenet5", perturb=True)
    out_path = tmp_path / f"lenet5{SUFFIX[fmt]}"
    code, out, err = run_cli(capsys, "export", "preset:lenet5", "--format", fmt, "-o", str(out_path),
                             "--checkpoint", str(ckpt))
    assert code == 0, err
    expected_files = [out_path, out_path.with_suffix(".pth")] if fmt == "python" else [out_path]
    assert out.splitlines() == [str(p) for p in expected_files]

    graph = load_graph("preset:lenet5")
    trained, fresh = build_module(graph), build_module(graph)
    trained.load_state_dict(weights)
    x = batch(graph, 3)
    with torch.no_grad():
        want, fresh_out = trained.eval()(x), fresh.eval()(x)
    got = run_artefact(fmt, out_path, x)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert (got - fresh_out).abs().max() > 1e-2  # and so not the freshly initialised weights


# -- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["python", "pt2", "onnx"])
def test_missing_output_folder_exits_2(tmp_path, capsys, fmt):
    out_path = tmp_path / "no-such-folder" / f"model{SUFFIX[fmt]}"
    code, out, err = run_cli(capsys, "export", "preset:lenet5", "--format", fmt, "-o", str(out_path))
    assert code == 2
    assert out == ""
    assert err.startswith("playground: error: ") and str(out_path) in err and "does not exist" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert not out_path.parent.exists()


@pytest.mark.parametrize("fmt", ["python", "pt2", "onnx"])
def test_output_path_that_is_a_folder_exits_2(tmp_path, capsys, fmt):
    code, _, err = run_cli(capsys, "export", "preset:lenet5", "--format", fmt, "-o", str(tmp_path))
    assert code == 2 and "is a folder" in err and "Traceback" not in err


@pytest.mark.parametrize("fmt", ["python", "pt2", "onnx"])
def test_checkpoint_of_another_graph_exits_2_and_leaves_the_old_file(tmp_path, capsys, fmt):
    ckpt, _ = checkpoint_of(tmp_path, "mnist-cnn", perturb=False)
    out_path = tmp_path / f"lenet5{SUFFIX[fmt]}"
    out_path.write_bytes(b"a good export from before")
    code, out, err = run_cli(capsys, "export", "preset:lenet5", "--format", fmt, "-o", str(out_path),
                             "--checkpoint", str(ckpt))
    assert code == 2 and out == ""
    assert "the weights do not match the graph" in err
    assert "conv1.weight is 32×1×3×3 in the weights but 6×1×5×5 in the graph" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert out_path.read_bytes() == b"a good export from before"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out_path.name, ckpt.name])  # no temp files


def test_weights_with_wrong_shapes_or_names_are_named(tmp_path):
    graph = load_graph("preset:lenet5")
    weights = build_module(graph).state_dict()
    weights["dense3.weight"] = torch.zeros(10, 3)
    weights["extra.bias"] = torch.zeros(1)
    del weights["conv1.bias"]
    with pytest.raises(ExportError) as info:
        export_graph(graph, "pt2", tmp_path / "m.pt2", state_dict=weights)
    message = str(info.value)
    assert str(tmp_path / "m.pt2") in message
    assert "missing conv1.bias" in message and "unexpected extra.bias" in message
    assert "dense3.weight is 10×3 in the weights but 10×84 in the graph" in message
    assert list(tmp_path.iterdir()) == []


def test_failed_tracing_leaves_the_old_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("cannot trace this\nsecond line")

    monkeypatch.setattr(torch.export, "export", broken)
    out_path = tmp_path / "m.pt2"
    out_path.write_bytes(b"old")
    with pytest.raises(ExportError, match=r"m\.pt2: torch\.export could not trace the network "
                                          r"\(RuntimeError: cannot trace this\)$"):
        export_graph(load_graph("preset:mlp"), "pt2", out_path)
    assert out_path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [out_path]


def test_onnx_without_its_packages_says_how_to_install_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # makes `import onnxscript` fail
    out_path = tmp_path / "m.onnx"
    out_path.write_bytes(b"old")
    code, _, err = run_cli(capsys, "export", "preset:mlp", "--format", "onnx", "-o", str(out_path))
    assert code == 2
    assert 'pip install "playground[onnx]"' in err and "onnxscript" in err and str(out_path) in err
    assert out_path.read_bytes() == b"old"
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # the desktop bundle: no pip to point to first
    code, _, err = run_cli(capsys, "export", "preset:mlp", "--format", "onnx", "-o", str(out_path))
    assert code == 2 and "this desktop bundle has no ONNX export" in err and ".pt2" in err
    assert out_path.read_bytes() == b"old"


def test_invalid_graph_raises_graph_error_and_the_cli_exits_2(tmp_path, capsys):
    graph = load_graph("preset:lenet5")
    graph.nodes["conv1"].params["kernel_size"] = 31
    with pytest.raises(GraphError):
        export_graph(graph, "python", tmp_path / "m.py")
    save_graph(graph, tmp_path / "bad.json")
    code, _, err = run_cli(capsys, "export", str(tmp_path / "bad.json"), "--format", "python",
                           "-o", str(tmp_path / "m.py"))
    assert code == 2 and "the graph is not valid" in err and "conv2: a 5×5 kernel does not fit a 1×1 input" in err
    assert not (tmp_path / "m.py").exists()


def test_unknown_format_and_clashing_weights_name(tmp_path):
    graph = load_graph("preset:mlp")
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        export_graph(graph, "tflite", tmp_path / "m.tflite")
    with pytest.raises(ExportError, match=r"cannot end in \.pth"):
        export_graph(graph, "python", tmp_path / "m.pth", state_dict=build_module(graph).state_dict())
    assert list(tmp_path.iterdir()) == []


# -- torch.export ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_pt2_round_trip_with_another_batch_size(exports, name):
    program = torch.export.load(exports.cli_export(name, "pt2")).module()
    graph = exports.graphs[name]
    built = build_module(graph).eval()  # the weights the CLI exported
    for size in (5, 1):  # the example input had 2
        x = batch(graph, size, seed=size)
        with torch.no_grad():
            torch.testing.assert_close(program(x), built(x), atol=1e-6, rtol=1e-5)


# -- ONNX -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_onnx_matches_torch(exports, name):
    path = exports.cli_export(name, "onnx")
    assert not list(exports.root.glob(f"{name}.onnx?*"))  # no external-data sidecar
    session = onnx_session(path)
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["scores"]
    assert isinstance(session.get_inputs()[0].shape[0], str)  # a symbolic, dynamic batch axis
    graph = exports.graphs[name]
    x = batch(graph, 3)
    (scores,) = session.run(["scores"], {"image": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(scores, build_module(graph).eval()(x).numpy(), atol=1e-4, rtol=1e-4)


def test_onnx_file_embeds_its_weights(exports):
    onnx = pytest.importorskip("onnx")
    from onnx.external_data_helper import uses_external_data

    model = onnx.load(str(exports.cli_export("lenet5", "onnx")), load_external_data=False)
    assert model.graph.initializer and not any(uses_external_data(t) for t in model.graph.initializer)
    # Every weight is in there (plus a few constants the exporter adds).
    assert sum(int(np.prod(t.dims)) for t in model.graph.initializer) >= analyze(exports.graphs["lenet5"]).total_params


# -- the exported scripts, run (last: they take longest in the background) -----------------


@pytest.mark.parametrize("name", ALL)
def test_python_export_runs_as_a_script_with_its_weights(exports, name):
    path = exports.path(name, "python")
    assert exports.written[name] == [path, path.with_suffix(".pth")]
    code, out, err = exports.script_run(name)
    assert code == 0, err
    assert f"loaded the weights from {path.with_suffix('.pth')}" in out
    (output_node,) = exports.graphs[name].nodes_of_kind("output")
    assert f"output shape: (2, {analyze(exports.graphs[name]).shapes[output_node.id][0]})" in out
    assert err == ""


def test_python_export_without_weights_runs_with_fresh_ones(exports):
    code, out, err = exports.script_run("fresh")
    assert code == 0, err
    assert "not found: the weights are freshly initialised" in out and "output shape: (2, 10)" in out
