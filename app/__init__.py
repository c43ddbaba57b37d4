"""Hearth's application layer: settings, model runtime, the guarded turn, CLI and web page."""

__version__ = "0.1.0"
