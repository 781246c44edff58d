"""Sphinx configuration of pika's documentation: the guides (Markdown, through myst-parser) and
the API reference (autodoc from the docstrings).

Build it as CI does (warnings are errors):
``python -m sphinx -W --keep-going -b html docs docs/_build/html``; ``pip install -e .[docs]``
brings Sphinx and myst-parser. The version shown is ``pika.__version__``, its one home.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # autodoc imports this checkout, installed or not

import pika  # noqa: E402

project = 'pika'
author = 'the pika authors'
copyright = '2026, the pika authors'
release = pika.__version__
version = '.'.join(release.split('.')[:2])

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
]
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build']

# The guides are also read on the repository browser, where they link to files outside docs/
# (examples/, bench/, tests/). Those links become links to the source tree, not broken refs.
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence']

autodoc_member_order = 'bysource'
autodoc_typehints = 'signature'
autodoc_default_options = {
    'members': True,
    'show-inheritance': True,
}
# Annotations postponed (``from __future__ import annotations``) and imported only for type
# checkers stay strings; these are the ones whose short name is ambiguous (pika.spec has an
# AMQP class of the same name).
autodoc_type_aliases = {
    'Connection': 'pika.connection.Connection',
    'Channel': 'pika.channel.Channel',
}

html_theme = 'alabaster'
html_title = f'pika {release}'

_BARE_NAME = re.compile(r'(?<![\w.])(Connection|Channel)\b')


def qualify_ambiguous_names(
    app: object,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: Optional[str],
    return_annotation: Optional[str],
) -> tuple[Optional[str], Optional[str]]:
    """Annotations autodoc could not evaluate (a name imported only for type checkers, inside
    a larger expression) keep their short names; the two that pika.spec also defines get
    their full name, so each link has one target."""

    def fix(text: Optional[str]) -> Optional[str]:
        return (
            None
            if text is None
            else _BARE_NAME.sub(lambda m: f'pika.{m.group(1).lower()}.{m.group(1)}', text)
        )

    return fix(signature), fix(return_annotation)


def setup(app: Any) -> None:
    """The ``parity-allowed`` fences of api-generations.md are data read by tools/parity.py,
    shown as plain text; ambiguous short names in signatures are qualified."""
    from pygments.lexers.special import TextLexer

    app.add_lexer('parity-allowed', TextLexer)
    app.connect('autodoc-process-signature', qualify_ambiguous_names)
