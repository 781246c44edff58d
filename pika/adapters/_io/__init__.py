"""Socket-level pieces shared by the adapters: they move bytes and timers, nothing else.

``transport`` (connect, TLS, send/receive helpers and the read sizes), ``reader`` (the one socket
read loop of both pumps), ``send_queue`` (output the kernel has not taken), ``pollers`` (epoll,
poll, kqueue, select), ``timers`` (a monotonic heap), ``services`` (the ``IOServices`` protocol
fd-based loops implement) and ``backlog`` (undispatched delivery bytes and their water marks).
"""
