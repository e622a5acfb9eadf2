"""Fixtures of the DSQ workstation verifications (pytest-testinfra, ansible backend).

The expected values come from where playbooks/poste_dsq.yml takes them: the inventory
(group_vars, host_vars; read by testinfra through ``ansible-inventory``), above the
roles' defaults and below the roles' vars, as Ansible's precedence orders them, and
templated by Ansible itself. Extra variables given to ansible-playbook with ``-e`` are
not known here: what the suite checks is what the inventory says.

The .vmx is parsed by the collection's module_utils/vmx.py (the telesante_vmx module's own
parser); the VM profile, the VM MAC (telesante.mac.mac_vm_du_numero_serie, the network audit's
function), the USB report type and the token lookup come from module_utils/poste.py, which
the roles call through the collection's filters: one definition of each, shared with the
playbook. The collection is imported from ``ansible_collections`` (the repository's
.collections/, on pytest's pythonpath, or a collection installed there).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from ansible_collections.sante_quebec.telesante.plugins.module_utils import poste
from ansible_collections.sante_quebec.telesante.plugins.module_utils.vmx import VmxError, parse_vmx

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ROLES = ("amorcage", "controles_poste", "fusion", "vm_windows", "preparation_invite", "jeton_gemalto",
         "applications_cliniques")
USAGE = ("py.test --hosts='ansible://postes_dsq' --ansible-inventory=inventaires/<site>/hosts.yml "
         "verifications/poste_dsq")


# -- guard rails: never run against the local machine or an empty group ---------------

def pytest_collection_modifyitems(config, items):
    ours = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    if not ours:
        return
    if config.option.hosts is None:
        raise pytest.UsageError(
            "verifications/poste_dsq : aucun poste désigné. Ces vérifications visent des Mac "
            f"déjà provisionnés, jamais la machine locale ; lancer par exemple :\n  {USAGE}")
    if not any("_testinfra_host" in getattr(getattr(item, "callspec", None), "params", {})
               for item in ours):
        raise pytest.UsageError(
            f"verifications/poste_dsq : aucun poste ne correspond à --hosts={config.option.hosts} "
            f"dans l'inventaire {config.option.ansible_inventory or '(aucun : --ansible-inventory manque)'}.")


# -- what the inventory expects ---------------------------------------------------------

def _trusted(value):
    """Mark inventory and role strings as templates (ansible-core >= 2.19 templates nothing else)."""
    from ansible.template import trust_as_template

    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


class PlaybookVariables:
    """The variables of one poste as the roles see them before their own set_fact tasks."""

    def __init__(self, name: str, hostvars: dict):
        from ansible.parsing.dataloader import DataLoader
        from ansible.template import Templar

        loader = DataLoader()
        merged: dict = {}
        for role in ROLES:  # lowest precedence
            merged.update(self._load(loader, REPO / "roles" / role / "defaults" / "main.yml"))
        merged.update(hostvars)
        for role in ROLES:  # role vars win over the inventory
            merged.update(self._load(loader, REPO / "roles" / role / "vars" / "main.yml"))
        self.name = name
        self._values = _trusted(merged)
        self._templar = Templar(loader=loader, variables=self._values)

    @staticmethod
    def _load(loader, path: Path) -> dict:
        return (loader.load_from_file(str(path)) or {}) if path.is_file() else {}

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __getitem__(self, key: str):
        try:
            return self._templar.template(self._values[key])
        except KeyError:
            pytest.fail(f"{self.name} : la variable {key} n'est définie ni dans l'inventaire ni "
                        "dans les valeurs par défaut des rôles.", pytrace=False)
        except Exception as exc:  # noqa: BLE001 - Ansible's templating errors vary by version
            pytest.fail(f"{self.name} : la variable {key} de l'inventaire ne s'évalue pas : {exc}",
                        pytrace=False)

    def flag(self, key: str) -> bool:
        from ansible.module_utils.parsing.convert_bool import boolean

        return boolean(self[key], strict=False)


class Workstation:
    """One provisioned Mac: what the inventory expects of it, and how to read it."""

    def __init__(self, host):
        self.host = host
        hostvars = dict(host.ansible.get_variables())
        self.name = hostvars.get("inventory_hostname", host.backend.get_pytest_id())
        self.vars = PlaybookVariables(self.name, hostvars)

    # -- paths, as the roles compute them
    @functools.cached_property
    def application(self) -> str:
        return self.vars["fusion_application"]

    @functools.cached_property
    def vm_name(self) -> str:
        return self.vars["vm_windows_nom"]

    @functools.cached_property
    def bundle(self) -> str:
        return self.vars["vm_windows_chemin_paquet"]

    @functools.cached_property
    def vmx_path(self) -> str:
        return self.vars["vm_windows_chemin_vmx"]

    # -- the Mac itself
    @functools.cached_property
    def architecture(self) -> str:
        """arm64 or x86_64, detected as the roles do (uname -m, or hw.optional.arm64 under Rosetta)."""
        machine = self.host.run("uname -m")
        if machine.rc != 0:
            pytest.fail(f"{self.name} : « uname -m » a échoué ({machine.stderr.strip()}) ; "
                        "est-ce bien un Mac ?", pytrace=False)
        arm = self.host.run("sysctl -n hw.optional.arm64")  # absent on Intel Macs (status 1)
        try:
            return poste.architecture_du_mac(machine.stdout, arm.stdout)
        except poste.ErreurPoste as exc:
            pytest.fail(f"{self.name} : {exc}", pytrace=False)

    @functools.cached_property
    def hardware_serial(self) -> str:
        """The serial number the Mac reports (system_profiler SPHardwareDataType)."""
        output = self.host.run("system_profiler SPHardwareDataType -json")
        try:
            return poste.numero_serie_materiel(output.stdout)
        except poste.ErreurPoste as exc:
            pytest.fail(f"{self.name} : {exc} (code {output.rc} : {output.stderr.strip()}).",
                        pytrace=False)

    @functools.cached_property
    def profile_name(self) -> str:
        name = poste.profil_vm(self.vars["vm_windows_profil"], self.architecture,
                               self.vars["vm_windows_profil_intel"])
        if name not in self.vars["vm_windows_profils"]:
            pytest.fail(f"{self.name} : profil de VM « {name} » inconnu du rôle vm_windows.", pytrace=False)
        return name

    @functools.cached_property
    def profile(self) -> dict:
        return self.vars["vm_windows_profils"][self.profile_name]

    @functools.cached_property
    def vm_mac(self) -> tuple[str, str]:
        """(MAC the role gives the VM, where it comes from): poste.mac_vm, as the role calls it."""
        inventory_serial = str(self.vars["vm_windows_numero_serie"] or "").strip()
        try:
            return poste.mac_vm(
                self.vars["telesante_mac_vm"] if "telesante_mac_vm" in self.vars else None,
                inventory_serial,
                "" if inventory_serial or "telesante_mac_vm" in self.vars else self.hardware_serial)
        except poste.ErreurPoste as exc:
            pytest.fail(f"{self.name} : {exc}", pytrace=False)

    @functools.cached_property
    def token_key(self) -> str:
        return f"usb.autoConnect.device{self.vars['jeton_gemalto_emplacement']}"


@pytest.fixture(scope="module")
def workstation(host) -> Workstation:
    """The Mac under test and what its inventory expects."""
    if getattr(host.backend, "NAME", None) != "ansible":
        pytest.fail("Les vérifications lisent l'inventaire Ansible : lancer avec "
                    f"--hosts='ansible://...' et --ansible-inventory ({USAGE}).", pytrace=False)
    return Workstation(host)


@pytest.fixture(scope="module")
def vmx(workstation):
    """The VM's .vmx, parsed by the collection's module_utils/vmx.py (keys case-insensitive, last one wins)."""
    mac = workstation
    vmx_file = mac.host.file(mac.vmx_path)
    if not vmx_file.is_file:
        pytest.fail(f"{mac.name} : la VM « {mac.vm_name} » n'existe pas ({mac.vmx_path} "
                    "introuvable) : lancer playbooks/poste_dsq.yml.", pytrace=False)
    try:
        return parse_vmx(vmx_file.content)
    except VmxError as exc:
        pytest.fail(f"{mac.name} : {mac.vmx_path} illisible : {exc}", pytrace=False)
