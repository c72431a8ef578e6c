"""The StepForge daemon: planning, generation, workspace safety and preview, behind an LSP shell."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stepforge")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
