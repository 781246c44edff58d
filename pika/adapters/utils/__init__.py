"""Helpers shared by the connection adapters, under pika 1.x's public names: `connection_workflow`
(the multi-host connection workflow, `AMQPConnectionWorkflow`, and its exceptions), and for
authors of adapters on their own loop `nbio_interface`, `io_services_utils` and
`selector_ioloop_adapter`."""
