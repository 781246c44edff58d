"""The pure parts of ``pika check``: URL masking, report lines, certificate descriptions,
TLS hints, and the parser's help."""

from __future__ import annotations

import ssl

import pytest

from pika.cli import build_parser
from pika.cli.check import (
    EXIT_CODES,
    STEPS,
    describe_certificate,
    format_line,
    mask_url,
    tls_hint,
)


@pytest.mark.parametrize(
    ('url', 'masked'),
    [
        ('amqp://guest:guest@127.0.0.1:5672/%2F', 'amqp://guest:***@127.0.0.1:5672/%2F'),
        ('amqps://app:s%40cr%3At@rabbit/prod', 'amqps://app:***@rabbit/prod'),
        ('amqp://app:p:a@ss@host/', 'amqp://app:***@host/'),
        ('amqp://onlyuser@host/', 'amqp://onlyuser@host/'),
        ('amqp://host:5672/', 'amqp://host:5672/'),
        ('amqp://app:x@host/?heartbeat=10', 'amqp://app:***@host/?heartbeat=10'),
    ],
)
def test_mask_url_hides_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_url_hides_a_query_holding_a_key_password() -> None:
    url = "amqps://app:x@host/?ssl_options=%7B'password'%3A+'keysecret'%7D"
    masked = mask_url(url)
    assert 'keysecret' not in masked
    assert masked == 'amqps://app:***@host/?***'


@pytest.mark.parametrize(
    ('url', 'masked'),
    [
        ('amqp://u:s/ecret@h/', 'amqp://***'),
        ('amqp://u:s?ecret@h/', 'amqp://***'),
        ('amqps://u:s#ecret@h/', 'amqps://***'),
        ('amqp://host/?x=a@b', 'amqp://***'),  # an '@' it cannot place: masked, to be safe
    ],
)
def test_mask_url_hides_a_password_holding_an_unencoded_delimiter(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_url_of_an_unparsable_url_shows_nothing() -> None:
    assert mask_url('amqp://user:secret@[::1/') == '***'


def test_format_line_columns() -> None:
    assert format_line(True, 'DNS', 'h -> 1.2.3.4') == 'ok   DNS              h -> 1.2.3.4'
    assert format_line(False, 'TCP connect', 'refused') == 'FAIL TCP connect      refused'


def test_describe_certificate() -> None:
    cert = {
        'subject': ((('commonName', 'localhost'),),),
        'issuer': ((('organizationName', 'Acme'),), (('commonName', 'Acme CA'),)),
        'notAfter': 'Dec  8 12:00:00 2026 GMT',
    }
    assert describe_certificate(cert) == (
        'subject localhost, issuer Acme CA, expires Dec  8 12:00:00 2026 GMT'
    )
    no_cn = {'subject': ((('organizationName', 'Acme'),),), 'issuer': ()}
    assert describe_certificate(no_cn) == 'subject organizationName=Acme, issuer ?, expires ?'
    assert describe_certificate({}) == 'no certificate details (not verified)'


def test_tls_hints_name_the_fix() -> None:
    untrusted = ssl.SSLCertVerificationError(1, 'verify failed')
    untrusted.verify_message = 'self-signed certificate in certificate chain'
    assert 'pin the CA' in tls_hint(untrusted, 5671)
    mismatch = ssl.SSLCertVerificationError(1, 'verify failed')
    mismatch.verify_message = "Hostname mismatch, certificate is not valid for 'x'"
    assert 'server_hostname' in tls_hint(mismatch, 5671)
    plain = ssl.SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number')
    assert 'is port 5672 a TLS listener' in tls_hint(plain, 5672)


def test_every_step_has_its_own_exit_code() -> None:
    names = [name for name, _ in STEPS]
    assert sorted(EXIT_CODES) == sorted(names)
    codes = list(EXIT_CODES.values())
    assert len(set(codes)) == len(codes)
    assert 0 not in codes
    assert 2 not in codes  # argparse's usage error


def test_help_of_check_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(['check', '--help'])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert 'examples:' in text
    assert 'pika check amqp://' in text
    assert 'guest:guest' not in text


def test_top_level_help_lists_check(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(['--help'])
    text = capsys.readouterr().out
    assert 'check' in text
    assert 'examples:' in text


def test_check_without_a_url_checks_pika_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other commands' connect errors say "run `pika check`": it must check the same
    broker they used, $PIKA_URL, not the local default."""
    seen: list[str] = []
    monkeypatch.setattr('pika.cli.check.run_check', lambda url, timeout: seen.append(url) or 0)
    parser = build_parser()
    monkeypatch.setenv('PIKA_URL', 'amqp://app:s3cret@rabbit.example/prod')
    args = parser.parse_args(['check'])
    assert args.run(args) == 0
    monkeypatch.delenv('PIKA_URL')
    args = parser.parse_args(['check'])
    args.run(args)
    args = parser.parse_args(['check', 'amqp://other/'])
    args.run(args)
    assert seen == [
        'amqp://app:s3cret@rabbit.example/prod',
        'amqp://guest:guest@127.0.0.1:5672/%2F',
        'amqp://other/',
    ]
