"""Error types, one per cause.

Each is raised where the cause is known and carries a message a user can act on;
the edges (CLI, server) turn it into one line on stderr or one window/showMessage.
"""

from __future__ import annotations


class CodeshellError(Exception):
    """Base of every error this package raises on purpose. ``str(e)`` is the user message."""

    exit_code = 1


class UsageError(CodeshellError):
    """The command line or a request was malformed (CLI exit code 2)."""

    exit_code = 2


class ModelError(CodeshellError):
    """The model file cannot be used: missing, not GGUF, truncated, unsupported."""


class ModelNotFoundError(ModelError):
    pass


class ModelFormatError(ModelError):
    """The file exists but is not a loadable GGUF (bad magic, truncated, corrupt)."""


class ModelLoadError(ModelError):
    """llama.cpp refused the model (unsupported architecture, out of memory, ...)."""


class TemplateError(CodeshellError):
    """No usable fill-in-the-middle template for this model / setting."""


class InputFileError(CodeshellError):
    """A source file given on the command line cannot be read as text."""


class BackendError(CodeshellError):
    """A completion backend failed (remote server down, bad answer, ...)."""


class LogFileError(CodeshellError):
    """The --log-file cannot be opened for writing."""


class ConversionError(CodeshellError):
    """A Hugging Face checkpoint could not be converted to GGUF."""


class QuantizeError(CodeshellError):
    """llama.cpp's quantizer failed or was asked for an unknown type."""


class Cancelled(Exception):
    """A request was cancelled or superseded; not an error the user sees.

    ``evaluated`` counts the prompt tokens the model evaluated before it stopped, so
    the statistics stay exact for aborted work too.
    """

    def __init__(self, evaluated: int = 0) -> None:
        super().__init__("cancelled")
        self.evaluated = evaluated
