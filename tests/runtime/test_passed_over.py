"""A stage's service passes over, undecoded, the messages its stage never takes, read by
their type tag: exactly the types `accepts` would refuse once decoded."""

from __future__ import annotations

from typing import get_args

from bench.federation import SECTORS, bench_scenario, synthetic_backlog

from hotzone.runtime.services import message_tag, passed_over_tags
from hotzone.runtime.stages import build_stages
from hotzone.types import AnyMessage, from_json, to_json


def test_the_tag_is_read_from_the_encoded_message() -> None:
    detection = synthetic_backlog(SECTORS[:1], 1, 1)[0][1][0]
    assert message_tag(to_json(detection)) == b"detection"
    assert message_tag(b"not json") is None
    assert message_tag(b'[{"type":"detection"}]') is None  # a batch is decoded as before
    assert message_tag(b'{"type":"detection') is None  # cut short: decoded, dead-lettered


def test_passed_over_are_exactly_the_types_the_stage_refuses() -> None:
    stages = build_stages(bench_scenario(), nation="PL").stages
    detection = from_json(to_json(synthetic_backlog(SECTORS[:1], 1, 1)[0][1][0]))
    for stage in stages:
        passed_over = passed_over_tags(stage)
        for kind in get_args(AnyMessage):
            tag = str(kind.__struct_config__.tag).encode()
            assert (tag in passed_over) == (not issubclass(kind, stage.input_types)), stage.name
        assert (b"detection" in passed_over) == (not stage.accepts(detection))
    by_name = {stage.name: passed_over_tags(stage) for stage in stages}
    assert b"detection" in by_name["assess"] and b"track" not in by_name["assess"]
    assert b"detection" not in by_name["fusion"]
