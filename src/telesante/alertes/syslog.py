"""The alert to a SIEM collector: one RFC 5424 message per event, over UDP (RFC 5426, one
message per datagram) or TCP (RFC 6587, 3.4.1 « octet counting »: « LONGUEUR SP MESSAGE »).

Written here rather than through logging.handlers.SysLogHandler (RFC 3164, no octet
counting) or a logging-based RFC 5424 handler: a logging handler swallows its send errors
(Handler.handleError), and an alert that did not leave must be known, to be sent again.

Structured data: SD-ID `telesante@32473` (32473 is the private enterprise number that
RFC 5612 reserves for documentation; telesante has none of its own).
UDP confirms nothing: a datagram sent is taken as delivered (a collector down is not seen).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone

from telesante import __version__
from telesante.alertes import ErreurEnvoi
from telesante.alertes.configuration import FACILITES, Syslog
from telesante.alertes.evenements import GRAVITES_SYSLOG, phrase

SD_ID = "telesante@32473"
TAILLE_MAX_UDP = 2048  # RFC 5426, 3.2: receivers should accept 2048 octets
_BOM = "\ufeff"


def _ascii_imprimable(texte: str, longueur: int) -> str:
    """PRINTUSASCII (33-126) only, at most `longueur`, « - » when nothing is left (RFC 5424, 6.2)."""
    propre = "".join(c for c in texte if 33 <= ord(c) <= 126)[:longueur]
    return propre or "-"


def _valeur(texte: str) -> str:
    """PARAM-VALUE: '"', '\\' and ']' escaped with a backslash (RFC 5424, 6.3.3)."""
    return texte.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def trame(configuration: Syslog, evenement: dict, contenu: dict, nom_hote: str | None = None,
          maintenant: datetime | None = None) -> bytes:
    """One RFC 5424 message (without transport framing)."""
    priorite = FACILITES[configuration.facilite] * 8 + GRAVITES_SYSLOG[evenement["type"]]
    horodatage = (maintenant or datetime.now(timezone.utc)).isoformat(timespec="microseconds")
    hote = _ascii_imprimable(nom_hote or socket.gethostname(), 255)
    parametres = {"evenement": evenement["type"], "nuit": contenu["nuit"], "reseau": evenement["reseau"],
                  "site": evenement["site"], "verdict": contenu["verdict"]["statut"], "version": __version__}
    if evenement.get("mac"):
        parametres["mac"] = evenement["mac"]
    if evenement.get("ips"):
        parametres["ip"] = evenement["ips"][0]
    donnees = "[" + SD_ID + "".join(f' {cle}="{_valeur(str(valeur))}"' for cle, valeur in parametres.items()) + "]"
    entete = f"<{priorite}>1 {horodatage} {hote} telesante {os.getpid()} {_ascii_imprimable(evenement['type'], 32)}"
    return f"{entete} {donnees} {_BOM}{phrase(evenement)}".encode("utf-8")


def _couper(octets: bytes, taille: int) -> bytes:
    """At most `taille` octets, never in the middle of a UTF-8 character."""
    if len(octets) <= taille:
        return octets
    return octets[:taille].decode("utf-8", "ignore").encode("utf-8")


def envoyer(configuration: Syslog, contenu: dict) -> None:
    """Send every event of one alert; ErreurEnvoi (French reason) when the collector cannot be reached."""
    trames = [trame(configuration, evenement, contenu) for evenement in contenu["evenements"]]
    destination = f"collecteur syslog {configuration.serveur}:{configuration.port} ({configuration.transport.upper()})"
    try:
        adresses = socket.getaddrinfo(configuration.serveur, configuration.port,
                                      type=socket.SOCK_DGRAM if configuration.transport == "udp" else socket.SOCK_STREAM)
        famille, type_, proto, _nom, adresse = adresses[0]
        with socket.socket(famille, type_, proto) as connexion:
            connexion.settimeout(configuration.delai)
            connexion.connect(adresse)
            for octets in trames:
                if configuration.transport == "udp":
                    connexion.send(_couper(octets, TAILLE_MAX_UDP))
                else:
                    connexion.sendall(str(len(octets)).encode("ascii") + b" " + octets)
            if configuration.transport == "tcp":
                connexion.shutdown(socket.SHUT_WR)
    except socket.gaierror:
        raise ErreurEnvoi(f"{destination} : nom introuvable") from None
    except (TimeoutError, socket.timeout):
        raise ErreurEnvoi(f"{destination} : aucune réponse en {configuration.delai:g} s") from None
    except ConnectionRefusedError:
        raise ErreurEnvoi(f"{destination} : connexion refusée") from None
    except OSError as exc:
        raise ErreurEnvoi(f"{destination} : {exc.strerror or type(exc).__name__}") from None
