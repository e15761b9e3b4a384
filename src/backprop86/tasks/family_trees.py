"""The two family trees (Figs. 2-4): who is whose relative, learned by a five-layer net.

The facts are derived here from who married whom and whose children are
whose, not typed in. A question is (person 1, relationship); its answers are
every person 2 who is person 1's relative of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..net import Architecture, OneHot
from .base import HeldOut, SettingError, Task

ITERATIVE = False
SETTINGS = {
    "held_out": {
        "description": "questions held out, as [person, relationship] pairs, or null to draw them per seed",
        "type": ["array", "null"],
        "maxItems": 103,
        "items": {
            "type": "array",
            "prefixItems": [{"type": "string", "maxLength": 64}, {"type": "string", "maxLength": 64}],
            "minItems": 2,
            "maxItems": 2,
        },
        "default": None,
    },
    "n_held_out": {
        "description": "how many questions each seed holds out when drawn (0 to 103 of the 104)",
        "type": "integer",
        "minimum": 0,
        "maximum": 103,
        "default": 4,
    },
    "held_out_from": {
        "description": (
            "draw the held-out questions from all 104 (all) or from those with one answer (single_answer)"
        ),
        "enum": ["all", "single_answer"],
        "default": "all",
    },
}

RELATIONS = tuple("father mother husband wife son daughter uncle aunt brother sister nephew niece".split())

# One tree, in the order of the paper's Fig. 2: (name, sex); the Italian tree
# has the same shape, person for person.
ENGLISH = tuple(
    tuple(person.split(":"))
    for person in """Christopher:m Penelope:f Andrew:m Christine:f Margaret:f Arthur:m
    Victoria:f James:m Jennifer:f Charles:m Colin:m Charlotte:f""".split()
)
ITALIAN = tuple("Roberto Maria Pierro Francesca Gina Emilio Lucia Marco Angela Tomaso Alfonso Sophia".split())
# Marriages (husband, wife) and children (father, mother, child), by English name.
MARRIAGES = tuple(
    tuple(couple.split("="))
    for couple in "Christopher=Penelope Andrew=Christine Arthur=Margaret James=Victoria Charles=Jennifer".split()
)
CHILDREN = tuple(
    tuple(line.replace(" -> ", " ").split())
    for line in """Christopher Penelope -> Arthur
    Christopher Penelope -> Victoria
    Andrew Christine -> James
    Andrew Christine -> Jennifer
    James Victoria -> Colin
    James Victoria -> Charlotte""".splitlines()
)


@dataclass(frozen=True)
class Person:
    name: str
    sex: str  # "m" or "f"
    nationality: str  # "English" or "Italian"
    counterpart: str  # the person in the same place of the other tree


class FamilyTrees:
    """The two isomorphic family trees and every relationship derived from them."""

    def __init__(self) -> None:
        english = [n for n, _ in ENGLISH]
        to_it = dict(zip(english, ITALIAN))
        self.people: list[Person] = [Person(n, s, "English", to_it[n]) for n, s in ENGLISH] + [
            Person(to_it[n], s, "Italian", n) for n, s in ENGLISH
        ]
        self.by_name = {p.name: p for p in self.people}
        self.spouse: dict[str, str] = {}
        self.parents: dict[str, tuple[str, str]] = {}
        for rename in (lambda n: n, to_it.__getitem__):
            for h, w in MARRIAGES:
                self.spouse[rename(h)] = rename(w)
                self.spouse[rename(w)] = rename(h)
            for f, m, c in CHILDREN:
                self.parents[rename(c)] = (rename(f), rename(m))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.people]

    def children(self, name: str) -> list[str]:
        return [c for c, ps in self.parents.items() if name in ps]

    def siblings(self, name: str) -> list[str]:
        ps = self.parents.get(name)
        return [c for c, q in self.parents.items() if ps is not None and q == ps and c != name]

    def spouses(self, name: str) -> list[str]:
        return [self.spouse[name]] if name in self.spouse else []

    def related(self, name: str, relation: str) -> set[str]:
        """Everyone who is ``name``'s ``relation`` (``name`` has-relation them)."""
        parents = list(self.parents.get(name, ()))
        # uncles and aunts: a parent's siblings and their spouses
        piblings = {s for p in parents for s in self.siblings(p)}
        piblings |= {sp for s in piblings for sp in self.spouses(s)}
        # nephews and nieces: children of one's own and one's spouse's siblings
        sibs = set(self.siblings(name)) | {s for sp in self.spouses(name) for s in self.siblings(sp)}
        nibling = {c for s in sibs for c in self.children(s)}
        pools = {
            "father": parents,
            "mother": parents,
            "husband": self.spouses(name),
            "wife": self.spouses(name),
            "son": self.children(name),
            "daughter": self.children(name),
            "uncle": piblings,
            "aunt": piblings,
            "brother": self.siblings(name),
            "sister": self.siblings(name),
            "nephew": nibling,
            "niece": nibling,
        }
        male = relation in ("father", "husband", "son", "uncle", "brother", "nephew")
        return {n for n in pools[relation] if (self.by_name[n].sex == "m") == male}

    @cached_property
    def questions(self) -> list[tuple[str, str]]:
        """Every (person 1, relationship) with at least one answer, English first."""
        return [(p, r) for p in self.names for r in RELATIONS if self.related(p, r)]

    @cached_property
    def triples(self) -> list[tuple[str, str, str]]:
        """Every fact ``(person 1, relationship, person 2)`` in a stable order."""
        order = {n: k for k, n in enumerate(self.names)}
        return [
            (p, r, q) for p, r in self.questions for q in sorted(self.related(p, r), key=order.__getitem__)
        ]

    def encode(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One-hot ``person1 (104, 24)``, ``relation (104, 12)``, multi-hot ``person2 (104, 24)``."""
        idx = {n: k for k, n in enumerate(self.names)}
        n_q = len(self.questions)
        person1 = np.zeros((n_q, len(self.people)))
        relation = np.zeros((n_q, len(RELATIONS)))
        person2 = np.zeros((n_q, len(self.people)))
        for c, (p, r) in enumerate(self.questions):
            person1[c, idx[p]] = 1.0
            relation[c, RELATIONS.index(r)] = 1.0
            for q in self.related(p, r):
                person2[c, idx[q]] = 1.0
        return person1, relation, person2

    def question_index(self, person: str, relation: str) -> int:
        try:
            return self.questions.index((person, relation))
        except ValueError:
            raise KeyError(f"no question ({person}, {relation}): {person} has no {relation}") from None


def family_tree_net(
    n_people: int = 24,
    n_relations: int = 12,
    person_code: int = 6,
    relation_code: int = 6,
    central: int = 12,
    answer_code: int = 6,
) -> Architecture:
    """The five-layer net of Fig. 3: person 1 and the relationship, each coded by
    its own group, meet in the central layer, which answers through a code of person 2."""
    return Architecture(
        groups=(
            ("person1", n_people),
            ("relation", n_relations),
            ("person_code", person_code),
            ("relation_code", relation_code),
            ("central", central),
            ("answer_code", answer_code),
            ("person2", n_people),
        ),
        inputs=("person1", "relation"),
        connections=(
            ("person1", "person_code"),
            ("relation", "relation_code"),
            ("person_code", "central"),
            ("relation_code", "central"),
            ("central", "answer_code"),
            ("answer_code", "person2"),
        ),
        outputs=(("person2", 0, n_people),),
    )


def build(settings: dict) -> Task:
    """Every question of both trees; each seed holds ``n_held_out`` out (or the
    ``held_out`` ones), drawn from every question or from those with one answer."""
    ft = FamilyTrees()
    person1, relation, person2 = ft.encode()
    fixed = None
    if settings["held_out"] is not None:
        fixed = tuple(ft.question_index(person, rel) for person, rel in settings["held_out"])
    pool = None
    if settings["held_out_from"] == "single_answer":
        pool = tuple(int(c) for c in np.flatnonzero(person2.sum(axis=1) == 1))
    inputs = {"person1": OneHot.of(person1), "relation": OneHot.of(relation)}
    held_out = HeldOut(settings["n_held_out"], fixed, pool)
    return Task(family_tree_net(), inputs, person2, ft.questions, held_out)


def frame(settings: dict | None = None) -> pd.DataFrame:
    """``person1,relation,person2``, one row per fact (112)."""
    return pd.DataFrame(FamilyTrees().triples, columns=["person1", "relation", "person2"])


def size(settings: dict) -> tuple[int, int]:
    """The training cases (every question) and the net's units (for the memory a block of seeds needs)."""
    return len(FamilyTrees().questions), sum(n for _, n in family_tree_net().groups)


def check(settings: dict) -> None:
    """The held-out questions are questions of the trees, and some are left to train on."""
    ft = FamilyTrees()
    for k, (person, rel) in enumerate(settings["held_out"] or []):
        if (person, rel) not in ft.questions:
            raise SettingError(
                ("held_out", k),
                f"[{person}, {rel}] is not one of the {len(ft.questions)} questions "
                "(a person of the trees and a relationship they have)",
            )
    pool = (
        len(ft.questions)
        if settings["held_out_from"] == "all"
        else sum(len(ft.related(*q)) == 1 for q in ft.questions)
    )
    if settings["n_held_out"] >= pool:
        raise SettingError(
            "n_held_out",
            f"must be below {pool}, the questions held_out_from {settings['held_out_from']} draws from",
        )
