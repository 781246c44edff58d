"""URL parse errors carry nothing of the URL: no chained exception either.

``urllib`` quotes the text it took for the port, and ``ast.literal_eval`` keeps the source of
a bad literal; with a password holding an unencoded ``/`` (or a key password in
``ssl_options``) that text is part of a secret. ``raise ... from None`` only hides such an
original error: it stays on ``__context__``, where a debugger or a crash reporter finds it. So
the errors ``URLParameters`` raises have no ``__context__`` and no ``__cause__``.
"""

from __future__ import annotations

import traceback
import urllib.parse

import pytest

import pika

PASSWORD = 'Pa55w0rdStart/rest-Zq81xkT4ee'
PARTS = ('Pa55w0rdStart', 'Zq81xkT4ee')
KEY_PASSWORD = 'KeyPa55-9f8e7d6c5b'


def _quoted(text: str) -> str:
    return urllib.parse.quote(text, safe='')


BAD_URLS = [
    # The unencoded '/' ends the netloc: urllib takes 'Pa55w0rdStart' for the port.
    f'amqp://user:{PASSWORD}@broker.example:5672/%2F',
    f'amqp://user:{_quoted(PASSWORD)}@broker.example:notaport/%2F',
    f'amqp://u:p@h/%2F?ssl_options={_quoted("{" + repr("password") + ": " + repr(KEY_PASSWORD))}',
    f'amqp://u:p@h/%2F?ssl_options={_quoted(repr({"password": KEY_PASSWORD}))}',
    f'amqp://u:p@h/%2F?client_properties={_quoted("[" + repr(KEY_PASSWORD))}',
    f'amqp://u:p@h/%2F?heartbeat={KEY_PASSWORD}',
    f'amqp://u:p@h/%2F?{KEY_PASSWORD}=1',
]


@pytest.mark.parametrize('url', BAD_URLS)
def test_url_errors_have_no_chained_original(url: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        pika.URLParameters(url)
    error = info.value
    assert error.__context__ is None
    assert error.__cause__ is None
    text = ''.join(traceback.format_exception(type(error), error, error.__traceback__))
    for part in PARTS:
        assert part not in text + repr(error.args)


@pytest.mark.parametrize('url', BAD_URLS[2:5])
def test_a_bad_literal_does_not_quote_itself(url: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        pika.URLParameters(url)
    assert KEY_PASSWORD not in repr(info.value) + str(info.value)
