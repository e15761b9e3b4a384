"""The datasets against an independent derivation written here."""

import numpy as np
import pytest
from conftest import ROOT

from backprop86.tasks import HeldOut, build_task, held_out_masks
from backprop86.tasks.family_trees import ITALIAN, RELATIONS, FamilyTrees
from backprop86.tasks.family_trees import frame as family_trees_frame
from backprop86.tasks.symmetry import frame as symmetry_frame
from backprop86.tasks.symmetry import symmetry_dataset


def test_symmetry_dataset():
    X, d = symmetry_dataset()
    assert X.shape == (64, 6) and d.shape == (64, 1)
    bits = ["".join(str(int(b)) for b in row) for row in X]
    assert len(set(bits)) == 64
    assert [s == s[::-1] for s in bits] == list(d[:, 0] == 1)
    assert d.sum() == 8


# --- family trees, derived again from a list of parent and spouse facts ------

PARENT_OF = {  # child: (father, mother)
    "Arthur": ("Christopher", "Penelope"),
    "Victoria": ("Christopher", "Penelope"),
    "James": ("Andrew", "Christine"),
    "Jennifer": ("Andrew", "Christine"),
    "Colin": ("James", "Victoria"),
    "Charlotte": ("James", "Victoria"),
}
COUPLES = [
    ("Christopher", "Penelope"),
    ("Andrew", "Christine"),
    ("Arthur", "Margaret"),
    ("James", "Victoria"),
    ("Charles", "Jennifer"),
]
MEN = {"Christopher", "Andrew", "Arthur", "James", "Charles", "Colin"}


def independent_facts():
    """Relations as compositions of parent, spouse and sibling, for the English tree."""
    people = {p for c in COUPLES for p in c} | set(PARENT_OF)
    parent = {(c, p) for c, ps in PARENT_OF.items() for p in ps}  # (child, parent)
    spouse = {(a, b) for a, b in COUPLES} | {(b, a) for a, b in COUPLES}
    sibling = {(a, b) for (a, p) in parent for (b, q) in parent if p == q and a != b}

    def compose(r, s):
        return {(a, c) for (a, b) in r for (b2, c) in s if b == b2}

    child = {(p, c) for (c, p) in parent}
    base = {
        "parent": parent,
        "spouse": spouse,
        "child": child,
        "sibling": sibling,
        "pibling": compose(parent, sibling) | compose(compose(parent, sibling), spouse),
        "nibling": compose(sibling, child) | compose(compose(spouse, sibling), child),
    }
    gendered = {
        "father": ("parent", True),
        "mother": ("parent", False),
        "husband": ("spouse", True),
        "wife": ("spouse", False),
        "son": ("child", True),
        "daughter": ("child", False),
        "uncle": ("pibling", True),
        "aunt": ("pibling", False),
        "brother": ("sibling", True),
        "sister": ("sibling", False),
        "nephew": ("nibling", True),
        "niece": ("nibling", False),
    }
    facts = set()
    for rel, (kind, male) in gendered.items():
        facts |= {(a, rel, b) for (a, b) in base[kind] if (b in MEN) == male}
    assert people == {a for a, _, _ in facts} | {b for _, _, b in facts}
    return facts


def test_family_trees_match_independent_derivation():
    ft = FamilyTrees()
    english = independent_facts()
    english_names = {p.name for p in ft.people if p.nationality == "English"}
    ours = set(ft.triples)
    assert {t for t in ours if t[0] in english_names} == english
    to_it = {p.name: p.counterpart for p in ft.people if p.nationality == "English"}
    italian = {(to_it[a], r, to_it[b]) for a, r, b in english}
    assert {t for t in ours if t[0] not in english_names} == italian
    assert len(ft.triples) == len(ours) == 112
    assert len(ft.questions) == len({(a, r) for a, r, _ in ours}) == 104
    assert ft.related("Colin", "aunt") == {"Margaret", "Jennifer"}
    assert set(to_it.values()) == set(ITALIAN)


def test_family_tree_encoding_and_csv_order():
    ft = FamilyTrees()
    person1, relation, person2 = ft.encode()
    assert person1.shape == (104, 24) and relation.shape == (104, 12) and person2.shape == (104, 24)
    assert (person1.sum(1) == 1).all() and (relation.sum(1) == 1).all()
    assert person2.sum() == 112 and set(person2.sum(1)) == {1.0, 2.0}
    c = ft.question_index("Colin", "aunt")
    assert {ft.names[k] for k in np.flatnonzero(person2[c])} == {"Margaret", "Jennifer"}
    frame = family_trees_frame()
    assert list(frame.columns) == ["person1", "relation", "person2"] and len(frame) == 112
    english = {p.name for p in ft.people if p.nationality == "English"}
    flags = [p in english for p in frame.person1]
    assert flags == sorted(flags, reverse=True), "English triples come first"
    assert set(frame.relation) == set(RELATIONS)
    sym = symmetry_frame()
    assert list(sym.columns) == ["x1", "x2", "x3", "x4", "x5", "x6", "target"] and len(sym) == 64


def test_held_out_masks_per_seed_and_fixed():
    rngs = [np.random.default_rng(s) for s in range(5)]
    masks = held_out_masks(104, HeldOut(4), rngs)
    assert masks.shape == (5, 104) and ((~masks).sum(1) == 4).all()
    assert len({tuple(np.flatnonzero(~m)) for m in masks}) > 1, "splits differ between seeds"
    fixed = held_out_masks(104, HeldOut(4, (1, 2, 3, 4)), [np.random.default_rng(0)] * 2)
    assert (np.flatnonzero(~fixed[0]) == [1, 2, 3, 4]).all() and (fixed[0] == fixed[1]).all()
    assert held_out_masks(64, None, rngs).all(), "a task without questions holds nothing out"


def test_an_unknown_task_is_an_error():
    with pytest.raises(
        ValueError,
        match="unknown task 'parity'; tasks: family_trees, sequence_completion, shift_register, symmetry",
    ):
        build_task({"task": "parity"})


def test_the_schema_admits_exactly_the_registered_tasks():
    """A task is added in one place, its module and the registry; the schema's list must follow."""
    from backprop86.config import schema
    from backprop86.tasks import TASKS

    experiment = schema()["$defs"]["experiment"]
    assert experiment["properties"]["task"]["enum"] == list(TASKS)


def test_a_task_is_a_module_of_the_package_and_one_lacking_part_of_the_contract_is_named(
    tmp_path, monkeypatch
):
    """A module dropped into the tasks package is a task, with no list to edit; one that
    lacks part of the contract fails in one line naming the module and the part."""
    import sys

    import backprop86.tasks as tasks

    complete = (ROOT / "src/backprop86/tasks/symmetry.py").read_text().replace("from ..", "from backprop86.")
    complete = complete.replace("from .base", "from backprop86.tasks.base")
    (tmp_path / "probe_complete.py").write_text(complete)
    (tmp_path / "probe_partial.py").write_text(complete.replace("def size(", "def _size("))
    monkeypatch.setattr(tasks, "__path__", [*tasks.__path__, str(tmp_path)])
    for name in ("probe_complete", "probe_partial"):
        monkeypatch.delitem(sys.modules, f"backprop86.tasks.{name}", raising=False)
    with pytest.raises(TypeError) as error:
        tasks._discover()
    assert str(error.value) == (
        "task module backprop86.tasks.probe_partial lacks size(settings) (its cases and units, for the memory check)"
    )
    (tmp_path / "probe_partial.py").unlink()
    monkeypatch.delitem(sys.modules, "backprop86.tasks.probe_partial", raising=False)
    found = tasks._discover()
    assert set(found) == {*tasks.TASKS, "probe_complete"}
    assert found["probe_complete"].build({"hidden": 2}).targets.shape == (64, 1)


def test_a_tasks_own_settings_enter_the_schema_for_it_alone():
    from backprop86.config import schema, task_settings

    properties = schema()["$defs"]["settings"]["properties"]
    assert properties["hidden"]["default"] == 2 and properties["steps"]["maximum"] == 64
    assert task_settings()["symmetry"] == ("hidden",)
    assert task_settings()["sequence_completion"] == ("units",)


@pytest.mark.parametrize(
    "settings",
    [
        {"task": "symmetry", "hidden": 3},
        {"task": "family_trees"},
        {"task": "shift_register", "units": 4, "steps": 5},
        {"task": "sequence_completion", "units": 6},
    ],
    ids=lambda s: s["task"],
)
def test_a_task_states_its_size_without_building_its_cases(settings):
    """What the memory check reads: the cases and the (unrolled) net's units, as built."""
    from backprop86.config import setting_defaults
    from backprop86.tasks import task_module

    settings = {**setting_defaults(settings["task"]), **settings}
    task = build_task(settings)
    assert task_module(settings["task"]).size(settings) == (
        len(task.targets),
        sum(n for _, n in task.net.groups),
    )
