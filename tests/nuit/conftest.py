"""Receivers of the alerts, started and stopped by each test (127.0.0.1 only)."""

from __future__ import annotations

import pytest

from tests.nuit.recepteurs import CollecteurSyslog, ServeurHttp, ServeurMuet, ServeurSmtp, fabriquer_certificats


@pytest.fixture
def certificats(tmp_path):
    dossier = tmp_path / "pki"
    dossier.mkdir()
    return fabriquer_certificats(dossier)


@pytest.fixture
def smtp(certificats):
    _ca, certificat, cle = certificats
    with ServeurSmtp(certificat, cle) as serveur:
        yield serveur


@pytest.fixture
def smtp_muet():
    with ServeurMuet() as serveur:
        yield serveur


@pytest.fixture
def http():
    with ServeurHttp() as serveur:
        yield serveur


@pytest.fixture
def syslog_udp():
    with CollecteurSyslog("udp") as collecteur:
        yield collecteur


@pytest.fixture
def syslog_tcp():
    with CollecteurSyslog("tcp") as collecteur:
        yield collecteur
