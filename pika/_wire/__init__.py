"""The AMQP 0-9-1 wire format: pure functions and constants, no state machines.

``constants`` is the one home of the numbers of the wire format (frame types, frame-end octet,
sizes, header layouts, the method ids the fast paths compare against). The package imports
nothing itself, so any module (``pika.spec`` and ``pika.data`` included) may import one of its
modules without a cycle.
"""
