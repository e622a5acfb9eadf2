"""What the clinician finds inside the Windows VM, read through vmrun's guest operations.

The VM is left off by the provisioning: these checks start it (``vmrun start ... nogui``, as
the account that owns it, the only one who sees it), wait for the VMware Tools, read the
preparation journal and the Enterprise Mode site list in the guest
(``copyFileFromGuestToHost``, guest account from the inventory, i.e. Vault), then stop it
again. The guest password is given to vmrun with ``-gp``, vmrun's only way to take it: it is
never printed by these checks.

Run with the rest of the suite (see verifications/README.md), or alone with ``-k test_invite``.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sante_quebec.telesante.plugins.module_utils import poste

JOURNAL = r"C:\ProgramData\Telesante\preparation.json"
SITES = r"C:\ProgramData\Telesante\sites-ie.xml"
SCINFO = r"C:\ProgramData\Telesante\jeton-scinfo.txt"
CMD = r"C:\Windows\System32\cmd.exe"
ATTENTE_TOOLS_S = 600


class Sortie:
    """Exit status and standard output of one vmrun call."""

    def __init__(self, rc: int, stdout: str):
        self.rc, self.stdout = rc, stdout


class Invite:
    """The Windows guest of one Mac's VM, through vmrun as the VM's owner."""

    def __init__(self, workstation):
        self.mac = workstation
        self.vmrun = f"{workstation.application}/Contents/Library/vmrun"
        self.owner = str(workstation.vars["vm_windows_proprietaire"] or "")
        self.started_here = False

    def run(self, *args: str, guest: bool = False):
        argv = [self.vmrun, "-T", "fusion"]
        if guest:
            argv += ["-gu", str(self.mac.vars["vm_windows_compte_admin"]),
                     "-gp", str(self.mac.vars["vm_windows_mot_de_passe_admin"])]
        argv += list(args)
        if self.owner:
            argv = ["sudo", "-u", self.owner, "--", *argv]
        # vmrun exits 255 on every error, the status ssh keeps for its own failures (testinfra
        # would take it for a lost connection): the status travels on the last output line.
        result = self.mac.host.run(" ".join(_quote(a) for a in argv) + '; echo "vmrun:$?"')
        lines = result.stdout.rstrip("\n").split("\n")
        if not lines or not lines[-1].startswith("vmrun:"):
            pytest.fail(f"{self.mac.name} : vmrun n'a pas pu être lancé ({result.stderr.strip()}).", pytrace=False)
        return Sortie(int(lines[-1].split(":", 1)[1]), "\n".join(lines[:-1]) + ("\n" if lines[:-1] else ""))

    def start(self) -> None:
        running = self.run("list").stdout.splitlines()[1:]
        if self.mac.vmx_path not in [line.strip() for line in running]:
            started = self.run("start", self.mac.vmx_path, "nogui")
            assert started.rc == 0, (f"{self.mac.name} : la VM « {self.mac.vm_name} » ne démarre pas "
                                     f"(vmrun start : {started.stdout.strip()}).")
            self.started_here = True
        deadline = time.monotonic() + ATTENTE_TOOLS_S
        while self.run("checkToolsState", self.mac.vmx_path).stdout.strip() != "running":
            if time.monotonic() > deadline:
                pytest.fail(f"{self.mac.name} : les VMware Tools de la VM « {self.mac.vm_name} » ne "
                            f"tournent pas {ATTENTE_TOOLS_S} s après son démarrage.", pytrace=False)
            time.sleep(2)

    def read(self, guest_path: str) -> bytes | None:
        """A guest file's bytes (None when it does not exist)."""
        local = f"/private/tmp/telesante-verif-{abs(hash(guest_path))}"
        copy = self.run("copyFileFromGuestToHost", self.mac.vmx_path, guest_path, local, guest=True)
        if copy.rc != 0:
            return None
        content = self.mac.host.run(f"cat {_quote(local)} && rm -f {_quote(local)}")
        return content.stdout.encode("utf-8") if content.rc == 0 else None

    def stop(self) -> None:
        if self.started_here:
            self.run("stop", self.mac.vmx_path, "soft")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.fixture(scope="module")
def invite(workstation):
    if not workstation.vars.flag("vm_windows_installation_automatique"):
        pytest.skip(f"{workstation.name} : vm_windows_installation_automatique est faux ; Windows "
                    "n'est pas installé par le provisionnement, rien à vérifier dans l'invité.")
    guest = Invite(workstation)
    guest.start()
    yield guest
    guest.stop()


@pytest.fixture(scope="module")
def journal(invite):
    content = invite.read(JOURNAL)
    assert content is not None, (f"{invite.mac.name} : pas de journal de préparation ({JOURNAL}) "
                                 "dans la VM : la préparation n'a jamais tourné.")
    return json.loads(content.decode("utf-8-sig"))


def test_invite_preparation_reussie(invite, journal):
    failed = [e for e in journal.get("etapes", []) if e.get("resultat") == "echec"]
    assert journal.get("resultat") == "reussi", (
        f"{invite.mac.name} : préparation de l'invité en échec"
        + (f" à l'étape « {failed[0]['nom']} » : {failed[0].get('message', '')}" if failed else ""))


def test_invite_logiciels_de_l_inventaire_presents(invite, journal):
    """Each tool is reported installed or already there, i.e. found by its detection rule (version included)."""
    expected = ["VMware Tools"]
    if invite.mac.vars["preparation_invite_safenet"]:
        expected.append(invite.mac.vars["preparation_invite_safenet"]["nom"])
    expected += [tool["nom"] for tool in invite.mac.vars["preparation_invite_outils_dsq"]]
    seen = {e["nom"]: e.get("resultat") for e in journal.get("etapes", [])}
    missing = [f"{name} ({seen.get(name, 'absent du journal')})" for name in expected
               if seen.get(name) not in ("installe", "deja_present")]
    assert not missing, f"{invite.mac.name} : logiciels absents de l'invité : {', '.join(missing)}."


def test_invite_liste_de_sites_du_mode_entreprise(invite):
    addresses = list(invite.mac.vars["preparation_invite_adresses_dsq"])
    if not addresses:
        pytest.skip(f"{invite.mac.name} : preparation_invite_adresses_dsq est vide.")
    content = invite.read(SITES)
    assert content is not None, f"{invite.mac.name} : liste de sites absente de l'invité ({SITES})."
    root = ET.fromstring(content)
    urls = [site.get("url") for site in root.iter("site")]
    wanted = [a.split("://", 1)[-1] for a in addresses]
    assert root.tag == "site-list" and urls == wanted, (
        f"{invite.mac.name} : la liste de sites de l'invité ({urls}) n'est pas celle de l'inventaire ({wanted}).")


def _token_plugged(mac) -> bool:
    """The Gemalto token on the Mac's USB bus, read as the role and test_poste_dsq read it (module_utils/poste.py:
    the system_profiler data type of this macOS, then the device lookup)."""
    version = mac.host.run("sw_vers -productVersion")
    assert version.rc == 0, f"{mac.name} : « sw_vers -productVersion » a échoué ({version.stderr.strip()})."
    usb_type = poste.type_usb_system_profiler(version.stdout)
    usb = mac.host.run(f"system_profiler {usb_type} -json")
    assert usb.rc == 0, f"{mac.name} : « system_profiler {usb_type} -json » a échoué ({usb.stderr.strip()})."
    return bool(poste.appareils_usb(json.loads(usb.stdout), str(mac.vars["jeton_gemalto_vendor_id"]),
                                    str(mac.vars["jeton_gemalto_product_id"])))


def test_invite_jeton_vu_par_l_intergiciel(invite):
    """With the token plugged into the Mac, Windows lists a reader holding a card its middleware knows.

    ``certutil -scinfo -silent`` (Microsoft, « certutil », -scinfo: smart card information; -silent:
    no PIN dialog) lists each reader (``--- Reader:``) and the card the registered smart-card
    minidriver recognises (``--- Card:``; empty when no installed middleware knows the card). SafeNet
    Authentication Client registers that minidriver; it documents no command-line tool of its own.
    """
    mac = invite.mac
    if not mac.vars["preparation_invite_safenet"]:
        pytest.skip(f"{mac.name} : preparation_invite_safenet est vide ; aucun intergiciel à vérifier.")
    if not _token_plugged(mac):
        pytest.skip(f"{mac.name} : aucun jeton Gemalto branché sur le Mac ; rien à voir dans l'invité "
                    "(test_jeton_branche_sur_le_mac l'avertit).")
    run = invite.run("runProgramInGuest", mac.vmx_path, CMD, "/c", f"certutil -scinfo -silent > {SCINFO} 2>&1",
                     guest=True)
    content = invite.read(SCINFO)
    assert content is not None, (f"{mac.name} : certutil -scinfo n'a rien écrit dans l'invité "
                                 f"(vmrun runProgramInGuest : {run.stdout.strip()}).")
    text = content.decode("utf-8-sig", "replace")
    readers = re.findall(r"^--- Reader: (.+?)\s*$", text, re.MULTILINE)
    cards = [c.strip() for c in re.findall(r"^--- Card:(.*)$", text, re.MULTILINE)]
    assert readers, (f"{mac.name} : le jeton est branché sur le Mac, mais Windows ne voit aucun lecteur de "
                     "carte à puce : le jeton n'est pas connecté à la VM (jeton_gemalto_mode, menu USB de Fusion).")
    assert any(cards), (f"{mac.name} : Windows voit le lecteur {', '.join(readers)}, mais aucune carte "
                        "reconnue par un intergiciel : SafeNet Authentication Client absent ou ne reconnaît pas "
                        "le jeton.")
