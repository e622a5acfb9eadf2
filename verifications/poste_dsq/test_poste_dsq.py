"""What a clinician relies on, checked on provisioned DSQ Macs (bulletin Télésanté n° 7, annexe 2).

Run against the Macs of an inventory, after playbooks/poste_dsq.yml:

    py.test --hosts='ansible://postes_dsq' --ansible-inventory=inventaires/<site>/hosts.yml \
        verifications/poste_dsq

Every check reads the Mac with the commands the roles use (defaults, xattr, system_profiler,
the .vmx file) and compares with what the inventory asks. A missing Gemalto token is a
warning, as in the jeton_gemalto role, never a failure.
"""

from __future__ import annotations

import json
import warnings

import pytest

from ansible_collections.sante_quebec.telesante.plugins.module_utils import poste

QUARANTINE = "com.apple.quarantine"


class TokenMissingWarning(UserWarning):
    """The Gemalto token is not plugged into the Mac (the VM is configured all the same)."""


def is_encrypted(vmx) -> bool:
    return "encryption.keySafe" in vmx or "encryption.data" in vmx


def vmx_value(mac, vmx, key: str) -> str | None:
    """Value of a .vmx key; skips (with the reason) when an encrypted VM hides it."""
    if key not in vmx and is_encrypted(vmx):
        pytest.skip(f"{mac.name} : la VM « {mac.vm_name} » est chiffrée par VMware Fusion ; {key} "
                    "est dans encryption.data, illisible sans le mot de passe de chiffrement "
                    "(vérifier dans Fusion, Réglages de la VM).")
    return vmx.get(key)


def check_vmx(mac, vmx, key: str, expected: str, why: str) -> None:
    found = vmx_value(mac, vmx, key)
    assert found is not None and found.strip().lower() == expected.lower(), (
        f"{mac.name} : {key} de la VM « {mac.vm_name} » vaut "
        f"{'« ' + found + ' »' if found is not None else 'rien (clé absente)'}, "
        f"attendu « {expected} » ({why}) — {mac.vmx_path}")


# -- VMware Fusion -------------------------------------------------------------------------

def test_fusion_installe_a_la_version_attendue(workstation):
    mac = workstation
    expected = str(mac.vars["fusion_version"] or "")
    assert expected, f"{mac.name} : fusion_version est vide dans l'inventaire : rien à comparer."
    plist = f"{mac.application}/Contents/Info.plist"
    read = mac.host.run("defaults read %s CFBundleShortVersionString", plist)
    assert read.rc == 0, (f"{mac.name} : VMware Fusion n'est pas installé ({plist} illisible : "
                          f"{(read.stderr or read.stdout).strip()}).")
    assert read.stdout.strip() == expected, (
        f"{mac.name} : VMware Fusion {read.stdout.strip()} installé, l'inventaire attend "
        f"{expected} (fusion_version ; CFBundleShortVersionString de {plist}).")


def test_fusion_hors_quarantaine(workstation):
    mac = workstation
    if not mac.vars.flag("fusion_retirer_quarantaine"):
        pytest.skip(f"{mac.name} : fusion_retirer_quarantaine est faux dans l'inventaire.")
    listing = mac.host.run("xattr -r %s", mac.application)
    assert listing.rc == 0, (f"{mac.name} : attributs étendus de {mac.application} illisibles "
                             f"({(listing.stderr or listing.stdout).strip()}).")
    quarantined = [line.rsplit(": ", 1)[0] for line in listing.stdout.splitlines()
                   if line.rsplit(": ", 1)[-1].strip() == QUARANTINE]
    assert not quarantined, (
        f"{mac.name} : VMware Fusion est en quarantaine ({QUARANTINE} sur "
        f"{', '.join(quarantined[:3])}{' ...' if len(quarantined) > 3 else ''}) : "
        "Gatekeeper bloquera son ouverture par le clinicien.")


# -- the Windows VM ------------------------------------------------------------------------

def test_paquet_de_la_vm_present(workstation):
    mac = workstation
    assert mac.host.file(mac.bundle).is_directory, (
        f"{mac.name} : le paquet de la VM « {mac.vm_name} » est introuvable ({mac.bundle}).")
    assert mac.host.file(mac.vmx_path).is_file, (
        f"{mac.name} : le fichier de configuration de la VM est introuvable ({mac.vmx_path}).")


def test_disque_de_la_vm_present(workstation, vmx):
    mac = workstation
    disks = [value for key, value in vmx.items()
             if key.lower().endswith(".filename") and value.lower().endswith(".vmdk")
             and (vmx.get(key[: -len(".fileName")] + ".present") or "").strip().upper() == "TRUE"]
    if not disks and is_encrypted(vmx):
        vmx_value(mac, vmx, "nvme0:0.fileName")  # skips with the reason
    assert disks, f"{mac.name} : la VM « {mac.vm_name} » n'a aucun disque (.vmdk) — {mac.vmx_path}"
    for disk in disks:
        path = disk if disk.startswith("/") else f"{mac.bundle}/{disk}"
        assert mac.host.file(path).is_file, (
            f"{mac.name} : le disque {path} de la VM « {mac.vm_name} » est introuvable : "
            "la VM ne démarrera pas.")


def test_systeme_invite_du_profil(workstation, vmx):
    mac = workstation
    profile = mac.profile
    why = f"profil {mac.profile_name}, {profile['libelle']}"
    check_vmx(mac, vmx, "guestOS", profile["systeme_invite"], why)
    check_vmx(mac, vmx, "firmware", profile["micrologiciel"], why)
    if profile["vtpm"]:  # Fusion adds the vTPM (vtpm.present) at the first start
        if "vtpm.present" in vmx:
            check_vmx(mac, vmx, "vtpm.present", "TRUE", f"{why} : vTPM exigé par Windows 11")
        else:
            check_vmx(mac, vmx, "managedVM.autoAddVTPM", "software", f"{why} : vTPM exigé par Windows 11")


def test_mac_statique_derivee_du_numero_de_serie(workstation, vmx):
    mac = workstation
    expected, origin = mac.vm_mac
    check_vmx(mac, vmx, "ethernet0.addressType", "static", "MAC statique, reconnue par l'audit réseau")
    check_vmx(mac, vmx, "ethernet0.address", expected, f"MAC {origin}")
    assert poste.mac_plage_vmware(expected), (
        f"{mac.name} : la MAC {expected} ({origin}) n'est pas dans la plage manuelle de VMware.")
    assert "ethernet0.generatedAddress" not in vmx, (
        f"{mac.name} : ethernet0.generatedAddress est resté dans {mac.vmx_path} : la VM a une "
        "MAC générée par Fusion.")


def test_numero_de_serie_de_l_inventaire_est_celui_du_mac(workstation):
    mac = workstation
    serial = str(mac.vars["telesante_numero_serie"] if "telesante_numero_serie" in mac.vars else "").strip()
    if not serial:
        pytest.skip(f"{mac.name} : telesante_numero_serie absent de l'inventaire (le rôle lit celui du Mac).")
    assert serial.upper() == mac.hardware_serial.strip().upper(), (
        f"{mac.name} : l'inventaire donne le numéro de série {serial}, le Mac répond "
        f"{mac.hardware_serial} : l'inventaire décrit un autre Mac (adresses ou noms échangés ?).")


ISOLATION = [
    pytest.param("isolation.tools.copy.disable", "TRUE", id="copier-coupe"),
    pytest.param("isolation.tools.paste.disable", "TRUE", id="coller-coupe"),
    pytest.param("isolation.tools.dnd.disable", "TRUE", id="glisser-deposer-coupe"),
    pytest.param("isolation.tools.hgfs.disable", "TRUE", id="dossiers-partages-coupes"),
    pytest.param("sharedFolder.maxNum", "0", id="aucun-dossier-partage"),
    pytest.param("hgfs.mapRootShare", "FALSE", id="partage-racine-non-monte"),
    pytest.param("hgfs.linkRootShare", "FALSE", id="partage-racine-sans-lien"),
]


@pytest.mark.parametrize(("key", "expected"), ISOLATION)
def test_isolation_de_la_vm(workstation, vmx, key, expected):
    mac = workstation
    if not mac.vars.flag("vm_windows_isolation"):
        pytest.skip(f"{mac.name} : vm_windows_isolation est faux dans l'inventaire.")
    check_vmx(mac, vmx, key, expected, "isolation durcie, vm_windows_isolation")


# -- the Gemalto token ---------------------------------------------------------------------

def test_jeton_connecte_a_la_vm(workstation, vmx):
    mac = workstation
    mode = mac.vars["jeton_gemalto_mode"]
    check_vmx(mac, vmx, "usb.present", "TRUE", "contrôleur USB de la VM")
    check_vmx(mac, vmx, "usb_xhci.present", "TRUE", "contrôleur USB 3 de la VM")
    if mode == "partage":
        check_vmx(mac, vmx, mac.token_key, "deviceType:virtual-smartcard",
                  "jeton_gemalto_mode: partage, lecteur de carte à puce virtuel de Fusion")
        ccid = vmx.get("usb.generic.allowCCID")
        assert ccid is None or ccid.strip().upper() != "TRUE", (
            f"{mac.name} : usb.generic.allowCCID = « {ccid} » dans {mac.vmx_path} alors que "
            "jeton_gemalto_mode est partage : le jeton serait enlevé au Mac.")
    elif mode == "exclusif":
        vendor = str(mac.vars["jeton_gemalto_vendor_id"]).lower()
        product = str(mac.vars["jeton_gemalto_product_id"]).lower()
        check_vmx(mac, vmx, mac.token_key, f"vid:{vendor} pid:{product}",
                  "jeton_gemalto_mode: exclusif, passage USB du jeton")
        check_vmx(mac, vmx, "usb.generic.allowCCID", "TRUE", "jeton_gemalto_mode: exclusif, passage CCID")
    else:
        pytest.fail(f"{mac.name} : jeton_gemalto_mode « {mode} » inconnu (partage ou exclusif).",
                    pytrace=False)


def test_jeton_branche_sur_le_mac(workstation):
    """A missing token is reported as a warning (as the role does), never as a failure."""
    mac = workstation
    if not mac.vars.flag("jeton_gemalto_verifier_presence"):
        pytest.skip(f"{mac.name} : jeton_gemalto_verifier_presence est faux dans l'inventaire.")
    vendor = str(mac.vars["jeton_gemalto_vendor_id"])
    product = str(mac.vars["jeton_gemalto_product_id"])
    # macOS 26 (Tahoe) replaced SPUSBDataType (now empty) by SPUSBHostDataType: poste.type_usb_system_profiler,
    # the role's own choice
    version = mac.host.run("sw_vers -productVersion")
    assert version.rc == 0, f"{mac.name} : « sw_vers -productVersion » a échoué ({version.stderr.strip()})."
    type_usb = poste.type_usb_system_profiler(version.stdout)
    usb = mac.host.run(f"system_profiler {type_usb} -json")
    assert usb.rc == 0, (f"{mac.name} : « system_profiler {type_usb} -json » a échoué "
                         f"({usb.stderr.strip()}).")
    plugged = poste.appareils_usb(json.loads(usb.stdout), vendor, product)
    if not plugged:
        warnings.warn(TokenMissingWarning(
            f"AVERTISSEMENT : aucun jeton Gemalto (USB {vendor}:{product}) n'est branché sur {mac.name}. "
            "La VM est configurée quand même ; le jeton lui sera connecté dès qu'il sera branché."),
            stacklevel=1)


# -- the clinician's applications, FileVault, the health network ---------------------------
# Same catalogue (roles/applications_cliniques/vars/main.yml) and same functions
# (module_utils/poste.py) as the roles: version, FileVault state, curl's answer.

def _applications(mac) -> list[dict]:
    return mac.vars["applications_cliniques_catalogue"]


@pytest.mark.parametrize("cle", ["chrome", "zoom"])
def test_application_clinique_installee_a_la_version_minimale(workstation, cle):
    mac = workstation
    app = next(a for a in _applications(mac) if a["cle"] == cle)
    plist = f"{app['application']}/Contents/Info.plist"
    read = mac.host.run("defaults read %s CFBundleShortVersionString", plist)
    assert read.rc == 0, (f"{mac.name} : {app['libelle']} n'est pas installé ({plist} illisible : "
                          f"{(read.stderr or read.stdout).strip()}).")
    minimum = str(app["version_minimale"] or "")
    assert poste.version_suffisante(read.stdout, minimum), (
        f"{mac.name} : {app['libelle']} {read.stdout.strip()} est sous la version minimale {minimum} "
        "de l'inventaire.")


@pytest.mark.parametrize("cle", ["chrome", "zoom"])
def test_mises_a_jour_automatiques_actives(workstation, cle):
    mac = workstation
    app = next(a for a in _applications(mac) if a["cle"] == cle)
    maj = app["mises_a_jour"]
    for key in maj["cles"]:
        read = mac.host.run("/usr/libexec/PlistBuddy -c %s %s", f"Print {key}", maj["plist"])
        if read.rc == 0:  # absent: updates are on (the vendor's default)
            assert read.stdout.strip() == maj["active"], (
                f"{mac.name} : {key} = « {read.stdout.strip()} » dans {maj['plist']} coupe ou limite les "
                f"mises à jour automatiques de {app['libelle']} ; elles doivent rester actives.")


def test_filevault_actif(workstation):
    mac = workstation
    if not mac.vars.flag("controles_poste_filevault_exige"):
        pytest.skip(f"{mac.name} : controles_poste_filevault_exige est faux dans l'inventaire.")
    status = mac.host.run("fdesetup status")
    assert status.rc == 0 and poste.filevault_actif(status.stdout), (
        f"{mac.name} : FileVault n'est pas actif (fdesetup status : « {(status.stdout + status.stderr).strip()} », "
        f"code {status.rc}). Le provisionnement ne l'active pas : MDM de l'établissement.")


def test_domaines_du_reseau_de_la_sante_joignables(workstation):
    mac = workstation
    domains = mac.vars["controles_poste_domaines"]
    if not domains:
        pytest.skip(f"{mac.name} : controles_poste_domaines est vide dans l'inventaire : rien n'est vérifié.")
    delay = str(mac.vars["controles_poste_delai_secondes"])
    failures = []
    for domain in domains:
        url = domain.get("url") or f"https://{domain['nom']}/"
        answer = mac.host.run("curl --silent --show-error --output /dev/null --connect-timeout %s --max-time %s "
                              "--write-out %s %s", delay, delay, "%{http_code} %{remote_ip}", url)
        failure = poste.diagnostic_domaine(domain["nom"], answer.rc, answer.stdout, answer.stderr)
        if failure:
            failures.append(failure)
    assert not failures, f"Depuis {mac.name} : " + " ; ".join(failures) + "."
