"""Releasability labels: parsing, who may receive what, and the allies a message goes to."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotzone.runtime.federation import ally_subject_for, share_addresses, share_subject_for
from hotzone.share.releasability import Label, LabelError, parse_label, recipients, releasable_to

ALLIANCE = ["PL", "LT", "RO", "LV", "EE"]


def test_labels_parse_into_kind_and_nations() -> None:
    assert parse_label("NATO") == Label("NATO")
    assert parse_label("REL PL LT") == Label("REL", frozenset({"PL", "LT"}))
    assert parse_label("NATIONAL RO") == Label("NATIONAL", frozenset({"RO"}))
    assert str(parse_label("REL PL LT")) == "REL LT PL"


@pytest.mark.parametrize(
    "text", ["", "nato", "REL", "REL pl", "NATIONAL", "NATIONAL PL LT", "SECRET", "REL  PL"]
)
def test_malformed_labels_are_refused_by_name(text: str) -> None:
    with pytest.raises(LabelError, match="label"):
        parse_label(text)


@pytest.mark.parametrize(
    ("label", "nation", "expected"),
    [
        ("NATO", "RO", True),
        ("REL PL LT", "LT", True),
        ("REL PL LT", "RO", False),
        ("NATIONAL PL", "PL", True),
        ("NATIONAL PL", "LT", False),
    ],
)
def test_releasable_to(label: str, nation: str, expected: bool) -> None:
    assert releasable_to(label, nation) is expected


def test_recipients_never_include_the_origin_and_national_goes_nowhere() -> None:
    assert recipients("NATO", ALLIANCE, "PL") == ["EE", "LT", "LV", "RO"]
    assert recipients("REL PL LT", ALLIANCE, "PL") == ["LT"]
    assert recipients("NATIONAL PL", ALLIANCE, "PL") == []
    assert recipients("REL LV", ["PL", "LT"], "PL") == []


@given(
    origin=st.sampled_from(ALLIANCE),
    named=st.sets(st.sampled_from(ALLIANCE), min_size=1),
    kind=st.sampled_from(["NATO", "REL", "NATIONAL"]),
)
def test_every_recipient_is_one_the_label_releases_to(
    origin: str, named: set[str], kind: str
) -> None:
    label = {"NATO": "NATO", "REL": "REL " + " ".join(sorted(named))}.get(
        kind, f"NATIONAL {origin}"
    )
    chosen = recipients(label, ALLIANCE, origin)
    assert all(releasable_to(label, nation) for nation in chosen)
    assert set(chosen) == {n for n in ALLIANCE if n != origin and releasable_to(label, n)}


@pytest.mark.parametrize(
    ("label", "once_per_hop", "subjects", "allies"),
    [
        ("NATO", True, ["NATO"], ["EE", "LT", "LV", "RO"]),
        ("NATO", False, ["EE", "LT", "LV", "RO"], ["EE", "LT", "LV", "RO"]),
        ("REL PL LT RO", True, ["LT", "RO"], ["LT", "RO"]),
        ("REL PL LT US", True, ["LT"], ["LT"]),
        ("NATIONAL PL", True, [], []),
        ("REL PL", True, [], []),
    ],
)
def test_a_nato_item_is_addressed_once_and_a_rel_item_once_per_ally(
    label: str, once_per_hop: bool, subjects: list[str], allies: list[str]
) -> None:
    addressed, released = share_addresses(parse_label(label), "PL", ALLIANCE, once_per_hop)
    assert (addressed, released) == (subjects, allies)
    assert [share_subject_for(r, "PL", "hz.PL.trk.suwalki") for r in addressed] == [
        f"hz.share.{r}.PL.trk.suwalki" for r in subjects
    ]


def test_a_nato_item_of_a_nation_without_allies_stays_home() -> None:
    assert share_addresses(parse_label("NATO"), "PL", ["PL"]) == ([], [])


def test_an_imported_copy_lands_in_the_importing_nations_log() -> None:
    assert ally_subject_for("hz.share.NATO.PL.alert", "LT") == ("NATO", "PL", "hz.LT.ally.PL.alert")
    assert ally_subject_for("hz.share.LT.PL.trk.x", "LT") == ("LT", "PL", "hz.LT.ally.PL.trk.x")
