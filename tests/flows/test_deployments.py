"""The deployments as an operator meets them in the Prefect UI: each with a title and a
description of its own, and every parameter of the Custom run form explained."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.utilities.callables import parameter_schema

from flows.catalog import DEPLOYMENTS, LEGACY_DEPLOYMENT
from flows.deployments import FLOWS, build_deployments


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
