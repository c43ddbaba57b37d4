"""Switch off every library's telemetry before those libraries are imported."""

from __future__ import annotations

import os

__all__ = ["no_telemetry"]

_OFF = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",  # quiet, and no extra threads competing with llama.cpp
}


def no_telemetry() -> None:
    for key, value in _OFF.items():
        os.environ[key] = value
