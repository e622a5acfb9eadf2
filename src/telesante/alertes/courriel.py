"""The alert by mail: SMTP with STARTTLS and authentication (smtplib), in French, the HTML
report attached.

STARTTLS is required and the server's certificate verified (the system's authorities, or
`autorite_certification`): a server that does not offer STARTTLS never receives the
credentials. Every network step is bounded by `delai_secondes`.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from telesante.alertes import ErreurEnvoi
from telesante.alertes.configuration import Courriel
from telesante.alertes.evenements import corps, sujet


def message(configuration: Courriel, contenu: dict, rapport_html: bytes | None, nuit_du_rapport: str | None) -> EmailMessage:
    """The mail of one alert: French subject and body, the HTML report attached."""
    from datetime import datetime, timezone

    # Lines up to RFC 5322's 998: the default 78 folds « Subject: [telesante]… » before its first word,
    # and the subject is then read back with a leading space.
    courriel = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    courriel["Subject"] = sujet(contenu)
    courriel["From"] = configuration.expediteur
    courriel["To"] = ", ".join(configuration.destinataires)
    courriel["Date"] = format_datetime(datetime.now(timezone.utc))
    courriel["Message-ID"] = make_msgid(domain=configuration.expediteur.rpartition("@")[2])
    courriel["Content-Language"] = "fr-CA"
    courriel.set_content(corps(contenu, nuit_du_rapport), subtype="plain", charset="utf-8")
    if rapport_html is not None:
        courriel.add_attachment(rapport_html, maintype="text", subtype="html", params={"charset": "utf-8"},
                                filename=f"rapport-{nuit_du_rapport or contenu['nuit']}.html")
    return courriel


def envoyer(configuration: Courriel, contenu: dict, rapport_html: bytes | None, nuit_du_rapport: str | None) -> None:
    """Send one alert by mail; ErreurEnvoi (French reason, no secret) when it does not leave."""
    courriel = message(configuration, contenu, rapport_html, nuit_du_rapport)
    serveur = f"{configuration.serveur}:{configuration.port}"
    try:
        contexte = ssl.create_default_context(cafile=str(configuration.autorite) if configuration.autorite else None)
        with smtplib.SMTP(configuration.serveur, configuration.port, timeout=configuration.delai) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise ErreurEnvoi(f"serveur SMTP {serveur} sans STARTTLS : identifiants non envoyés en clair")
            smtp.starttls(context=contexte)
            smtp.ehlo()
            smtp.login(configuration.utilisateur, configuration.mot_de_passe)
            refuses = smtp.send_message(courriel)
            if refuses:
                raise ErreurEnvoi(f"serveur SMTP {serveur} : destinataires refusés : {', '.join(sorted(refuses))}")
    except ErreurEnvoi:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise ErreurEnvoi(f"serveur SMTP {serveur} : authentification refusée (code {exc.smtp_code}) pour "
                          f"l'utilisateur « {configuration.utilisateur} »") from None
    except smtplib.SMTPNotSupportedError:
        raise ErreurEnvoi(f"serveur SMTP {serveur} : authentification non proposée après STARTTLS") from None
    except smtplib.SMTPResponseException as exc:
        raise ErreurEnvoi(f"serveur SMTP {serveur} : refus (code {exc.smtp_code})") from None
    except smtplib.SMTPServerDisconnected as exc:
        if isinstance(exc.__context__, TimeoutError):  # smtplib turns a read timeout into a disconnection
            raise ErreurEnvoi(f"serveur SMTP {serveur} : aucune réponse en {configuration.delai:g} s") from None
        raise ErreurEnvoi(f"serveur SMTP {serveur} : connexion fermée par le serveur") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise ErreurEnvoi(f"serveur SMTP {serveur} : destinataires refusés : {', '.join(sorted(exc.recipients))}") from None
    except ssl.SSLCertVerificationError as exc:
        raise ErreurEnvoi(f"serveur SMTP {serveur} : certificat non vérifié ({exc.verify_message}) ; "
                          "autorite_certification ?") from None
    except (TimeoutError, socket.timeout):
        raise ErreurEnvoi(f"serveur SMTP {serveur} : aucune réponse en {configuration.delai:g} s") from None
    except ConnectionRefusedError:
        raise ErreurEnvoi(f"serveur SMTP {serveur} : connexion refusée") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise ErreurEnvoi(f"serveur SMTP {serveur} : {type(exc).__name__} ({exc.strerror if isinstance(exc, OSError) and exc.strerror else 'échange interrompu'})") from None
