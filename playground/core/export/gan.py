"""Exports of a GAN graph: both networks as one readable PyTorch file; the generator alone as ONNX or .pt2.

The Python file defines `Generator` (noise N×dim -> images N×C×H×W) and
`Discriminator` (images -> N×1 logits), each holding its layers under their
node ids, exactly as `core/gan/model.py` builds them: the weights of a GAN
checkpoint (one state_dict keyed by node id) load into the pair, each network
taking its own keys. ONNX and .pt2 hold the generator: input `noise`, output
`images`.
"""

from __future__ import annotations

import ast
import inspect
import io
import textwrap
from collections.abc import Mapping
from pathlib import Path

import torch

from ..build import GraphError
from ..errors import first_line
from ..gan.model import GanModule, build_gan, gan_analysis, network_steps, noise_params, pixel_range
from ..graph import Graph
from ..layers import fmt_shape
from ..layers.generative import NO_RANGE
from .common import ExportError, batch_dim, check_destination, quiet_tracing, state_dict_mismatch, write_files
from .python_source import (
    INDENT,
    _call_lines,
    _custom_classes_needed,
    _docstring_text,
    _literal,
    _one_line,
    _render_ctor,
    _with_comment,
    weights_path,
)


def build_gan_for_export(graph: Graph, path: Path, state_dict: Mapping[str, torch.Tensor] | None) -> GanModule:
    gan = build_gan(graph)
    if state_dict is not None:
        problem = state_dict_mismatch(gan, state_dict)
        if problem:
            raise ExportError(f"cannot export {path}: the weights do not match the graph ({problem})")
        try:
            gan.load_state_dict(state_dict, strict=True)
        except (RuntimeError, TypeError) as exc:
            raise ExportError(f"cannot export {path}: the weights cannot be loaded "
                              f"({first_line(exc, with_type=True)})") from None
    return gan.eval()


def export_gan(graph: Graph, fmt: str, path: Path, state_dict: Mapping[str, torch.Tensor] | None) -> list[Path]:
    if fmt == "python":
        return _export_python(graph, path, state_dict)
    if fmt == "onnx":
        return _export_onnx(graph, path, state_dict)
    if fmt == "pt2":
        return _export_pt2(graph, path, state_dict)
    raise ExportError(f"{path}: unknown export format {fmt!r}")


def _example_noise(graph: Graph) -> torch.Tensor:
    return torch.randn(2, noise_params(graph)["dim"], generator=torch.Generator().manual_seed(0))


def _export_onnx(graph, path, state_dict):
    from .onnx import INSTALL_HINT

    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise ExportError(f"{path}: ONNX export needs the optional package {exc.name or 'onnx'}; install it with: "
                          f"{INSTALL_HINT}") from None
    check_destination(path)
    gan = build_gan_for_export(graph, path, state_dict)
    try:
        with quiet_tracing():
            program = torch.onnx.export(gan.generator, (_example_noise(graph),), dynamo=True, verbose=False,
                                        input_names=["noise"], output_names=["images"],
                                        dynamic_shapes={"x": {0: batch_dim()}})
            proto = program.model_proto
    except Exception as exc:
        raise ExportError(f"{path}: the ONNX exporter could not convert the generator "
                          f"({first_line(exc, with_type=True)})") from exc
    proto.doc_string = (f"The generator of {graph.name or 'an untitled GAN'} (exported from Playground): noise in, "
                        f"images out ({pixel_range(graph)} range).")
    return write_files({path: proto.SerializeToString()})


def _export_pt2(graph, path, state_dict):
    check_destination(path)
    gan = build_gan_for_export(graph, path, state_dict)
    try:
        with quiet_tracing():
            program = torch.export.export(gan.generator, (_example_noise(graph),),
                                          dynamic_shapes={"x": {0: batch_dim()}})
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
    except Exception as exc:
        raise ExportError(f"{path}: torch.export could not convert the generator "
                          f"({first_line(exc, with_type=True)})") from exc
    return write_files({path: buffer.getvalue()})


# -- the Python file -------------------------------------------------------------------------------


def _export_python(graph, path, state_dict):
    pth = weights_path(path)
    if pth == path:
        raise ExportError(f"{path}: a Python export cannot end in .pth (that name is kept for its weights); "
                          "use a .py file name")
    check_destination(path, *([pth] if state_dict is not None else []))
    gan = build_gan_for_export(graph, path, state_dict)
    files = {}
    if state_dict is not None:
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in gan.state_dict().items()}, buffer)
        files[pth] = buffer.getvalue()
    files[path] = gan_python_source(graph, weights_file=pth.name, script_suffix=path.suffix).encode("utf-8")
    return write_files(files)[::-1]


def _network_class(graph, analysis, name: str, doc: str, members, start: str, end: str, arg: str) -> tuple[str, list]:
    steps, result_id = network_steps(graph, analysis, members, start, end)
    lines = [f"class {name}(nn.Module):", f'{INDENT}"""{_docstring_text(doc)}"""', "",
             f"{INDENT}def __init__(self):", f"{INDENT * 2}super().__init__()"]
    for nid, _, ctor in steps:
        shape = fmt_shape(analysis.shapes[nid])
        lines += _with_comment(INDENT * 2, f"self.{nid} = {_render_ctor(ctor)}", f"-> {shape}")
        if not graph.nodes[nid].trainable:
            lines.append(f"{INDENT * 2}self.{nid}.requires_grad_(False)  # frozen: training leaves it as it is")
    lines += ["", f"{INDENT}def forward(self, {arg}):"]
    variable = {start: arg}
    for nid, sources, _ in steps:
        lines += _call_lines(INDENT * 2, f"{nid} = self.{nid}(", [variable.get(s, s) for s in sources], ")")
        variable[nid] = nid
    lines.append(f"{INDENT * 2}return {variable[result_id]}")
    return "\n".join(lines) + "\n", [ctor for _, _, ctor in steps]


def gan_python_source(graph: Graph, weights_file: str = "gan.pth", script_suffix: str = ".py") -> str:
    """One standalone module defining Generator and Discriminator. Raises GraphError for an invalid GAN graph."""
    analysis, parts = gan_analysis(graph)
    noise = noise_params(graph)
    image_shape = analysis.shapes[parts.generated]
    pixels = pixel_range(graph)
    points = pixels == NO_RANGE  # a GAN on 2-D points: x, y on the plane, as they are
    made = (f"points N×{fmt_shape(image_shape)} (x, y on the plane, as they are)" if points else
            f"images N×{fmt_shape(image_shape)} ({'-1..1' if pixels == 'tanh' else '0..1'})")
    title = _one_line(graph.name) or "Untitled GAN"
    generator, g_ctors = _network_class(
        graph, analysis, "Generator", f"Noise N×{noise['dim']} -> {made}.", parts.generator, parts.noise,
        parts.generated, "z")
    discriminator, d_ctors = _network_class(
        graph, analysis, "Discriminator", f"{'Points' if points else 'Images'} N×{fmt_shape(image_shape)} -> N×1 "
        "logits (above 0: looks real).", parts.discriminator, parts.input, parts.output, "x")
    needed = _custom_classes_needed([*g_ctors, *d_ctors])
    paragraphs = [f"{title} — a GAN exported from Playground: a generator and a discriminator."]
    if graph.description.strip():
        paragraphs.append(_one_line(graph.description))
    paragraphs += [
        f"Generator: noise (N×{noise['dim']}, {noise['distribution']}) in, 2-D points N×2 out (x and y on the plane, "
        "-6 to 6)." if points else
        f"Generator: noise (N×{noise['dim']}, {noise['distribution']}) in, images N×{fmt_shape(image_shape)} out, "
        f"pixels {'from -1 to 1 (a tanh)' if pixels == 'tanh' else 'from 0 to 1'}.",
        f"Discriminator: {'points' if points else 'images in the same range'} in, one logit each out (sigmoid: the "
        "probability of real).",
        f"The file needs only PyTorch. Run it to build both networks, load the weights from {weights_file} next to "
        "it if that file exists, and draw a few samples.",
    ]
    doc = '"""' + "\n\n".join("\n".join(textwrap.wrap(_docstring_text(p), 88, break_long_words=False,
                                                      break_on_hyphens=False)) for p in paragraphs) + '\n"""\n'
    sample = ("torch.randn(n, NOISE_DIM)" if noise["distribution"] == "normal"
              else "torch.rand(n, NOISE_DIM) * 2 - 1")
    to_pixels = "(images + 1) * 127.5" if pixels == "tanh" else "images * 255"
    parts_src = [doc + "\nimport torch\nfrom torch import nn\n\n"
                 + f"NOISE_DIM = {noise['dim']}  # the random numbers each {made.split()[0][:-1]} is made from\n"
                 + (f"POINT_SHAPE = {_literal(tuple(image_shape))}  # x, y\n" if points else
                    f"IMAGE_SHAPE = {_literal(tuple(image_shape))}  # channels×height×width\n")]
    if needed:
        parts_src.append("# -- layers that torch.nn does not offer as such, copied from Playground " + "-" * 20 + "\n")
        parts_src += [inspect.getsource(cls).rstrip("\n") + "\n" for cls in needed]
    parts_src += [generator, discriminator]
    parts_src.append(textwrap.dedent(f"""\
        def noise(n):
            \"\"\"A batch of the noise the generator was trained on.\"\"\"
            return {sample}
        """) + ("" if points else textwrap.dedent(f"""\


        def to_pixels(images):
            \"\"\"Generated images as 0..255 pixel values.\"\"\"
            return ({to_pixels}).clamp(0, 255).round()
        """)))
    shown = (['print(f"4 points {[[round(v, 2) for v in p] for p in images.tolist()]}; the discriminator finds "',
              '      f"them real with probability {realness}")'] if points else
             ["pixels = to_pixels(images)",
              'print(f"4 samples {tuple(images.shape)}, pixels {pixels.min():.0f}..{pixels.max():.0f}; the "',
              '      f"discriminator finds them real with probability {realness}")'])
    shown = ("\n" + " " * 12).join(shown)  # in the block below, before it is dedented
    weights = f"__file__.removesuffix({_literal(script_suffix)}) + \".pth\"" if script_suffix else '__file__ + ".pth"'
    parts_src.append(textwrap.dedent(f"""\
        if __name__ == "__main__":
            generator, discriminator = Generator().eval(), Discriminator().eval()
            weights = {weights}  # {weights_file}, next to this file: both networks, keyed by layer name
            try:
                state = torch.load(weights, weights_only=True)
                for network in (generator, discriminator):
                    names = dict(network.named_children())
                    network.load_state_dict({{k: v for k, v in state.items() if k.split(".")[0] in names}})
                print(f"loaded the weights from {{weights}}")
            except FileNotFoundError:
                print(f"{{weights}} not found: the weights are freshly initialised")
            with torch.no_grad():
                images = generator(noise(4))
                realness = [round(p, 2) for p in discriminator(images).sigmoid().flatten().tolist()]
            {shown}
        """))
    source = "\n\n".join(parts_src)
    ast.parse(source)
    return source


__all__ = ["GraphError", "build_gan_for_export", "export_gan", "gan_python_source"]
