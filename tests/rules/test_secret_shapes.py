"""Credentials recognised by their place in a URL, whatever the image (issue 15)."""

from __future__ import annotations

import pytest

from labwarden.knowledge.secrets import is_secret_name, url_token
from labwarden.rules.secrets import env_file_secrets
from labwarden.sources.envfile import read_env_file


@pytest.mark.parametrize("url, secret", [
    ("discord://webhooktoken123456@123456789", "webhooktoken123456"),
    ("telegram://110201543token@telegram?chats=@ops", "110201543token"),
    ("slack://botname@T0000000/B0000000/XXXXXXXXXXXXXXXX", "T0000000/B0000000/XXXXXXXXXXXXXXXX"),
    ("https://discord.com/api/webhooks/1234567/abcdefghijklmnop", "abcdefghijklmnop"),
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX", "T000/B000/XXXXXXXXXXXX"),
    ("gotify://gotify.lan/AbCdEf123456", "AbCdEf123456"),
    ("tgram://123456:ABCDEFGHIJKLMNOP/-100200300", "123456:ABCDEFGHIJKLMNOP"),
])
def test_tokens_in_notification_urls(url, secret):
    assert url_token(url)[1] == secret


@pytest.mark.parametrize("url", [
    "discord://${DISCORD_TOKEN}@123456789", "slack://botname@${SLACK_TOKENS}",
    "smtp://user:pass@mail.example.com",          # user:password@ is the general rule's
    "postgres://db/app", "https://example.com/hooks", "mattermost://user@host",
    "discord://short@1",
])
def test_no_token_where_there_is_none_or_a_reference(url):
    assert url_token(url) is None


def test_env_file_secrets_include_notification_urls(tmp_path):
    path = tmp_path / ".env"
    path.write_text("NOTIFY_URL=discord://webhooktoken123456@123456789\nTZ=Europe/Paris\n"
                    "STATUS_URL=https://status.example.com\n")
    assert env_file_secrets(read_env_file(str(path), None)) == ["NOTIFY_URL"]


def test_wireguard_key_names_are_secret_names():
    assert all(is_secret_name(n) for n in ("WG_PRIVATE_KEY", "PrivateKey", "PresharedKey",
                                           "WG_PRESHARED_KEY", "WIREGUARD_PRIVATE_KEY"))
    assert not any(is_secret_name(n)
                   for n in ("WG_PUBLIC_KEY", "PublicKey", "WG_PRIVATE_KEY_FILE"))
