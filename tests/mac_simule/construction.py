"""Build simulated Macs: the test hosts on which the Ansible roles converge.

A simulated Mac is:

* its own network namespace ``tm-<pid>-<n>``, reached from the root namespace
  over a management veth (``tm<pid base 36>-<n>`` <-> ``en0``) whose /30 is
  taken from 10.255.0.0/16 with the network lab's allocator and lock
  (``tests/labo/topologie.py``), so that labs and Macs never collide;
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
import importlib.util
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Sequence

import yaml

from ..labo.topologie import SSHD_OPTIONS_COMMUNES, _base36, _free_mgmt_block, _mgmt_lock, _pid_alive

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
MODULES_MACOS = ("macos_etat.py", "macos_formats.py", "invite_simule.py")
OUTILS_HOTE = {"ip": "iproute2", "unshare": "util-linux", "nsenter": "util-linux",
               "mount": "mount", "sshd": "openssh-server", "ssh-keygen": "openssh-client",
               "ssh": "openssh-client", "sudo": "sudo"}

_SBIN = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
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
""" + SSHD_OPTIONS_COMMUNES

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
exec /usr/sbin/sshd -D -e -f /private/etc/ssh/sshd_config
"""


class MacSimuleErreur(RuntimeError):
    """A simulated Mac could not be built or operated (message in French)."""


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


def _outil(nom: str) -> str:
    chemin = shutil.which(nom, path=os.environ.get("PATH", "") + ":" + _SBIN)
    if chemin is None:
        raise MacSimuleErreur(f"Outil introuvable : {nom} (lancez scripts/installer-paquets-systeme)")
    return chemin


def _lancer(argv: Sequence[str], *, verifier: bool = True, delai: float = 15
            ) -> subprocess.CompletedProcess[str]:
    """Run a host command, bounded in time; MacSimuleErreur on failure."""
    try:
        resultat = subprocess.run(list(argv), capture_output=True, text=True, timeout=delai,
                                  env={**os.environ, "PATH": os.environ.get("PATH", "") + ":" + _SBIN,
                                       "LC_ALL": "C"})
    except subprocess.TimeoutExpired as exc:
        raise MacSimuleErreur(f"Commande trop longue (> {delai:g} s) : {' '.join(argv)}") from exc
    if verifier and resultat.returncode != 0:
        raise MacSimuleErreur(f"Échec de « {' '.join(argv)} » (code {resultat.returncode}) : "
                              f"{resultat.stderr.strip() or resultat.stdout.strip()}")
    return resultat


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
                        if shutil.which(outil, path=os.environ.get("PATH", "") + ":" + _SBIN) is None})
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


def _pids_du_montage(espace: str) -> list[int]:
    """PIDs of every process living in mount namespace ``espace`` (mnt:[inode])."""
    pids = []
    for entree in os.listdir("/proc"):
        if entree.isdigit() and _espace_de_noms_montage(int(entree)) == espace:
            pids.append(int(entree))
    return pids


def _tuer(pids: Iterable[int]) -> None:
    """SIGKILL ``pids``, then wait (bounded) until they are gone."""
    pids = [p for p in pids if p != os.getpid()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    limite = time.monotonic() + 3.0
    # Gone from /proc when reaped by their parent; a zombie counts as dead.
    while time.monotonic() < limite and any(_pid_alive(p) for p in pids):
        time.sleep(0.02)
    limite = time.monotonic() + 0.5
    while time.monotonic() < limite and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.02)


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
        self.interface_hote = f"tm{_base36(os.getpid())}-{index}"
        self.dossier = Path(tempfile.mkdtemp(prefix=f"{PREFIXE}{os.getpid()}-{index}-"))
        os.chmod(self.dossier, 0o700)
        self.racine = self.dossier / "racine"
        self.cle_privee = self.dossier / "client" / "id_ed25519"
        self.hotes_connus = self.dossier / "client" / "known_hosts"
        self.journal_sshd = self.dossier / "sshd.log"
        self.duree_construction = 0.0
        self._sshd: subprocess.Popen[bytes] | None = None
        self._espace_montage: str | None = None
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
        keygen = _outil("ssh-keygen")
        _lancer([keygen, "-q", "-t", "ed25519", "-N", "", "-C", f"telesante-tests@{self.nom}",
                 "-f", str(self.cle_privee)])
        shutil.copyfile(f"{self.cle_privee}.pub",
                        self.racine / "private/var/root/.ssh/authorized_keys")
        cle_hote = self.racine / "private/etc/ssh/ssh_host_ed25519_key"
        _lancer([keygen, "-q", "-t", "ed25519", "-N", "", "-C", f"root@{self.nom}",
                 "-f", str(cle_hote)])

    def _creer_reseau(self) -> None:
        ip = _outil("ip")
        ns = self.espace_de_noms
        _lancer([ip, "netns", "add", ns])
        self._netns_cree = True
        # IPv6 off: no traffic beyond the management link.
        _lancer([ip, "netns", "exec", ns, _outil("sysctl"), "-q", "-w",
                 "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        _lancer([ip, "-n", ns, "link", "set", "lo", "up"])
        with _mgmt_lock():
            bloc = _free_mgmt_block([])
            lien = next(iter(bloc.subnets(new_prefix=30)))
            self.adresse_hote, self.adresse = (str(a) for a in lien.hosts())
            _lancer([ip, "link", "add", self.interface_hote, "type", "veth", "peer", "name", "en0",
                     "netns", ns])
            self._lien_cree = True
            _lancer([_outil("sysctl"), "-q", "-w",
                     f"net.ipv6.conf.{self.interface_hote}.disable_ipv6=1"])
            _lancer([ip, "addr", "add", f"{self.adresse_hote}/30", "dev", self.interface_hote])
            _lancer([ip, "link", "set", self.interface_hote, "up"])
        _lancer([ip, "-n", ns, "addr", "add", f"{self.adresse}/30", "dev", "en0"])
        _lancer([ip, "-n", ns, "link", "set", "en0", "up"])

    def _ecrire_config_sshd(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        (self.racine / "private/etc/ssh/sshd_config").write_text(
            _SSHD_CONFIG.format(nom=self.nom, adresse=self.adresse, chemin=CHEMIN_MAC))
        cle = (self.racine / "private/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        self.hotes_connus.write_text(f"{self.adresse} {cle[0]} {cle[1]}\n")

    def _demarrer_sshd(self) -> None:
        argv = [_outil("ip"), "netns", "exec", self.espace_de_noms, _outil("unshare"), "--mount",
                "--uts", "--propagation", "private", "/bin/sh", "-c", _DEMARRAGE]
        environnement = {"PATH": _SBIN, "LC_ALL": "C", "RACINE": str(self.racine),
                         "SURCOUCHES": str(self.dossier / "surcouches"), "NOM": self.nom}
        with open(self.journal_sshd, "ab") as journal:
            # ip netns exec, unshare and sh all exec: this PID becomes the Mac's sshd.
            self._sshd = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=journal,
                                          stderr=subprocess.STDOUT, env=environnement, cwd="/",
                                          start_new_session=True)

    def _attendre_sshd(self) -> None:
        assert self._sshd is not None
        limite = time.monotonic() + _DELAI_SSHD
        propre = _espace_de_noms_montage(os.getpid())
        while True:
            if self._sshd.poll() is not None:
                raise MacSimuleErreur(f"Le sshd du Mac simulé {self.nom} s'est arrêté "
                                      f"(code {self._sshd.returncode}) :\n{self._fin_journal()}")
            espace = _espace_de_noms_montage(self._sshd.pid)
            if espace and espace != propre:
                self._espace_montage = espace
                with contextlib.suppress(OSError), \
                        socket.create_connection((self.adresse, self.port), timeout=0.5):
                    return
            if time.monotonic() >= limite:
                raise MacSimuleErreur(f"Délai dépassé ({_DELAI_SSHD:g} s) en attendant le sshd du "
                                      f"Mac simulé {self.nom} :\n{self._fin_journal()}")
            time.sleep(0.01)

    def _fin_journal(self, lignes: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.journal_sshd.read_text(errors="replace").splitlines()[-lignes:])
        return ""

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
            sortie = _lancer([_outil("ip"), "netns", "pids", self.espace_de_noms],
                             verifier=False).stdout
            pids.update(int(p) for p in sortie.split() if p.isdigit())
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
            _tuer(p for p in self.pids() if p != ecoute)
            if self._sshd is not None and self._sshd.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self._sshd.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._sshd.wait(timeout=2)
            for _ in range(3):
                restants = self.pids()
                if not restants:
                    break
                _tuer(restants)
            if self._sshd is not None:
                try:
                    self._sshd.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    problemes.append(f"sshd {self._sshd.pid} toujours vivant")
            if self.pids():
                problemes.append(f"processus restants : {self.pids()}")
        except Exception as exc:  # noqa: BLE001 - teardown must go on
            problemes.append(f"processus : {exc}")
        ip = shutil.which("ip", path=_SBIN) or "ip"
        if self._lien_cree:
            if subprocess.run([ip, "link", "show", self.interface_hote],
                              capture_output=True).returncode == 0:
                resultat = subprocess.run([ip, "link", "del", self.interface_hote],
                                          capture_output=True, text=True)
                if resultat.returncode != 0:
                    problemes.append(f"lien {self.interface_hote} : {resultat.stderr.strip()}")
        if self._netns_cree:
            resultat = subprocess.run([ip, "netns", "del", self.espace_de_noms],
                                      capture_output=True, text=True)
            if resultat.returncode != 0:
                problemes.append(f"netns {self.espace_de_noms} : {resultat.stderr.strip()}")
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
                   outils_cli_installes: bool = True, nom: str | None = None) -> MacSimule:
    """Build and start a simulated Mac; the caller must :meth:`MacSimule.close` it.

    On any failure, what was already built is torn down before the error
    propagates.
    """
    raisons = prerequis_manquants()
    if raisons:
        raise MacSimuleErreur("Le Mac simulé exige root et quelques outils : " + " ; ".join(raisons))
    configuration = ConfigurationMac(architecture, version_macos, numero_serie, espace_libre_gio,
                                     memoire_gio, jeton_branche, outils_cli_installes, nom)
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
    """Remove what crashed runs left behind (creator PID dead); return what was removed."""
    enleves: list[str] = []
    ip = _outil("ip")
    motif_ns = re.compile(rf"^{re.escape(PREFIXE)}(\d+)-\d+$")
    liste = _lancer([ip, "-j", "netns", "list"], verifier=False).stdout
    for entree in json.loads(liste or "[]"):
        nom = entree.get("name", "")
        correspondance = motif_ns.match(nom)
        if correspondance and not _pid_alive(int(correspondance.group(1))):
            pids = _lancer([ip, "netns", "pids", nom], verifier=False).stdout.split()
            _tuer(int(p) for p in pids if p.isdigit())
            _lancer([ip, "netns", "del", nom], verifier=False)
            enleves.append(f"netns {nom}")
    motif_lien = re.compile(r"^tm([0-9a-z]{1,6})-\d+$")
    liens = _lancer([ip, "-j", "link", "show"], verifier=False).stdout
    for lien in json.loads(liens or "[]"):
        nom = lien.get("ifname", "")
        correspondance = motif_lien.match(nom)
        if correspondance and not _pid_alive(int(correspondance.group(1), 36)):
            _lancer([ip, "link", "del", nom], verifier=False)
            enleves.append(f"lien {nom}")
    motif_dossier = re.compile(rf"^{re.escape(PREFIXE)}(\d+)-\d+-")
    for chemin in Path(tempfile.gettempdir()).glob(f"{PREFIXE}*"):
        correspondance = motif_dossier.match(chemin.name)
        if correspondance and chemin.is_dir() and not _pid_alive(int(correspondance.group(1))):
            shutil.rmtree(chemin, ignore_errors=True)
            enleves.append(f"dossier {chemin}")
    return enleves


__all__ = ["ConfigurationMac", "MacSimule", "MacSimuleErreur", "construire_mac",
           "ecrire_inventaire", "nettoyer_restes", "prerequis_manquants", "CHEMIN_MAC",
           "OUTILS", "OUTILS_FUSION", "OUTILS_MACOS"]
