"""The documentation and packaging tools: what they read, and the site's coverage of the API.

``tools/run_doc_examples.py`` must find every ```python block (indented ones too) and tell a
program from a block marked ``# fragment``; ``tools/check_package.py`` must call public exactly
the modules users import. Every public module has a page in the API reference (docs/api).
No broker needed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.helpers.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> Any:
    return load_script(ROOT / 'tools' / f'{name}.py', name)


run_doc_examples = _load('run_doc_examples')
check_package = _load('check_package')

SAMPLE = """# Title

```python
import pika
print(pika.__version__)
```

1. In a list:

   ```python
   x = 1
   assert x == 1
   ```

```python
# fragment: a signature, not a program
Adapter(parameters=None)
```

```sh
echo not python
```
"""


def test_examples_are_found_with_their_line_and_dedented(tmp_path: Path) -> None:
    page = tmp_path / 'page.md'
    page.write_text(SAMPLE, encoding='utf-8')
    examples = run_doc_examples.examples_in(page)
    assert [e.line for e in examples] == [3, 10, 15]
    assert examples[0].source == 'import pika\nprint(pika.__version__)\n'
    assert examples[1].source == 'x = 1\nassert x == 1\n'


def test_only_marked_blocks_are_fragments(tmp_path: Path) -> None:
    page = tmp_path / 'page.md'
    page.write_text(SAMPLE, encoding='utf-8')
    reasons = [e.fragment_reason for e in run_doc_examples.examples_in(page)]
    assert reasons == [None, None, 'a signature, not a program']


def test_docstring_literal_blocks_are_examples_too(tmp_path: Path) -> None:
    module = tmp_path / 'mod.py'
    module.write_text(
        '"""A module.\n\nUsage::\n\n    import pika\n    print(1)\n\nAfter.\n"""\n\n\n'
        'def f() -> None:\n    """No example here."""\n',
        encoding='utf-8',
    )
    [example] = run_doc_examples.docstring_examples(module)
    assert example.line == 5
    assert example.source == 'import pika\nprint(1)\n'
    assert example.fragment_reason is None


def test_a_failing_example_is_reported(tmp_path: Path) -> None:
    page = ROOT / 'docs' / 'fake.md'  # only its name is used
    bad = run_doc_examples.Example(page, 1, 'raise SystemExit(3)\n')
    good = run_doc_examples.Example(page, 2, "print('fine')\n")
    assert run_doc_examples.run_example(bad, tmp_path)[0] is False
    passed, output, _seconds = run_doc_examples.run_example(good, tmp_path)
    assert passed and output == 'fine\n'


def test_public_modules_leave_out_private_paths_and_main() -> None:
    files = [
        'pika/__init__.py',
        'pika/__main__.py',
        'pika/py.typed',
        'pika/channel.py',
        'pika/_core/connection.py',
        'pika/adapters/__init__.py',
        'pika/adapters/_io/transport.py',
        'pika/adapters/utils/nbio_interface.py',
    ]
    assert check_package.public_modules(files) == [
        'pika',
        'pika.adapters',
        'pika.adapters.utils.nbio_interface',
        'pika.channel',
    ]


def test_every_public_module_has_an_api_page() -> None:
    documented = set()
    for page in (ROOT / 'docs' / 'api').rglob('*.rst'):
        documented.update(re.findall(r'automodule:: ([\w.]+)', page.read_text(encoding='utf-8')))
    public = check_package.public_modules(check_package.tracked_package_files())
    assert 'pika.adapters.blocking_connection' in public
    missing = [name for name in public if name not in documented]
    assert missing == [], f'public modules without an automodule in docs/api: {missing}'
