"""Inventory of an SNMP equipment: every mistake refused (code 3) with the key named, never a secret quoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from .outils import auditer, ecrire_inventaire


@pytest.mark.parametrize("variables, attendu", [
    ({}, "clé « telesante_snmp_version » : obligatoire pour sw-snmp (plateforme snmp : 2c ou 3)"),
    ({"telesante_snmp_version": "1"}, "clé « telesante_snmp_version » : « 1 » inconnu (permis : 2c, 3)"),
    ({"telesante_snmp_version": "2c"}, "clé « telesante_snmp_communaute » : obligatoire pour sw-snmp"),
    ({"telesante_snmp_version": 3, "telesante_snmp_utilisateur": "audit", "telesante_snmp_mot_de_passe_auth": "Court7!",
      "telesante_snmp_mot_de_passe_chiffrement": "assez-long-pour-usm"},
     "clé « telesante_snmp_mot_de_passe_auth » : trop court : 8 caractères au moins (RFC 3414)"),
    ({"telesante_snmp_version": "3", "telesante_snmp_utilisateur": "audit",
      "telesante_snmp_mot_de_passe_auth": "assez-long-pour-usm", "telesante_snmp_mot_de_passe_chiffrement": "Secret\x1b9",
      "telesante_snmp_protocole_chiffrement": "DES"},
     "clé « telesante_snmp_protocole_chiffrement » : « DES » inconnu (permis : AES, AES-192, AES-256)"),
    ({"telesante_snmp_version": "2c", "telesante_snmp_communaute": "Secret-x", "telesante_snmp_repetitions": 0},
     "clé « telesante_snmp_repetitions » : valeur invalide « 0 » (entier de 1 à 200)"),
    ({"telesante_snmp_version": "2c", "telesante_snmp_communaute": "Secret-x", "telesante_snmp_delai": "vite"},
     "clé « telesante_snmp_delai » : valeur invalide « vite » (secondes, plus de 0 et au plus 60)"),
])
def test_inventaire_snmp_invalide_code_3(tmp_path: Path, variables: dict, attendu: str):
    inventaire = ecrire_inventaire(tmp_path / "inventaire", {"sw-snmp": {"ansible_host": "192.0.2.9", **variables}})
    resultat, _ = auditer(inventaire, tmp_path / "rapports")
    assert resultat.returncode == 3, resultat.stdout + resultat.stderr
    assert attendu in resultat.stderr + resultat.stdout
    for secret in ("Court7!", "Secret\x1b9", "Secret\\x1b9"):
        assert secret not in resultat.stderr + resultat.stdout
