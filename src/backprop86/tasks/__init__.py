"""The tasks, one module each in this package, registered under the module's name
(the config's ``task:``). Adding a task is adding a module: the config's schema,
the ``backprop86`` command and the workflow all follow this registry.

A task module gives:

``ITERATIVE``
    whether its net is an iterative one (Fig. 5), trained unrolled;
``SETTINGS``
    the settings only it takes, each a JSON schema (bounds, ``default``,
    ``description``) that the config's schema admits for this task alone;
``build(settings) -> Task``
    the net, its inputs and targets;
``frame(settings) -> DataFrame``
    the dataset as a table, for ``results/data/<task>.csv``;
``size(settings) -> (cases, units)``
    the training cases and the net's units, computed without building them,
    for the memory a block of seeds needs;

and may give ``check(settings)``, which raises :class:`SettingError` for a
setting the schema cannot judge alone.
"""

from __future__ import annotations

from types import ModuleType

from ..registry import discover
from .base import HeldOut, SettingError, Task, held_out_masks

CONTRACT = {
    "ITERATIVE": "ITERATIVE (whether its net is an iterative one)",
    "SETTINGS": "SETTINGS (the settings only it takes, name -> JSON schema)",
    "build": "build(settings) (its net, inputs and targets)",
    "frame": "frame(settings) (its dataset as a table)",
    "size": "size(settings) (its cases and units, for the memory check)",
}


def _discover() -> dict[str, ModuleType]:
    return discover(__name__, __path__, CONTRACT, "task", ("base",))


TASKS: dict[str, ModuleType] = _discover()
ITERATIVE_TASKS = tuple(name for name, module in TASKS.items() if module.ITERATIVE)


def setting_schemas() -> dict[str, dict]:
    """Every task's own settings, name -> JSON schema; a name two tasks take has one schema."""
    out: dict[str, dict] = {}
    for module in TASKS.values():
        for key, spec in module.SETTINGS.items():
            if out.setdefault(key, spec) != spec:
                raise TypeError(f"task module {module.__name__} declares setting {key!r} unlike another task")
    return out


def task_module(name: str) -> ModuleType:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}") from None


def build_task(settings: dict) -> Task:
    """The net and data of a resolved configuration's task."""
    return task_module(settings["task"]).build(settings)


__all__ = [
    "ITERATIVE_TASKS",
    "TASKS",
    "HeldOut",
    "SettingError",
    "Task",
    "build_task",
    "held_out_masks",
    "setting_schemas",
    "task_module",
]
