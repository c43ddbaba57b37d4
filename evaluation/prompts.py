"""Labelled prompt files (CSV or JSONL) for the guard evaluation.

A prompt is unsafe when any of its label fields says so (1, true, yes, unsafe), safe when every
label it has says not (0, false, no, safe), and unlabelled when it has none; a missing key means
"not labelled for that category" (as in OpenAI's moderation set). Each unsafe label field is a
category of the report.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from core.errors import InputFileError
from evaluation.questions import read_jsonl

__all__ = ["Prompt", "load_prompts", "parse_label", "TEXT_FIELDS", "AUTO_LABEL_FIELDS"]

TEXT_FIELDS = ("prompt", "text", "question", "content")
# OpenAI moderation categories, then common single-label names.
AUTO_LABEL_FIELDS = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2", "label", "unsafe", "flagged")
_TRUE = {"1", "true", "yes", "unsafe", "flagged"}
_FALSE = {"0", "false", "no", "safe"}


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str
    label: str | None  # "unsafe" | "safe" | None (unlabelled)
    categories: tuple[str, ...] = ()  # the label fields that say unsafe
    line: int = 0


def parse_label(value) -> bool | None:
    """True (unsafe), False (safe) or None (not labelled); anything else raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a label (use 1/0, true/false, yes/no or unsafe/safe)")


def _rows(path: Path):
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        yield from read_jsonl(path)
    elif suffix == ".csv":
        if not path.is_file():
            raise InputFileError(path, "no such file.")
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            for row in reader:
                if None in row:
                    raise InputFileError(path, "the row has more cells than the header.", reader.line_num)
                yield reader.line_num, row
    else:
        raise InputFileError(path, f"'{suffix or 'no extension'}' files are not read; give a .csv or .jsonl file.")


def load_prompts(path: Path | str, *, labels: Sequence[str] = (), text_field: str | None = None,
                 assume: str | None = None, limit: int | None = None) -> tuple[list[Prompt], list[str]]:
    """The prompts and the label fields used. Without `labels`, the AUTO_LABEL_FIELDS the file has."""
    path = Path(path)
    rows = list(_rows(path))
    if not rows:
        raise InputFileError(path, "the file holds no prompts.")
    keys = {k for _, row in rows for k in row}
    field = text_field or next((f for f in TEXT_FIELDS if f in keys), None)
    if field is None or field not in keys:
        raise InputFileError(path, f"no text field {field!r}; the file has {', '.join(sorted(keys))} "
                                   f"(choose one with --text-field)." if field else
                                   f"no text field ({', '.join(TEXT_FIELDS)}); choose one with --text-field.")
    fields = list(labels) or [f for f in AUTO_LABEL_FIELDS if f in keys]
    missing = [f for f in fields if f not in keys]
    if missing:
        raise InputFileError(path, f"no label field {', '.join(map(repr, missing))} in the file "
                                   f"(it has {', '.join(sorted(keys))}).")
    prompts = []
    for n, row in rows[:limit] if limit else rows:
        text = row.get(field)
        if not isinstance(text, str) or not text.strip():
            raise InputFileError(path, f"'{field}' is missing or empty.", n)
        try:
            values = {f: parse_label(row.get(f)) for f in fields}
        except ValueError as e:
            raise InputFileError(path, str(e), n) from None
        positive = tuple(f for f, v in values.items() if v)
        label = "unsafe" if positive else ("safe" if any(v is False for v in values.values()) else assume)
        if label is None:
            raise InputFileError(path, f"the prompt has no label ({', '.join(fields) or 'no label field'}); pass "
                                       "--label FIELD, or --assume safe for a set of ordinary texts.", n)
        prompts.append(Prompt(str(row.get("id", f"line-{n}")), text, label, positive, n))
    return prompts, fields
