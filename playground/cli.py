"""The `playground` command: the app by default, and headless subcommands.

Every failure a user can cause (bad paths, malformed files, impossible graphs)
ends in one clear message on stderr and exit code 2, never a traceback.
Heavy imports (torch, Qt) happen inside the commands that need them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A problem with what the user asked for; its message is shown as is."""


def _cmd_presets(args) -> int:
    from .core.resources import preset_names

    print("\n".join(preset_names()))
    return 0


def _cmd_inspect(args) -> int:
    from .core.build import analyze
    from .core.graph import GraphFileError, load_graph
    from .core.summary import summary_json, summary_table

    try:
        graph = load_graph(args.graph)
    except GraphFileError as exc:
        if args.json:
            print(json.dumps({"name": None, "valid": False, "params": 0, "nodes": [],
                              "errors": [{"node": None, "message": str(exc)}]}))
        raise UserError(str(exc)) from None
    analysis = analyze(graph)
    if args.json:
        print(json.dumps(summary_json(graph, analysis)))
    else:
        title = f"{graph.name or 'Untitled'} ({args.graph})"
        print(summary_table(graph, analysis, title))
    return 0 if analysis.ok else EXIT_USER_ERROR


def _cmd_export(args) -> int:
    from .core.build import GraphError
    from .core.export import ExportError, export_graph
    from .core.graph import GraphFileError, load_graph
    from .core.train.checkpoint import CheckpointError, load_checkpoint

    try:
        graph = load_graph(args.graph)
        state_dict = None
        if args.checkpoint:
            state_dict = load_checkpoint(args.checkpoint).state_dict
        written = export_graph(graph, args.format, args.output, state_dict=state_dict)
    except (GraphFileError, CheckpointError, ExportError) as exc:
        raise UserError(str(exc)) from None
    except GraphError as exc:
        problems = "\n".join(f"  {p}" for p in exc.problems)
        raise UserError(f"{args.graph}: the graph is not valid:\n{problems}") from None
    for path in written:
        print(path)
    return 0


def _cmd_gui(args) -> int:
    raise UserError("the desktop app is not built yet; use a subcommand (see `playground --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playground", description="A desktop neural-network playground.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("presets", help="list the shipped preset graphs, one per line")
    p.set_defaults(run=_cmd_presets)

    p = sub.add_parser("inspect", help="summarise a graph: shapes, parameters, problems")
    p.add_argument("graph", metavar="GRAPH", help="a graph file or preset:NAME")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(run=_cmd_inspect)

    p = sub.add_parser("export", help="export a graph as PyTorch source, a torch.export program or ONNX")
    p.add_argument("graph", metavar="GRAPH", help="a graph file or preset:NAME")
    p.add_argument("--format", required=True, choices=("python", "pt2", "onnx"))
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="file to write")
    p.add_argument("--checkpoint", metavar="CKPT", help="take the weights from this training checkpoint")
    p.set_defaults(run=_cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", _cmd_gui)
    try:
        return run(args)
    except UserError as exc:
        print(f"playground: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("playground: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still no traceback unless asked for
        if os.environ.get("PLAYGROUND_DEBUG"):
            traceback.print_exc()
        print(f"playground: internal error: {type(exc).__name__}: {exc} "
              "(set PLAYGROUND_DEBUG=1 for details)", file=sys.stderr)
        return 1
