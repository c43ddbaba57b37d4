"""A BERT encoder as an ONNX graph, written straight from the model folder's safetensors: no torch.

The graph computes what transformers' BertModel computes for sentence-transformers (token vectors of the
last layer; rag.embed_parts pools them): embeddings, then per layer self-attention and the feed-forward
block, each followed by a residual LayerNorm, with the exact (erf) GELU. ONNX Runtime fuses these standard
ops itself (attention, GELU, LayerNorm) when it opens the model, so it runs as fast as an export by torch.
tests/test_embed_onnx.py holds the vectors equal to sentence-transformers'.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import ModelNotFoundError
from rag.embed_parts import check_model_folder

__all__ = ["bert_onnx", "check_bert_folder", "BERT_FILES"]

OPSET = 17  # LayerNormalization
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
BERT_FILES = ("config.json", "tokenizer.json", "model.safetensors")


def check_bert_folder(folder: Path) -> dict:
    """The folder's config when it is a BERT model that sentence-transformers mean-pools, else ModelNotFoundError."""
    check_model_folder(folder, BERT_FILES)
    cfg = json.loads((folder / "config.json").read_text())
    if cfg.get("model_type") != "bert" or cfg.get("position_embedding_type", "absolute") != "absolute" \
            or cfg.get("hidden_act", "gelu") != "gelu":
        raise ModelNotFoundError(f"{folder}: the ONNX and NumPy embedders read BERT models (absolute positions, "
                                 f"GELU) only, this is {cfg.get('model_type')!r}; use HEARTH_EMBEDDING_BACKEND=torch.")
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", True):
        raise ModelNotFoundError(f"{folder}: the ONNX and NumPy embedders do mean pooling only, this model pools "
                                 "otherwise; use HEARTH_EMBEDDING_BACKEND=torch.")
    return cfg


def bert_onnx(folder: Path):
    """The folder's BERT encoder as an onnx.ModelProto: inputs (batch, tokens) int64 ids, attention mask and
    token types; output "tokens" (batch, tokens, hidden) float32."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    cfg = check_bert_folder(folder)
    d, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg.get("layer_norm_eps", 1e-12)
    weights = {k.removeprefix("bert."): v for k, v in load_file(folder / "model.safetensors").items()}
    nodes, inits = [], []

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(key: str, transpose: bool = False) -> str:
        if key not in weights:
            raise ModelNotFoundError(f"{folder}/model.safetensors has no tensor {key!r}: not a BERT model that the "
                                     "ONNX embedder can read; use HEARTH_EMBEDDING_BACKEND=torch.")
        w = weights[key].astype(np.float32)
        return const(key, np.ascontiguousarray(w.T if transpose else w))

    def op(kind: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(kind, inputs, [name], name=name, **attrs))
        return name

    def dense(x: str, prefix: str) -> str:  # torch's Linear: x @ W.T + b
        return op("Add", [op("MatMul", [x, weight(f"{prefix}.weight", transpose=True)], f"{prefix}/mm"),
                          weight(f"{prefix}.bias")], f"{prefix}/out")

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, weight(f"{prefix}.weight"), weight(f"{prefix}.bias")], f"{prefix}/out",
                  axis=-1, epsilon=eps)

    # Embeddings: word + position (the first `tokens` rows) + token type, then LayerNorm.
    length = op("Slice", [op("Shape", ["input_ids"], "shape"), const("i1", np.array([1])), const("i2", np.array([2]))],
                "length")
    positions = op("Slice", [weight("embeddings.position_embeddings.weight"), const("i0", np.array([0])), length,
                             const("axis0", np.array([0]))], "positions")
    x = op("Add", [op("Add", [op("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"], "words"),
                              positions], "words+positions"),
                   op("Gather", [weight("embeddings.token_type_embeddings.weight"), "token_type_ids"], "types")],
           "embedded")
    x = layer_norm(x, "embeddings.LayerNorm")
    # Padding gets -1e9 before the softmax: (batch, 1, 1, tokens), added to every head's scores.
    one = const("f1", np.float32(1))
    mask = op("Cast", ["attention_mask"], "mask", to=TensorProto.FLOAT)
    bias = op("Unsqueeze", [op("Mul", [op("Sub", [one, mask], "unmasked"),
                                       const("neg", np.float32(-1e9))], "mask_bias"), const("axes12", np.array([1, 2]))],
              "mask_bias4")
    split = const("heads_shape", np.array([0, 0, heads, d // heads]))
    merge = const("hidden_shape", np.array([0, 0, d]))
    scale = const("scale", np.float32(1.0 / np.sqrt(d // heads)))
    half, root2 = const("half", np.float32(0.5)), const("sqrt2", np.float32(np.sqrt(2.0)))
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (op("Reshape", [dense(x, f"{p}.attention.self.{m}"), split], f"{p}/{m}_heads")
                   for m in ("query", "key", "value"))
        q = op("Transpose", [q], f"{p}/q", perm=[0, 2, 1, 3])
        k = op("Transpose", [k], f"{p}/kT", perm=[0, 2, 3, 1])
        v = op("Transpose", [v], f"{p}/v", perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k], f"{p}/qk"), scale], f"{p}/scaled"), bias], f"{p}/scores")
        ctx = op("MatMul", [op("Softmax", [scores], f"{p}/probs", axis=-1), v], f"{p}/ctx")
        ctx = op("Reshape", [op("Transpose", [ctx], f"{p}/ctxT", perm=[0, 2, 1, 3]), merge], f"{p}/ctx_merged")
        x = layer_norm(op("Add", [dense(ctx, f"{p}.attention.output.dense"), x], f"{p}/attn_res"),
                       f"{p}.attention.output.LayerNorm")
        inner = dense(x, f"{p}.intermediate.dense")
        erf = op("Erf", [op("Div", [inner, root2], f"{p}/gelu_in")], f"{p}/erf")
        gelu = op("Mul", [op("Mul", [inner, half], f"{p}/gelu_half"),
                          op("Add", [erf, one], f"{p}/gelu_1p")], f"{p}/gelu")
        x = layer_norm(op("Add", [dense(gelu, f"{p}.output.dense"), x], f"{p}/ffn_res"), f"{p}.output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["tokens"], name="tokens"))
    dims = ["batch", "tokens"]
    graph = helper.make_graph(
        nodes, folder.name, [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in INPUTS],
        [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, [*dims, d])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="hearth")
    model.ir_version = min(model.ir_version, 9)  # what onnxruntime reads
    return model
