"""What the page, the API and the CLI do, callable from Python: documents and collections (documents.py), keyword
lists (words.py), the chat model in use (chat.py), the guard (guarding.py), the model registry and downloads
(models.py), warming up (warmup.py) and `hearth doctor` (doctor.py)."""
