"""The paper's tasks, one module each, registered under the name the config uses.

Every module gives ``build(settings) -> Task`` (the net, its inputs and
targets) and ``frame(settings)`` (the dataset as a table for
``results/data/``); ``SETTINGS`` names the settings only that task takes, and
``ITERATIVE`` says whether its net is an iterative one (Fig. 5). Adding a task
is a new module and a line here.
"""

from __future__ import annotations

from types import ModuleType

from . import family_trees, sequence_completion, shift_register, symmetry
from .base import HeldOut, Task, held_out_masks

TASKS: dict[str, ModuleType] = {
    "symmetry": symmetry,
    "family_trees": family_trees,
    "shift_register": shift_register,
    "sequence_completion": sequence_completion,
}
ITERATIVE_TASKS = tuple(name for name, module in TASKS.items() if module.ITERATIVE)


def task_module(name: str) -> ModuleType:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; tasks: {', '.join(TASKS)}") from None


def build_task(settings: dict) -> Task:
    """The net and data of a resolved configuration's task."""
    return task_module(settings["task"]).build(settings)


__all__ = ["ITERATIVE_TASKS", "TASKS", "HeldOut", "Task", "build_task", "held_out_masks", "task_module"]
