"""The alert as a JSON POST: Microsoft Teams (a Workflows webhook, Adaptive Card), Slack (an
incoming webhook, `text`), or any HTTP receiver (`json`: the alert's own document).

Any 2xx answer is a delivery; anything else (redirection included: a POST is never
replayed elsewhere) is a failure. The address is never written in a message: Teams and
Slack carry the webhook's token in it; only its scheme and host are told.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from telesante import __version__
from telesante.alertes import ErreurEnvoi
from telesante.alertes.configuration import Webhook
from telesante.alertes.evenements import corps, phrase, sujet


def _slack(texte: str) -> str:
    """Slack's escaping of its control characters (api.slack.com, « Formatting text »: &, <, >)."""
    return texte.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Events written in a Teams or Slack message (a Teams card is refused beyond 28 KB); the rest are counted.
EVENEMENTS_MAX = 30


def _phrases(contenu: dict) -> list[str]:
    phrases = [phrase(e) for e in contenu["evenements"][:EVENEMENTS_MAX]]
    if len(contenu["evenements"]) > EVENEMENTS_MAX:
        phrases.append(f"… et {len(contenu['evenements']) - EVENEMENTS_MAX} autres changements (rapport de la nuit)")
    return phrases


def charge(configuration: Webhook, contenu: dict) -> dict:
    """The JSON body for the receiver's format."""
    if configuration.format == "slack":
        return {"text": _slack(sujet(contenu) + "\n" + "\n".join(f"• {p}" for p in _phrases(contenu)))}
    if configuration.format == "teams":
        # learn.microsoft.com, « Create incoming webhooks with Workflows for Microsoft Teams »: a message with
        # one Adaptive Card attachment.
        # RichTextBlock and TextRun (Adaptive Cards 1.2): a TextRun is never read as Markdown, so a device's name
        # (« [cliquez ici](https://…) ») cannot become a link in the team's channel, as a TextBlock would make it.
        blocs = [{"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": sujet(contenu), "weight": "Bolder",
                                                         "size": "Medium"}]}]
        blocs += [{"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": p}]} for p in _phrases(contenu)]
        return {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "body": blocs}}]}
    return {**contenu, "sujet": sujet(contenu), "texte": corps(contenu)}


class _SansRedirection(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 -- urllib's hook
        return None  # the 3xx answer becomes an HTTPError: a failure


def envoyer(configuration: Webhook, contenu: dict) -> None:
    """POST one alert; ErreurEnvoi (French reason, never the address) when it is not accepted."""
    corps_http = json.dumps(charge(configuration, contenu), ensure_ascii=False).encode("utf-8")
    requete = urllib.request.Request(configuration.url, data=corps_http, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": f"telesante/{__version__}"})
    ouvreur = urllib.request.build_opener(_SansRedirection)
    destination = f"webhook {configuration.destination}"
    try:
        with ouvreur.open(requete, timeout=configuration.delai) as reponse:
            reponse.read(65536)
            if not 200 <= reponse.status < 300:
                raise ErreurEnvoi(f"{destination} : réponse HTTP {reponse.status}")
    except urllib.error.HTTPError as exc:
        raise ErreurEnvoi(f"{destination} : réponse HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raison = exc.reason
        if isinstance(raison, (TimeoutError, socket.timeout)):
            raise ErreurEnvoi(f"{destination} : aucune réponse en {configuration.delai:g} s") from None
        if isinstance(raison, ConnectionRefusedError):
            raise ErreurEnvoi(f"{destination} : connexion refusée") from None
        texte = getattr(raison, "strerror", None) or type(raison).__name__
        raise ErreurEnvoi(f"{destination} : {texte}") from None
    except (TimeoutError, socket.timeout):
        raise ErreurEnvoi(f"{destination} : aucune réponse en {configuration.delai:g} s") from None
    except OSError as exc:
        raise ErreurEnvoi(f"{destination} : {exc.strerror or type(exc).__name__}") from None
