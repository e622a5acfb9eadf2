"""Leftovers of crashed runs, removed by the shared tool (tests/espaces_de_noms.py) for simulated Macs.

A run killed before its teardown leaves a namespace (with processes in it), a management
veth end in the root namespace and a temporary folder. The next run removes them, and
only them: what a living run (this one) owns stays. A Mac's teardown, likewise, kills its
own processes and nobody else's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from ..espaces_de_noms import base36
from .construction import PREFIXE, construire_mac, nettoyer_restes

pytestmark = pytest.mark.racine


def _espaces() -> set[str]:
    sortie = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True).stdout
    return {e["name"] for e in json.loads(sortie or "[]")}


def _liens() -> set[str]:
    sortie = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    return {lien["ifname"] for lien in json.loads(sortie or "[]")}


def test_restes_d_une_execution_morte_retires_les_vivants_gardes(mac_simule_prerequis: None) -> None:
    mort = subprocess.Popen(["true"])
    mort.wait()
    espace, lien = f"{PREFIXE}{mort.pid}-1", f"tm{base36(mort.pid)}-1"
    dossier = Path(tempfile.mkdtemp(prefix=f"{PREFIXE}{mort.pid}-1-"))
    subprocess.run(["ip", "netns", "add", espace], check=True)
    dormeur = subprocess.Popen(["ip", "netns", "exec", espace, "sleep", "30"])
    vivant = construire_mac()
    try:
        # Both ends in the root namespace: a leftover end whose peer sat in the leftover namespace would
        # vanish with it (as soon as the kernel destroys the namespace), and prove nothing of the link step.
        subprocess.run(["ip", "link", "add", lien, "type", "veth", "peer", "name", f"xz{base36(mort.pid)}-1"],
                       check=True)
        retires = nettoyer_restes()
        assert {f"netns {espace}", f"lien {lien}", f"dossier {dossier}"} <= set(retires), retires
        assert espace not in _espaces() and lien not in _liens() and not dossier.exists()
        assert dormeur.wait(timeout=5) != 0
        # a living run's Mac (ours) is untouched, and still answers
        assert vivant.espace_de_noms in _espaces() and vivant.interface_hote in _liens()
        assert vivant.dossier.is_dir()
        assert vivant.executer(["sw_vers", "-productVersion"]).stdout.strip() == "14.6.1"
    finally:
        dormeur.kill()
        dormeur.wait()
        subprocess.run(["ip", "netns", "del", espace], capture_output=True)
        subprocess.run(["ip", "link", "del", lien], capture_output=True)
        shutil.rmtree(dossier, ignore_errors=True)
        vivant.close()


def test_demontage_ne_tue_que_les_processus_du_mac(mac_simule_prerequis: None) -> None:
    """The kernel gives a freed mount namespace's inode number to the next one created anywhere
    (lowest free number). A Mac whose sshd died must not take a process of another Mac, or of
    another test run, that now lives under that number for its own at teardown: seen under two
    test processes, a Mac's teardown killed the sshd another one had just started (« Connection
    refused »)."""
    mac = construire_mac()
    etrangers: list[subprocess.Popen[bytes]] = []
    try:
        os.kill(mac._sshd.pid, signal.SIGKILL)  # its mount namespace would be freed with it
        mac._sshd.wait(timeout=5)
        # Processes of someone else, each in a new mount namespace, as ip netns exec and unshare make.
        etrangers = [subprocess.Popen(["unshare", "--mount", "sleep", "30"]) for _ in range(3)]
        for etranger in etrangers:
            nom = f"/proc/{etranger.pid}/ns/mnt"
            for _ in range(100):
                if os.path.exists(nom) and os.readlink(nom) != os.readlink("/proc/self/ns/mnt"):
                    break
                time.sleep(0.02)
        assert not {e.pid for e in etrangers} & set(mac.pids())
        mac.close()
        assert [e.poll() for e in etrangers] == [None, None, None], "le démontage a tué un processus étranger"
    finally:
        for etranger in etrangers:
            etranger.kill()
            etranger.wait()
        mac.close()
