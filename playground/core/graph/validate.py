"""Structural validation: everything that can be wrong with a graph before shapes are known.

Each problem names the node (or the wire) it is about, so the editor can paint
it on that node and the command line can print it.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from ..layers import CATALOG
from .model import OUT_PORT, Graph, Node

# Ids become attribute and variable names in built modules and exported code, so none may be an attribute
# of torch's nn.Module: `dir(nn.Module)` written out, so that checking a graph needs no torch
# (tests/core/test_validate.py checks that it still covers the installed torch).
MODULE_ATTRIBUTES = frozenset({
    "T_destination", "__annotations__", "__call__", "__class__", "__delattr__", "__dict__", "__dir__",
    "__doc__", "__eq__", "__format__", "__ge__", "__getattr__", "__getattribute__", "__getstate__", "__gt__",
    "__hash__", "__init__", "__init_subclass__", "__le__", "__lt__", "__module__", "__ne__", "__new__",
    "__reduce__", "__reduce_ex__", "__repr__", "__setattr__", "__setstate__", "__sizeof__", "__str__",
    "__subclasshook__", "__weakref__", "_apply", "_call_impl", "_compiled_call_impl", "_get_backward_hooks",
    "_get_backward_pre_hooks", "_get_name", "_load_from_state_dict", "_maybe_warn_non_full_backward_hook",
    "_named_members", "_register_load_state_dict_pre_hook", "_register_state_dict_hook",
    "_replicate_for_data_parallel", "_save_to_state_dict", "_slow_forward", "_version", "_wrapped_call_impl",
    "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu", "cuda",
    "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state",
    "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers",
    "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook",
    "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
    "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "type", "xpu", "zero_grad",
})
RESERVED_IDS = frozenset({"self", "torch", "nn", "x"}) | MODULE_ATTRIBUTES


@dataclass(frozen=True)
class Problem:
    node: str | None  # None: about the graph as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.node}: {self.message}" if self.node else self.message

    def to_json(self) -> dict:
        return {"node": self.node, "message": self.message}


def id_error(node_id: str) -> str | None:
    if not node_id.isidentifier() or keyword.iskeyword(node_id) or not node_id.isascii():
        return f"'{node_id}' is not a valid id: use letters, digits and _ and start with a letter"
    if node_id in RESERVED_IDS:
        return f"'{node_id}' is a reserved name; choose another id"
    return None


def structural_problems(graph: Graph) -> list[Problem]:
    """Duplicate ids, then each node's own problems in file order, then the wiring's."""
    problems = duplicate_problems(graph)
    for node in graph.nodes.values():
        problems += node_problems(node)
    return problems + wiring_problems(graph)


def duplicate_problems(graph: Graph) -> list[Problem]:
    return [Problem(dup, f"the id '{dup}' is used by more than one node; ids must be unique")
            for dup in dict.fromkeys(graph.duplicate_ids)]


def node_problems(node: Node) -> list[Problem]:
    """What is wrong with one node on its own (its id, kind and parameters): all that a parameter edit changes."""
    problems = []
    if (error := id_error(node.id)) is not None:
        problems.append(Problem(node.id, error))
    spec = CATALOG.get(node.kind)
    if spec is None:
        problems.append(Problem(node.id, f"unknown layer kind '{node.kind}'"))
        return problems
    problems += [Problem(node.id, error) for error in spec.param_errors(node.params)]
    return problems


def wiring_problems(graph: Graph, blocked: list[str] | None = None) -> list[Problem]:
    """What is wrong with the wires: ends, ports, arity, one Input and one Output, cycles, reach.

    `blocked`: the nodes `graph.topological_order()` left out, when the caller has it already.
    """
    problems: list[Problem] = []
    add = problems.append

    # Wires: both ends must exist and the ports must be real.
    seen_edges = set()
    for edge in graph.edges:
        if edge in seen_edges:
            add(Problem(edge.target if edge.target in graph.nodes else None, f"wire {edge} appears twice"))
        seen_edges.add(edge)
        for end in (edge.source, edge.target):
            if end not in graph.nodes:
                add(Problem(None, f"wire {edge} refers to a node '{end}' that does not exist"))
        if edge.source in graph.nodes and edge.source_port != OUT_PORT:
            add(Problem(edge.source, f"wire {edge}: nodes have one output port, '{OUT_PORT}'"))
        target = graph.nodes.get(edge.target)
        if target is not None and target.kind in CATALOG:
            ports = {p.name for p in CATALOG[target.kind].inputs}
            if edge.target_port not in ports:
                have = f"its ports are {', '.join(sorted(ports))}" if ports else "it has no input ports"
                add(Problem(edge.target, f"wire {edge}: {CATALOG[target.kind].title} has no input port "
                                         f"'{edge.target_port}' ({have})"))
        source = graph.nodes.get(edge.source)
        if source is not None and source.kind == "output":
            add(Problem(edge.source, f"wire {edge}: the Output node has no outgoing wires"))
        if edge.source == edge.target and edge.source in graph.nodes:
            add(Problem(edge.source, f"wire {edge} connects the node to itself"))

    # Port arity: every port needs its wire(s), single ports take exactly one.
    for node in graph.nodes.values():
        spec = CATALOG.get(node.kind)
        if spec is None:
            continue
        for port in spec.inputs:
            wires = graph.inputs_of(node.id, port.name)
            sources = ", ".join(e.source for e in wires)
            if not wires:
                add(Problem(node.id, f"input port '{port.name}' is not connected"))
            elif port.multiple and len(wires) < 2:
                add(Problem(node.id, f"{spec.title} needs at least 2 inputs but has 1 (from {sources})"))
            elif not port.multiple and len(wires) > 1:
                add(Problem(node.id, f"input port '{port.name}' takes one wire but has {len(wires)} (from {sources})"))

    gan = any(node.kind in ("noise", "generated") for node in graph.nodes.values())  # = gan.structure.is_gan_graph
    for kind, title in () if gan else (("input", "Input"), ("output", "Output")):
        found = graph.nodes_of_kind(kind)
        if not found:
            add(Problem(None, f"the graph has no {title} node"))
        for extra in found[1:]:
            add(Problem(extra.id, f"the graph may have only one {title} node (the first is '{found[0].id}')"))

    if blocked is None:
        _, blocked = graph.topological_order()
    # Kahn leaves behind the cycles and everything downstream of them; name only the cycles.
    on_cycles = graph.nodes_on_cycles() if blocked else set()
    cyclic = [n for n in blocked if n in on_cycles]
    if cyclic:
        add(Problem(cyclic[0], f"the wires form a cycle through {', '.join(cyclic)}; data must flow one way"))

    if gan:  # two networks in one graph: which ends they need, and that they stay apart
        from ..gan.structure import gan_structure_problems

        return problems + gan_structure_problems(graph)
    outputs = graph.nodes_of_kind("output")
    if outputs:
        feeding = graph.ancestors(outputs[0].id) | {outputs[0].id}
        for node in graph.nodes.values():
            if node.id not in feeding:
                add(Problem(node.id, "is not connected to the output"))
    return problems
