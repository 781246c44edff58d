"""``pika.Recovery``: the policy of automatic connection recovery (issue 15), and its schedule.

A ``Recovery`` object only holds settings and answers pure questions about them: how long to
wait before an attempt, which host to try, when to give up. It has no socket, thread or clock:
the caller passes the attempt number, the elapsed time and a random source, so every answer is
reproducible in a unit test. Hand it to ``ConnectionParameters(recovery=...)`` (or put
``recovery=true`` in a URL) to ask for recovery; without it a connection behaves as pika 1.x's.

What is recorded and replayed after a reconnect (channels, qos, confirm and tx modes,
exchanges, queues, bindings, consumers, delivery-tag offsets, publishes awaiting a confirm) is
the sans-I/O record in :mod:`pika._core.recovery`; :meth:`Recovery.new_record` builds one that
follows this policy. docs/recovery.md is the contract, and says which adapters use it yet.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional

from pika._core.recovery import (
    RecordedBinding,
    RecordedConsumer,
    RecordedEntity,
    RecordedExchange,
    RecordedQueue,
    RecoveryRecord,
)

__all__ = [
    'HOST_ORDERS',
    'Attempt',
    'RecordedBinding',
    'RecordedConsumer',
    'RecordedEntity',
    'RecordedExchange',
    'RecordedQueue',
    'Recovery',
    'backoff_delay',
    'host_order',
]

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator

    from pika._parameters import Parameters

#: The accepted values of ``Recovery(host_order=...)``.
HOST_ORDERS = ('in_order', 'shuffle')

#: ``exclude`` callable: True for a recorded entity that must not be recovered.
ExcludeFilter = Callable[[RecordedEntity], bool]

#: The names of the observation callbacks, in the order a recovery calls them.
CALLBACK_NAMES = (
    'on_connection_lost',
    'on_recovering',
    'on_queue_renamed',
    'on_recovered',
    'on_given_up',
)


class Attempt(NamedTuple):
    """One connection attempt of a recovery, as :meth:`Recovery.attempts` plans it.

    ``number`` counts attempts from 1 over the whole recovery; ``round`` counts passes over
    the host list from 1; ``host_index`` is the position in the caller's host list;
    ``delay`` is the pause, in seconds, before this attempt (the back-off delay for the first
    attempt of a round, 0 for the others: a node that refuses is followed at once by the next).
    """

    number: int
    round: int
    host_index: int
    delay: float


def backoff_delay(
    round_number: int,
    *,
    initial_delay: float,
    max_delay: float,
    multiplier: float,
    jitter: float,
    rand: Callable[[], float],
) -> float:
    """The pause before round ``round_number`` (1, 2, ...), in seconds. Pure.

    ``initial_delay * multiplier ** (round_number - 1)``, capped at ``max_delay``, then
    shortened by a random fraction of at most ``jitter``: the result is drawn uniformly from
    ``[d * (1 - jitter), d]``. Jitter only shortens, so ``max_delay`` stays a true maximum,
    and many clients that lost the same node do not come back in step.

    :param rand: a source of floats in ``[0, 1)``, e.g. ``random.Random(seed).random``
    """
    if round_number < 1:
        raise ValueError(f'round_number must be >= 1, got {round_number!r}')
    if initial_delay <= 0 or max_delay <= 0:
        return 0.0
    exponent = round_number - 1
    if multiplier > 1:
        # The exponent past which the delay is capped anyway (computed with logarithms:
        # max_delay / initial_delay itself can overflow), so that rounds in the thousands
        # do not overflow a float.
        needed = (math.log(max_delay) - math.log(initial_delay)) / math.log(multiplier)
        exponent = min(exponent, max(0, math.ceil(needed)))
    try:
        delay = min(max_delay, initial_delay * multiplier**exponent)
    except OverflowError:  # a subnormal initial_delay: the same product, in logarithms
        growth = math.log(initial_delay) + exponent * math.log(multiplier)
        delay = min(max_delay, math.exp(min(growth, math.log(max_delay))))
    return delay * (1.0 - jitter * rand())


def host_order(
    host_count: int, round_number: int, lost_host: Optional[int], order: str, rng: random.Random
) -> list[int]:
    """The host indexes to try in round ``round_number``, in order. Pure (given ``rng``).

    ``'in_order'`` walks the list as given; ``'shuffle'`` draws a new order each round. In the
    first round the host whose connection was just lost (``lost_host``) goes last: it is the
    node most likely to be down, and a refusal from it would delay the failover to a live one.
    """
    indexes = list(range(host_count))
    if order == 'shuffle':
        rng.shuffle(indexes)
    if round_number == 1 and lost_host is not None and lost_host in indexes and host_count > 1:
        indexes.remove(lost_host)
        indexes.append(lost_host)
    return indexes


def _check_number(name: str, value: object, *, low: float, allow_low: bool = True) -> float:
    """A finite real number ``>= low`` (``> low`` when ``allow_low`` is false); bools refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f'Recovery {name} must be a number, not {type(value).__name__}')
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f'Recovery {name} must be a finite number, got {value!r}')
    if number < low or (number == low and not allow_low):
        bound = f'>= {low:g}' if allow_low else f'> {low:g}'
        raise ValueError(f'Recovery {name} must be {bound}, got {value!r}')
    return number


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f'Recovery {name} must be True or False, not {type(value).__name__}')
    return value


def _check_callable(name: str, value: object) -> Optional[Callable[..., Any]]:
    if value is not None and not callable(value):
        raise TypeError(f'Recovery {name} must be callable or None, not {type(value).__name__}')
    return value


def _check_limit(name: str, value: object, integer: bool) -> Optional[float]:
    if value is None:
        return None
    if integer and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
        raise TypeError(f'Recovery {name} must be an int or None, not {type(value).__name__}')
    number = _check_number(name, value, low=0, allow_low=False)
    return int(number) if integer else number


class Recovery:
    """How a connection recovers after it was lost: back-off, limits, hosts, what to restore.

    Everything is keyword-only. The defaults are what a careful operator would choose:

    :param initial_delay: seconds before the first reconnection attempt (default 0.5: soon
        enough that a cluster failover is quick, late enough not to hammer a node that is
        restarting)
    :param max_delay: the longest pause between two rounds of attempts (default 30 s: a
        broker that is down for long gets at most two attempts a minute from each client)
    :param multiplier: growth of the pause from one round to the next (default 2.0, >= 1)
    :param jitter: the fraction (0..1) of each pause that is random (default 0.5: the pause
        is drawn from ``[d/2, d]``), so clients that lost the same node do not return in step
    :param max_attempts: give up after this many connection attempts (``None``, the
        default: no limit). One attempt is one try of one host
    :param max_duration: give up when the next attempt would start more than this many
        seconds after the loss (``None``, the default: no limit). The defaults never give up,
        as the Java and .NET clients do: a service outlives a broker's maintenance window
        without a restart; set a limit when the application has a better fallback
    :param host_order: ``'in_order'`` (default) tries the hosts in the order given, as a
        primary/secondary list expects; ``'shuffle'`` spreads clients over a cluster. Either
        way the node just lost is tried last in the first round
    :param recover_topology: redeclare the exchanges, queues and bindings declared through
        this connection (default True)
    :param recover_consumers: restart the consumers with their tags (default True)
    :param exclude: ``exclude(entity) -> bool``; an entity for which it returns True is not
        recovered. ``entity`` is a :class:`RecordedExchange`, :class:`RecordedQueue`,
        :class:`RecordedBinding` or :class:`RecordedConsumer` (``entity.kind`` tells which).
        Excluding a queue does not exclude its bindings or consumers, except those of a
        server-named queue, which cannot be found again without it. A filter that raises is
        logged and the entity recovered
    :param on_connection_lost: ``(connection, error)``: the connection was lost and recovery
        starts (not for a close by the application or a refused first connect)
    :param on_recovering: ``(connection, attempt_number, parameters)``: before each attempt;
        ``parameters`` is the host's ``ConnectionParameters`` (its repr holds no secret)
    :param on_queue_renamed: ``(connection, old_name, new_name)``: a server-named queue came
        back under a new name, which its bindings and consumers now use
    :param on_recovered: ``(connection, parameters)``: connection, channels and topology are
        back; ``parameters`` names the node reached
    :param on_given_up: ``(connection, cause)``: a limit was reached; the connection is then
        closed and its normal close callback runs with the same ``cause``

    Callbacks run on the connection's own thread or loop, never inside the decoder; an
    exception from one is logged and does not stop the recovery. A ``Recovery`` is
    immutable and may be shared by many connections; :meth:`replace` derives a changed copy.
    """

    __slots__ = (
        '_exclude',
        '_host_order',
        '_initial_delay',
        '_jitter',
        '_max_attempts',
        '_max_delay',
        '_max_duration',
        '_multiplier',
        '_on_connection_lost',
        '_on_given_up',
        '_on_queue_renamed',
        '_on_recovered',
        '_on_recovering',
        '_recover_consumers',
        '_recover_topology',
    )

    DEFAULT_INITIAL_DELAY = 0.5
    DEFAULT_MAX_DELAY = 30.0
    DEFAULT_MULTIPLIER = 2.0
    DEFAULT_JITTER = 0.5

    def __init__(
        self,
        *,
        initial_delay: float = DEFAULT_INITIAL_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
        multiplier: float = DEFAULT_MULTIPLIER,
        jitter: float = DEFAULT_JITTER,
        max_attempts: Optional[int] = None,
        max_duration: Optional[float] = None,
        host_order: str = 'in_order',
        recover_topology: bool = True,
        recover_consumers: bool = True,
        exclude: Optional[ExcludeFilter] = None,
        on_connection_lost: Optional[Callable[[Any, BaseException], None]] = None,
        on_recovering: Optional[Callable[[Any, int, Parameters], None]] = None,
        on_queue_renamed: Optional[Callable[[Any, str, str], None]] = None,
        on_recovered: Optional[Callable[[Any, Parameters], None]] = None,
        on_given_up: Optional[Callable[[Any, BaseException], None]] = None,
    ) -> None:
        self._initial_delay = _check_number('initial_delay', initial_delay, low=0)
        self._max_delay = _check_number('max_delay', max_delay, low=0)
        if self._max_delay < self._initial_delay:
            raise ValueError(
                f'Recovery max_delay ({max_delay!r}) must be >= initial_delay ({initial_delay!r})'
            )
        self._multiplier = _check_number('multiplier', multiplier, low=1)
        self._jitter = _check_number('jitter', jitter, low=0)
        if self._jitter > 1:
            raise ValueError(f'Recovery jitter must be between 0 and 1, got {jitter!r}')
        self._max_attempts = _check_limit('max_attempts', max_attempts, integer=True)
        self._max_duration = _check_limit('max_duration', max_duration, integer=False)
        if host_order not in HOST_ORDERS:
            raise ValueError(
                f'Recovery host_order must be one of {HOST_ORDERS}, got {host_order!r}'
            )
        self._host_order = host_order
        self._recover_topology = _check_flag('recover_topology', recover_topology)
        self._recover_consumers = _check_flag('recover_consumers', recover_consumers)
        self._exclude = _check_callable('exclude', exclude)
        self._on_connection_lost = _check_callable('on_connection_lost', on_connection_lost)
        self._on_recovering = _check_callable('on_recovering', on_recovering)
        self._on_queue_renamed = _check_callable('on_queue_renamed', on_queue_renamed)
        self._on_recovered = _check_callable('on_recovered', on_recovered)
        self._on_given_up = _check_callable('on_given_up', on_given_up)

    # -- read-only settings ---------------------------------------------------------

    @property
    def initial_delay(self) -> float:
        """Seconds before the first attempt (before jitter)."""
        return self._initial_delay

    @property
    def max_delay(self) -> float:
        """The longest pause between two rounds."""
        return self._max_delay

    @property
    def multiplier(self) -> float:
        """Growth factor of the pause from round to round."""
        return self._multiplier

    @property
    def jitter(self) -> float:
        """Random fraction (0..1) of each pause."""
        return self._jitter

    @property
    def max_attempts(self) -> Optional[int]:
        """Attempts after which recovery gives up, or ``None``."""
        return None if self._max_attempts is None else int(self._max_attempts)

    @property
    def max_duration(self) -> Optional[float]:
        """Seconds after the loss past which no attempt starts, or ``None``."""
        return self._max_duration

    @property
    def host_order(self) -> str:
        """``'in_order'`` or ``'shuffle'``."""
        return self._host_order

    @property
    def recover_topology(self) -> bool:
        """Whether exchanges, queues and bindings are redeclared."""
        return self._recover_topology

    @property
    def recover_consumers(self) -> bool:
        """Whether consumers are restarted."""
        return self._recover_consumers

    @property
    def exclude(self) -> Optional[ExcludeFilter]:
        """The filter of entities not to recover, or ``None``."""
        return self._exclude

    @property
    def on_connection_lost(self) -> Optional[Callable[[Any, BaseException], None]]:
        """Callback ``(connection, error)``, or ``None``."""
        return self._on_connection_lost

    @property
    def on_recovering(self) -> Optional[Callable[[Any, int, Parameters], None]]:
        """Callback ``(connection, attempt_number, parameters)``, or ``None``."""
        return self._on_recovering

    @property
    def on_queue_renamed(self) -> Optional[Callable[[Any, str, str], None]]:
        """Callback ``(connection, old_name, new_name)``, or ``None``."""
        return self._on_queue_renamed

    @property
    def on_recovered(self) -> Optional[Callable[[Any, Parameters], None]]:
        """Callback ``(connection, parameters)``, or ``None``."""
        return self._on_recovered

    @property
    def on_given_up(self) -> Optional[Callable[[Any, BaseException], None]]:
        """Callback ``(connection, cause)``, or ``None``."""
        return self._on_given_up

    # -- derived objects ------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """Every setting as ``Recovery(**settings)`` takes it."""
        return {name[1:]: getattr(self, name[1:]) for name in self.__slots__}

    def replace(self, **changes: Any) -> Recovery:
        """A copy with ``changes`` applied (validated as in the constructor)."""
        return Recovery(**{**self.settings(), **changes})

    def new_record(self) -> RecoveryRecord:
        """A fresh sans-I/O record that recovers what this policy asks for."""
        return RecoveryRecord(
            recover_topology=self._recover_topology,
            recover_consumers=self._recover_consumers,
            exclude=self._exclude,
        )

    # -- the schedule (pure) --------------------------------------------------------

    def delay(self, round_number: int, rand: Callable[[], float]) -> float:
        """Seconds to wait before round ``round_number``; see :func:`backoff_delay`."""
        return backoff_delay(
            round_number,
            initial_delay=self._initial_delay,
            max_delay=self._max_delay,
            multiplier=self._multiplier,
            jitter=self._jitter,
            rand=rand,
        )

    def attempts(
        self, host_count: int, lost_host: Optional[int], rng: random.Random
    ) -> Iterator[Attempt]:
        """The endless sequence of attempts over ``host_count`` hosts; stop with :meth:`gives_up`.

        Each round tries every host once (see :func:`host_order`); the first attempt of a
        round waits the back-off delay, the others none.
        """
        if host_count < 1:
            raise ValueError(f'host_count must be >= 1, got {host_count!r}')
        number = 0
        round_number = 0
        while True:
            round_number += 1
            pause = self.delay(round_number, rng.random)
            for position, index in enumerate(
                host_order(host_count, round_number, lost_host, self._host_order, rng)
            ):
                number += 1
                yield Attempt(number, round_number, index, pause if position == 0 else 0.0)

    def gives_up(self, attempt: Attempt, elapsed: float) -> Optional[str]:
        """Why ``attempt`` must not be made ``elapsed`` seconds after the loss, or ``None``.

        Checked before the attempt's delay: an attempt that would start after
        ``max_duration`` is not waited for.
        """
        if self._max_attempts is not None and attempt.number > self._max_attempts:
            return f'gave up after {self.max_attempts} connection attempts'
        if self._max_duration is not None and elapsed + attempt.delay > self._max_duration:
            return f'gave up: no connection within {self._max_duration:g} s'
        return None

    # -- comparison and display -----------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Recovery):
            return self.settings() == other.settings()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.settings().values()))

    def __repr__(self) -> str:
        # Settings and the names of the hooks that are set; never the hooks themselves
        # (a closure's repr can show anything it captured).
        hooks = [name for name in (*CALLBACK_NAMES, 'exclude') if getattr(self, name) is not None]
        limits = f'max_attempts={self.max_attempts} max_duration={self._max_duration}'
        return (
            f'<Recovery delay={self._initial_delay:g}..{self._max_delay:g}s '
            f'x{self._multiplier:g} jitter={self._jitter:g} {limits} '
            f'host_order={self._host_order} topology={self._recover_topology} '
            f'consumers={self._recover_consumers} hooks={hooks}>'
        )
