"""bind()'s per-call-shape plans give exactly what the reference binder gives, errors included."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pika._api import args as args_


def _callback(*_a: Any) -> None:
    pass


_VALUES = st.sampled_from([None, 0, 1, True, False, 'q', '', _callback, {'x': 1}])
_NAMES = sorted(
    {name for sig in args_.MODERN.values() for name, _ in sig}
    | {name for sig in args_.LEGACY.values() for name, _ in sig}
    | set(args_.ALIASES)
    | {'nowait', 'bogus'}
)


def _outcome(method: str, args: tuple[Any, ...], kwargs: dict[str, Any], binder: Any) -> Any:
    try:
        return ('ok', binder(method, args, kwargs))
    except TypeError as exc:
        return ('TypeError', str(exc))


@settings(max_examples=400)
@given(
    method=st.sampled_from(sorted(args_.MODERN)),
    args=st.lists(_VALUES, max_size=9),
    names=st.lists(st.sampled_from(_NAMES), max_size=4, unique=True),
    data=st.data(),
)
def test_bind_matches_reference(method: str, args: list[Any], names: list[str], data: Any) -> None:
    kwargs = {name: data.draw(_VALUES) for name in names}
    expected = _outcome(method, tuple(args), kwargs, args_._bind_slow)
    assert _outcome(method, tuple(args), kwargs, args_.bind) == expected
    assert _outcome(method, tuple(args), kwargs, args_.bind) == expected  # from the plan


def test_plan_is_reused_and_results_are_independent() -> None:
    first = args_.bind('queue_declare', ('q',), {'passive': True, 'callback': _callback})
    second = args_.bind('queue_declare', ('r',), {'passive': False, 'callback': None})
    first['queue'] = 'changed'
    assert second['queue'] == 'r' and second['passive'] is False and second['callback'] is None
    assert second['durable'] is False and second['nowait'] is False
    third = args_.bind('queue_declare', ('s',), {'passive': True, 'callback': _callback})
    assert third['queue'] == 's' and third['arguments'] is None
