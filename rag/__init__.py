"""Loading, splitting, embedding, storing and retrieving documents. Knows nothing of app/ or guard/."""

from core.errors import DocumentLoadError, ModelNotFoundError
from rag.catalog import Catalog, DocRecord
from rag.document import Limits, LoadedDocument, Page
from rag.embed import Embedder
from rag.lexical import LexicalIndex, tokenize
from rag.library import IngestResult, Library, expand_paths
from rag.load import load_document
from rag.ocr import RapidOcr, ocr_available
from rag.retrieve import CrossEncoderReranker, mmr, rrf
from rag.split import Chunk, split_pages
from rag.store import Hit, Store, open_chroma
from rag.tokens import TokenCounter

__all__ = [
    "Catalog", "Chunk", "CrossEncoderReranker", "DocRecord", "DocumentLoadError", "Embedder", "Hit", "IngestResult",
    "LexicalIndex", "Library", "Limits", "LoadedDocument", "ModelNotFoundError", "Page", "RapidOcr", "Store",
    "TokenCounter", "expand_paths", "load_document", "mmr", "ocr_available", "open_chroma", "rrf", "split_pages",
    "tokenize",
]
