"""pika 1.x's diagnostic helper (`pika.diagnostic_utils`): log the exceptions that escape a
function, with the caller's stack, before they propagate."""

from __future__ import annotations

import functools
import traceback
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    import logging

__all__ = ['create_log_exception_decorator']

F = TypeVar('F', bound=Callable[..., Any])


def create_log_exception_decorator(logger: logging.Logger) -> Callable[[F], F]:
    """Return a decorator that logs (at ERROR, with the traceback) any exception raised by the
    decorated function, together with the stack of its caller, then re-raises it."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except BaseException:
                caller = ''.join(traceback.format_stack()[:-1])
                logger.exception('%s raised; called from:\n%s', func.__qualname__, caller)
                raise

        return wrapper  # type: ignore[return-value]

    return decorator
