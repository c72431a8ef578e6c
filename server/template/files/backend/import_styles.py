"""Lets backend modules import each other in either style: `from models.task import Task` (from
the backend folder, as uvicorn runs it) or `from backend.models.task import Task` (as seen from the
project root). Both names give the same module object, so an in-memory store stays one store.

Part of StepForge's app template; main.py imports it first.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import types

_PREFIX = "backend."


class _BackendAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == "backend":
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        if not fullname.startswith(_PREFIX):
            return None
        real = importlib.import_module(fullname[len(_PREFIX) :])
        return importlib.util.spec_from_loader(
            fullname, self, is_package=hasattr(real, "__path__")
        )

    def create_module(self, spec):
        if spec.name == "backend":
            package = types.ModuleType("backend")
            package.__path__ = []
            return package
        return importlib.import_module(spec.name[len(_PREFIX) :])

    def exec_module(self, module):
        pass


if not any(isinstance(finder, _BackendAlias) for finder in sys.meta_path):
    sys.meta_path.insert(0, _BackendAlias())
