"""The blocking adapter behind `pika.BlockingConnection` (the model: docs/blocking.md).

``channel`` (`BlockingChannel`, public as `pika.adapters.blocking_connection.BlockingChannel`),
``consume`` (its ``consume()`` generator), ``pump`` (socket + core + lock, leader/follower
reading), ``routing`` (each core event to its waiter, publish or dispatch queue), ``slots`` (the
per-channel records events are routed into) and ``keeper`` (the heartbeat thread and
last-resort flushes).
"""
