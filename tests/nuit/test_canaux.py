"""Each alert channel against a real receiver on 127.0.0.1: what arrives is read back and checked,
and a receiver that refuses or does not answer gives a French error, in bounded time, that
never quotes a secret."""

from __future__ import annotations

import json
import time

import pytest

from telesante.alertes import ErreurEnvoi, courriel, syslog, webhook
from telesante.alertes.configuration import Courriel, Syslog, Webhook
from tests.nuit.recepteurs import MOT_DE_PASSE, UTILISATEUR, ServeurSmtp, analyser_rfc5424

HOSTILE = "salon\x1b[2J\r\nBcc: pirate@example.com\u202e]\"\\[cliquez](https://pirate.example)<!channel>"

CONTENU = {
    "format": "telesante-alerte", "version": 1, "nuit": "2026-11-24", "debut": "2026-11-24T02:00:00+00:00",
    "inventaire": "/etc/telesante/inventaire",
    "verdict": {"code_sortie": 1, "statut": "non_conforme",
                "signification": "non-conformités : des appareils interdits ou non autorisés sont sur un réseau de mission"},
    "precedent": {"date": "2026-11-23T02:00:00+00:00", "nuit": "2026-11-23", "passage": 3},
    "evenements": [
        {"type": "nouveau_critique", "reseau": "mission-nord", "site": "hopital_nord", "mac": "84:28:59:3a:7c:21",
         "ips": ["10.20.110.41"], "message": "appareil grand public interdit : Amazon Echo Show (écran intelligent)",
         "emplacements": ["sw-nord-01 Gi1/0/5"], "noms_hote": [HOSTILE]},
        {"type": "reseau_non_conforme", "reseau": "mission-nord", "site": "hopital_nord", "avant": "conforme",
         "apres": "non_conforme", "motif": None, "constats_actifs": 1},
        {"type": "retour_conformite", "reseau": "mission-sud", "site": "clinique_sud", "avant": "incomplet",
         "apres": "conforme", "motif": None, "constats_actifs": 0},
    ],
}
HTML = "<!doctype html><html lang=\"fr\"><title>Rapport</title><p>Écho</p></html>".encode()


def _courriel(port: int, autorite, **autres) -> Courriel:
    return Courriel(**{"serveur": "127.0.0.1", "port": port, "expediteur": "telesante@hopital.example",
                       "destinataires": ("reseau@hopital.example", "securite@hopital.example"),
                       "utilisateur": UTILISATEUR, "mot_de_passe": MOT_DE_PASSE, "delai": 5.0, "autorite": autorite,
                       **autres})


def test_courriel_starttls_authentifie_en_francais_avec_le_rapport_joint(smtp, certificats):
    courriel.envoyer(_courriel(smtp.port, certificats[0]), CONTENU, HTML, "2026-11-24")
    assert smtp.authentifications == [(UTILISATEUR, MOT_DE_PASSE)]
    [recu] = smtp.messages
    assert recu["tls"] and recu["de"] == "telesante@hopital.example"
    assert recu["a"] == ["reseau@hopital.example", "securite@hopital.example"]
    message = recu["message"]
    assert message["Subject"] == ("[telesante] Audit de la nuit du 2026-11-24 : 1 nouveau constat critique, "
                                  "1 réseau devenu non conforme, 1 réseau revenu à la conformité")
    assert message["Bcc"] is None  # a device's host name cannot add a header
    corps = message.get_body(("plain",)).get_content()
    assert "Nouveaux constats critiques :" in corps and "Retours à la conformité :" in corps
    assert "84:28:59:3a:7c:21 (10.20.110.41)" in corps and "branché sur sw-nord-01 Gi1/0/5" in corps
    assert "depuis le passage précédent (nuit du 2026-11-23)" in corps
    assert "\x1b" not in corps and "\\x1b[2J\\r\\nBcc: pirate@example.com\\u202e" in corps
    [piece] = list(message.iter_attachments())
    assert piece.get_content_type() == "text/html" and piece.get_filename() == "rapport-2026-11-24.html"
    assert piece.get_payload(decode=True) == HTML and piece.get_content_charset() == "utf-8"


def test_courriel_mot_de_passe_refuse_535(certificats):
    _ca, certificat, cle = certificats
    with ServeurSmtp(certificat, cle, accepter=False) as serveur:
        with pytest.raises(ErreurEnvoi) as exc:
            courriel.envoyer(_courriel(serveur.port, certificats[0]), CONTENU, HTML, "2026-11-24")
        assert serveur.messages == []
    assert "authentification refusée (code 535)" in str(exc.value)
    assert MOT_DE_PASSE not in str(exc.value) and MOT_DE_PASSE not in repr(_courriel(1, None))


def test_courriel_serveur_muet_delai_borne(smtp_muet):
    debut = time.monotonic()
    with pytest.raises(ErreurEnvoi, match="aucune réponse en 1 s"):
        courriel.envoyer(_courriel(smtp_muet.port, None, delai=1.0), CONTENU, HTML, "2026-11-24")
    assert time.monotonic() - debut < 4


def test_courriel_certificat_inconnu_identifiants_jamais_envoyes(smtp):
    with pytest.raises(ErreurEnvoi, match="certificat non vérifié"):
        courriel.envoyer(_courriel(smtp.port, None), CONTENU, HTML, "2026-11-24")  # system authorities only
    assert smtp.authentifications == [] and smtp.messages == []


def test_courriel_serveur_absent_connexion_refusee():
    from tests.nuit.recepteurs import port_libre

    with pytest.raises(ErreurEnvoi, match="connexion refusée"):
        courriel.envoyer(_courriel(port_libre(), None), CONTENU, HTML, "2026-11-24")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_syslog_trames_rfc5424(transport, syslog_udp, syslog_tcp):
    collecteur = syslog_udp if transport == "udp" else syslog_tcp
    syslog.envoyer(Syslog("127.0.0.1", collecteur.port, transport, "local3", 5.0), CONTENU)
    fin = time.monotonic() + 5
    while len(collecteur.messages) < 3 and time.monotonic() < fin:
        time.sleep(0.05)
    assert collecteur.erreurs == []
    assert [(m["facilite"], m["gravite"], m["msgid"]) for m in collecteur.messages] == [
        (19, 2, "nouveau_critique"), (19, 3, "reseau_non_conforme"), (19, 5, "retour_conformite")]
    premier = collecteur.messages[0]
    assert premier["application"] == "telesante"
    assert premier["donnees"]["telesante@32473"]["mac"] == "84:28:59:3a:7c:21"
    assert premier["donnees"]["telesante@32473"]["reseau"] == "mission-nord"
    assert premier["message"].startswith("Nouveau constat critique sur « mission-nord » (site hopital_nord)")
    assert "\x1b" not in premier["message"] and "\n" not in premier["message"]


def test_syslog_tcp_collecteur_absent():
    from tests.nuit.recepteurs import port_libre

    with pytest.raises(ErreurEnvoi, match="connexion refusée"):
        syslog.envoyer(Syslog("127.0.0.1", port_libre(), "tcp", "local0", 2.0), CONTENU)


def test_syslog_valeurs_hostiles_echappees():
    """']', '"' and '\\' of a network's name are escaped in the structured data, as RFC 5424 6.3.3 says."""
    evenement = {**CONTENU["evenements"][1], "reseau": 'mi]ssion"\\nord'}
    trame = syslog.trame(Syslog("127.0.0.1"), evenement, CONTENU, nom_hote="serveur-audit")
    assert analyser_rfc5424(trame)["donnees"]["telesante@32473"]["reseau"] == 'mi]ssion"\\nord'


@pytest.mark.parametrize("format_", ["json", "teams", "slack"])
def test_webhook_post_json(format_, http):
    webhook.envoyer(Webhook(f"http://127.0.0.1:{http.port}/crochet/JETON-SECRET", format_, 5.0), CONTENU)
    [requete] = http.requetes
    assert requete["chemin"] == "/crochet/JETON-SECRET" and requete["type"] == "application/json; charset=utf-8"
    corps = requete["corps"]
    if format_ == "json":
        assert corps["format"] == "telesante-alerte" and len(corps["evenements"]) == 3
        assert corps["sujet"].startswith("[telesante] Audit de la nuit du 2026-11-24")
    elif format_ == "teams":
        carte = corps["attachments"][0]
        assert corps["type"] == "message" and carte["contentType"] == "application/vnd.microsoft.card.adaptive"
        textes = [i["text"] for b in carte["content"]["body"] for i in b["inlines"]]
        assert [t[:25] for t in textes[1:]] == [
            "Nouveau constat critique ", "Réseau de mission « missi", "Réseau de mission « missi"]
        # never Markdown: a host name cannot become a link in the channel
        assert {b["type"] for b in carte["content"]["body"]} == {"RichTextBlock"}
        assert {i["type"] for b in carte["content"]["body"] for i in b["inlines"]} == {"TextRun"}
    else:
        assert corps["text"].count("\n• ") == 3 and "<" not in corps["text"].replace("&lt;", "")


@pytest.mark.parametrize("statut", [500, 302, 404])
def test_webhook_refuse_sans_citer_le_jeton(statut, http):
    http.statut = statut
    with pytest.raises(ErreurEnvoi) as exc:
        webhook.envoyer(Webhook(f"http://127.0.0.1:{http.port}/crochet/JETON-SECRET", "json", 5.0), CONTENU)
    assert str(exc.value) == f"webhook http://127.0.0.1:{http.port} : réponse HTTP {statut}"
    assert len(http.requetes) == 1  # a redirection is not followed: the alert is never posted elsewhere


def test_webhook_muet_delai_borne(smtp_muet):
    debut = time.monotonic()
    with pytest.raises(ErreurEnvoi, match="aucune réponse en 1 s"):
        webhook.envoyer(Webhook(f"http://127.0.0.1:{smtp_muet.port}/x/JETON", "json", 1.0), CONTENU)
    assert time.monotonic() - debut < 4


def test_mille_changements_messages_bornes(http, smtp, certificats):
    """A first night with a thousand critical findings: every event goes to syslog, but the mail and
    the Teams card list a bounded number and count the rest (a Teams card is refused beyond 28 KB)."""
    evenement = CONTENU["evenements"][0]
    contenu = {**CONTENU, "evenements": [{**evenement, "mac": f"02:00:00:00:{i >> 8:02x}:{i & 0xFF:02x}"}
                                         for i in range(1000)]}
    webhook.envoyer(Webhook(f"http://127.0.0.1:{http.port}/x", "teams", 5.0), contenu)
    carte = http.requetes[0]["corps"]["attachments"][0]["content"]
    assert len(carte["body"]) == 1 + 30 + 1 and "970 autres" in carte["body"][-1]["inlines"][0]["text"]
    assert len(json.dumps(http.requetes[0]["corps"]).encode()) < 28_000
    courriel.envoyer(_courriel(smtp.port, certificats[0]), contenu, HTML, "2026-11-24")
    corps = smtp.messages[0]["message"].get_body(("plain",)).get_content()
    assert corps.count("\n  - Nouveau constat critique") == 200 and "… et 800 autres : voir le rapport joint" in corps
