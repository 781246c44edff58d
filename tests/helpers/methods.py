"""Instances of every AMQP method, for tests that walk the whole method table."""

from __future__ import annotations

import inspect
from typing import Any

from pika import spec


def sample(cls: type) -> Any:
    """An instance of a spec method with every required argument filled in."""
    kwargs: dict[str, Any] = {}
    for name, param in inspect.signature(cls).parameters.items():
        if param.default not in (None, param.empty):  # None: required by the spec
            continue
        annotation = str(param.annotation)
        if 'dict' in annotation:
            kwargs[name] = {}
        elif 'int' in annotation:
            kwargs[name] = 1
        elif 'bytes' in annotation:
            kwargs[name] = b'x'
        else:
            kwargs[name] = 'x'
    return cls(**kwargs)


ALL_METHODS = sorted(spec.methods.values(), key=lambda c: c.INDEX)
