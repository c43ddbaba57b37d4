"""What every room of Hearth stands on: the error taxonomy and the digests. Imports nothing of Hearth."""

from core.digest import sha256_file, sha256_text
from core.names import display_name
from core.errors import (DocumentLoadError, DownloadError, GuardFormatError, GuardModelError, GuardTimeout, HearthError,
                         InputError, InputFileError, LimitError, ModelError, ModelNotFoundError, NotFoundError,
                         SettingsError)

__all__ = [
    "DocumentLoadError", "DownloadError", "GuardFormatError", "GuardModelError", "GuardTimeout", "HearthError",
    "InputError", "InputFileError", "LimitError", "ModelError", "ModelNotFoundError", "NotFoundError",
    "SettingsError", "display_name", "sha256_file", "sha256_text",
]
