"""The family trees of RHW 1986 (Figs. 2-4): relations derived from marriages, parentage and sex."""

from collections import Counter

import numpy as np
import pytest

from chainrule import data
from chainrule.data.family_trees import ENGLISH, ITALIAN, FamilyTree
from chainrule.errors import DataError


@pytest.fixture(scope="module")
def triples():
    return data.family_tree_triples()


@pytest.fixture(scope="module")
def ds():
    return data.family_trees()


def answers(triples, person, relation):
    return {a for p, r, a in triples if (p, r) == (person, relation)}


def test_counts_104_cases_112_triples_8_with_two_answers(triples):
    per_case = Counter((p, r) for p, r, _ in triples)
    assert len(triples) == 112
    assert len(set(triples)) == 112
    assert len(per_case) == 104
    assert sorted(Counter(per_case.values()).items()) == [(1, 96), (2, 8)]


def test_24_people_12_relations_in_the_papers_order():
    assert len(data.PEOPLE) == 24 and len(set(data.PEOPLE)) == 24
    assert data.RELATIONS == (
        "father", "mother", "husband", "wife", "son", "daughter",
        "uncle", "aunt", "brother", "sister", "nephew", "niece",
    )  # fmt: skip


@pytest.mark.parametrize(
    "person, relation, expected",
    [
        ("Colin", "aunt", {"Jennifer", "Margaret"}),
        ("Charlotte", "uncle", {"Arthur", "Charles"}),
        ("Colin", "father", {"James"}),
        ("Colin", "mother", {"Victoria"}),
        ("Colin", "sister", {"Charlotte"}),
        ("Charlotte", "brother", {"Colin"}),
        ("Victoria", "husband", {"James"}),
        ("James", "wife", {"Victoria"}),
        ("Penelope", "son", {"Arthur"}),
        ("Penelope", "daughter", {"Victoria"}),
        ("Arthur", "nephew", {"Colin"}),
        ("Margaret", "niece", {"Charlotte"}),
        ("Jennifer", "nephew", {"Colin"}),
        ("Sophia", "aunt", {"Gina", "Angela"}),
        ("Alfonso", "uncle", {"Emilio", "Tomaso"}),
        ("Tomaso", "niece", {"Sophia"}),
        ("Christopher", "father", set()),
        ("Colin", "son", set()),
        ("Charles", "brother", set()),
    ],
)
def test_spot_checks(triples, person, relation, expected):
    assert answers(triples, person, relation) == expected


def test_the_two_families_are_isomorphic(triples):
    to_italian = dict(zip(ENGLISH, ITALIAN))
    english = {t for t in triples if t[0] in to_italian}
    italian = {t for t in triples if t[0] not in to_italian}
    assert len(english) == len(italian) == 56
    mapped = {(to_italian[p], r, to_italian[a]) for p, r, a in english}
    assert mapped == italian
    # and nobody is related across the families
    assert all((p in to_italian) == (a in to_italian) for p, r, a in triples)


INVERSE = {  # relation -> the relation back, as (if the person is male, if female)
    "father": ("son", "daughter"), "mother": ("son", "daughter"),
    "son": ("father", "mother"), "daughter": ("father", "mother"),
    "husband": ("husband", "wife"), "wife": ("husband", "wife"),
    "brother": ("brother", "sister"), "sister": ("brother", "sister"),
    "uncle": ("nephew", "niece"), "aunt": ("nephew", "niece"),
    "nephew": ("uncle", "aunt"), "niece": ("uncle", "aunt"),
}  # fmt: skip
MALE_RELATIONS = {"father", "husband", "son", "uncle", "brother", "nephew"}


def test_relations_respect_sex_and_have_inverses(triples):
    tree = FamilyTree()
    for person, relation, answer in triples:
        assert tree.is_male(answer) == (relation in MALE_RELATIONS), (person, relation, answer)
        back = INVERSE[relation][0 if tree.is_male(person) else 1]
        assert (answer, back, person) in triples, (person, relation, answer)


def test_unknown_relation_is_an_error():
    with pytest.raises(DataError, match="cousin"):
        FamilyTree().related("Colin", "cousin")


def test_dataset_encoding(ds, triples):
    assert ds.X.shape == (104, 36) and ds.y.shape == (104, 24)
    assert ds.task == "multilabel" and ds.n_outputs == 24
    np.testing.assert_array_equal(ds.X[:, :24].sum(axis=1), 1)
    np.testing.assert_array_equal(ds.X[:, 24:].sum(axis=1), 1)
    assert ds.y.sum() == 112
    rebuilt = set()
    for i in range(len(ds)):
        person = data.PEOPLE[int(np.argmax(ds.X[i, :24]))]
        relation = data.RELATIONS[int(np.argmax(ds.X[i, 24:]))]
        assert ds.meta["cases"][i] == [person, relation]
        rebuilt |= {(person, relation, data.PEOPLE[j]) for j in np.flatnonzero(ds.y[i])}
    assert rebuilt == set(triples)


def test_describe_case(ds):
    i = ds.meta["cases"].index(["Colin", "aunt"])
    assert data.describe_case(ds, i) == "Colin's aunt = Margaret, Jennifer"
    output = np.zeros(24)
    output[data.PEOPLE.index("Jennifer")] = 0.9
    assert data.describe_case(ds, i, output) == "Colin's aunt = Jennifer"
    assert data.describe_case(ds, i, np.zeros(24)) == "Colin's aunt = (nobody)"


def test_holdout_cases_is_seeded_and_disjoint(ds):
    train, test = data.holdout_cases(ds, k=4, seed=3)
    assert (len(train), len(test)) == (100, 4)
    assert set(train.meta["indices"]).isdisjoint(test.meta["indices"])
    assert sorted(train.meta["indices"] + test.meta["indices"]) == list(range(104))
    np.testing.assert_array_equal(test.X, ds.X[test.meta["indices"]])
    assert test.meta["cases"] == [ds.meta["cases"][i] for i in test.meta["indices"]]
    again = data.holdout_cases(ds, k=4, seed=3)[1]
    assert again.meta["indices"] == test.meta["indices"]
    others = {tuple(data.holdout_cases(ds, k=4, seed=s)[1].meta["indices"]) for s in range(5)}
    assert len(others) > 1
    with pytest.raises(DataError):
        data.holdout_cases(ds, k=105)


def test_load_accepts_both_spellings():
    a, b = data.load("family-trees"), data.load("family_trees")
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)


def test_generations_follow_parentage_and_marriage():
    tree = FamilyTree()
    by_generation = {g: {p for p in data.PEOPLE if tree.generation(p) == g} for g in (1, 2, 3)}
    assert by_generation[1] >= {"Christopher", "Penelope", "Andrew", "Christine", "Roberto"}
    assert by_generation[3] == {"Colin", "Charlotte", "Alfonso", "Sophia"}
    assert tree.generation("Margaret") == tree.generation("Arthur") == 2  # married in
    assert tree.generation("Charles") == 2 and tree.generation("Tomaso") == 2
    assert [len(by_generation[g]) for g in (1, 2, 3)] == [8, 12, 4]
    # a parent is always one generation above each child
    for kid, (father, mother) in tree.parents.items():
        assert tree.generation(father) == tree.generation(mother) == tree.generation(kid) - 1


def test_holdout_folds_hold_every_case_out_exactly_once(ds):
    folds = data.holdout_folds(ds, k=4, seed=0)
    assert len(folds) == 26
    held = [i for _, test in folds for i in test.meta["indices"]]
    assert sorted(held) == list(range(104))
    for train, test in folds:
        assert (len(train), len(test)) == (100, 4)
        assert set(train.meta["indices"]).isdisjoint(test.meta["indices"])
    other = data.holdout_folds(ds, k=4, seed=1)
    assert other[0][1].meta["indices"] != folds[0][1].meta["indices"]
    uneven = data.holdout_folds(ds, k=10)
    assert [len(t) for _, t in uneven] == [10] * 9 + [14]
    with pytest.raises(DataError, match="k must be in 1..104"):
        data.holdout_folds(ds, k=0)
