"""The blocking adapter behind `pika.BlockingConnection` (the model: docs/blocking.md).

``pump`` (socket + core + lock, leader/follower reading), ``routing`` (each core event to its
waiter, publish or dispatch queue), ``slots`` (the per-channel records events are routed into),
``keeper`` (the heartbeat thread and last-resort flushes) and ``consume`` (the ``consume()``
generator of `BlockingChannel`).
"""
