"""Sentence embeddings through sentence-transformers, loaded on first use."""

from __future__ import annotations

from rag.embed_parts import BaseEmbedder

__all__ = ["Embedder"]


class Embedder(BaseEmbedder):
    """embed(texts) -> unit vectors. Loading torch is slow, so it waits until the first call."""

    def _open(self):
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        torch.set_num_threads(self.threads)
        transformers_logging.disable_progress_bar()
        return SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)

    def _encode(self, model, batch: list[str]):
        return model.encode(batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)
