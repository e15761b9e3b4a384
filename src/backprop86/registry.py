"""Registries filled by the modules of a package: a task, a figure is one module."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def discover(package: str, path, contract: dict[str, str], kind: str, skip=()) -> dict[str, ModuleType]:
    """Every module of ``package`` (its ``__path__``, ``path``) but ``skip`` and private
    ones, by name, in name order; one that lacks a name of ``contract`` (name -> what it
    is) fails in one line naming the module and what it lacks."""
    found = {}
    for info in pkgutil.iter_modules(path):
        if info.name in skip or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        missing = [text for part, text in contract.items() if not hasattr(module, part)]
        if missing:
            raise TypeError(f"{kind} module {module.__name__} lacks {'; '.join(missing)}")
        found[info.name] = module
    return found
