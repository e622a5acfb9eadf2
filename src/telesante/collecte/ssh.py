"""Live reads over SSH: vendor CLIs through netmiko, Linux gear and servers through paramiko.

Host keys are always checked against the inventory's known_hosts file: an unknown or
changed key makes the equipment incomplete, it is never accepted on the fly. Retries,
recording and parsing are `telesante.collecte.en_direct`'s, as for any live reader.
"""

from __future__ import annotations

import errno
import re
import shlex
import socket

import paramiko

from telesante.collecte.contrat import EchecDefinitif, EchecPassager, Lecture, LectureRefusee, ParametresCollecte
from telesante.collecte.plateformes import plateforme
from telesante.configuration import Equipement
from telesante.inerte import citer


def message_ssh(exc: BaseException, equipement: Equipement, parametres: ParametresCollecte) -> Exception:
    """Translate paramiko/netmiko/socket errors into a French message and a retry decision."""
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException, ReadTimeout

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
    if isinstance(exc, ReadTimeout):
        return EchecPassager(f"délai dépassé avec {where} : la CLI n'a pas répondu (invite ou écho d'une commande) "
                             f"en {parametres.delai_commande:g} s (--delai-commande)")
    if isinstance(exc, (socket.timeout, TimeoutError, NetmikoTimeoutException)) or "timed out" in text.lower():
        return EchecPassager(f"délai dépassé avec {where}")
    if isinstance(exc, OSError):
        return EchecPassager(f"{where} injoignable ({exc.strerror or exc})")
    return EchecPassager(f"session SSH avec {where} interrompue ({type(exc).__name__} : {citer(text)})")


def _empreinte(key: paramiko.PKey) -> str:
    return key.fingerprint if hasattr(key, "fingerprint") else key.get_base64()[:16]


def _client_paramiko(equipement: Equipement, parametres: ParametresCollecte) -> paramiko.SSHClient:
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


def _lire_paramiko(client: paramiko.SSHClient, commande: str, parametres: ParametresCollecte) -> str:
    _stdin, stdout, stderr = client.exec_command(commande, timeout=parametres.delai_commande)
    output = stdout.read().decode("utf-8", errors="replace")
    status = stdout.channel.recv_exit_status()
    if status != 0:
        error = stderr.read().decode("utf-8", errors="replace").strip().splitlines()
        raise LectureRefusee(f"« {commande} » a échoué (code {status}{' : ' + citer(error[0]) if error else ''})")
    return output


class DelaiDepasse(Exception):
    """A command started, but gave no (complete) output within its delay."""


def executer(equipement: Equipement, parametres: ParametresCollecte, commande: str, entree: bytes,
             delai: float) -> tuple[int, str, str]:
    """Run one command (paramiko), `entree` on its standard input; its exit status, output and errors.

    One session, one attempt; DelaiDepasse when the command is silent for `delai` seconds once started.
    """
    client = _client_paramiko(equipement, parametres)
    try:
        stdin, stdout, stderr = client.exec_command(commande, timeout=delai)
        try:
            try:
                stdin.write(entree)
                stdin.flush()
                stdin.channel.shutdown_write()
            except OSError:  # the command ended without reading it: its status says why
                pass
            sortie = stdout.read()
            statut = stdout.channel.recv_exit_status()
            erreurs = stderr.read()
        except (socket.timeout, TimeoutError) as exc:
            raise DelaiDepasse(commande) from exc
        return statut, sortie.decode("utf-8", errors="replace"), erreurs.decode("utf-8", errors="replace")
    finally:
        client.close()


# How vendor CLIs say they refuse a command (IOS/NX-OS/EOS/AOS-CX, ProCurve, Junos).
_REFUS_CLI = ("% Invalid input", "% Unknown command", "% Incomplete command", "Invalid input:", "syntax error")


def commande(lecture: Lecture, equipement: Equipement) -> str:
    """The command a read runs on this equipment (`{chemin}`: its file, quoted for the shell)."""
    return lecture.commande.format(chemin=shlex.quote(equipement.chemin_fichier or ""))


def fin_de_reponse(invite: str) -> str:
    """What ends a command's answer on a vendor CLI: a line that begins with the session's prompt
    (netmiko's base prompt: the host name) and ends in # or >, last in what was read.

    Found once, when the session starts: netmiko's default looks for the prompt again before each
    command, by sending Enter and taking whatever last line comes back. A switch slow to answer got
    several Enters (netmiko sends one more each time nothing came back yet), each to be answered
    before the command; a stray line read at that moment became a prompt the switch never prints.
    """
    return rf"(?:\A|\n){re.escape(invite)}[^\n]*[#>]\s*\Z"


def reponse_apres_echo(sortie: str, commande: str) -> str:
    """The answer to a command: the lines after its echo, without the prompt that ended it.

    What came before the echo (a prompt still owed for an earlier Enter) is no part of it.
    """
    debut = sortie.find(commande)
    if debut >= 0:
        fin_de_ligne = sortie.find("\n", debut)
        sortie = "" if fin_de_ligne < 0 else sortie[fin_de_ligne + 1:]
    return "\n".join(sortie.split("\n")[:-1])


def _session(equipement: Equipement, parametres: ParametresCollecte):
    """Open a session; returns a function that runs one command and returns its text, and a closer."""
    device_type = plateforme(equipement.plateforme).netmiko
    if device_type is not None:
        from netmiko import ConnectHandler

        connection = ConnectHandler(
            device_type=device_type,
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
            # Every read of the session (its preparation, each command's echo and answer) waits up to
            # --delai-commande; netmiko's own are fixed (10 s for an echo): a slow switch, alive, was
            # incomplete whatever the delay given.
            read_timeout_override=parametres.delai_commande,
        )
        fin = fin_de_reponse(connection.base_prompt)

        def run(commande: str) -> str:
            sortie = connection.send_command(commande, expect_string=fin, read_timeout=parametres.delai_commande,
                                             strip_prompt=False, strip_command=False)
            text = reponse_apres_echo(sortie, commande)
            refusal = next((line.strip() for line in text.splitlines() if any(m in line for m in _REFUS_CLI)), None)
            if refusal:
                raise LectureRefusee(f"« {commande} » refusée par l'équipement : {citer(refusal)}")
            return text

        return run, connection.disconnect
    client = _client_paramiko(equipement, parametres)
    return (lambda commande: _lire_paramiko(client, commande, parametres)), client.close


def lire_ssh(equipement: Equipement, parametres: ParametresCollecte) -> dict[str, str]:
    """The text of every read of the equipment, and of their annex commands (each run once, right
    after its read), by command (`Lecture.commande`): one SSH session, one attempt."""
    run, close = _session(equipement, parametres)
    textes: dict[str, str] = {}
    try:
        for lecture in plateforme(equipement.plateforme).lectures:
            if lecture.capture_seulement:
                continue
            textes[lecture.commande] = run(commande(lecture, equipement))
            for annexe in lecture.annexes:
                if annexe not in textes:
                    textes[annexe] = run(annexe)
        return textes
    finally:
        close()
