"""Build simulated Macs: the test hosts on which the Ansible roles converge.

A simulated Mac is:

* its own network namespace ``tm-<pid>-<n>``, reached from the root namespace
  over a management veth (``tm<pid base 36>-<n>`` <-> ``en0``) whose /30 is
  taken under the lab lock by the shared tool of the network lab and of the
  test hosts (``tests/espaces_de_noms.py``), so that labs and Macs never collide;
* its own mount (and UTS) namespace, where fresh per-Mac folders are bind
  mounted over ``/Applications``, ``/Library``, ``/Users``, ``/Volumes``,
  ``/private`` and ``/opt/telesante-macos``; as on macOS, ``/tmp`` is
  ``/private/tmp`` and root's home is ``/private/var/root``; overlays on
  ``/usr/bin``, ``/usr/sbin`` and ``/usr/libexec`` put the stand-ins at their
  macOS paths too (``/usr/sbin/installer``, ``/usr/libexec/PlistBuddy``...);
* its own ``sshd``, started inside those namespaces (SSH sessions see the
  Mac's file system), key authentication for root, a host key generated for
  this Mac, ``SetEnv PATH=/opt/telesante-macos/bin:...`` so that the
  stand-in commands (``outils/``) shadow Linux commands of the same name;
* its state under ``/private/var/telesante-etat/`` (``outils/macos_etat.py``).

On the host, the top-level mount points are created empty if missing and
stay empty. Teardown (:meth:`MacSimule.close`) kills every process of the
Mac, deletes the namespace and the veth, and removes the temporary folder;
a failed build tears down what it had built. Only addresses inside the
Mac's namespace are ever contacted; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import yaml

from .. import espaces_de_noms
from ..espaces_de_noms import (CHEMIN_SBIN, OPTIONS_SSHD, ConstructionErreur, attendre_ecoute, base36,
                               bloc_gestion_libre, chercher_outil, creer_espace, creer_lien_gestion,
                               demarrer_processus, generer_cle_ssh, ligne_hotes_connus, outil,
                               pids_de_l_espace, supprimer_espace, supprimer_lien, tuer, verrou_gestion)

PREFIXE = "tm-"
CLINICIEN = "clinicien"  # the Mac's own user account (uid 501), who runs the VM
OUTILS = Path(__file__).resolve().parent / "outils"
POINTS_DE_MONTAGE = ("/Applications", "/Library", "/Users", "/Volumes", "/private",
                     "/opt/telesante-macos")
CHEMIN_MAC = "/opt/telesante-macos/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
PYTHON_MAC = "/usr/bin/python3"
OUTILS_MACOS = ("arch", "codesign", "defaults", "df", "ditto", "hdiutil", "installer", "pkgutil",
                "PlistBuddy", "softwareupdate", "sw_vers", "sysctl", "system_profiler", "uname",
                "xattr", "xcode-select")
OUTILS_FUSION = ("vmrun", "vmware-vdiskmanager", "Initialize VMware Fusion.tool")
# Where macOS keeps each command: the stand-ins are also found at these absolute
# paths (/bin is /usr/bin on Debian), through overlays on the host's folders
# holding links to /opt/telesante-macos/bin.
EMPLACEMENTS_MACOS = {
    "/usr/bin": ("arch", "codesign", "defaults", "df", "ditto", "hdiutil", "sw_vers", "uname", "xattr",
                 "xcode-select"),
    "/usr/sbin": ("installer", "pkgutil", "softwareupdate", "sysctl", "system_profiler"),
    "/usr/libexec": ("PlistBuddy",),
}
MODULES_MACOS = ("macos_etat.py", "macos_formats.py", "invite_simule.py", "fusion_simule.py")
OUTILS_HOTE = {"ip": "iproute2", "unshare": "util-linux", "nsenter": "util-linux",
               "mount": "mount", "sshd": "openssh-server", "ssh-keygen": "openssh-client",
               "ssh": "openssh-client", "sudo": "sudo"}

_DELAI_SSHD = 10.0
_NOM = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_VERSION = re.compile(r"^\d{2}\.\d{1,2}(\.\d{1,2})?$")
_SERIE = re.compile(r"^[A-Z0-9]{8,14}$")
_compteur = itertools.count(1)

_SSHD_CONFIG = """# sshd du Mac simulé {nom} (chemins vus depuis le Mac), généré
ListenAddress {adresse}
Port 22
HostKey /private/etc/ssh/ssh_host_ed25519_key
PidFile /private/var/run/sshd.pid
AuthorizedKeysFile /private/var/root/.ssh/authorized_keys
SetEnv PATH={chemin}
""" + OPTIONS_SSHD

# Run by ``unshare --mount --uts --propagation private`` inside the Mac's network
# namespace: bind the Mac's folders, then become its sshd. Binds from the host
# folder come first: /tmp is covered last (the host folder lives under /tmp).
_DEMARRAGE = """set -e
for dossier in Applications Library Users Volumes private; do
    mount --bind "$RACINE/$dossier" "/$dossier"
done
mount --bind "$RACINE/opt/telesante-macos" /opt/telesante-macos
for couche in bin sbin libexec; do
    haut="$SURCOUCHES/$couche/haut" travail="$SURCOUCHES/$couche/travail"
    mount -t overlay overlay -o "lowerdir=/usr/$couche,upperdir=$haut,workdir=$travail" "/usr/$couche"
done
mount --bind /private/tmp /tmp
mount --bind /private/var/root /root
for fichier in passwd group shadow; do
    mount --bind "/private/etc/comptes/$fichier" "/etc/$fichier"
done
hostname "$NOM"
if [ -n "$JOURNAL_ARGV" ]; then
    # every process the SSH sessions start, with its argv (hex-escaped), in the Mac's journal
    exec "$STRACE" -f -qq --seccomp-bpf -e trace=execve -e signal=none -xx -s 65535 \
        -o "$JOURNAL_ARGV" /usr/sbin/sshd -D -e -f /private/etc/ssh/sshd_config
fi
exec /usr/sbin/sshd -D -e -f /private/etc/ssh/sshd_config
"""
# Journal of the argv of every process started over SSH (journal_argv=True), as the Mac sees it.
JOURNAL_ARGV = "/private/var/log/telesante-argv.log"
# One execve of that journal (strace -xx): the program and the argv array, every byte \xNN.
_EXECVE = re.compile(r'execve\("((?:\\x[0-9a-f]{2})*)", \[((?:"(?:\\x[0-9a-f]{2})*"(?:, )?)*)')
_CHAINE = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')


class MacSimuleErreur(ConstructionErreur):
    """A simulated Mac could not be built or operated (message in French)."""


# The shared tool lookup (tests/espaces_de_noms.py), raising MacSimuleErreur.
_outil = functools.partial(outil, erreur=MacSimuleErreur)


@dataclass(frozen=True)
class ConfigurationMac:
    """What the test chooses for a simulated Mac."""

    architecture: str = "arm64"
    version_macos: str = "14.6.1"
    numero_serie: str = "C02ZK1ABMD6R"
    espace_libre_gio: float = 500
    memoire_gio: int = 16
    jeton_branche: bool = True
    outils_cli_installes: bool = True
    nom: str | None = None
    journal_argv: bool = False

    def __post_init__(self) -> None:
        if self.architecture not in ("arm64", "x86_64"):
            raise ValueError(f"Architecture inconnue : {self.architecture!r} (arm64 ou x86_64)")
        if not _VERSION.match(self.version_macos):
            raise ValueError(f"Version de macOS invalide : {self.version_macos!r} (ex. 14.6.1)")
        if not _SERIE.match(self.numero_serie):
            raise ValueError(f"Numéro de série invalide : {self.numero_serie!r}")
        if self.espace_libre_gio < 0:
            raise ValueError("L'espace libre ne peut pas être négatif")
        if int(self.memoire_gio) <= 0:
            raise ValueError("La mémoire doit être positive")
        if self.nom is not None and not _NOM.match(self.nom):
            raise ValueError(f"Nom de Mac invalide : {self.nom!r}")


# ---------------------------------------------------------------------------
# Host helpers
# ---------------------------------------------------------------------------


def module_outils(nom: str) -> ModuleType:
    """A shared module of the stand-ins (``macos_etat``, ``macos_formats``), loaded on the host.

    The stand-ins import them from /opt/telesante-macos/lib inside the Mac;
    the harness uses the same code to prepare Macs and build installers.
    """
    cle = f"telesante_outils_{nom}"
    if cle not in sys.modules:
        spec = importlib.util.spec_from_file_location(cle, OUTILS / f"{nom}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[cle] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[cle]
            raise
    return sys.modules[cle]


def _module_etat() -> ModuleType:
    return module_outils("macos_etat")


def prerequis_manquants() -> list[str]:
    """Reasons (in French) why simulated Macs cannot be built here; empty if they can."""
    raisons: list[str] = []
    if os.geteuid() != 0:
        raisons.append("pas root")
    manquants = sorted({paquet for outil, paquet in OUTILS_HOTE.items()
                        if chercher_outil(outil) is None})
    if manquants:
        raisons.append("paquets manquants : " + ", ".join(manquants)
                       + " (lancez scripts/installer-paquets-systeme)")
    if not os.access(PYTHON_MAC, os.X_OK):
        raisons.append(f"{PYTHON_MAC} absent (paquet python3)")
    if "overlay" not in Path("/proc/filesystems").read_text():
        raisons.append("système de fichiers overlay absent du noyau")
    return raisons


def preparer_points_de_montage() -> None:
    """Create the empty top-level mount points on the host if they are missing."""
    for point in POINTS_DE_MONTAGE:
        try:
            Path(point).mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError as exc:
            raise MacSimuleErreur(f"Impossible de créer le point de montage {point} : {exc}") from exc


def _espace_de_noms_montage(pid: int) -> str | None:
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/{pid}/ns/mnt")
    return None


def _epingler_montage(pid: int) -> tuple[int, str] | None:
    """An open descriptor on the mount namespace of ``pid``, and its name (``mnt:[inode]``).

    The kernel reuses a freed namespace's inode number at once (lowest free number): the
    next ``unshare --mount`` or ``ip netns exec`` anywhere on the host gets it. Held open,
    the descriptor keeps the namespace, so its name stays the Mac's until it is closed.
    """
    try:
        descripteur = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    return descripteur, f"mnt:[{os.fstat(descripteur).st_ino}]"


def _pids_du_montage(espace: str) -> list[int]:
    """PIDs of every process living in mount namespace ``espace`` (mnt:[inode])."""
    pids = []
    for entree in os.listdir("/proc"):
        if entree.isdigit() and _espace_de_noms_montage(int(entree)) == espace:
            pids.append(int(entree))
    return pids


# ---------------------------------------------------------------------------
# The simulated Mac
# ---------------------------------------------------------------------------


class MacSimule:
    """A running simulated Mac. Build it with :func:`construire_mac`.

    Public attributes (read-only by convention): ``nom``, ``adresse``,
    ``port`` (22), ``utilisateur`` ("root"), ``cle_privee`` and
    ``hotes_connus`` (host paths for SSH), ``racine`` (host path of the Mac's
    ``/`` for the simulated folders: use :meth:`chemin`), ``configuration``,
    ``espace_de_noms`` (network namespace), ``duree_construction`` (seconds).
    """

    def __init__(self, configuration: ConfigurationMac) -> None:
        index = next(_compteur)
        self.configuration = configuration
        self.nom = configuration.nom or f"mac-{index}"
        self.port = 22
        self.utilisateur = "root"
        self.adresse = ""
        self.adresse_hote = ""
        self.espace_de_noms = f"{PREFIXE}{os.getpid()}-{index}"
        self.interface_hote = f"tm{base36(os.getpid())}-{index}"
        self.dossier = Path(tempfile.mkdtemp(prefix=f"{PREFIXE}{os.getpid()}-{index}-"))
        os.chmod(self.dossier, 0o700)
        self.racine = self.dossier / "racine"
        self.cle_privee = self.dossier / "client" / "id_ed25519"
        self.hotes_connus = self.dossier / "client" / "known_hosts"
        self.journal_sshd = self.dossier / "sshd.log"
        self.duree_construction = 0.0
        self._sshd: subprocess.Popen[bytes] | None = None
        self._espace_montage: str | None = None
        self._epingle_montage: int | None = None  # descriptor holding _espace_montage (see _epingler_montage)
        self._netns_cree = False
        self._lien_cree = False
        self._ferme = False

    # -- construction ------------------------------------------------------

    def _construire(self) -> None:
        debut = time.monotonic()
        self._preparer_points_de_montage()
        self._preparer_racine()
        self._preparer_ssh_client()
        self._creer_reseau()
        self._ecrire_config_sshd()
        self._demarrer_sshd()
        self._attendre_sshd()
        self.duree_construction = time.monotonic() - debut

    def _preparer_points_de_montage(self) -> None:
        """The host's empty top-level mount points (/Applications...), created if missing."""
        preparer_points_de_montage()

    def _preparer_comptes(self) -> None:
        """The Mac's own accounts: the host's, plus the clinician (uid 501, the first account
        macOS creates), bind-mounted over /etc/passwd, group and shadow inside the Mac only."""
        comptes = self.racine / "private/etc/comptes"
        comptes.mkdir(mode=0o755)
        for fichier, ligne in (("passwd", f"{CLINICIEN}:x:501:501:Clinicien:/Users/{CLINICIEN}:/bin/sh"),
                               ("group", f"{CLINICIEN}:x:501:"), ("shadow", f"{CLINICIEN}:*:20000:0:99999:7:::")):
            texte = Path("/etc", fichier).read_text(encoding="utf-8")
            (comptes / fichier).write_text(texte.rstrip("\n") + "\n" + ligne + "\n", encoding="utf-8")
            shutil.copymode(Path("/etc", fichier), comptes / fichier)
        accueil = self.racine / "Users" / CLINICIEN
        accueil.mkdir(mode=0o750)
        os.chown(accueil, 501, 501)

    def _preparer_racine(self) -> None:
        r = self.racine
        for dossier in ("Applications", "Library/Preferences", "Library/Application Support",
                        "Library/LaunchDaemons", "Users/Shared", "Volumes", "private/etc/ssh",
                        "private/var/run", "private/var/db/receipts", "private/var/telesante-etat",
                        "opt/telesante-macos/bin", "opt/telesante-macos/lib"):
            (r / dossier).mkdir(parents=True, exist_ok=True)
        # the simulation's state is written by stand-ins run by any account (vmrun as the clinician)
        os.chmod(r / "private/var/telesante-etat", 0o777)
        # /Users/Shared is drwxrwxrwt on macOS
        os.chmod(r / "Users/Shared", 0o1777)
        (r / "private/tmp").mkdir(mode=0o1777)
        os.chmod(r / "private/tmp", 0o1777)
        (r / "private/var/root/.ssh").mkdir(parents=True, mode=0o700)
        os.chmod(r / "private/var/root", 0o750)
        self._preparer_comptes()
        for nom in OUTILS_MACOS:
            shutil.copy2(OUTILS / nom, r / "opt/telesante-macos/bin" / nom)
        for nom in MODULES_MACOS:
            shutil.copy2(OUTILS / nom, r / "opt/telesante-macos/lib" / nom)
        for dossier_macos, outils in EMPLACEMENTS_MACOS.items():
            couche = self.dossier / "surcouches" / Path(dossier_macos).name
            (couche / "haut").mkdir(parents=True)
            (couche / "travail").mkdir()
            for nom in outils:
                # A link: /usr/sbin/installer is whatever /opt/telesante-macos/bin holds
                # (a test may wrap a stand-in there; absolute paths follow).
                (couche / "haut" / nom).symlink_to(f"/opt/telesante-macos/bin/{nom}")
        config = self.configuration
        arm = config.architecture == "arm64"
        uuid_materiel = str(uuid.uuid4()).upper()
        etat = _module_etat()
        etat.ecrire("machine", {
            "architecture": config.architecture,
            "version_macos": config.version_macos,
            "numero_serie": config.numero_serie,
            "memoire_gio": int(config.memoire_gio),
            "espace_libre_gio": config.espace_libre_gio,
            "jeton_branche": bool(config.jeton_branche),
            "nom_hote": self.nom,
            "uuid_materiel": uuid_materiel,
            "udid": f"00008112-{uuid.uuid4().hex[:16].upper()}" if arm else uuid_materiel,
        }, r)
        if config.outils_cli_installes:
            etat.installer_outils_cli(r)

    def _preparer_ssh_client(self) -> None:
        (self.dossier / "client").mkdir(mode=0o700)
        generer_cle_ssh(self.cle_privee, f"telesante-tests@{self.nom}", MacSimuleErreur)
        shutil.copyfile(f"{self.cle_privee}.pub",
                        self.racine / "private/var/root/.ssh/authorized_keys")
        generer_cle_ssh(self.racine / "private/etc/ssh/ssh_host_ed25519_key", f"root@{self.nom}",
                        MacSimuleErreur)

    def _creer_reseau(self) -> None:
        self._netns_cree = True  # before creation: torn down even if a later step fails
        creer_espace(self.espace_de_noms, erreur=MacSimuleErreur)
        with verrou_gestion():
            lien = next(iter(bloc_gestion_libre(erreur=MacSimuleErreur).subnets(new_prefix=30)))
            self._lien_cree = True
            self.adresse_hote, self.adresse = creer_lien_gestion(
                self.interface_hote, self.espace_de_noms, "en0", lien, erreur=MacSimuleErreur)

    def _ecrire_config_sshd(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        (self.racine / "private/etc/ssh/sshd_config").write_text(
            _SSHD_CONFIG.format(nom=self.nom, adresse=self.adresse, chemin=CHEMIN_MAC))
        self.hotes_connus.write_text(ligne_hotes_connus(
            self.adresse, self.port, self.racine / "private/etc/ssh/ssh_host_ed25519_key.pub"))

    def _demarrer_sshd(self) -> None:
        argv = [_outil("ip"), "netns", "exec", self.espace_de_noms, _outil("unshare"), "--mount",
                "--uts", "--propagation", "private", "/bin/sh", "-c", _DEMARRAGE]
        environnement = {"PATH": CHEMIN_SBIN, "LC_ALL": "C", "RACINE": str(self.racine),
                         "SURCOUCHES": str(self.dossier / "surcouches"), "NOM": self.nom}
        if self.configuration.journal_argv:
            journal = self.chemin(JOURNAL_ARGV)
            journal.parent.mkdir(parents=True, exist_ok=True)
            journal.touch(mode=0o600)
            environnement.update(JOURNAL_ARGV=JOURNAL_ARGV, STRACE=_outil("strace"))
        # ip netns exec, unshare and sh all exec: this PID becomes the Mac's sshd.
        self._sshd = demarrer_processus(argv, self.journal_sshd, environnement=environnement)

    def _attendre_sshd(self) -> None:
        """Wait until the sshd left the launcher's mount namespace (mounts done) and listens."""
        assert self._sshd is not None
        propre = _espace_de_noms_montage(os.getpid())
        sshd = self._sshd

        def monte() -> bool:
            # Read again at every poll: ip netns exec, then unshare, each enter a new namespace;
            # the one held at the end is the sshd's own, once it listens.
            epingle = _epingler_montage(sshd.pid)
            if epingle is None:
                return False
            descripteur, espace = epingle
            if espace in (propre, self._espace_montage):
                os.close(descripteur)
                return espace != propre
            if self._epingle_montage is not None:
                os.close(self._epingle_montage)
            self._epingle_montage, self._espace_montage = descripteur, espace
            return True

        attendre_ecoute(sshd, self.espace_de_noms, self.adresse, self.port, f"le sshd du Mac simulé {self.nom}",
                        journal=self.journal_sshd, delai=_DELAI_SSHD, erreur=MacSimuleErreur, condition=monte)

    # -- use -----------------------------------------------------------------

    def chemin(self, chemin_mac: str) -> Path:
        """Host path of ``chemin_mac`` (an absolute path as the Mac sees it).

        Valid for the simulated folders (``/Applications``, ``/Library``,
        ``/Users``, ``/Volumes``, ``/private``, ``/opt/telesante-macos``);
        ``/tmp/...`` maps to ``/private/tmp/...`` and ``/var/root`` or
        ``/root`` to ``/private/var/root``, as on macOS.
        """
        if not chemin_mac.startswith("/"):
            raise ValueError(f"Chemin du Mac non absolu : {chemin_mac!r}")
        normal = os.path.normpath(chemin_mac)
        for alias, cible in (("/tmp", "/private/tmp"), ("/var", "/private/var"),
                             ("/etc", "/private/etc"), ("/root", "/private/var/root")):
            if normal == alias or normal.startswith(alias + "/"):
                normal = cible + normal[len(alias):]
        if not any(normal == p or normal.startswith(p + "/") for p in POINTS_DE_MONTAGE):
            raise ValueError(f"{chemin_mac} n'est pas dans les dossiers simulés du Mac")
        return self.racine / normal.lstrip("/")

    def executer(self, argv: Sequence[str], *, entree: str | None = None,
                 delai: float = 30) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the Mac (its namespaces, PATH and HOME), like an SSH session.

        Never raises on a non-zero exit status; MacSimuleErreur if the Mac is
        down or the command exceeds ``delai`` seconds.
        """
        if self._ferme or self._sshd is None or self._sshd.poll() is not None:
            raise MacSimuleErreur(f"Le Mac simulé {self.nom} n'est pas démarré")
        commande = [_outil("nsenter"), "--target", str(self._sshd.pid), "--mount", "--net",
                    "--uts", "--", "/usr/bin/env", "-i", "-C", "/", f"PATH={CHEMIN_MAC}",
                    "HOME=/root", "USER=root", "LOGNAME=root", "LANG=C.UTF-8", *argv]
        try:
            return subprocess.run(commande, capture_output=True, text=True, input=entree,
                                  timeout=delai)
        except subprocess.TimeoutExpired as exc:
            raise MacSimuleErreur(f"Commande trop longue (> {delai:g} s) sur {self.nom} : "
                                  f"{' '.join(argv)}") from exc

    def arguments_lances(self) -> list[list[str]]:
        """The argv of every process started over SSH so far (``journal_argv=True`` only).

        Read from the strace journal of the Mac's sshd (``JOURNAL_ARGV``): sessions, sudo,
        shells, Ansible modules and every command they run, failed execve included.
        """
        if not self.configuration.journal_argv:
            raise MacSimuleErreur(f"Le Mac simulé {self.nom} ne journalise pas les argv "
                                  "(construire_mac(..., journal_argv=True))")

        def texte(hexa: str) -> str:
            return bytes.fromhex(hexa.replace("\\x", "")).decode("utf-8", "surrogateescape")

        lances = []
        for ligne in self.chemin(JOURNAL_ARGV).read_text(encoding="ascii", errors="replace").splitlines():
            trouve = _EXECVE.search(ligne)
            if trouve:
                lances.append([texte(arg) for arg in _CHAINE.findall(trouve.group(2))])
        return lances

    def etat(self, nom: str = "machine") -> Any:
        """Content of state file ``/private/var/telesante-etat/<nom>.json`` (None if absent)."""
        chemin = self.racine / "private/var/telesante-etat" / f"{nom}.json"
        try:
            return json.loads(chemin.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def _modifier_machine(self, **valeurs: Any) -> None:
        etat = _module_etat()
        with etat.modifier("machine", {}, self.racine) as machine:
            machine.update(valeurs)

    def brancher_jeton(self) -> None:
        """Plug the Gemalto USB Shell Token V2 into the Mac."""
        self._modifier_machine(jeton_branche=True)

    def debrancher_jeton(self) -> None:
        """Unplug the Gemalto token."""
        self._modifier_machine(jeton_branche=False)

    def regler_espace_libre(self, gio: float) -> None:
        """Set the free disk space (GiB) that df, installer and vmware-vdiskmanager see."""
        if gio < 0:
            raise ValueError("L'espace libre ne peut pas être négatif")
        self._modifier_machine(espace_libre_gio=gio)

    def variables_hote(self) -> dict[str, Any]:
        """Ansible connection variables of this Mac (inventory host entry)."""
        return {
            "ansible_host": self.adresse,
            "ansible_port": self.port,
            "ansible_user": self.utilisateur,
            "ansible_ssh_private_key_file": str(self.cle_privee),
            "ansible_ssh_common_args": (f"-o UserKnownHostsFile={self.hotes_connus} "
                                        "-o StrictHostKeyChecking=yes"),
            "ansible_python_interpreter": PYTHON_MAC,
            "telesante_numero_serie": self.configuration.numero_serie,
        }

    def ecrire_inventaire(self, dossier: Path | str, **variables: Any) -> Path:
        """Write an Ansible inventory (group ``postes_dsq``) holding this Mac."""
        return ecrire_inventaire([self], dossier, **variables)

    def pids(self) -> list[int]:
        """PIDs of every process running inside the Mac."""
        pids = set(_pids_du_montage(self._espace_montage)) if self._espace_montage else set()
        if self._netns_cree:
            pids.update(pids_de_l_espace(self.espace_de_noms))
        return sorted(pids)

    # -- teardown ------------------------------------------------------------

    def close(self) -> None:
        """Tear the Mac down: processes, namespace, veth, temporary folder.

        Idempotent; goes on after individual failures and raises
        MacSimuleErreur at the end if something could not be removed.
        """
        if self._ferme:
            return
        self._ferme = True
        problemes: list[str] = []
        try:
            # Sessions and helpers die first, while the link is still up (SSH
            # clients on the host see their connection close) and while the
            # sshd listener is there to reap them (no zombies left to PID 1).
            ecoute = self._sshd.pid if self._sshd is not None else None
            tuer(p for p in self.pids() if p != ecoute)
            if self._sshd is not None and self._sshd.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self._sshd.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._sshd.wait(timeout=2)
            for _ in range(3):
                restants = self.pids()
                if not restants:
                    break
                tuer(restants)
            if self._sshd is not None:
                try:
                    self._sshd.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    problemes.append(f"sshd {self._sshd.pid} toujours vivant")
            if self.pids():
                problemes.append(f"processus restants : {self.pids()}")
        except Exception as exc:  # noqa: BLE001 - teardown must go on
            problemes.append(f"processus : {exc}")
        if self._epingle_montage is not None:
            # From here on, the inode may name another host's namespace: pids() no longer looks at it.
            os.close(self._epingle_montage)
            self._epingle_montage = self._espace_montage = None
        if self._lien_cree:
            probleme = supprimer_lien(self.interface_hote)
            if probleme:
                problemes.append(probleme)
        if self._netns_cree:
            probleme = supprimer_espace(self.espace_de_noms)
            if probleme:
                problemes.append(probleme)
        shutil.rmtree(self.dossier, ignore_errors=True)
        if self.dossier.exists():
            problemes.append(f"dossier {self.dossier} non supprimé")
        if problemes:
            raise MacSimuleErreur(f"Démontage incomplet du Mac simulé {self.nom} : "
                                  + "; ".join(problemes))

    def __enter__(self) -> MacSimule:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"MacSimule({self.nom!r}, {self.configuration.architecture}, "
                f"macOS {self.configuration.version_macos}, {self.adresse or 'non démarré'})")


def construire_mac(architecture: str = "arm64", version_macos: str = "14.6.1",
                   numero_serie: str = "C02ZK1ABMD6R", espace_libre_gio: float = 500,
                   memoire_gio: int = 16, jeton_branche: bool = True,
                   outils_cli_installes: bool = True, nom: str | None = None,
                   journal_argv: bool = False) -> MacSimule:
    """Build and start a simulated Mac; the caller must :meth:`MacSimule.close` it.

    On any failure, what was already built is torn down before the error
    propagates. ``journal_argv``: the sshd runs under strace, and
    :meth:`MacSimule.arguments_lances` gives the argv of every process started over SSH.
    """
    raisons = prerequis_manquants()
    if raisons:
        raise MacSimuleErreur("Le Mac simulé exige root et quelques outils : " + " ; ".join(raisons))
    configuration = ConfigurationMac(architecture, version_macos, numero_serie, espace_libre_gio,
                                     memoire_gio, jeton_branche, outils_cli_installes, nom, journal_argv)
    mac = MacSimule(configuration)
    try:
        mac._construire()
    except BaseException:
        with contextlib.suppress(Exception):
            mac.close()
        raise
    return mac


def ecrire_inventaire(macs: Sequence[MacSimule], dossier: Path | str, **variables: Any) -> Path:
    """Write ``<dossier>/hosts.yml``: group ``postes_dsq`` with ``macs``; ``variables`` as group vars."""
    noms = [mac.nom for mac in macs]
    if len(set(noms)) != len(noms):
        raise ValueError(f"Deux Macs portent le même nom : {noms}")
    groupe: dict[str, Any] = {"hosts": {mac.nom: mac.variables_hote() for mac in macs}}
    if variables:
        groupe["vars"] = variables
    dossier = Path(dossier)
    dossier.mkdir(parents=True, exist_ok=True)
    chemin = dossier / "hosts.yml"
    chemin.write_text(yaml.safe_dump({"all": {"children": {"postes_dsq": groupe}}},
                                     sort_keys=False, allow_unicode=True), encoding="utf-8")
    return chemin


def nettoyer_restes() -> list[str]:
    """Remove what crashed runs left behind (creator PID dead); return what was removed.

    Namespaces ``tm-<pid>-<n>``, root veth ends ``tm<pid base 36>-<n>`` and
    temporary folders ``tm-<pid>-<n>-*``, of simulated Macs and test hosts.
    """
    return espaces_de_noms.nettoyer_restes("tm")


__all__ = ["ConfigurationMac", "MacSimule", "MacSimuleErreur", "construire_mac",
           "ecrire_inventaire", "nettoyer_restes", "prerequis_manquants", "CHEMIN_MAC",
           "OUTILS", "OUTILS_FUSION", "OUTILS_MACOS"]
