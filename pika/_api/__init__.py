"""What the two channel front-ends (`pika.channel.Channel`, `BlockingChannel`) share.

- :mod:`pika._api.args`: the binder that reads a call in the pika 0.9 or the pika 1.x form, and
  the one argument policy (which types each argument accepts, what a wrong one raises);
- :mod:`pika._api.methods`: the one channel-method table: per AMQP method its name, argument
  checks and spec builder, so a front-end only sends the built method and handles the reply.

docs/api-generations.md documents both.
"""
