"""Live collection over SSH: vendor CLIs through netmiko, Linux gear and servers through paramiko.

Host keys are always checked against the inventory's known_hosts file: an unknown or
changed key makes the equipment incomplete, it is never accepted on the fly. What is
read goes through the very parsers of the offline path (`ResultatCollecte.analyser`).
"""

from __future__ import annotations

import errno
import shlex
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import paramiko

from telesante.collecte.captures import FICHIER_DATE
from telesante.collecte.plateformes import Annexe, Lecture, fichier_capture, lectures
from telesante.collecte.resultat import ResultatCollecte
from telesante.inerte import citer
from telesante.modele import Equipement

# Platforms read through a vendor CLI (netmiko); the others run plain commands (paramiko).
PLATEFORMES_NETMIKO = {"cisco_ios", "cisco_nxos", "arista_eos", "aruba_aoscx", "hp_procurve", "juniper_junos"}


@dataclass(frozen=True)
class ParametresSSH:
    """How to reach equipment: known_hosts, timeouts, retries."""

    hotes_connus: Path
    delai_connexion: float = 10.0
    delai_commande: float = 30.0
    tentatives: int = 3
    attente_initiale: float = 1.0  # doubled after each failed attempt
    dossier_captures: Path | None = None  # --enregistrer-captures


class EchecDefinitif(Exception):
    """A failure that retrying cannot fix (authentication, host key)."""


class EchecPassager(Exception):
    """A failure worth retrying (timeout, refused connection, dropped session)."""


class LectureRefusee(Exception):
    """The equipment answered, but refused or failed the command."""


def _message_ssh(exc: BaseException, equipement: Equipement, parametres: ParametresSSH) -> Exception:
    """Translate paramiko/netmiko/socket errors into a French message and a retry decision."""
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    where = f"{equipement.adresse}:{equipement.port_ssh}"
    if isinstance(exc, paramiko.BadHostKeyException):
        return EchecDefinitif(
            f"clé d'hôte de {where} CHANGÉE (attendue {_empreinte(exc.expected_key)}, reçue {_empreinte(exc.key)}) : "
            f"connexion refusée ; si le changement est légitime : telesante cles-hotes epingler {equipement.nom}"
        )
    text = str(exc)
    if "not found in known_hosts" in text or "Server '" in text and "not found" in text:
        return EchecDefinitif(
            f"clé d'hôte de {where} inconnue de {parametres.hotes_connus} : connexion refusée ; "
            f"pour l'épingler : telesante cles-hotes epingler {equipement.nom}"
        )
    if isinstance(exc, (paramiko.AuthenticationException, NetmikoAuthenticationException)):
        return EchecDefinitif(f"authentification refusée par {where} (utilisateur « {equipement.utilisateur} »)")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        causes = list(exc.errors.values())
        if causes and all(isinstance(c, ConnectionRefusedError) or getattr(c, "errno", None) == errno.ECONNREFUSED
                          for c in causes):
            return EchecPassager(f"connexion refusée par {where} (sshd arrêté ?)")
    if isinstance(exc, ConnectionRefusedError) or "Connection refused" in text:
        return EchecPassager(f"connexion refusée par {where} (sshd arrêté ?)")
    if isinstance(exc, (socket.timeout, TimeoutError, NetmikoTimeoutException)) or "timed out" in text.lower():
        return EchecPassager(f"délai dépassé avec {where}")
    if isinstance(exc, OSError):
        return EchecPassager(f"{where} injoignable ({exc.strerror or exc})")
    return EchecPassager(f"session SSH avec {where} interrompue ({type(exc).__name__} : {citer(text)})")


def _empreinte(key: paramiko.PKey) -> str:
    return key.fingerprint if hasattr(key, "fingerprint") else key.get_base64()[:16]


def _client_paramiko(equipement: Equipement, parametres: ParametresSSH) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(parametres.hotes_connus))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        equipement.adresse,
        port=equipement.port_ssh,
        username=equipement.utilisateur,
        password=equipement.mot_de_passe,
        key_filename=equipement.cle_privee,
        timeout=parametres.delai_connexion,
        banner_timeout=parametres.delai_connexion,
        auth_timeout=parametres.delai_connexion,
        allow_agent=False,
        look_for_keys=False,
    )
    return client


def _lire_paramiko(client: paramiko.SSHClient, commande: str, parametres: ParametresSSH) -> str:
    _stdin, stdout, stderr = client.exec_command(commande, timeout=parametres.delai_commande)
    output = stdout.read().decode("utf-8", errors="replace")
    status = stdout.channel.recv_exit_status()
    if status != 0:
        error = stderr.read().decode("utf-8", errors="replace").strip().splitlines()
        raise LectureRefusee(f"« {commande} » a échoué (code {status}{' : ' + citer(error[0]) if error else ''})")
    return output


# How vendor CLIs say they refuse a command (IOS/NX-OS/EOS/AOS-CX, ProCurve, Junos).
_REFUS_CLI = ("% Invalid input", "% Unknown command", "% Incomplete command", "Invalid input:", "syntax error")


def _commande(lecture: Lecture, equipement: Equipement) -> str:
    return lecture.commande.format(chemin=shlex.quote(equipement.chemin_fichier or ""))


def _session(equipement: Equipement, parametres: ParametresSSH):
    """Open a session; returns a function that runs one command and returns its text, and a closer."""
    if equipement.plateforme in PLATEFORMES_NETMIKO:
        from netmiko import ConnectHandler

        connection = ConnectHandler(
            device_type=equipement.plateforme,
            host=equipement.adresse,
            port=equipement.port_ssh,
            username=equipement.utilisateur,
            password=equipement.mot_de_passe or "",
            use_keys=bool(equipement.cle_privee),
            key_file=equipement.cle_privee,
            allow_agent=False,
            ssh_strict=True,
            system_host_keys=False,
            alt_host_keys=True,
            alt_key_file=str(parametres.hotes_connus),
            conn_timeout=parametres.delai_connexion,
            auth_timeout=parametres.delai_connexion,
            banner_timeout=parametres.delai_connexion,
        )

        def run(commande: str) -> str:
            text = connection.send_command(commande, read_timeout=parametres.delai_commande)
            refusal = next((line.strip() for line in text.splitlines() if any(m in line for m in _REFUS_CLI)), None)
            if refusal:
                raise LectureRefusee(f"« {commande} » refusée par l'équipement : {citer(refusal)}")
            return text

        return run, connection.disconnect
    client = _client_paramiko(equipement, parametres)
    return (lambda commande: _lire_paramiko(client, commande, parametres)), client.close


def _une_tentative(equipement: Equipement, parametres: ParametresSSH) -> tuple[dict[Lecture, str], dict[str, str]]:
    """The text of every read, and of their annex commands (each run once, right after its read)."""
    run, close = _session(equipement, parametres)
    outputs: dict[Lecture, str] = {}
    annexes: dict[str, str] = {}
    try:
        for lecture in lectures(equipement.plateforme):
            if lecture.capture_seulement:
                continue
            outputs[lecture] = run(_commande(lecture, equipement))
            for commande in lecture.annexes:
                if commande not in annexes:
                    annexes[commande] = run(commande)
        return outputs, annexes
    finally:
        close()


def collecter_ssh(equipement: Equipement, parametres: ParametresSSH) -> ResultatCollecte:
    """Read every command of an equipment over SSH, with bounded retries and backoff."""
    if equipement.plateforme == "snmp":  # read by SNMP, not SSH (issue 14)
        from telesante.collecte.snmp import collecter_snmp
        return collecter_snmp(equipement, parametres.dossier_captures)
    resultat = ResultatCollecte(equipement)
    if not equipement.adresse:
        resultat.problemes.append("aucune adresse de gestion (ansible_host) dans l'inventaire")
        return resultat
    if not parametres.hotes_connus.is_file():
        resultat.problemes.append(f"fichier des clés d'hôtes introuvable : {parametres.hotes_connus}")
        return resultat
    delay = parametres.attente_initiale
    for attempt in range(1, parametres.tentatives + 1):
        try:
            outputs, annex_outputs = _une_tentative(equipement, parametres)
            break
        except LectureRefusee as exc:
            resultat.problemes.append(str(exc))
            return resultat
        except Exception as exc:  # noqa: BLE001 - every SSH/socket failure is classified below
            failure = _message_ssh(exc, equipement, parametres)
            if isinstance(failure, EchecDefinitif) or attempt == parametres.tentatives:
                suffix = f" (après {attempt} tentatives)" if attempt > 1 else ""
                resultat.problemes.append(f"{failure}{suffix}")
                return resultat
            time.sleep(delay)
            delay *= 2
    read_at = datetime.now(timezone.utc)
    if parametres.dossier_captures is not None:
        # Removed first, written last: a recording cut half-way never carries a date that is not its own.
        (parametres.dossier_captures / equipement.nom / FICHIER_DATE).unlink(missing_ok=True)
    annexes = {}
    for commande, text in annex_outputs.items():
        origin = f"{equipement.nom} : {commande}"
        if parametres.dossier_captures is not None:
            origin = str(_enregistrer(parametres.dossier_captures, equipement, fichier_capture(commande), text))
        annexes[commande] = Annexe(text, origin)
    for lecture, text in outputs.items():
        origin = f"{equipement.nom} : {_commande(lecture, equipement)}"
        if parametres.dossier_captures is not None:
            origin = str(_enregistrer(parametres.dossier_captures, equipement, lecture.fichier, text))
        resultat.analyser(lecture, text, origin, {commande: annexes[commande] for commande in lecture.annexes})
    if parametres.dossier_captures is not None:
        _enregistrer(parametres.dossier_captures, equipement, FICHIER_DATE, read_at.isoformat(timespec="seconds") + "\n")
    return resultat


def _enregistrer(dossier: Path, equipement: Equipement, fichier: str, texte: str) -> Path:
    """Write one output in the offline capture layout (atomically), so the run can be replayed."""
    folder = dossier / equipement.nom
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / fichier
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(texte, encoding="utf-8")
    temporary.replace(path)
    return path
