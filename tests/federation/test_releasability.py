"""Releasability labels: parsing, who may receive what, and the allies a message goes to."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
