"""The user's own keyword lists (the built-in lists are not editable): list, add and remove terms. The keyword
filter re-reads the folder on its next scan; guard/listfiles.py holds the one rule for names and terms."""

from __future__ import annotations

from pathlib import Path

from core.errors import NotFoundError
from guard import listfiles

__all__ = ["Words"]


class Words:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def lists(self) -> dict[str, list[str]]:
        """category -> terms, for every list of the user's."""
        return {category: [t for _, t in listfiles.read_terms(path)]
                for category, path in listfiles.list_files(self.folder).items()}

    def add(self, category: str, term: str) -> list[str]:
        """Add a term to a list (created if new); returns the list."""
        category = listfiles.check_category(category)
        listfiles.add_terms(self.folder, category, [term])
        return self.lists().get(category, [])

    def remove(self, category: str, term: str) -> list[str]:
        """Remove a term from a list; returns the list. NotFoundError when the term is not there."""
        category = listfiles.check_category(category)
        if not listfiles.remove_terms(self.folder, category, [listfiles.check_term(term)]):
            raise NotFoundError(f"{term.strip()!r} is not in your {category!r} list; `hearth words` shows your lists.")
        return self.lists().get(category, [])
