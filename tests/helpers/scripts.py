"""The repository's scripts (``tools/``, ``bench/``: folders of programs, not packages)
imported as modules, so their tests can call their functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ['ROOT', 'load_script']

#: the checkout's root folder
ROOT = Path(__file__).resolve().parents[2]


def load_script(path: Path, name: str) -> ModuleType:
    """Import the Python file ``path`` as the module ``name`` and return it.

    The module is put in ``sys.modules`` before it runs: a dataclass looks its module up
    there while the class is built.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f'cannot import {path}'
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
