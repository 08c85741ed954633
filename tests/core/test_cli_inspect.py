"""`playground presets` and `playground inspect`: exact output shapes and calm failures."""

import json
import shutil
import subprocess
import sys

import pytest

from playground.cli import main
from playground.core.graph import save_graph
from playground.core.resources import preset_names

from .graphs import chain, classifier_presets


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_presets_one_per_line(capsys):
    code, out, _ = run(capsys, "presets")
    assert code == 0
    assert out.splitlines() == preset_names()
    assert {"mnist-cnn", "vit-mini", "resnet-mini"} <= set(out.split())


def test_inspect_table(capsys):
    code, out, _ = run(capsys, "inspect", "preset:mnist-cnn")
    assert code == 0
    assert "Node" in out and "Output shape" in out and "Params" in out
    assert any(line.split()[:3] == ["conv1", "Conv2d", "32×26×26"] and line.split()[-1] == "320"
               for line in out.splitlines())
    assert "Total params: 93,322" in out


@pytest.mark.parametrize("name", classifier_presets())
def test_inspect_json_for_every_preset(capsys, name):
    code, out, _ = run(capsys, "inspect", f"preset:{name}", "--json")
    data = json.loads(out)
    assert code == 0
    assert isinstance(data["params"], int) and data["params"] > 20
    assert data["errors"] == []
    points = name.startswith("points-")  # 2-D points (two classes, or one value), or digits
    assert data["nodes"][0] == {"id": "input", "kind": "input", "output_shape": [2] if points else [1, 28, 28]}
    assert data["nodes"][-1]["output_shape"] == ([1] if name == "points-regression" else [2] if points else [10])


def test_inspect_invalid_graph_exits_2_with_errors(tmp_path, capsys):
    path = tmp_path / "bad.json"
    save_graph(chain(("c", "conv2d", {"kernel_size": 31}), ("f", "flatten", {}), ("d", "dense", {"units": 10})),
               path)
    code, out, _ = run(capsys, "inspect", str(path), "--json")
    data = json.loads(out)
    assert code == 2
    assert {"node": "c", "message": "a 31×31 kernel does not fit a 28×28 input"} in data["errors"]
    assert {"id": "c", "kind": "conv2d", "output_shape": None} in data["nodes"]
    code, out, _ = run(capsys, "inspect", str(path))
    assert code == 2 and "c: a 31×31 kernel does not fit a 28×28 input" in out


@pytest.mark.parametrize("content", ["", '{"schema_version": 2, "nodes": [', "\x00\x01garbage", '{"nodes": 1}'])
def test_inspect_bad_files_exit_2_naming_the_file(tmp_path, capsys, content):
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "inspect", str(path))
    assert code == 2
    assert str(path) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file_and_unknown_preset(capsys):
    for ref in ("no/such/file.json", "preset:nope"):
        code, out, err = run(capsys, "inspect", ref, "--json")
        assert code == 2 and ref in err
        assert json.loads(out)["errors"][0]["node"] is None


def test_the_installed_commands_run_without_a_traceback(tmp_path):
    (tmp_path / "empty.json").write_text("")
    commands = [[sys.executable, "-m", "playground"]]
    if shutil.which("playground"):
        commands.append(["playground"])
    for command in commands:
        ok = subprocess.run([*command, "inspect", "preset:lenet5", "--json"], capture_output=True, text=True)
        assert ok.returncode == 0 and json.loads(ok.stdout)["params"] == 61_706
        bad = subprocess.run([*command, "inspect", str(tmp_path / "empty.json")], capture_output=True, text=True)
        assert bad.returncode == 2 and "the file is empty" in bad.stderr and "Traceback" not in bad.stderr


def test_inspect_never_imports_torch():
    """Shape inference is arithmetic: `inspect` answers without the second or more that importing torch takes."""
    code = ("import runpy, sys\n"
            "sys.argv = ['playground', 'inspect', 'preset:vit-mini']\n"
            "try:\n"
            "    runpy.run_module('playground', run_name='__main__')\n"
            "finally:\n"
            "    print('TORCH' if 'torch' in sys.modules else 'NO TORCH', sorted(m for m in sys.modules\n"
            "          if m.split('.')[0] in ('numpy', 'PySide6'))[:3])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "The graph is valid." in result.stdout, result.stderr
    assert result.stdout.splitlines()[-1] == "NO TORCH []", result.stdout.splitlines()[-1]
