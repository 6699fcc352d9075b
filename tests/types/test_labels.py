"""Releasability labels as a lattice: parsing, text, recipients and the meet."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotzone.types.labels import (
    NATO,
    Label,
    LabelConflict,
    LabelError,
    LabelTable,
    meet_all,
    most_restrictive,
)
from hotzone.types.messages import RELEASABILITY_PATTERN

NATIONS = ["PL", "LT", "LV", "EE", "RO", "DE", "USA"]
ALLIANCE = set(NATIONS)


@st.composite
def label_texts(draw: st.DrawFn) -> str:
    """Label text as a person might write it: REL lists in any order, with repeats."""
    kind = draw(st.sampled_from(["NATO", "REL", "NATIONAL"]))
    if kind == "NATO":
        return "NATO"
    if kind == "NATIONAL":
        return f"NATIONAL {draw(st.sampled_from(NATIONS))}"
    codes = draw(st.lists(st.sampled_from(NATIONS), min_size=1, max_size=6))
    return "REL " + " ".join(codes)


labels = label_texts().map(Label.parse)


def recipients(label: Label) -> set[str]:
    return label.recipients(ALLIANCE)


def meet_or_none(first: Label, second: Label) -> Label | None:
    try:
        return first.meet(second)
    except LabelConflict:
        return None


# --------------------------------------------------------------------------- text


@given(label_texts())
def test_parse_normalises_and_the_text_round_trips(text: str) -> None:
    label = Label.parse(text)
    assert re.match(RELEASABILITY_PATTERN, label.text)
    assert Label.parse(label.text) == label
    assert Label.parse(label.text).text == label.text  # canonical text is a fixed point
    if label.kind == "REL":
        assert label.text == "REL " + " ".join(sorted(set(text.split()[1:])))
        assert label.nations == set(text.split()[1:])


@pytest.mark.parametrize("text", ["NATO", "REL LT PL", "NATIONAL PL", "REL EE LT PL RO USA"])
def test_canonical_texts_are_kept_as_written(text: str) -> None:
    assert Label.parse(text).text == text
    assert str(Label.parse(text)) == text


def test_order_and_repeats_do_not_matter() -> None:
    assert Label.parse("REL PL LT PL") == Label.parse("REL LT PL")
    assert Label.parse("REL PL LT PL").text == "REL LT PL"


@pytest.mark.parametrize(
    "text",
    ["", "nato", "REL", "REL pl", "NATIONAL", "NATIONAL PL LT", "SECRET", "REL  PL", " NATO"],
)
def test_malformed_labels_are_refused_with_the_label_named(text: str) -> None:
    with pytest.raises(LabelError, match="label"):
        Label.parse(text)


def test_a_label_is_text() -> None:
    with pytest.raises(LabelError, match="text"):
        Label.parse(None)  # type: ignore[arg-type]


def test_constructed_labels_are_checked() -> None:
    with pytest.raises(LabelError):
        Label("NATIONAL", frozenset({"PL", "LT"}))
    with pytest.raises(LabelError):
        Label("REL")
    with pytest.raises(LabelError):
        Label("REL", frozenset({"pl"}))


# --------------------------------------------------------------------------- release


def test_recipients_and_releasable_to() -> None:
    assert recipients(NATO) == ALLIANCE
    assert recipients(Label.parse("REL PL LT")) == {"PL", "LT"}
    assert recipients(Label.parse("NATIONAL PL")) == {"PL"}
    assert Label.parse("REL PL LT").releasable_to("LT")
    assert not Label.parse("REL PL LT").releasable_to("RO")
    with pytest.raises(LabelError, match="nation code"):
        NATO.releasable_to("poland")


def test_rel_with_one_nation_releases_like_national() -> None:
    rel, national = Label.parse("REL PL"), Label.parse("NATIONAL PL")
    assert recipients(rel) == recipients(national) == {"PL"}
    assert rel.within(national) and national.within(rel)
    assert rel.meet(national) == national.meet(rel) == national


# --------------------------------------------------------------------------- lattice


@given(labels, labels)
def test_meet_is_commutative(first: Label, second: Label) -> None:
    assert meet_or_none(first, second) == meet_or_none(second, first)


@given(labels, labels, labels)
def test_meet_is_associative(first: Label, second: Label, third: Label) -> None:
    left = meet_or_none(first, second)
    right = meet_or_none(second, third)
    grouped_left = None if left is None else meet_or_none(left, third)
    grouped_right = None if right is None else meet_or_none(first, right)
    assert grouped_left == grouped_right


@given(labels)
def test_meet_is_idempotent_and_nato_is_its_identity(label: Label) -> None:
    assert label.meet(label) == label
    assert label.meet(NATO) == NATO.meet(label) == label


@given(labels, labels)
def test_the_meet_releases_to_exactly_the_nations_both_release_to(
    first: Label, second: Label
) -> None:
    met = meet_or_none(first, second)
    common = recipients(first) & recipients(second)
    assert first.compatible(second) == bool(common)
    if met is None:
        assert not common
        return
    assert recipients(met) == common
    assert met.within(first) and met.within(second)
    assert met.kind != "NATIONAL" or len(common) == 1


@given(st.lists(labels, min_size=1, max_size=6), labels)
def test_most_restrictive_never_releases_to_a_nation_an_input_withholds_from(
    inputs: list[Label], default: Label
) -> None:
    result = Label.parse(most_restrictive([label.text for label in inputs], default.text))
    common = recipients(default).intersection(*(recipients(label) for label in inputs))
    if common:
        assert recipients(result) == common
        assert result == meet_all(inputs, default)
    else:
        # No nation may receive them all: the first label's own national label.
        first = next(label for label in [default, *inputs] if not label.is_nato)
        assert result.kind == "NATIONAL"
        assert result.nations <= first.nations


def test_most_restrictive_examples() -> None:
    assert most_restrictive([], "REL PL LT") == "REL LT PL"
    assert most_restrictive(["NATO", "REL PL LT"], "NATO") == "REL LT PL"
    assert most_restrictive(["REL PL LT", "NATIONAL PL"], "NATO") == "NATIONAL PL"
    assert most_restrictive(["REL PL LT", "REL LT RO"]) == "REL LT"
    # Disjoint: the originator's own national label, the caller's first nation.
    assert most_restrictive(["NATIONAL LT"], "NATIONAL PL") == "NATIONAL PL"
    assert most_restrictive(["NATIONAL LT", "NATIONAL RO"], "NATO") == "NATIONAL LT"
    assert most_restrictive(["NATIONAL DE"], "REL PL LT") == "NATIONAL PL"
    with pytest.raises(LabelError):
        most_restrictive(["SECRET"], "NATO")


def test_disjoint_labels_have_no_meet() -> None:
    with pytest.raises(LabelConflict, match="no nation in common"):
        Label.parse("NATIONAL PL").meet(Label.parse("NATIONAL LT"))


@given(st.lists(labels, min_size=1, max_size=8))
def test_the_label_table_agrees_with_the_labels(inputs: list[Label]) -> None:
    table = LabelTable()
    ids = [table.intern(label.text) for label in inputs]
    assert [table.label(i) for i in ids] == inputs
    assert table.intern(inputs[0]) == ids[0]
    named = [label.nations for label in inputs if not label.is_nato]
    assert table.conflicting == bool(named and not frozenset.intersection(*named))
    for first, second in itertools.pairwise(ids):
        expected = meet_or_none(table.label(first), table.label(second))
        assert table.compatible(first, second) == (expected is not None)
        if expected is not None:
            assert table.label(table.meet(first, second)) == expected
        assert table.meet(-1, second) == second
