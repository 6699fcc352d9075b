"""Every package says what it offers: a curated ``__all__`` whose names all resolve."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import hotzone

PACKAGES = sorted(
    ["hotzone"]
    + [
        info.name
        for info in pkgutil.walk_packages(hotzone.__path__, prefix="hotzone.")
        # protoc writes the SAPIENT bindings; they are generated, not curated.
        if info.ispkg and ".proto" not in info.name
    ]
)


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_package_has_a_curated_all_that_resolves(package_name: str) -> None:
    package = importlib.import_module(package_name)
    names = getattr(package, "__all__", None)
    assert isinstance(names, list), f"{package_name} has no __all__"
    assert len(names) == len(set(names)), f"{package_name}.__all__ repeats a name"
    private = [name for name in names if name.startswith("_") and not name.endswith("__")]
    assert not private, f"{package_name} exports private names {private}"
    for name in names:
        # A listed name is either defined in the package or one of its submodules.
        if not hasattr(package, name):
            importlib.import_module(f"{package_name}.{name}")


@pytest.mark.parametrize("package_name", PACKAGES)
def test_a_package_that_lists_modules_lists_all_its_public_ones(package_name: str) -> None:
    """A package that names its modules (rather than re-exporting classes) names them all."""
    package = importlib.import_module(package_name)
    folder = Path(package.__file__ or "").parent
    modules = {
        info.name for info in pkgutil.iter_modules([str(folder)]) if not info.name.startswith("_")
    }
    listed_modules = {name for name in package.__all__ if name in modules}
    if listed_modules and not (set(package.__all__) - modules):
        assert listed_modules == modules, f"{package_name}: {sorted(modules - listed_modules)}"
