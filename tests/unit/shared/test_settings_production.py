"""``KHABAR_ENVIRONMENT=production`` refuses to start with a door left open, one message each,
and the credentials a service is given reach every Kafka client it makes (aiokafka and faust).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path

import faust
import pytest
import trustme

from shared.errors import ConfigurationError
from shared.kafka import client_options
from shared.settings import ApiSettings, EnrichSettings, KhabarSettings
from shared.streaming import _faust_options

#: A production environment with every door locked; each test opens one.
LOCKED = {
    "KHABAR_ENVIRONMENT": "production",
    "KHABAR_KAFKA_BOOTSTRAP": "kafka-1.internal:9093",
    "KHABAR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KHABAR_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KHABAR_KAFKA_USERNAME": "khabar",
    "KHABAR_KAFKA_PASSWORD": "a-long-random-kafka-password",
    "KHABAR_ELASTICSEARCH_URL": "https://search.internal:9200",
    "KHABAR_ELASTICSEARCH_API_KEY": "a-long-random-api-key",
    "KHABAR_API_KEYS": "a-long-random-gateway-key",
}


@pytest.fixture
def locked(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in LOCKED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_a_locked_environment_starts(locked: pytest.MonkeyPatch) -> None:
    settings = ApiSettings()
    assert settings.environment == "production"
    assert settings.kafka_security_protocol == "SASL_SSL"


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_plaintext_kafka_is_refused(locked: pytest.MonkeyPatch, protocol: str) -> None:
    locked.setenv("KHABAR_KAFKA_SECURITY_PROTOCOL", protocol)
    with pytest.raises(ConfigurationError) as refused:
        KhabarSettings()
    assert str(refused.value).startswith(f"KHABAR_KAFKA_SECURITY_PROTOCOL is {protocol}")
    assert "unencrypted" in str(refused.value) and "SASL_SSL" in str(refused.value)


def test_tls_without_a_login_is_refused(locked: pytest.MonkeyPatch) -> None:
    locked.setenv("KHABAR_KAFKA_SECURITY_PROTOCOL", "SSL")
    with pytest.raises(ConfigurationError, match="SSL, which logs in with no credentials"):
        KhabarSettings()


@pytest.mark.parametrize("missing", ["KHABAR_KAFKA_USERNAME", "KHABAR_KAFKA_PASSWORD"])
def test_missing_kafka_credentials_are_refused(locked: pytest.MonkeyPatch, missing: str) -> None:
    locked.delenv(missing)
    with pytest.raises(ConfigurationError) as refused:
        EnrichSettings()
    assert str(refused.value).startswith(
        "KHABAR_KAFKA_USERNAME and KHABAR_KAFKA_PASSWORD must be set in production"
    )
    assert "SCRAM-SHA-512" in str(refused.value)


def test_http_elasticsearch_is_refused(locked: pytest.MonkeyPatch) -> None:
    locked.setenv("KHABAR_ELASTICSEARCH_URL", "http://search.internal:9200")
    with pytest.raises(ConfigurationError) as refused:
        KhabarSettings()
    assert str(refused.value).startswith("KHABAR_ELASTICSEARCH_URL must be an https:// URL")


def test_missing_elasticsearch_credentials_are_refused(locked: pytest.MonkeyPatch) -> None:
    locked.delenv("KHABAR_ELASTICSEARCH_API_KEY")
    locked.setenv("KHABAR_ELASTICSEARCH_USERNAME", "khabar-index")  # a user, but no password
    with pytest.raises(ConfigurationError) as refused:
        KhabarSettings()
    assert str(refused.value).startswith(
        "KHABAR_ELASTICSEARCH_API_KEY (or KHABAR_ELASTICSEARCH_USERNAME and "
        "KHABAR_ELASTICSEARCH_PASSWORD) must be set in production"
    )
    locked.setenv("KHABAR_ELASTICSEARCH_PASSWORD", "a-long-random-search-password")
    assert KhabarSettings().elasticsearch_username == "khabar-index"  # basic auth will do


@pytest.mark.parametrize(
    ("name", "value"),
    [("KHABAR_KAFKA_PASSWORD", "changeme"), ("KHABAR_ELASTICSEARCH_API_KEY", "secret")],
)
def test_placeholder_secrets_are_refused(locked: pytest.MonkeyPatch, name: str, value: str) -> None:
    locked.setenv(name, value)
    with pytest.raises(ConfigurationError, match=f"^{name} is a placeholder in production$"):
        KhabarSettings()


def test_open_writes_are_refused(locked: pytest.MonkeyPatch) -> None:
    locked.delenv("KHABAR_API_KEYS")
    with pytest.raises(ConfigurationError, match="^KHABAR_API_KEYS must be set in production"):
        ApiSettings()
    locked.setenv("KHABAR_API_KEYS", "a-long-random-gateway-key,dev-key")
    with pytest.raises(ConfigurationError, match="KHABAR_API_KEYS holds a placeholder key"):
        ApiSettings()


def test_development_accepts_the_open_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_ENVIRONMENT", "development")
    settings = ApiSettings()
    assert (settings.kafka_security_protocol, settings.elasticsearch_url) == (
        "PLAINTEXT",
        "http://127.0.0.1:9200",
    )


def test_a_refused_configuration_is_one_log_line_and_exit_code_2(tmp_path: Path) -> None:
    env = dict(LOCKED)
    env["KHABAR_KAFKA_SECURITY_PROTOCOL"] = "PLAINTEXT"
    env["PATH"] = "/usr/bin:/bin"
    result = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "services.cli", "serve", "index"],
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [line["level"] for line in lines] == ["CRITICAL"]
    assert lines[0]["message"].startswith(
        "refusing to start: KHABAR_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"
    )
    assert lines[0]["service"] == "index"


# ----------------------------------------------------------------- credentials reach clients


def _ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_kafka_clients_log_in_over_tls_trusting_the_configured_ca(
    locked: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    locked.setenv("KHABAR_KAFKA_SSL_CAFILE", str(_ca_file(tmp_path)))
    options = client_options(KhabarSettings())
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "khabar",
        "a-long-random-kafka-password",
    )
    context: ssl.SSLContext = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [ca["subject"] for ca in context.get_ca_certs()] != []  # the file's CA, loaded


def test_faust_workers_get_the_same_login(locked: pytest.MonkeyPatch, tmp_path: Path) -> None:
    locked.setenv("KHABAR_KAFKA_SSL_CAFILE", str(_ca_file(tmp_path)))
    credentials = _faust_options(EnrichSettings(), 8002)["broker_credentials"]
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == (
        "khabar",
        "a-long-random-kafka-password",
    )
    assert credentials.ssl_context is not None and credentials.ssl_context.get_ca_certs()


def test_a_plaintext_development_worker_has_no_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KHABAR_ENVIRONMENT", "development")
    assert _faust_options(EnrichSettings(), 8002)["broker_credentials"] is None
