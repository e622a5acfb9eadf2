"""Construction des hôtes de test en espaces de noms Linux : un seul outil pour tous.

Le laboratoire réseau (``tests/labo/topologie.py``), le Mac simulé
(``tests/mac_simule/construction.py``) et l'hôte du serveur d'audit
(``tests/serveur_audit/hote.py``) s'appuient sur ce module pour :

* lancer les commandes de l'hôte, bornées dans le temps (:func:`lancer`) ;
* créer un espace de noms réseau (:func:`creer_espace`) et le lien de gestion
  qui le relie à l'espace racine (:func:`creer_lien_gestion`), dont le /30 est
  pris, sous le verrou du laboratoire ``/run/lock/telesante-labo.lock``
  (:func:`verrou_gestion`), dans un bloc /29 que rien n'utilise encore
  (:func:`bloc_gestion_libre`) : laboratoires, Mac simulés et hôtes de test de
  plusieurs exécutions des tests ne se marchent jamais dessus ;
* préparer et attendre un ``sshd`` (:data:`OPTIONS_SSHD`,
  :func:`generer_cle_ssh`, :func:`attendre_ecoute`) ;
* attendre, toujours borné en nombre d'essais et en durée (:func:`attendre`) ;
* nettoyer : tuer les processus d'un espace, supprimer espaces, liens et
  dossiers, et les restes des exécutions mortes (:func:`nettoyer_restes`).

Convention de nommage, pour que les restes se reconnaissent : un objet créé par
le processus ``pid`` porte le préfixe de son outil (``ts`` laboratoire, ``tm``
Mac simulé et hôte de test) suivi de ``-<pid>-<n>`` (espaces de noms, dossiers
temporaires) ou de ``<pid en base 36>-<n>`` (bouts de liens dans l'espace
racine, 15 caractères au plus). Seul ce dont le créateur est mort est nettoyé.

Aucun trafic ne sort des espaces créés : la seule modification de l'espace
racine est l'ajout, puis le retrait, des bouts de liens de gestion.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

CHEMIN_SBIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
VERROU = Path("/run/lock/telesante-labo.lock")
# Blocs /29 des liens de gestion : un bloc par laboratoire (un /30 pour le
# commutateur, un pour la passerelle) ou par Mac simulé (un seul /30).
RESERVES_GESTION = (ipaddress.IPv4Network("10.255.0.0/16"), ipaddress.IPv4Network("172.31.248.0/21"))

# Connexion de root par clé seulement, rien d'autre : commun à tous les sshd de test.
OPTIONS_SSHD = """PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 50:30:100
LogLevel VERBOSE
Subsystem sftp internal-sftp
"""


class ConstructionErreur(RuntimeError):
    """Un hôte de test n'a pas pu être construit ou manipulé (message en français)."""


# ---------------------------------------------------------------------------
# Commandes de l'hôte
# ---------------------------------------------------------------------------


def chercher_outil(nom: str) -> str | None:
    """Chemin de la commande ``nom`` (les dossiers sbin compris), ou None."""
    return shutil.which(nom, path=os.environ.get("PATH", "") + ":" + CHEMIN_SBIN)


def outil(nom: str, erreur: type[Exception] = ConstructionErreur) -> str:
    """Chemin de la commande ``nom`` ; ``erreur`` (message en français) si elle manque."""
    chemin = chercher_outil(nom)
    if chemin is None:
        raise erreur(f"Outil introuvable : {nom} (lancez scripts/installer-paquets-systeme)")
    return chemin


def environnement_enfant() -> dict[str, str]:
    """L'environnement des commandes lancées : le nôtre, les dossiers sbin en plus, LC_ALL=C."""
    return {**os.environ, "PATH": os.environ.get("PATH", "") + ":" + CHEMIN_SBIN, "LC_ALL": "C"}


def lancer(argv: Sequence[str], *, verifier: bool = True, delai: float = 15, entree: str | None = None,
           erreur: type[Exception] = ConstructionErreur) -> subprocess.CompletedProcess[str]:
    """Lance une commande de l'hôte, bornée dans le temps ; ``erreur`` si elle échoue ou dure trop."""
    try:
        resultat = subprocess.run(list(argv), capture_output=True, text=True, timeout=delai,
                                  input=entree, env=environnement_enfant())
    except subprocess.TimeoutExpired as exc:
        raise erreur(f"Commande trop longue (> {delai:g} s) : {' '.join(argv)}") from exc
    if verifier and resultat.returncode != 0:
        raise erreur(f"Échec de « {' '.join(argv)} » (code {resultat.returncode}) : "
                     f"{resultat.stderr.strip() or resultat.stdout.strip()}")
    return resultat


def dans_espace(espace: str, argv: Sequence[str]) -> list[str]:
    """``argv`` lancé dans l'espace de noms réseau ``espace`` (``ip netns exec``)."""
    return [outil("ip"), "netns", "exec", espace, *argv]


def attendre(predicat: Callable[[], bool], quoi: str, delai: float = 10.0, intervalle: float = 0.1,
             erreur: type[Exception] = ConstructionErreur) -> None:
    """Interroge ``predicat`` jusqu'à ce qu'il soit vrai, borné en essais et en durée."""
    limite = time.monotonic() + delai
    for _ in range(int(delai / intervalle) + 1):
        if predicat():
            return
        if time.monotonic() >= limite:
            break
        time.sleep(intervalle)
    if predicat():
        return
    raise erreur(f"Délai dépassé ({delai:g} s) en attendant {quoi}")


# ---------------------------------------------------------------------------
# Processus
# ---------------------------------------------------------------------------


def processus_vivant(pid: int) -> bool:
    """Vrai si ``pid`` existe et n'est pas un zombie."""
    try:
        etat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return etat.rsplit(")", 1)[-1].split()[0] != "Z"


def tuer(pids: Iterable[int]) -> None:
    """SIGKILL à ``pids`` (jamais à nous-mêmes), puis attente bornée de leur fin."""
    pids = [p for p in pids if p != os.getpid()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    limite = time.monotonic() + 3.0
    # Un zombie compte pour mort ; il quitte /proc quand son parent le recueille.
    while time.monotonic() < limite and any(processus_vivant(p) for p in pids):
        time.sleep(0.02)
    limite = time.monotonic() + 0.5
    while time.monotonic() < limite and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.02)


def pids_de_l_espace(espace: str) -> list[int]:
    """PID des processus qui vivent dans l'espace de noms réseau ``espace``."""
    sortie = subprocess.run([outil("ip"), "netns", "pids", espace], capture_output=True, text=True).stdout
    return [int(p) for p in sortie.split() if p.isdigit()]


def tuer_processus_de_l_espace(espace: str) -> None:
    """Filet de sécurité : tue ce qui tourne encore dans ``espace`` (trois passes bornées)."""
    for _ in range(3):
        pids = [p for p in pids_de_l_espace(espace) if p != os.getpid()]
        if not pids:
            return
        tuer(pids)


def demarrer_processus(argv: Sequence[str], journal: Path, *, environnement: dict[str, str] | None = None,
                       dossier: Path | str = "/") -> subprocess.Popen[bytes]:
    """Lance ``argv`` en arrière-plan, dans sa propre session, sorties dans ``journal``."""
    with open(journal, "ab") as sortie:
        return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=sortie, stderr=subprocess.STDOUT,
                                env=environnement if environnement is not None else environnement_enfant(),
                                cwd=dossier, start_new_session=True)


def fin_du_journal(journal: Path, lignes: int = 15) -> str:
    """Les dernières lignes d'un journal (vide s'il est illisible)."""
    with contextlib.suppress(OSError):
        return "\n".join(journal.read_text(errors="replace").splitlines()[-lignes:])
    return ""


# ---------------------------------------------------------------------------
# Espaces de noms et liens de gestion
# ---------------------------------------------------------------------------


def base36(valeur: int) -> str:
    """``valeur`` en base 36 (chiffres puis minuscules) : noms de liens courts."""
    chiffres = "0123456789abcdefghijklmnopqrstuvwxyz"
    sortie = ""
    while True:
        valeur, reste = divmod(valeur, 36)
        sortie = chiffres[reste] + sortie
        if valeur == 0:
            return sortie


def creer_espace(espace: str, *, erreur: type[Exception] = ConstructionErreur,
                 sans_routage: bool = False) -> None:
    """Crée l'espace de noms réseau ``espace`` : IPv6 coupé, ``lo`` levé.

    ``sans_routage`` coupe aussi le routage IPv4 (équipements du laboratoire).
    """
    ip = outil("ip", erreur)
    lancer([ip, "netns", "add", espace], erreur=erreur)
    reglages = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
    if sans_routage:
        reglages.append("net.ipv4.ip_forward=0")
    # IPv6 coupé : des tables déterministes, et aucun trafic au-delà de ce que le test envoie.
    lancer([ip, "netns", "exec", espace, outil("sysctl", erreur), "-q", "-w", *reglages], erreur=erreur)
    lancer([ip, "-n", espace, "link", "set", "lo", "up"], erreur=erreur)


@contextlib.contextmanager
def verrou_gestion() -> Iterator[None]:
    """Sérialise l'attribution des réseaux de gestion entre constructions concurrentes.

    Verrou ``/run/lock/telesante-labo.lock`` (dans le dossier temporaire si
    ``/run/lock`` manque), partagé par toutes les exécutions des tests.
    """
    chemin = VERROU if VERROU.parent.is_dir() else Path(tempfile.gettempdir()) / VERROU.name
    with open(chemin, "a") as fichier:
        fcntl.flock(fichier, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fichier, fcntl.LOCK_UN)


def reseaux_utilises() -> list[ipaddress.IPv4Network]:
    """Tout réseau IPv4 configuré ou routé dans l'espace racine."""
    utilises: list[ipaddress.IPv4Network] = []
    ip = outil("ip")
    for lien in json.loads(lancer([ip, "-j", "-4", "addr", "show"]).stdout or "[]"):
        for adresse in lien.get("addr_info", []):
            utilises.append(ipaddress.IPv4Network(f"{adresse['local']}/{adresse['prefixlen']}", strict=False))
    for route in json.loads(lancer([ip, "-j", "-4", "route", "show", "table", "all"]).stdout or "[]"):
        destination = route.get("dst", "")
        if destination in ("", "default", "0.0.0.0/0"):
            continue
        with contextlib.suppress(ValueError):
            utilises.append(ipaddress.IPv4Network(destination, strict=False))
    return utilises


def bloc_gestion_libre(a_eviter: Sequence[ipaddress.IPv4Network] = (),
                       erreur: type[Exception] = ConstructionErreur) -> ipaddress.IPv4Network:
    """Premier /29 des réserves qui ne chevauche rien de l'espace racine ni ``a_eviter``.

    À appeler sous :func:`verrou_gestion`, jusqu'à ce que les adresses soient posées.
    """
    utilises = reseaux_utilises() + list(a_eviter)
    for reserve in RESERVES_GESTION:
        for bloc in reserve.subnets(new_prefix=29):
            if not any(bloc.overlaps(u) for u in utilises):
                return bloc
    raise erreur("Aucun sous-réseau de gestion libre dans 10.255.0.0/16 ni 172.31.248.0/21")


def creer_lien_gestion(lien_hote: str, espace: str, interface: str, reseau: ipaddress.IPv4Network, *,
                       erreur: type[Exception] = ConstructionErreur) -> tuple[str, str]:
    """Paire veth ``lien_hote`` (espace racine) <-> ``interface`` (dans ``espace``), sur le /30 ``reseau``.

    Rend (adresse côté racine, adresse côté espace). À appeler sous :func:`verrou_gestion`.
    Le bout racine existe dès le retour de la première commande : l'appelant le
    note avant d'appeler, pour le supprimer même si la suite échoue.
    """
    ip = outil("ip", erreur)
    adresse_hote, adresse_espace = (str(a) for a in reseau.hosts())
    lancer([ip, "link", "add", lien_hote, "type", "veth", "peer", "name", interface, "netns", espace],
           erreur=erreur)
    lancer([outil("sysctl", erreur), "-q", "-w", f"net.ipv6.conf.{lien_hote}.disable_ipv6=1"], erreur=erreur)
    lancer([ip, "addr", "add", f"{adresse_hote}/{reseau.prefixlen}", "dev", lien_hote], erreur=erreur)
    lancer([ip, "link", "set", lien_hote, "up"], erreur=erreur)
    lancer([ip, "-n", espace, "addr", "add", f"{adresse_espace}/{reseau.prefixlen}", "dev", interface],
           erreur=erreur)
    lancer([ip, "-n", espace, "link", "set", interface, "up"], erreur=erreur)
    return adresse_hote, adresse_espace


def supprimer_lien(lien: str) -> str | None:
    """Supprime le bout de lien ``lien`` de l'espace racine ; rend le problème, ou None.

    Un lien déjà parti (la suppression d'un espace emporte ses paires veth) n'est pas un problème.
    """
    ip = outil("ip")
    if subprocess.run([ip, "link", "show", lien], capture_output=True).returncode != 0:
        return None
    resultat = subprocess.run([ip, "link", "del", lien], capture_output=True, text=True)
    if resultat.returncode != 0 and "Cannot find device" not in resultat.stderr:
        return f"lien {lien} : {resultat.stderr.strip()}"
    return None


def supprimer_espace(espace: str) -> str | None:
    """Tue ce qui tourne dans ``espace`` puis le supprime ; rend le problème, ou None."""
    tuer_processus_de_l_espace(espace)
    resultat = subprocess.run([outil("ip"), "netns", "del", espace], capture_output=True, text=True)
    if resultat.returncode != 0:
        return f"netns {espace} : {resultat.stderr.strip()}"
    return None


# ---------------------------------------------------------------------------
# sshd
# ---------------------------------------------------------------------------


def generer_cle_ssh(chemin: Path, commentaire: str, erreur: type[Exception] = ConstructionErreur) -> None:
    """Nouvelle clé ed25519 sans phrase de passe en ``chemin`` (l'ancienne est retirée)."""
    for fichier in (chemin, Path(f"{chemin}.pub")):
        fichier.unlink(missing_ok=True)
    lancer([outil("ssh-keygen", erreur), "-q", "-t", "ed25519", "-N", "", "-C", commentaire, "-f", str(chemin)],
           erreur=erreur)


def ligne_hotes_connus(adresse: str, port: int, cle_publique: Path) -> str:
    """La ligne ``known_hosts`` d'OpenSSH qui épingle ``cle_publique`` pour ``adresse:port``."""
    type_cle, cle = cle_publique.read_text().split()[:2]
    hote = adresse if port == 22 else f"[{adresse}]:{port}"
    return f"{hote} {type_cle} {cle}\n"


def ecoute_tcp(espace: str, adresse: str, port: int) -> bool:
    """Vrai si un processus de ``espace`` écoute en TCP sur ``adresse:port`` (``ss``)."""
    sortie = subprocess.run(dans_espace(espace, [outil("ss"), "-Hltn"]), capture_output=True, text=True,
                            timeout=15, env=environnement_enfant()).stdout
    return f"{adresse}:{port} " in sortie


def attendre_ecoute(processus: subprocess.Popen[bytes], espace: str, adresse: str, port: int, nom: str, *,
                    journal: Path, delai: float = 10.0, erreur: type[Exception] = ConstructionErreur,
                    condition: Callable[[], bool] = lambda: True) -> None:
    """Attend que ``processus`` (un sshd) écoute sur ``adresse:port`` ; ``erreur`` s'il meurt ou tarde.

    ``nom`` désigne le processus dans les messages (« le sshd de commutateur »).

    ``condition`` : ce qui doit aussi être vrai (par exemple, le sshd a quitté
    l'espace de montage de son lanceur).
    """
    def pret() -> bool:
        return processus.poll() is not None or (condition() and ecoute_tcp(espace, adresse, port))

    try:
        attendre(pret, nom, delai=delai, intervalle=0.02, erreur=erreur)
    except Exception as exc:
        raise erreur(f"{exc} :\n{fin_du_journal(journal)}") from None
    if processus.poll() is not None:
        raise erreur(f"{nom[:1].upper()}{nom[1:]} s'est arrêté (code {processus.returncode}) :\n"
                     f"{fin_du_journal(journal)}")


# ---------------------------------------------------------------------------
# Restes des exécutions mortes
# ---------------------------------------------------------------------------


def nettoyer_restes(prefixe: str) -> list[str]:
    """Retire ce que des exécutions mortes de l'outil ``prefixe`` ont laissé ; rend ce qui a été retiré.

    Seuls les objets dont le processus créateur n'existe plus sont touchés :
    espaces de noms ``<prefixe>-<pid>-<n>[-...]`` (leurs processus tués
    d'abord), bouts de liens ``<prefixe><pid en base 36>-<n>[c|p]`` et dossiers
    temporaires ``<prefixe>-<pid>-<n>-...``.
    """
    retires: list[str] = []
    ip = outil("ip")
    motif = re.compile(rf"^{re.escape(prefixe)}-(\d+)-\d+(?:-|$)")
    liste = subprocess.run([ip, "-j", "netns", "list"], capture_output=True, text=True).stdout
    for entree in json.loads(liste or "[]"):
        nom = entree.get("name", "")
        trouve = motif.match(nom)
        if trouve and not processus_vivant(int(trouve.group(1))):
            supprimer_espace(nom)
            retires.append(f"netns {nom}")
    motif_lien = re.compile(rf"^{re.escape(prefixe)}([0-9a-z]{{1,6}})-\d+[cp]?$")
    liens = subprocess.run([ip, "-j", "link", "show"], capture_output=True, text=True).stdout
    for lien in json.loads(liens or "[]"):
        nom = lien.get("ifname", "")
        trouve = motif_lien.match(nom)
        if trouve and not processus_vivant(int(trouve.group(1), 36)):
            subprocess.run([ip, "link", "del", nom], capture_output=True)
            retires.append(f"lien {nom}")
    for chemin in Path(tempfile.gettempdir()).glob(f"{prefixe}-*"):
        trouve = motif.match(chemin.name)
        if trouve and chemin.is_dir() and not processus_vivant(int(trouve.group(1))):
            shutil.rmtree(chemin, ignore_errors=True)
            retires.append(f"dossier {chemin}")
    return retires
