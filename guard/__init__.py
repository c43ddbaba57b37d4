"""The two guard layers: a keyword filter and Llama Guard. Knows nothing of app/ or rag/; stands on core/ and engine/."""

from guard.keywords import DEFAULT_LISTS, KeywordFilter
from guard.llama_guard import LlamaGuard, MissingGuard
from guard.llama_guard_prompt import (LG1_CATEGORIES, LG2_CATEGORIES, LG3_CATEGORIES, Category, GuardPrompt,
                                      categories_for, render_llama_guard_1, render_llama_guard_2,
                                      render_llama_guard_3)
from guard.qwen3guard import parse_qwen3guard_output, render_qwen3guard
from guard.verdict import Match, Verdict, parse_llama_guard_output

__all__ = [
    "Category", "DEFAULT_LISTS", "GuardPrompt", "KeywordFilter",
    "LG1_CATEGORIES", "LG2_CATEGORIES", "LG3_CATEGORIES", "LlamaGuard", "Match", "MissingGuard", "Verdict",
    "categories_for", "parse_llama_guard_output", "parse_qwen3guard_output", "render_llama_guard_1",
    "render_llama_guard_2", "render_llama_guard_3", "render_qwen3guard",
]
