"""Recurrent layers. An image is read as a sequence of rows, top to bottom."""

import math

from .base import Ctor, LayerSpec, Param, describe, modules


def _check(params, shapes):
    (shape,) = shapes
    if len(shape) not in (2, 3):
        return f"a recurrent layer needs a sequence or an image but gets {describe(shape)}"
    return None


_GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # weight blocks per layer and direction


def _steps_and_features(shape):
    """An image is read row by row: H steps of C·W features; a sequence is steps×features already."""
    return (shape[1], shape[0] * shape[2]) if len(shape) == 3 else (shape[0], shape[1])


def _spec(cell, title, help):
    params = [
        Param("hidden_size", "int", 128, "Size of the hidden state.", min=1, max=4096),
        Param("num_layers", "int", 1, "Number of stacked recurrent layers.", min=1, max=8),
        Param("bidirectional", "bool", False, "Also read the sequence backwards."),
        Param("return_sequence", "bool", False, "Return every step's output instead of the final state."),
    ]
    if cell == "rnn":
        params.append(Param("nonlinearity", "choice", "tanh", "Activation inside the cell.", choices=("tanh", "relu")))

    def make(p, shapes):
        (shape,) = shapes
        features = math.prod(shape[::2]) if len(shape) == 3 else shape[-1]  # C·W per row, or features
        kwargs = {"num_layers": p["num_layers"], "bidirectional": p["bidirectional"],
                  "return_sequence": p["return_sequence"]}
        if cell == "rnn":
            kwargs["nonlinearity"] = p["nonlinearity"]
        return Ctor(modules.SequenceRNN, (cell, features, p["hidden_size"]), kwargs)

    def infer(p, shapes):
        steps, features = _steps_and_features(shapes[0])
        hidden, directions = p["hidden_size"], 2 if p["bidirectional"] else 1
        count = 0
        for layer in range(p["num_layers"]):
            inputs = features if layer == 0 else hidden * directions
            # Per gate: input weights, hidden weights and two biases.
            count += directions * _GATES[cell] * (inputs * hidden + hidden * hidden + 2 * hidden)
        out = (steps, hidden * directions) if p["return_sequence"] else (hidden * directions,)
        return out, count

    return LayerSpec(kind=cell, title=title, group="Recurrent", help=help, params=tuple(params), make=make,
                     check=_check, infer=infer, summary=("hidden_size",))


SPECS = (
    _spec("rnn", "RNN", "Simple recurrent layer: a hidden state updated at each step (an image row by row)."),
    _spec("lstm", "LSTM", "Long short-term memory: a recurrent layer with gates that keep information longer."),
    _spec("gru", "GRU", "Gated recurrent unit: a lighter LSTM with two gates."),
)
