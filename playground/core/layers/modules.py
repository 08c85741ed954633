"""Small torch modules for layer kinds that torch.nn does not offer directly.

This file must import nothing but torch: the Python exporter copies these
classes verbatim into standalone model files.
"""

import torch
from torch import nn


class Reshape(nn.Module):
    """Reshape every sample to `shape` (the batch dimension is kept)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class GlobalAvgPool(nn.Module):
    """Average each channel over height and width: C×H×W -> C."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class Add(nn.Module):
    """Element-wise sum of two or more tensors of the same shape (skip connections)."""

    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Multiply(nn.Module):
    """Element-wise product of two or more tensors of the same shape (gating)."""

    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concatenate(nn.Module):
    """Join tensors along one axis (0 = channels/first axis of a sample)."""

    def __init__(self, axis=0):
        super().__init__()
        self.axis = axis

    def forward(self, *xs):
        # +1 skips the batch dimension; negative axes count from the end already.
        return torch.cat(xs, dim=self.axis + 1 if self.axis >= 0 else self.axis)


class SequenceRNN(nn.Module):
    """A recurrent layer (RNN, LSTM or GRU) that reads an image as a sequence of rows.

    A C×H×W image becomes H steps of C·W features; a steps×features input is
    used as it is. Returns the final hidden state (both directions concatenated
    when bidirectional) or, with `return_sequence`, every step's output.
    """

    def __init__(self, cell, input_size, hidden_size, num_layers=1, bidirectional=False,
                 return_sequence=False, nonlinearity="tanh"):
        super().__init__()
        rnn_class = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = rnn_class(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                             bidirectional=bidirectional, **extra)
        self.return_sequence = return_sequence

    def forward(self, x):
        if x.dim() == 4:  # B×C×H×W -> B×H×(C·W): one step per image row
            x = x.permute(0, 2, 1, 3).flatten(2)
        out, state = self.rnn(x)
        if self.return_sequence:
            return out
        hidden = state[0] if isinstance(state, tuple) else state  # LSTM returns (h, c)
        directions = 2 if self.rnn.bidirectional else 1
        # The last layer's final state of each direction: the backward direction's
        # final state has read the whole sequence, unlike out[:, -1].
        return torch.cat(list(hidden[-directions:]), dim=1)


class PatchEmbedding(nn.Module):
    """Cut an image into non-overlapping patches and project each to a token: C×H×W -> N×D."""

    def __init__(self, in_channels, patch_size, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class PositionalEmbedding(nn.Module):
    """Add a learned vector to each token position, so attention can tell positions apart."""

    def __init__(self, tokens, dim):
        super().__init__()
        self.position = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.trunc_normal_(self.position, std=0.02)

    def forward(self, x):
        return x + self.position


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention over a sequence of tokens."""

    def __init__(self, dim, heads, dropout=0.0):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x):
        batch, tokens, dim = x.shape
        # B×N×3D -> 3×B×heads×N×(D/heads)
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        drop = self.dropout if self.training else 0.0
        attended = nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        return self.out(attended.transpose(1, 2).reshape(batch, tokens, dim))


class TransformerBlock(nn.Module):
    """A pre-norm transformer encoder block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, dim, heads, mlp_ratio=2.0, dropout=0.0):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attention = SelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))

    def forward(self, x):
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TokenPool(nn.Module):
    """Turn a sequence of tokens into one vector: their mean, or the first token."""

    def __init__(self, mode="mean"):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        return x.mean(dim=1) if self.mode == "mean" else x[:, 0]


class Features(nn.Module):
    """Features of 2-D points (x, y) -> the chosen ones of x, y, x², y², xy, sin x, sin y, in that order."""

    FORMULAS = ("x", "y", "x_squared", "y_squared", "x_times_y", "sin_x", "sin_y")

    def __init__(self, chosen):
        super().__init__()
        unknown = set(chosen) - set(self.FORMULAS)
        if unknown or not chosen:
            raise ValueError(f"choose one or more of {self.FORMULAS}, not {chosen}")
        self.chosen = tuple(name for name in self.FORMULAS if name in chosen)

    def forward(self, points):
        x, y = points[:, 0:1], points[:, 1:2]
        made = {"x": lambda: x, "y": lambda: y, "x_squared": lambda: x * x, "y_squared": lambda: y * y,
                "x_times_y": lambda: x * y, "sin_x": lambda: torch.sin(x), "sin_y": lambda: torch.sin(y)}
        return torch.cat([made[name]() for name in self.chosen], dim=1)
