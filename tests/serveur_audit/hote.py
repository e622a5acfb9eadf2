"""A Linux test host for playbooks/serveur_audit.yml: its own network and mount namespaces, its own sshd.

Built on the simulated Mac of tests/mac_simule/construction.py, from which it takes
the network namespace, the management veth whose /30 is allocated under the lab
lock, the common sshd options, the bounded wait for sshd (all from the shared
tool tests/espaces_de_noms.py), ``executer`` (a command inside the host's
namespaces) and the teardown (every process of the host killed, namespace, veth
and temporary folder removed; leftovers of crashed runs are removed by the same
``nettoyer_restes``). What differs is the file system: this host is a Debian
server, not a Mac. Inside its mount namespace:

* ``/etc`` and ``/var`` (hence ``/var/lib``, ``/var/log``) are overlays whose
  upper layers live in the host's temporary folder: the playbook sees the
  machine's files but every change (``useradd``, units in
  ``/etc/systemd/system``...) lands in the copy, never in the real ``/etc``;
* ``/opt``, ``/root`` and ``/tmp`` are fresh empty folders (no wheel, no local
  package index of the machine is visible: the installation must come from the
  wheelhouse the playbook copies; root's home is a new server's, without this
  machine's shell start-up files);
* ``/run`` is a private tmpfs: no ``/run/systemd/system``, so the role sees no
  running systemd and never talks to the machine's service manager.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from ..espaces_de_noms import CHEMIN_SBIN, OPTIONS_SSHD, demarrer_processus, generer_cle_ssh, ligne_hotes_connus
from ..mac_simule.construction import ConfigurationMac, MacSimule, MacSimuleErreur, _outil, prerequis_manquants

PYTHON_SERVEUR = "/usr/bin/python3"
CHEMIN_SERVEUR = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SURCOUCHES = ("etc", "var")

_SSHD_CONFIG = """# sshd de l'hôte de test {nom} (chemins vus depuis l'hôte), généré
ListenAddress {adresse}
Port 22
HostKey /run/hote-test/cle_hote
PidFile /run/hote-test/sshd.pid
AuthorizedKeysFile /run/hote-test/authorized_keys
SetEnv PATH={chemin}
""" + OPTIONS_SSHD

# Run by ``unshare --mount --uts --propagation private`` inside the host's network
# namespace. /tmp is covered last: the host's folder ($DOSSIER) lives under it.
_DEMARRAGE = """set -e
for couche in etc var; do
    mount -t overlay overlay \
        -o "lowerdir=/$couche,upperdir=$DOSSIER/couches/$couche/haut,workdir=$DOSSIER/couches/$couche/travail" \
        "/$couche"
done
mount --bind "$DOSSIER/opt" /opt
mount --bind "$DOSSIER/root" /root
mount -t tmpfs -o mode=0755,size=64m tmpfs /run
mkdir -p /run/sshd /run/lock /run/hote-test
cp "$DOSSIER/ssh/sshd_config" "$DOSSIER/ssh/cle_hote" "$DOSSIER/ssh/authorized_keys" /run/hote-test/
chmod 0600 /run/hote-test/cle_hote
mount --bind "$DOSSIER/tmp" /tmp
hostname "$NOM"
exec /usr/sbin/sshd -D -e -f /run/hote-test/sshd_config
"""


class HoteServeur(MacSimule):
    """A running Debian test host; build it with :func:`construire_hote`."""

    def __init__(self, nom: str) -> None:
        super().__init__(ConfigurationMac(nom=nom))

    def _preparer_points_de_montage(self) -> None:
        """A Linux server has no macOS mount points: nothing to create on the host."""

    def _preparer_racine(self) -> None:
        for couche in SURCOUCHES:
            (self.dossier / "couches" / couche / "haut").mkdir(parents=True)
            (self.dossier / "couches" / couche / "travail").mkdir()
        (self.dossier / "opt").mkdir(mode=0o755)
        (self.dossier / "root").mkdir(mode=0o700)
        (self.dossier / "tmp").mkdir()
        os.chmod(self.dossier / "tmp", 0o1777)
        (self.dossier / "ssh").mkdir(mode=0o700)
        # The host's name resolves locally (sudo looks it up; no DNS in the namespace).
        hosts = Path("/etc/hosts").read_text(encoding="utf-8", errors="replace")
        (self.dossier / "couches/etc/haut/hosts").write_text(f"{hosts.rstrip()}\n127.0.1.1 {self.nom}\n")
        (self.dossier / "couches/etc/haut/hostname").write_text(f"{self.nom}\n")

    def _preparer_ssh_client(self) -> None:
        (self.dossier / "client").mkdir(mode=0o700)
        generer_cle_ssh(self.cle_privee, f"telesante-tests@{self.nom}", MacSimuleErreur)
        shutil.copyfile(f"{self.cle_privee}.pub", self.dossier / "ssh/authorized_keys")
        generer_cle_ssh(self.dossier / "ssh/cle_hote", f"root@{self.nom}", MacSimuleErreur)

    def _ecrire_config_sshd(self) -> None:
        (self.dossier / "ssh/sshd_config").write_text(
            _SSHD_CONFIG.format(nom=self.nom, adresse=self.adresse, chemin=CHEMIN_SERVEUR))
        self.hotes_connus.write_text(ligne_hotes_connus(self.adresse, self.port,
                                                        self.dossier / "ssh/cle_hote.pub"))

    def _demarrer_sshd(self) -> None:
        argv = [_outil("ip"), "netns", "exec", self.espace_de_noms, _outil("unshare"), "--mount",
                "--uts", "--propagation", "private", "/bin/sh", "-c", _DEMARRAGE]
        environnement = {"PATH": CHEMIN_SBIN, "LC_ALL": "C", "DOSSIER": str(self.dossier), "NOM": self.nom}
        # ip netns exec, unshare and sh all exec: this PID becomes the host's sshd.
        self._sshd = demarrer_processus(argv, self.journal_sshd, environnement=environnement)

    def chemin(self, chemin_hote: str) -> Path:
        """Not available: read the host's files with :meth:`executer` (they live in overlays)."""
        raise NotImplementedError("Lisez les fichiers de l'hôte de test par executer()")

    def variables_hote(self) -> dict[str, Any]:
        """Ansible connection variables of this host (inventory host entry)."""
        return {
            "ansible_host": self.adresse,
            "ansible_port": self.port,
            "ansible_user": self.utilisateur,
            "ansible_ssh_private_key_file": str(self.cle_privee),
            "ansible_ssh_common_args": (f"-o UserKnownHostsFile={self.hotes_connus} "
                                        "-o StrictHostKeyChecking=yes"),
            "ansible_python_interpreter": PYTHON_SERVEUR,
        }

    def ecrire_inventaire(self, dossier: Path | str, **variables: Any) -> Path:
        """Write ``<dossier>/hosts.yml``: group ``serveurs_audit`` holding this host."""
        groupe: dict[str, Any] = {"hosts": {self.nom: self.variables_hote()}}
        if variables:
            groupe["vars"] = variables
        dossier = Path(dossier)
        dossier.mkdir(parents=True, exist_ok=True)
        chemin = dossier / "hosts.yml"
        chemin.write_text(yaml.safe_dump({"all": {"children": {"serveurs_audit": groupe}}},
                                         sort_keys=False, allow_unicode=True), encoding="utf-8")
        return chemin

    def lire(self, chemin: str) -> str:
        """Content of a file of the host (as root)."""
        resultat = self.executer(["cat", "--", chemin])
        if resultat.returncode != 0:
            raise MacSimuleErreur(f"{chemin} illisible sur {self.nom} : {resultat.stderr.strip()}")
        return resultat.stdout

    def __repr__(self) -> str:
        return f"HoteServeur({self.nom!r}, {self.adresse or 'non démarré'})"


def prerequis_hote() -> list[str]:
    """Reasons (in French) why the test host cannot be built here; empty if it can."""
    raisons = prerequis_manquants()
    for outil, paquet in (("systemd-analyze", "systemd"), ("setpriv", "util-linux"),
                          ("useradd", "passwd")):
        if shutil.which(outil, path=CHEMIN_SERVEUR) is None:
            raisons.append(f"{outil} absent (paquet {paquet})")
    with contextlib.suppress(OSError):
        if subprocess.run([PYTHON_SERVEUR, "-c", "import ensurepip, apt"], capture_output=True,
                          timeout=30).returncode != 0:
            raisons.append("python3-venv ou python3-apt absent : le rôle les installerait dans le "
                           "vrai /usr de la machine")
    return raisons


def construire_hote(nom: str = "serveur-audit") -> HoteServeur:
    """Build and start a test host; the caller must close() it (even on failure, what was built is torn down)."""
    raisons = prerequis_hote()
    if raisons:
        raise MacSimuleErreur("L'hôte de test exige root et quelques outils : " + " ; ".join(raisons))
    hote = HoteServeur(nom)
    try:
        hote._construire()
    except BaseException:
        with contextlib.suppress(Exception):
            hote.close()
        raise
    return hote
