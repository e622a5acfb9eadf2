"""SNMP agents of the lab: snmpsim serving real recordings (snmpsim-data) in a network namespace.

The namespace and the root-namespace veth end follow tests/espaces_de_noms.py's naming
(`ts-<pid>-<n>-…`, `ts<pid base 36>-<n>c`) and take their /29 under its lock, so that
`nettoyer_restes()` removes what a crashed run left. Everything is destroyed by `close()`.
"""

from __future__ import annotations

import bz2
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import snmpsim_data

from tests.espaces_de_noms import base36, bloc_gestion_libre, verrou_gestion

DONNEES = Path(snmpsim_data.__file__).parent / "data"
LANCEUR = Path(__file__).with_name("lanceur_snmpsim.py")
UTILISATEUR = "nobody"  # snmpsim's --process-user (it refuses to keep root)
_compteur = iter(range(900, 10_000))


def enregistrement(relatif: str) -> str:
    """The text of a recording of snmpsim-data (`network/switch/cisco-c3750`)."""
    return bz2.decompress((DONNEES / f"{relatif}.snmprec.bz2").read_bytes()).decode("utf-8", errors="surrogateescape")


class LaboSnmp:
    """A namespace reachable from the root namespace, where snmpsim processes serve data folders."""

    def __init__(self):
        index = next(_compteur)
        self.espace = f"ts-{os.getpid()}-{index}-snmp"
        self.lien = f"ts{base36(os.getpid())}-{index}c"
        self.dossier = Path(tempfile.mkdtemp(prefix=f"ts-{os.getpid()}-{index}-snmp"))
        os.chmod(self.dossier, 0o755)  # snmpsim, once it is nobody, reads its data and writes its cache here
        self.processus: list[subprocess.Popen] = []
        self.adresses: list[str] = []
        self._libres: list[str] = []
        try:
            self._construire()
        except BaseException:
            self.close()
            raise

    def _ip(self, *argv: str) -> None:
        subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=15)

    def _construire(self) -> None:
        self._ip("netns", "add", self.espace)
        self._ip("-n", self.espace, "link", "set", "lo", "up")
        # snmpsim opens its sockets after dropping root: port 161 must be bindable by nobody, in this namespace only.
        subprocess.run(["ip", "netns", "exec", self.espace, "sysctl", "-q", "-w", "net.ipv4.ip_unprivileged_port_start=0"],
                       check=True, capture_output=True, timeout=15)
        with verrou_gestion():
            bloc = bloc_gestion_libre([])
            hotes = [str(h) for h in bloc.hosts()]
            self._ip("link", "add", self.lien, "type", "veth", "peer", "name", "agents0", "netns", self.espace)
            self._ip("addr", "add", f"{hotes[0]}/29", "dev", self.lien)
            self._ip("link", "set", self.lien, "up")
        for hote in hotes[1:]:
            self._ip("-n", self.espace, "addr", "add", f"{hote}/29", "dev", "agents0")
        self._ip("-n", self.espace, "link", "set", "agents0", "up")
        self._libres = hotes[1:]

    def demarrer(self, fichiers: dict[str, str], v3: tuple[str, str, str] | None = None,
                 adresses: list[str] | None = None) -> str:
        """snmpsim on a new address of the namespace (or on `adresses`, inside it), serving `fichiers`
        (name -> .snmprec text); its (first) address.

        v2c: the community is the file's name; v3 (user, auth key, priv key; SHA and AES): the context is.
        """
        adresses = adresses or [self._libres.pop(0)]
        adresse = adresses[0]
        donnees = self.dossier / f"donnees-{adresse}"
        cache = self.dossier / f"cache-{adresse}"
        donnees.mkdir()
        cache.mkdir()
        for nom, texte in fichiers.items():
            (donnees / f"{nom}.snmprec").write_text(texte, encoding="utf-8", errors="surrogateescape")
        utilisateur = pwd.getpwnam(UTILISATEUR)
        os.chown(cache, utilisateur.pw_uid, utilisateur.pw_gid)
        journal = self.dossier / f"snmpsim-{adresse}.log"
        points = self.dossier / f"points-{adresse}.txt"  # endpoints in a file: a thousand do not fit a command line
        points.write_text("".join(f"--agent-udpv4-endpoint={a}:161\n" for a in adresses))
        argv = [sys.executable, str(LANCEUR), f"--data-dir={donnees}", f"--cache-dir={cache}",
                f"--args-from-file={points}", f"--process-user={UTILISATEUR}",
                f"--process-group={_groupe(utilisateur.pw_gid)}", "--logging-method=stderr"]
        if v3:
            argv += [f"--v3-user={v3[0]}", f"--v3-auth-key={v3[1]}", "--v3-auth-proto=SHA",
                     f"--v3-priv-key={v3[2]}", "--v3-priv-proto=AES"]
        with open(journal, "wb") as sortie:
            self.processus.append(subprocess.Popen(["ip", "netns", "exec", self.espace, *argv], stdout=sortie,
                                                   stderr=subprocess.STDOUT, start_new_session=True))
        limite = time.monotonic() + 120
        while "Listening at UDP/IPv4" not in journal.read_text(errors="replace"):
            if self.processus[-1].poll() is not None or time.monotonic() > limite:
                raise RuntimeError(f"snmpsim n'a pas démarré :\n{journal.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        self.adresses.append(adresse)
        return adresse

    def close(self) -> None:
        """Stop every snmpsim, delete the namespace, the veth end and the folder."""
        for processus in self.processus:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(processus.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                processus.wait(10)
        subprocess.run(["ip", "netns", "del", self.espace], capture_output=True)
        if subprocess.run(["ip", "link", "show", self.lien], capture_output=True).returncode == 0:
            subprocess.run(["ip", "link", "del", self.lien], capture_output=True)
        shutil.rmtree(self.dossier, ignore_errors=True)


def _groupe(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name
