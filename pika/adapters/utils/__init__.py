"""Helpers shared by the connection adapters; `connection_workflow` is pika 1.x's public home of
the multi-host connection workflow (`AMQPConnectionWorkflow`) and its exceptions."""
