"""The deployments as an operator meets them in the Prefect UI: each with a title and a
description of its own, every parameter of the Custom run form explained, and the
deliverables listed in the recording form."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.utilities.callables import parameter_schema

from cycle.errors import InputError
from flows.catalog import DEPLOYMENTS, LEGACY_DEPLOYMENT
from flows.choices import form_schema
from flows.deployments import FLOWS, build_deployments
from flows.recording import chosen_key


@pytest.fixture(scope="module")
def deployments() -> dict[str, Any]:
    return {d.flow_name: d for d in build_deployments()}


def test_every_flow_has_a_deployment_with_a_title_of_its_own(deployments: dict[str, Any]) -> None:
    """Eleven deployments, eleven titles, none the old shared name."""
    titles = [d.name for d in deployments.values()]
    assert sorted(deployments) == sorted(FLOWS) == sorted(DEPLOYMENTS)
    assert len(set(titles)) == len(titles) == 11
    assert LEGACY_DEPLOYMENT not in titles
    assert all(d.name == DEPLOYMENTS[name].title for name, d in deployments.items())


def test_every_deployment_says_what_it_does_and_when(deployments: dict[str, Any]) -> None:
    descriptions = [d.description for d in deployments.values()]
    assert all(len(text) > 60 for text in descriptions)
    assert len(set(descriptions)) == len(descriptions)
    assert "07:00 America/Mexico_City" in deployments["check-overdue"].description


@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_every_parameter_of_the_form_has_a_description(flow: str) -> None:
    """The Custom run form shows each parameter's description as its help text."""
    properties = parameter_schema(FLOWS[flow]).properties
    assert properties, flow
    missing = [name for name, field in properties.items() if not field.get("description")]
    assert missing == []


class TestTheDeliverableList:
    """The *Record a deliverable* form's list, built from the flow's own schema."""

    @pytest.fixture
    def base(self) -> dict[str, Any]:
        return parameter_schema(FLOWS["record-deliverable"]).model_dump()

    def test_the_list_comes_first_and_a_second_pass_changes_nothing(self, base: dict[str, Any]) -> None:
        labels = ["sst-army/agenda-3 · Agenda … · due 2026-03-02 · pending"]
        once = form_schema(base, 9, labels)
        assert once["properties"]["deliverable"]["enum"] == labels
        order = sorted(once["properties"], key=lambda n: once["properties"][n]["position"])
        assert order == ["deliverable", "action", "by", "key", "note", "cycle"]
        assert form_schema(once, 9, labels) == once
        assert "enum" not in form_schema(once, 9, [])["properties"]["deliverable"]  # a text box again

    @pytest.mark.parametrize(
        ("deliverable", "key", "chosen"),
        [
            ("sst-army/agenda-3 · Agenda … · due 2026-03-02 · pending", None, "sst-army/agenda-3"),
            (None, " c9/deliverable/-/read-ahead ", "c9/deliverable/-/read-ahead"),
            ("", "sst-army/agenda-3", "sst-army/agenda-3"),
        ],
    )
    def test_the_key_is_the_picked_ones_or_the_typed_one(
        self, deliverable: str | None, key: str | None, chosen: str
    ) -> None:
        assert chosen_key(deliverable, key) == chosen

    @pytest.mark.parametrize(("deliverable", "key"), [(None, None), ("  ", ""), ("a · b", "a")])
    def test_neither_or_both_is_one_line(self, deliverable: str | None, key: str | None) -> None:
        with pytest.raises(
            InputError, match=r"^deliverable: pick one from the list, or give its key, not both$"
        ):
            chosen_key(deliverable, key)


def test_no_field_of_any_form_is_a_choice_of_types(deployments: dict[str, Any]) -> None:
    """An optional parameter is a plain field of its type (empty for the default): the form
    never shows a "str / None" switch."""
    chosen = [
        (name, field)
        for d in deployments.values()
        for name, field in d._parameter_openapi_schema.properties.items()
        if "anyOf" in field or field.get("type") == "null"
    ]
    assert chosen == []
    cycle = deployments["check-overdue"]._parameter_openapi_schema.properties["cycle"]
    assert (cycle["type"], "default" in cycle) == ("integer", False)  # left out: the flow's None
