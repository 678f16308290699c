"""The four parts depend one way only: cycle/ is the pure domain, calendars/
uses cycle/, flows/ uses both; only cycle/store/ touches the database libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "cycle": {"prefect", "fastapi", "starlette", "httpx", "uvicorn", "icalendar", "calendars", "flows"},
    "calendars": {"prefect", "flows"},
}
STORE_ONLY = {"sqlmodel", "alembic", "sqlalchemy"}


def _runtime_nodes(node: ast.AST) -> list[ast.AST]:
    """Every node, leaving out `if TYPE_CHECKING:` blocks (type-only imports cost nothing)."""
    found: list[ast.AST] = [node]
    for child in ast.iter_child_nodes(node):
        if (
            isinstance(child, ast.If)
            and isinstance(child.test, ast.Name)
            and child.test.id == "TYPE_CHECKING"
        ):
            continue
        found.extend(_runtime_nodes(child))
    return found


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_nothing_that_points_back_up(package: str) -> None:
    """cycle/ imports no Prefect, web or feed code; calendars/ imports no Prefect or flows."""
    offenders = {
        str(path.relative_to(REPO)): sorted(_imports(path) & FORBIDDEN[package]) for path in _modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_store_touches_the_database_libraries() -> None:
    """sqlmodel, SQLAlchemy and alembic appear in cycle/ only under cycle/store/ (and settings'
    URL check)."""
    allowed = {REPO / "cycle" / "settings.py"}
    offenders = [
        str(path.relative_to(REPO))
        for path in _modules("cycle")
        if "store" not in path.relative_to(REPO / "cycle").parts
        and path not in allowed
        and _imports(path) & STORE_ONLY
    ]
    assert offenders == []
