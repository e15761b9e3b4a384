"""The paper's figures, regenerated from result files: one module each in this
package, found there and registered under the module's name (``fig1``, ...).
Adding a figure is adding a module: the workflow makes its rule, MLflow gets it,
and both reports show it, from this registry.

A figure module gives:

``TITLE``
    its heading in the report (``"Fig. 1"``);
``LABEL``
    its entry in Snakemake's report;
``CAPTION``
    its caption, a jinja2 template: ``f`` is the figure's facts, ``readings`` and
    ``settings`` the config's readings and report settings
    (:func:`backprop86.report.readings_of`, :func:`backprop86.claims.report_settings`);
``plan(config, settings) -> Plan | None``
    what it is drawn from, or None where the config has nothing for it to draw;
``draw(plan, runs, files) -> (Figure, facts)``
    the figure from its plan, the loaded runs it reads (``(experiment,
    configuration) -> Run``) and its other input files; it never trains.

:func:`style.save` writes a figure as a PNG at the report's size, a
full-resolution SVG and its facts as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

import matplotlib

matplotlib.use("Agg")  # files, never a screen: before any figure module imports pyplot

from ..registry import discover  # noqa: E402

CONTRACT = {
    "TITLE": "TITLE (its heading in the report)",
    "LABEL": "LABEL (its entry in Snakemake's report)",
    "CAPTION": "CAPTION (its caption, a jinja2 template)",
    "plan": "plan(config, settings) (what it is drawn from)",
    "draw": "draw(plan, runs, files) (the drawing)",
}
SHARED = ("style",)  # modules of this package that are not figures


@dataclass(frozen=True)
class Plan:
    """What a figure is drawn from: the configurations whose runs it reads
    (``runs``), other input files (``files``: a dataset, a table), the values it
    needs from the config (``params``), the config sections they come from
    (``config``, for its provenance line), and the configurations whose MLflow
    parent runs get the figure (``shows``; by default the runs it reads)."""

    runs: tuple[tuple[str, str], ...] = ()
    files: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)
    config: tuple[str, ...] = ()
    shows: tuple[tuple[str, str], ...] | None = None

    @property
    def shown(self) -> tuple[tuple[str, str], ...]:
        return self.runs if self.shows is None else self.shows


def config_section(experiment: str, configuration: str) -> str:
    """Where a configuration's settings live in config/config.yaml."""
    if configuration == "paper":
        return f"experiments.{experiment}.settings"
    return f"experiments.{experiment}.variants.{configuration}"


def _discover() -> dict[str, ModuleType]:
    return discover(__name__, __path__, CONTRACT, "figure", SHARED)


def plans(config: dict, settings: dict) -> dict[str, Plan]:
    """The plan of every figure the config has something for, in registry order."""
    out = {name: module.plan(config, settings) for name, module in FIGURES.items()}
    return {name: p for name, p in out.items() if p is not None}


FIGURES: dict[str, ModuleType] = _discover()  # last: the figure modules import the above

__all__ = ["FIGURES", "Plan", "config_section", "plans"]
