"""The two isomorphic family trees of Rumelhart, Hinton & Williams (1986), Figs. 2-4.

Only the facts in the figure are written down here: who married whom, whose children are whose,
and who is male. Every relation (father ... niece) is derived from those facts, so the 104
(person, relation) cases and their 112 answers follow from the tree rather than from a table
that could hold a typo.

The network sees a person and a relation (one-hot each, 24 + 12 input units) and must switch on
every person who completes the triple (24 logistic output units; 8 cases have two answers, e.g.
Colin's aunts are Jennifer and Margaret).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from chainrule.data.dataset import Dataset, check_float_dtype
from chainrule.errors import DataError

RELATIONS = (
    "father", "mother", "husband", "wife", "son", "daughter",
    "uncle", "aunt", "brother", "sister", "nephew", "niece",
)  # fmt: skip

# Listed so that the i-th English person corresponds to the i-th Italian person.
ENGLISH = (
    "Christopher", "Penelope", "Andrew", "Christine", "Arthur", "Margaret",
    "Victoria", "James", "Jennifer", "Charles", "Colin", "Charlotte",
)  # fmt: skip
ITALIAN = (
    "Roberto", "Maria", "Pierro", "Francesca", "Emilio", "Gina",
    "Lucia", "Marco", "Angela", "Tomaso", "Alfonso", "Sophia",
)  # fmt: skip
PEOPLE = ENGLISH + ITALIAN

# (husband, wife)
MARRIAGES = (
    ("Christopher", "Penelope"), ("Andrew", "Christine"), ("Arthur", "Margaret"),
    ("James", "Victoria"), ("Charles", "Jennifer"),
    ("Roberto", "Maria"), ("Pierro", "Francesca"), ("Emilio", "Gina"),
    ("Marco", "Lucia"), ("Tomaso", "Angela"),
)  # fmt: skip

# (father, mother) -> children
CHILDREN = {
    ("Christopher", "Penelope"): ("Arthur", "Victoria"),
    ("Andrew", "Christine"): ("James", "Jennifer"),
    ("James", "Victoria"): ("Colin", "Charlotte"),
    ("Roberto", "Maria"): ("Emilio", "Lucia"),
    ("Pierro", "Francesca"): ("Marco", "Angela"),
    ("Marco", "Lucia"): ("Alfonso", "Sophia"),
}

MALES = frozenset(
    {
        "Christopher", "Andrew", "Arthur", "James", "Charles", "Colin",
        "Roberto", "Pierro", "Emilio", "Marco", "Tomaso", "Alfonso",
    }
)  # fmt: skip

Triple = tuple[str, str, str]


class FamilyTree:
    """Marriages, parentage and sex, and the kinship relations they imply."""

    def __init__(
        self,
        marriages: Iterable[tuple[str, str]] = MARRIAGES,
        children: dict[tuple[str, str], Iterable[str]] = CHILDREN,
        males: Iterable[str] = MALES,
    ) -> None:
        self.males = frozenset(males)
        self.spouse: dict[str, str] = {}
        for husband, wife in marriages:
            self.spouse[husband] = wife
            self.spouse[wife] = husband
        self.parents: dict[str, tuple[str, str]] = {}
        for couple, kids in children.items():
            for kid in kids:
                self.parents[kid] = couple

    def generation(self, person: str) -> int:
        """1 for the oldest couples, 2 for their children and those who married them, 3 below."""
        if person in self.parents:
            return 1 + self.generation(self.parents[person][0])
        spouse = self.spouse.get(person)
        if spouse is not None and spouse in self.parents:  # married into the family
            return self.generation(spouse)
        return 1

    def is_male(self, person: str) -> bool:
        """Whether ``person`` is male (the figure's only other fact about a person)."""
        return person in self.males

    def children_of(self, person: str) -> set[str]:
        """The people whose father or mother is ``person``."""
        return {kid for kid, couple in self.parents.items() if person in couple}

    def siblings_of(self, person: str) -> set[str]:
        """The other children of ``person``'s parents."""
        if person not in self.parents:
            return set()
        return {kid for kid, couple in self.parents.items() if couple == self.parents[person]} - {
            person
        }

    def uncles_and_aunts_of(self, person: str) -> set[str]:
        """Parents' siblings and those siblings' spouses."""
        found: set[str] = set()
        for parent in self.parents.get(person, ()):
            for sibling in self.siblings_of(parent):
                found.add(sibling)
                if sibling in self.spouse:
                    found.add(self.spouse[sibling])
        return found

    def nephews_and_nieces_of(self, person: str, people: Iterable[str]) -> set[str]:
        """The inverse of uncle/aunt: those of ``people`` whose uncle or aunt is ``person``."""
        return {other for other in people if person in self.uncles_and_aunts_of(other)}

    def related(self, person: str, relation: str, people: Iterable[str] = PEOPLE) -> set[str]:
        """Everyone who stands in ``relation`` to ``person`` ("Colin's aunt" -> {Jennifer, ...})."""
        people = tuple(people)
        male, female = self.is_male, lambda p: not self.is_male(p)
        spouse = {self.spouse[person]} if person in self.spouse else set()
        parents = set(self.parents.get(person, ()))
        by_relation = {
            "father": (parents, male),
            "mother": (parents, female),
            "husband": (spouse, male),
            "wife": (spouse, female),
            "son": (self.children_of(person), male),
            "daughter": (self.children_of(person), female),
            "uncle": (self.uncles_and_aunts_of(person), male),
            "aunt": (self.uncles_and_aunts_of(person), female),
            "brother": (self.siblings_of(person), male),
            "sister": (self.siblings_of(person), female),
            "nephew": (self.nephews_and_nieces_of(person, people), male),
            "niece": (self.nephews_and_nieces_of(person, people), female),
        }
        if relation not in by_relation:
            raise DataError(f"family trees: unknown relation {relation!r}")
        candidates, keep = by_relation[relation]
        return {p for p in candidates if keep(p)}


def family_tree_triples(tree: FamilyTree | None = None) -> list[Triple]:
    """Every (person, relation, answer) triple the two trees imply: 112 of them."""
    tree = tree or FamilyTree()
    triples = []
    for person in PEOPLE:
        for relation in RELATIONS:
            for answer in sorted(tree.related(person, relation), key=PEOPLE.index):
                triples.append((person, relation, answer))
    return triples


def family_trees(dtype: Any = np.float32) -> Dataset:
    """The 104 (person, relation) cases as a multilabel dataset.

    ``X`` is one-hot person (24 columns) then one-hot relation (12 columns); ``y`` switches on
    every correct answer among the 24 people. ``meta["cases"][i]`` is case i's (person,
    relation) and ``meta["people"]``, ``meta["relations"]`` name the units, so a program can print
    "Colin's aunt = Jennifer, Margaret" with :func:`describe_case`. ``dtype`` must be a
    floating-point type.
    """
    check_float_dtype("family_trees", dtype)
    answers: dict[tuple[str, str], list[str]] = {}
    for person, relation, answer in family_tree_triples():
        answers.setdefault((person, relation), []).append(answer)
    cases = list(answers)  # insertion order: by person, then by relation
    n_people, n_relations = len(PEOPLE), len(RELATIONS)
    X = np.zeros((len(cases), n_people + n_relations), dtype=dtype)
    y = np.zeros((len(cases), n_people), dtype=dtype)
    for i, (person, relation) in enumerate(cases):
        X[i, PEOPLE.index(person)] = 1
        X[i, n_people + RELATIONS.index(relation)] = 1
        for answer in answers[(person, relation)]:
            y[i, PEOPLE.index(answer)] = 1
    return Dataset(
        X=X,
        y=y,
        task="multilabel",
        name="family-trees",
        n_classes=n_people,
        feature_names=[f"person={p}" for p in PEOPLE] + [f"relation={r}" for r in RELATIONS],
        class_names=list(PEOPLE),
        meta={
            "people": list(PEOPLE),
            "relations": list(RELATIONS),
            "cases": [[p, r] for p, r in cases],
            "family": {p: ("english" if p in ENGLISH else "italian") for p in PEOPLE},
        },
    )


def holdout_cases(ds: Dataset, k: int = 4, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Hold out ``k`` cases chosen at random (seeded): the paper's 100 train / 4 test split.

    Returns ``(train, test)``; ``meta["indices"]`` of each holds its rows in ``ds`` and
    ``meta["cases"]`` its (person, relation) pairs.
    """
    if isinstance(k, bool) or not 0 <= k <= len(ds):
        raise DataError(f"holdout_cases: k must be in 0..{len(ds)}, got {k!r}")
    order = np.random.default_rng(seed).permutation(len(ds))
    return ds.subset(np.sort(order[k:])), ds.subset(np.sort(order[:k]))


def holdout_folds(ds: Dataset, k: int = 4, seed: int = 0) -> list[tuple[Dataset, Dataset]]:
    """Every case held out exactly once: ``len(ds) // k`` splits of ``k`` cases (26 of 4).

    The cases are shuffled (seeded) and cut into consecutive groups; the last group takes the
    remainder when ``k`` does not divide ``len(ds)``. Returns ``[(train, test), ...]`` with
    ``meta["indices"]`` as in :func:`holdout_cases`.
    """
    if isinstance(k, bool) or not 1 <= k <= len(ds):
        raise DataError(f"holdout_folds: k must be in 1..{len(ds)}, got {k!r}")
    order = np.random.default_rng(seed).permutation(len(ds))
    n_folds = len(ds) // k
    folds = []
    for fold in range(n_folds):
        held = order[fold * k : (fold + 1) * k if fold < n_folds - 1 else len(ds)]
        rest = np.setdiff1d(order, held)
        folds.append((ds.subset(rest), ds.subset(np.sort(held))))
    return folds


def describe_case(ds: Dataset, i: int, output: np.ndarray | None = None, threshold=0.5) -> str:
    """Case ``i`` in words: "Colin's aunt = Jennifer, Margaret".

    With ``output`` (the network's 24 activations for that case) it names the people whose
    unit is above ``threshold`` instead of the true answers.
    """
    person, relation = ds.meta["cases"][i]
    units = ds.y[i] if output is None else np.asarray(output)
    names = [ds.meta["people"][j] for j in np.flatnonzero(units > threshold)]
    return f"{person}'s {relation} = {', '.join(names) if names else '(nobody)'}"
