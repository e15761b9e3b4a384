"""The paper's claims, each one registered function, measured over every seed and
judged by a rule from the config.

A claim is a function in a module of this package (one per part of the paper:
``symmetry``, ``family_trees``, ``iterative``) under :func:`claim`, which declares

``id``         the claim's id, the ``claim_id`` of its rows;
``statement``  what the paper says, in our words, and ``paper``, the paper's own
               number or statement (jinja, rendered as the templates are);
``where``      the paper's figure or page;
``runs``       ``runs(config, settings)``: the (experiment, configuration) pairs it
               reads, or ``None`` where the config has nothing to measure it on (the
               workflow asks for exactly these: :func:`claim_inputs`); ``tables``:
               the result tables it reads;
``rule``       its rule's own keys, each a JSON schema with its default: the config's
               ``report.claims.<id>`` is checked against them (:func:`report_settings`,
               which the workflow and the command run on loading); ``shared``: the rules
               of ``report.verdicts`` it uses (``share``, ``sweeps``), which its own
               entry may override;
``verdict``    ``verdict(measurement, rule)``, one of :data:`VERDICTS`;
``of``         the claim it is a further reading of, where it is measured apart;
``check``      ``check(config, settings, rule, where)``, raising
               :class:`ReportConfigError` for a rule the schema cannot judge alone.

The function takes a :class:`Context` and yields what it measured, one dict of
counts and values (no prose) per reading, with optionally ``key`` (the row's id is
``<id>_<key>``), ``main`` (false for a further reading) and ``claim_id`` (a reading
that is a claim of its own). The texts ``measured``, ``rule`` and ``reading`` are
the ``{% set %}`` blocks of the claim's section of ``templates/claims_<module>.txt.j2``,
rendered with the measurement ``m``, the rule ``r`` and the paper's numbers ``p``.
Adding a claim is one function, its template section and, for other thresholds
than its defaults, its entry in the config.

Each reading is one row of ``results/tables/claims.csv`` with the columns

``id``        a stable identifier (``symmetry_sweeps_rounded``, ...);
``claim``     what the paper says, in our words;
``paper``     the paper's own number or statement;
``measured``  what we measured over all seeds (median and quartiles, or a rate
              with its 95% Wilson interval), with the configuration it came from;
``verdict``   one of :data:`VERDICTS`, decided by a rule, never by hand;
``rule``      the rule that decided the verdict, with its thresholds;
``claim_id``  the claim of the paper the row measures: several rows of one claim
              are its readings (where the paper is ambiguous, or its recipe fails);
``reading``   empty for the reading judged first (the paper's own recipe and the
              main reading of the config's ``report:`` section), else what this
              reading changes.

:func:`tally` groups rows by claim and counts claims, each by its first reading.
The measurements the figures draw (the symmetry solution of Fig. 1, the person
code of Fig. 4, the seed shown) live here too.
"""

# isort: off
from . import symmetry, family_trees, iterative  # noqa: F401 (each registers its claims, in the paper's order)

# isort: on
from .family_trees import FEATURES as FEATURES
from .family_trees import encoding_strengths as encoding_strengths
from .family_trees import person_features as person_features
from .registry import *  # noqa: F403 (the registry, the table and the report settings: registry.__all__)
from .symmetry import symmetry_solution as symmetry_solution
