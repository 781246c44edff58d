"""PlainCredentials / ExternalCredentials: SASL responses, erasing, equality, safe repr."""

from __future__ import annotations

import pytest

from pika import credentials, spec


def _start(mechanisms: str | bytes) -> spec.Connection.Start:
    return spec.Connection.Start(server_properties={}, mechanisms=mechanisms)


class TestPlainCredentials:
    def test_type_and_attributes(self) -> None:
        creds = credentials.PlainCredentials('alice', 's3cret')
        assert creds.TYPE == 'PLAIN'
        assert creds.username == 'alice'
        assert creds.password == 's3cret'
        assert creds.erase_on_connect is False

    @pytest.mark.parametrize('mechanisms', ['PLAIN', 'AMQPLAIN PLAIN', b'PLAIN EXTERNAL'])
    def test_response_for_offered_plain(self, mechanisms: str | bytes) -> None:
        creds = credentials.PlainCredentials('alice', 's3cret')
        assert creds.response_for(_start(mechanisms)) == ('PLAIN', b'\0alice\0s3cret')

    def test_response_is_utf8(self) -> None:
        creds = credentials.PlainCredentials('jürgen', 'pässwörd')
        mechanism, response = creds.response_for(_start('PLAIN'))
        assert mechanism == 'PLAIN'
        assert response == b'\0' + 'jürgen'.encode() + b'\0' + 'pässwörd'.encode()

    def test_bytes_credentials_pass_through(self) -> None:
        creds = credentials.PlainCredentials(b'u', b'p')
        assert creds.response_for(_start('PLAIN')) == ('PLAIN', b'\0u\0p')

    @pytest.mark.parametrize('mechanisms', ['AMQPLAIN', 'EXTERNAL', '', 'PLAINX', b'XPLAIN'])
    def test_response_for_without_plain(self, mechanisms: str | bytes) -> None:
        creds = credentials.PlainCredentials('alice', 's3cret')
        assert creds.response_for(_start(mechanisms)) == (None, None)

    def test_erase_when_requested(self) -> None:
        creds = credentials.PlainCredentials('alice', 's3cret', erase_on_connect=True)
        creds.erase_credentials()
        assert creds.username is None
        assert creds.password is None
        assert creds.response_for(_start('PLAIN')) == (None, None)

    def test_erase_is_noop_by_default(self) -> None:
        creds = credentials.PlainCredentials('alice', 's3cret')
        creds.erase_credentials()
        assert (creds.username, creds.password) == ('alice', 's3cret')

    def test_equality(self) -> None:
        a = credentials.PlainCredentials('u', 'p')
        assert a == credentials.PlainCredentials('u', 'p')
        assert a != credentials.PlainCredentials('u', 'other')
        assert a != credentials.PlainCredentials('other', 'p')
        assert a != credentials.PlainCredentials('u', 'p', erase_on_connect=True)
        assert a != credentials.ExternalCredentials()
        assert a != ('u', 'p')

    def test_repr_never_shows_password(self) -> None:
        creds = credentials.PlainCredentials('alice', 'TopSecretPw')
        text = repr(creds) + str(creds)
        assert 'alice' in text
        assert 'TopSecretPw' not in text

    @pytest.mark.parametrize('username, password', [(None, 'p'), ('u', None), (1, 'p'), ('u', 2)])
    def test_wrong_types(self, username: object, password: object) -> None:
        with pytest.raises(TypeError):
            credentials.PlainCredentials(username, password)  # type: ignore[arg-type]


class TestExternalCredentials:
    def test_response(self) -> None:
        creds = credentials.ExternalCredentials()
        assert creds.TYPE == 'EXTERNAL'
        assert creds.response_for(_start('PLAIN EXTERNAL')) == ('EXTERNAL', b'')

    def test_not_offered(self) -> None:
        assert credentials.ExternalCredentials().response_for(_start('PLAIN')) == (None, None)

    def test_erase_and_eq(self) -> None:
        creds = credentials.ExternalCredentials()
        creds.erase_credentials()
        assert creds.response_for(_start('EXTERNAL')) == ('EXTERNAL', b'')
        assert creds == credentials.ExternalCredentials()
        assert creds != credentials.PlainCredentials('u', 'p')
        assert repr(creds) == '<ExternalCredentials>'


def test_valid_types() -> None:
    assert credentials.PlainCredentials in credentials.VALID_TYPES
    assert credentials.ExternalCredentials in credentials.VALID_TYPES
    assert len(credentials.VALID_TYPES) == 2
