"""Text and JSON summaries of a graph, as `playground inspect` prints them."""

from __future__ import annotations

from .analysis import Analysis
from .gan.structure import gan_parts, is_gan_graph
from .graph import Graph
from .layers import CATALOG, fmt_shape


def _rows(graph: Graph, analysis: Analysis) -> list[str]:
    """Node ids in execution order, then any left out of it (cycles). A GAN's generator comes first, then its
    discriminator, each in execution order."""
    in_order = set(analysis.order)
    rows = analysis.order + [n for n in graph.nodes if n not in in_order]
    parts = gan_parts(graph) if is_gan_graph(graph) else None
    if parts is not None:
        rank = {"generator": 0, "discriminator": 1}
        rows.sort(key=lambda n: rank.get(parts.network_of(n), 2))  # stable: execution order within each
    return rows


def summary_json(graph: Graph, analysis: Analysis) -> dict:
    return {
        "name": graph.name,
        "valid": analysis.ok,
        "params": analysis.total_params,
        "nodes": [
            {"id": nid, "kind": graph.nodes[nid].kind,
             "output_shape": list(analysis.shapes[nid]) if nid in analysis.shapes else None}
            for nid in _rows(graph, analysis)
        ],
        "errors": [p.to_json() for p in analysis.problems],
    }


def summary_table(graph: Graph, analysis: Analysis, title: str) -> str:
    header = ("Node", "Kind", "Output shape", "Params")
    rows = []
    for nid in _rows(graph, analysis):
        node = graph.nodes[nid]
        kind = CATALOG[node.kind].title if node.kind in CATALOG else f"{node.kind}?"
        if not node.trainable:
            kind += " (frozen)"
        shape = fmt_shape(analysis.shapes[nid]) if nid in analysis.shapes else "—"
        rows.append((nid, kind, shape, f"{analysis.param_counts.get(nid, 0):,}"))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]

    def line(cells):
        padded = (c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded)

    rule = "  ".join("─" * w for w in widths)
    trainable = sum(c for nid, c in analysis.param_counts.items() if graph.nodes[nid].trainable)
    out = [title, rule, line(header), rule, *(line(r) for r in rows), rule,
           f"Total params: {analysis.total_params:,}  (trainable: {trainable:,})"]
    parts = gan_parts(graph) if is_gan_graph(graph) else None
    if parts is not None:
        counts = {name: sum(c for nid, c in analysis.param_counts.items() if parts.network_of(nid) == name)
                  for name in ("generator", "discriminator")}
        out.append(f"A GAN: generator {counts['generator']:,} params (from {parts.noise} to {parts.generated}), "
                   f"discriminator {counts['discriminator']:,} (from {parts.input} to {parts.output})")
    if analysis.ok:
        out.append("The graph is valid.")
    else:
        count = len(analysis.problems)
        out.append(f"{count} problem{'s' if count > 1 else ''}:")
        out.extend(f"  {p}" for p in analysis.problems)
    return "\n".join(out)
