"""Export a graph as one readable, standalone PyTorch source file.

The file needs nothing but torch: the few layer classes torch.nn lacks are
copied verbatim from `layers/modules.py`, and every layer is constructed from
the same `Ctor` the builder uses, so the exported class and the built
`GraphModule` hold the same submodules under the same names. Their
`state_dict`s therefore match key for key, and in eval mode they compute
exactly the same numbers.
"""

from __future__ import annotations

import ast
import inspect
import io
import keyword
import re
import textwrap
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..build import BuildPlan, plan_graph, resolved_params
from ..graph import Graph
from ..layers import Ctor, fmt_shape
from ..layers import modules as custom_modules
from .common import ExportError, build_for_export, check_destination, input_shape, write_files

INDENT = "    "
MAX_LINE = 120
DOC_WIDTH = 88

# Every class the exporter may copy into a generated file, in the order modules.py defines them.
_CUSTOM_CLASSES = {
    name: cls for name, cls in sorted(
        ((n, c) for n, c in vars(custom_modules).items()
         if inspect.isclass(c) and c.__module__ == custom_modules.__name__),
        key=lambda item: inspect.getsourcelines(item[1])[1],
    )
}


def weights_path(path: Path) -> Path:
    """Where the weights of an exported source file go: next to it, ending in .pth."""
    return path.with_suffix(".pth")


def export_python(graph: Graph, path: Path, state_dict: Mapping[str, torch.Tensor] | None = None) -> list[Path]:
    """Write `path` (and, with weights, `path` with suffix .pth); returns the files written."""
    pth = weights_path(path)
    if pth == path:
        raise ExportError(f"{path}: a Python export cannot end in .pth (that name is kept for its weights); "
                          "use a .py file name")
    check_destination(path, *([pth] if state_dict is not None else []))
    model = build_for_export(graph, path, state_dict)
    files = {}
    if state_dict is not None:
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
        files[pth] = buffer.getvalue()
    # The source last: if writing the weights fails, no script is left pointing at them.
    files[path] = python_source(graph, weights_file=pth.name, script_suffix=path.suffix).encode("utf-8")
    written = write_files(files)
    return written[::-1]  # the source first


# -- the generated file -------------------------------------------------------------------


def class_name(graph: Graph) -> str:
    """The graph's name in CamelCase ('ResNet mini' -> 'ResNetMini'), `Net` if nothing usable is left."""
    ascii_name = unicodedata.normalize("NFKD", graph.name).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_name)
    name = "".join(w[0].upper() + w[1:] for w in words)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        return "Net"
    if name in _CUSTOM_CLASSES:
        return name + "Net"  # a graph called 'Add' must not replace the Add layer class
    return name


def python_source(graph: Graph, weights_file: str = "model.pth", script_suffix: str = ".py") -> str:
    """The complete source of a standalone module defining the graph as an `nn.Module`.

    Raises GraphError if the graph is not valid.
    """
    plan = plan_graph(graph)
    input_node, output_node = graph.nodes[plan.input_id], graph.nodes[plan.output_id]
    name, blocks = model_blocks(graph, plan)
    # Top-level blocks, each ending in a newline, are joined by two blank lines.
    parts = [_module_docstring(graph, plan.analysis, input_node, output_node, plan.result_id, weights_file)
             + "\nimport torch\nfrom torch import nn\n\n" + blocks[0], *blocks[1:]]
    parts.append(_main_block(name, weights_file, script_suffix))
    source = "\n\n".join(parts)
    ast.parse(source)  # a generator bug must never reach the user's disk as a broken file
    return source


def model_blocks(graph: Graph, plan: BuildPlan | None = None) -> tuple[str, list[str]]:
    """The model as source, without imports (it needs `torch` and `nn`): the class name, and the top-level blocks
    (each ending in a newline; join them with two blank lines): INPUT_SHAPE, the layer classes copied from
    Playground, the model class. The Python export and the training script (train_script.py) both use it.

    Raises GraphError if the graph is not valid.
    """
    plan = plan or plan_graph(graph)
    analysis = plan.analysis
    input_node = graph.nodes[plan.input_id]
    layers = [nid for nid, _, _ in plan.steps]
    ctors = {nid: ctor for nid, _, ctor in plan.steps}
    needed = _custom_classes_needed(ctors.values())
    name = class_name(graph)

    blocks = [f"INPUT_SHAPE = {_literal(input_shape(graph))}  # one sample: {_axes(input_shape(graph))}\n"]
    if needed:
        blocks.append("# -- layers that torch.nn does not offer as such, copied from Playground " + "-" * 20 + "\n")
        blocks += [inspect.getsource(cls).rstrip("\n") + "\n" for cls in needed]

    title = _one_line(graph.name) or "The network"
    in_shape, out_shape = fmt_shape(input_shape(graph)), fmt_shape(analysis.shapes[plan.result_id])
    lines = [f"class {name}(nn.Module):",
             f'{INDENT}"""{_docstring_text(title)}: N×{in_shape} -> N×{out_shape}."""',
             "",
             f"{INDENT}def __init__(self):",
             f"{INDENT * 2}super().__init__()"]
    for nid in layers:
        call = f"self.{nid} = {_render_ctor(ctors[nid])}"
        lines += _with_comment(INDENT * 2, call, f"-> {fmt_shape(analysis.shapes[nid])}")
        if not graph.nodes[nid].trainable:
            lines.append(f"{INDENT * 2}self.{nid}.requires_grad_(False)  # frozen: training leaves it as it is")
    lines += ["", f"{INDENT}def forward(self, x):"]
    variable = {input_node.id: "x"}
    for nid, sources, _ in plan.steps:
        args = [variable.get(source, source) for source in sources]
        lines += _call_lines(INDENT * 2, f"{nid} = self.{nid}(", args, ")")
        variable[nid] = nid
    lines.append(f"{INDENT * 2}return {variable[plan.result_id]}")
    blocks.append("\n".join(lines) + "\n")
    return name, blocks


def _module_docstring(graph: Graph, analysis, input_node, output_node, result_id: str, weights_file: str) -> str:
    title = _one_line(graph.name) or "Untitled network"
    shape = input_shape(graph)
    dataset = resolved_params(input_node)["dataset"]
    out_shape = analysis.shapes[result_id]
    if graph.nodes[result_id].kind == "softmax":
        output = f"N×{fmt_shape(out_shape)} class probabilities (the network ends in a softmax)."
    elif resolved_params(output_node)["loss"] == "cross_entropy":
        output = (f"N×{fmt_shape(out_shape)} class scores (logits: the largest is the predicted class; "
                  "softmax turns them into probabilities).")
    else:
        output = f"N×{fmt_shape(out_shape)} values (trained to match their targets by mean squared error)."
    paragraphs = [f"{title} — a PyTorch model exported from Playground."]
    if graph.description.strip():
        paragraphs.append(_one_line(graph.description))
    paragraphs += [
        f"Input: a float batch N×{fmt_shape(shape)} ({_axes(shape)}), like the {dataset} samples the network "
        "was designed for.",
        f"Output: {output}",
        f"The file needs only PyTorch. Run it to build the model, load the weights from {weights_file} "
        "next to it if that file exists, and check one random batch.",
    ]
    wrapped = ["\n".join(textwrap.wrap(_docstring_text(p), DOC_WIDTH, break_long_words=False,
                                         break_on_hyphens=False)) for p in paragraphs]
    return '"""' + "\n\n".join(wrapped) + '\n"""\n'


def _main_block(name: str, weights_file: str, script_suffix: str) -> str:
    weights = f"__file__.removesuffix({_literal(script_suffix)}) + \".pth\"" if script_suffix else '__file__ + ".pth"'
    return textwrap.dedent(f"""\
        if __name__ == "__main__":
            model = {name}().eval()
            weights = {weights}  # {weights_file}, next to this file
            try:
                model.load_state_dict(torch.load(weights, weights_only=True))
                print(f"loaded the weights from {{weights}}")
            except FileNotFoundError:
                print(f"{{weights}} not found: the weights are freshly initialised")
            with torch.no_grad():
                scores = model(torch.randn(2, *INPUT_SHAPE))
            print(f"input shape: {{(2, *INPUT_SHAPE)}} -> output shape: {{tuple(scores.shape)}}")
        """)


def _axes(shape) -> str:
    return {3: "channels×height×width", 2: "steps×features", 1: "features"}.get(len(shape), f"{len(shape)} axes")


def _one_line(text: str) -> str:
    """Text safe inside a docstring: printable characters only, whitespace collapsed."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _docstring_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _with_comment(indent: str, statement: str, comment: str) -> list[str]:
    line = f"{indent}{statement}  # {comment}"
    if len(line) <= MAX_LINE:
        return [line]
    return [f"{indent}# {comment}", *_call_lines(indent, statement, [], "")]


def _call_lines(indent: str, head: str, args: list[str], tail: str) -> list[str]:
    """`head` + args + `tail` on one line, or one argument per line when that would be too long."""
    line = f"{indent}{head}{', '.join(args)}{tail}"
    if len(line) <= MAX_LINE or not args:
        return [line]
    return [f"{indent}{head}", *(f"{indent}{INDENT}{a}," for a in args), f"{indent}{tail}"]


# -- constructor calls ----------------------------------------------------------------------


def _class_ref(cls: type) -> str:
    if _CUSTOM_CLASSES.get(cls.__name__) is cls:
        return cls.__name__
    if getattr(nn, cls.__name__, None) is cls:
        return f"nn.{cls.__name__}"
    raise TypeError(f"cannot export {cls.__module__}.{cls.__qualname__}: it is neither in torch.nn nor in "
                    f"{custom_modules.__name__}")


def _render_ctor(ctor: Ctor) -> str:
    """`nn.Conv2d(1, 32, 3, padding=1)`: keyword arguments equal to their defaults are left out."""
    try:
        defaults = {k: p.default for k, p in inspect.signature(ctor.cls).parameters.items()
                    if p.default is not inspect.Parameter.empty}
    except (TypeError, ValueError):
        defaults = {}
    args = [_literal(a) for a in ctor.args]
    for key, value in ctor.kwargs.items():
        default = defaults.get(key, inspect.Parameter.empty)
        if type(default) is type(value) and default == value:
            continue
        args.append(f"{key}={_literal(value)}")
    return f"{_class_ref(ctor.cls)}({', '.join(args)})"


def _literal(value) -> str:
    """Python source for a constructor argument; checked to read back as the same value."""
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
    elif isinstance(value, str):
        text = repr(value)
        if '"' not in value and text.startswith("'"):
            text = '"' + text[1:-1] + '"'  # the usual style: double quotes
    elif isinstance(value, list):
        text = "[" + ", ".join(_literal(v) for v in value) + "]"
    elif isinstance(value, tuple):
        text = "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    else:
        raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as Python source")
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        same = False
    if not same:
        raise TypeError(f"cannot write {value!r} as Python source")
    return text


def _custom_classes_needed(ctors) -> list[type]:
    """The custom classes the constructors use, with the custom classes those refer to, in file order."""
    needed: set[str] = set()
    stack = [c.cls.__name__ for c in ctors if _CUSTOM_CLASSES.get(c.cls.__name__) is c.cls]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        tree = ast.parse(inspect.getsource(_CUSTOM_CLASSES[name]))
        stack += [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in _CUSTOM_CLASSES]
    return [cls for name, cls in _CUSTOM_CLASSES.items() if name in needed]
