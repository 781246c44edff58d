"""TLS is verify-by-default with TLS 1.2 as the minimum in every context pika builds itself:
the ``amqps://`` URL without options and the URL's ``ssl_options`` dict. A context the caller
passes in ``SSLOptions`` is used as given (pika never loosens it)."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

import pika
from pika import _parameters
from pika._url_parameters import ssl_options_from_dict

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def assert_strict(context: ssl.SSLContext) -> None:
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.minimum_version != ssl.TLSVersion.MINIMUM_SUPPORTED


def test_amqps_url_without_options_verifies_with_tls_1_2_minimum() -> None:
    params = pika.URLParameters('amqps://user:pw@broker.example/%2F')
    assert params.ssl_options is not None
    assert params.port == 5671
    assert_strict(params.ssl_options.context)


def test_ssl_options_dict_verifies_even_when_asked_not_to(tmp_path: Path) -> None:
    # pika 1.x ignores verify_mode/cert_reqs in the URL dict; so do we: it stays CERT_REQUIRED.
    options = {'ca_path': str(tmp_path), 'verify_mode': ssl.CERT_NONE, 'cert_reqs': 0}
    assert_strict(ssl_options_from_dict(options).context)
    url = f'amqps://u:p@h/%2F?ssl_options={{"ca_path":"{tmp_path}","server_hostname":"h"}}'
    params = pika.URLParameters(url)
    assert params.ssl_options is not None
    assert params.ssl_options.server_hostname == 'h'
    assert_strict(params.ssl_options.context)


def _loose_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
    """What ``ssl.create_default_context`` gives on Python 3.9 with a permissive OpenSSL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return context


def test_default_context_raises_a_lower_minimum_to_tls_1_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_parameters.ssl, 'create_default_context', _loose_default_context)
    assert_strict(_parameters.default_ssl_context())
    params = pika.URLParameters('amqps://broker.example/')
    assert params.ssl_options is not None
    assert_strict(params.ssl_options.context)


def test_default_context_keeps_a_stricter_system_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    def tls13_only(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        return context

    monkeypatch.setattr(_parameters.ssl, 'create_default_context', tls13_only)
    assert _parameters.default_ssl_context().minimum_version == ssl.TLSVersion.TLSv1_3


def test_a_callers_context_is_used_as_given() -> None:
    context = ssl.create_default_context()
    # Python 3.9's default context allows TLS < 1.2: what matters is that pika neither
    # tightens nor loosens the caller's settings.
    before = (context.verify_mode, context.check_hostname, context.minimum_version)
    options = pika.SSLOptions(context, 'broker.example')
    params = pika.ConnectionParameters(ssl_options=options)
    assert params.ssl_options is options
    assert params.ssl_options.context is context
    assert (context.verify_mode, context.check_hostname, context.minimum_version) == before
    assert context.verify_mode == ssl.CERT_REQUIRED
