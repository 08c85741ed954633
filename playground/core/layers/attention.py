"""Attention: patches as tokens, positions, self-attention, and pooling tokens back to a vector."""

from .base import Ctor, LayerSpec, Param, describe, modules, need_image


def _need_tokens(title, shape):
    if len(shape) != 2:
        return f"{title} needs a sequence of tokens (tokens×features) but gets {describe(shape)}"
    return None


def _check_patches(params, shapes):
    (shape,) = shapes
    problem = need_image("Patch embedding", shape)
    if problem:
        return problem
    patch, (_, h, w) = params["patch_size"], shape
    if h % patch or w % patch:
        return f"{patch}×{patch} patches do not tile a {h}×{w} image evenly"
    return None


def _infer_patches(params, shapes):
    ((channels, h, w),) = shapes
    patch, dim = params["patch_size"], params["dim"]
    return ((h // patch) * (w // patch), dim), channels * dim * patch * patch + dim  # a strided convolution


PATCH_EMBEDDING = LayerSpec(
    kind="patch_embedding",
    title="Patch embedding",
    group="Attention",
    help="Cuts the image into square patches and turns each patch into a token vector.",
    params=(
        Param("patch_size", "int", 7, "Height and width of each patch.", min=1, max=64),
        Param("dim", "int", 64, "Length of each token vector.", min=1, max=4096),
    ),
    make=lambda p, s: Ctor(modules.PatchEmbedding, (s[0][0], p["patch_size"], p["dim"])),
    check=_check_patches,
    infer=_infer_patches,
    summary=("patch_size", "dim"),
)

POSITIONAL_EMBEDDING = LayerSpec(
    kind="positional_embedding",
    title="Positional embedding",
    group="Attention",
    help="Adds a learned vector per token position, so attention knows where each patch came from.",
    make=lambda p, s: Ctor(modules.PositionalEmbedding, tuple(s[0])),
    check=lambda p, s: _need_tokens("Positional embedding", s[0]),
    infer=lambda p, s: (s[0], s[0][0] * s[0][1]),  # one learned vector per position
)


def _check_heads(title):
    def check(params, shapes):
        (shape,) = shapes
        problem = _need_tokens(title, shape)
        if problem:
            return problem
        if shape[-1] % params["heads"]:
            return f"{shape[-1]} features cannot be split evenly into {params['heads']} heads"
        return None

    return check


def _attention_params(dim):
    return 4 * dim * dim + 4 * dim  # query, key and value projections (dim -> 3·dim), then dim -> dim


def _infer_block(params, shapes):
    (shape,) = shapes
    dim = shape[-1]
    hidden = int(dim * params["mlp_ratio"])  # as TransformerBlock rounds it
    norms = 2 * 2 * dim
    mlp = dim * hidden + hidden + hidden * dim + dim
    return shape, norms + _attention_params(dim) + mlp


_HEADS = Param("heads", "int", 4, "Number of attention heads (must divide the token length).", min=1, max=64)
_DROPOUT = Param("dropout", "float", 0.0, "Dropout on the attention weights.", min=0.0, max=0.9)

SELF_ATTENTION = LayerSpec(
    kind="self_attention",
    title="Self-attention",
    group="Attention",
    help="Multi-head self-attention: each token looks at all the others (no residual; add one with Add).",
    params=(_HEADS, _DROPOUT),
    make=lambda p, s: Ctor(modules.SelfAttention, (s[0][-1], p["heads"]), {"dropout": p["dropout"]}),
    check=_check_heads("Self-attention"),
    infer=lambda p, s: (s[0], _attention_params(s[0][-1])),
    summary=("heads",),
)

TRANSFORMER_BLOCK = LayerSpec(
    kind="transformer_block",
    title="Transformer block",
    group="Attention",
    help="A transformer encoder block: self-attention and an MLP, each with LayerNorm and a skip connection.",
    params=(_HEADS, Param("mlp_ratio", "float", 2.0, "Width of the MLP relative to the token length.",
                          min=0.25, max=8.0), _DROPOUT),
    make=lambda p, s: Ctor(modules.TransformerBlock, (s[0][-1], p["heads"]),
                           {"mlp_ratio": p["mlp_ratio"], "dropout": p["dropout"]}),
    check=_check_heads("Transformer block"),
    infer=_infer_block,
    summary=("heads",),
)

TOKEN_POOL = LayerSpec(
    kind="token_pool",
    title="Token pooling",
    group="Attention",
    help="Turns a sequence of tokens into one vector: their mean, or the first token.",
    params=(Param("mode", "choice", "mean", "How to combine the tokens.", choices=("mean", "first")),),
    make=lambda p, s: Ctor(modules.TokenPool, (), {"mode": p["mode"]}),
    check=lambda p, s: _need_tokens("Token pooling", s[0]),
    infer=lambda p, s: ((s[0][-1],), 0),
    summary=("mode",),
)

SPECS = (PATCH_EMBEDDING, POSITIONAL_EMBEDDING, SELF_ATTENTION, TRANSFORMER_BLOCK, TOKEN_POOL)
