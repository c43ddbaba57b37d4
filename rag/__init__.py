"""Loading, splitting, embedding, storing and retrieving documents. Knows nothing of app/ or guard/."""

from rag.catalog import Catalog, DocRecord
from rag.embed import Embedder
from rag.errors import DocumentLoadError, ModelNotFoundError
from rag.library import IngestResult, Library, expand_paths
from rag.load import LoadedDocument, Page, load_document
from rag.split import Chunk, split_pages
from rag.store import Hit, Store, open_chroma

__all__ = [
    "Catalog", "Chunk", "DocRecord", "DocumentLoadError", "Embedder", "Hit", "IngestResult", "Library",
    "LoadedDocument", "ModelNotFoundError", "Page", "Store", "expand_paths", "load_document", "open_chroma",
    "split_pages",
]
