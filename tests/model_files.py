"""Model files and a model hub for tests: a real small GGUF of random weights, a tiny GGUF that Hearth accepts and
runs as Llama Guard 3, and a local HTTP server that answers like the hub's resolve endpoint (HF_ENDPOINT)."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from pathlib import Path

__all__ = ["tiny_gguf", "tiny_llama_guard", "Hub"]


def tiny_gguf(path: Path, name: str = "tiny-llama", n_vocab: int = 4000) -> Path:
    """A real (random-weight) Llama GGUF of a few MB: llama.cpp reads its metadata and vocabulary."""
    import numpy as np
    from gguf import GGUFWriter, LlamaFileType, TokenType

    n_embd, n_layer, n_head, n_ff = 64, 2, 4, 128
    w = GGUFWriter(str(path), "llama")
    w.add_name(name)
    for add, value in ((w.add_context_length, 512), (w.add_embedding_length, n_embd), (w.add_block_count, n_layer),
                       (w.add_feed_forward_length, n_ff), (w.add_head_count, n_head), (w.add_head_count_kv, n_head),
                       (w.add_rope_dimension_count, n_embd // n_head), (w.add_layer_norm_rms_eps, 1e-5)):
        add(value)
    w.add_file_type(LlamaFileType.ALL_F32)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    tokens += [f"\u2581t{i}" for i in range(n_vocab - len(tokens))]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([-float(i) for i in range(n_vocab)])
    w.add_token_types([TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
                      + [TokenType.NORMAL] * (n_vocab - 259))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    rng = np.random.default_rng(0)
    mat = lambda r, c: (rng.standard_normal((r, c)) * 0.02).astype(np.float32)  # noqa: E731
    w.add_tensor("token_embd.weight", mat(n_vocab, n_embd))
    for i in range(n_layer):
        for part, shape in (("attn_q", (n_embd, n_embd)), ("attn_k", (n_embd, n_embd)), ("attn_v", (n_embd, n_embd)),
                            ("attn_output", (n_embd, n_embd)), ("ffn_gate", (n_ff, n_embd)),
                            ("ffn_up", (n_ff, n_embd)), ("ffn_down", (n_embd, n_ff))):
            w.add_tensor(f"blk.{i}.{part}.weight", mat(*shape))
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("output.weight", mat(n_vocab, n_embd))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def tiny_llama_guard(path: Path) -> Path:
    """A 14 MB GGUF that loads and verifies as Llama Guard 3 in the product (no Llama Guard weights can be installed
    here): SmolLM2's real BPE vocabulary plus Llama 3's special tokens and a single-token "unsafe", so the prompt
    renders and tokenizes as for the real model; its name says Llama Guard 3. Its weights are set, not trained: the
    blocks add nothing and every position reads the same embedding, which the output layer maps to "safe" (and a
    little to "unsafe"), so every check is a real llama.cpp pass that answers safe with P(unsafe) about 0.002."""
    import numpy as np
    from gguf import GGUFWriter, LlamaFileType, TokenType

    from app.services.models import embedded_chat_model
    from benchmarks.gpu.synth import LLAMA3_SPECIALS, read_tokenizer

    tok = read_tokenizer(embedded_chat_model())
    tokens = list(tok["tokenizer.ggml.tokens"]) + ["unsafe", *LLAMA3_SPECIALS.values()]
    types = [*tok["tokenizer.ggml.token_type"], TokenType.USER_DEFINED] + [TokenType.CONTROL] * len(LLAMA3_SPECIALS)
    ids = {text: i for i, text in enumerate(tokens)}
    n_vocab, n_embd, n_head, n_ff = len(tokens), 64, 4, 128
    w = GGUFWriter(str(path), "llama")
    w.add_name("Tiny Llama Guard 3 (always safe, for tests)")
    for add, value in ((w.add_context_length, 8192), (w.add_embedding_length, n_embd), (w.add_block_count, 1),
                       (w.add_feed_forward_length, n_ff), (w.add_head_count, n_head), (w.add_head_count_kv, n_head),
                       (w.add_rope_dimension_count, n_embd // n_head), (w.add_layer_norm_rms_eps, 1e-5)):
        add(value)
    w.add_file_type(LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model(tok["tokenizer.ggml.model"])
    w.add_tokenizer_pre(tok["tokenizer.ggml.pre"])
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(list(tok["tokenizer.ggml.merges"]))
    w.add_bos_token_id(ids["<|begin_of_text|>"])
    w.add_eos_token_id(ids["<|eot_id|>"])
    w.add_add_bos_token(False)  # guard/ puts <|begin_of_text|> in its prompts itself
    zeros = lambda r, c: np.zeros((r, c), dtype=np.float16)  # noqa: E731
    ones = lambda n: np.ones(n, dtype=np.float32)  # noqa: E731
    w.add_tensor("token_embd.weight", np.ones((n_vocab, n_embd), dtype=np.float16))
    w.add_tensor("blk.0.attn_norm.weight", ones(n_embd))
    for part, shape in (("attn_q", (n_embd, n_embd)), ("attn_k", (n_embd, n_embd)), ("attn_v", (n_embd, n_embd)),
                        ("attn_output", (n_embd, n_embd)), ("ffn_gate", (n_ff, n_embd)), ("ffn_up", (n_ff, n_embd)),
                        ("ffn_down", (n_embd, n_ff))):
        w.add_tensor(f"blk.0.{part}.weight", zeros(*shape))
    w.add_tensor("blk.0.ffn_norm.weight", ones(n_embd))
    w.add_tensor("output_norm.weight", ones(n_embd))
    output = zeros(n_vocab, n_embd)
    output[ids["safe"]], output[ids["unsafe"]] = 0.5, 0.4  # logits 32 and 25.6 against 0 for every other token
    w.add_tensor("output.weight", output)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


class Hub:
    """A local stand-in for the hub: GET/HEAD {repo}/resolve/{rev}/{file} with Range, X-Linked-Etag and faults."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files  # "repo/resolve/rev/filename" -> bytes
        self.cut_after: int | None = None  # drop the connection after this many body bytes, once
        self.status: int | None = None  # answer every GET with this status
        self.ranges: list[str | None] = []
        self.slow = False  # send the body in 64 KB pieces, 50 ms apart (time to press Ctrl+C)
        self.hold_at: int | None = None  # stop after this many body bytes until release is set (a download seen
        self.release = threading.Event()  # under way, without depending on how fast anything runs)
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _head(self) -> bytes | None:
                body = hub.files.get(self.path.lstrip("/"))
                if body is None or hub.status:
                    self.send_response(hub.status or 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                start = 0
                rng = self.headers.get("Range")
                if self.command == "GET":
                    hub.ranges.append(rng)
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("X-Linked-Etag", f'"{hashlib.sha256(body).hexdigest()}"')
                self.end_headers()
                return body[start:]

            def do_HEAD(self):
                self._head()

            def do_GET(self):
                body = self._head()
                if body is None:
                    return
                if hub.cut_after is not None:
                    cut, hub.cut_after = hub.cut_after, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if hub.hold_at is not None:
                    held, body = body[:hub.hold_at], body[hub.hold_at:]
                    self.wfile.write(held)
                    self.wfile.flush()
                    hub.release.wait()
                step = 64 * 1024 if hub.slow else len(body) or 1
                try:
                    for i in range(0, len(body), step):
                        self.wfile.write(body[i:i + step])
                        if hub.slow:
                            self.wfile.flush()
                            time.sleep(0.05)
                except ConnectionError:  # the client went away (a cancel)
                    self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
