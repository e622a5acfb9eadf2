"""Shared test helpers: where the real outputs of ../shared/fixtures live, and the stages (étages) of the tests.

Every test gets the marker of its stage, set here from its folder and from the test
hosts it uses (fixtures), never by hand in the test files:

* ``unitaire``: neither root nor namespaces nor browser: tests/unitaires, and the tests
  of tests/provisionnement that build no simulated Mac; never a test marked ``racine``.
  Those not ``lent`` run in parallel (pytest-xdist): a test of a folder not listed here is
  never ``unitaire`` until it is added (it runs in the sequential pass of ``make test``);
* ``labo``: the network lab (tests/labo, fixtures ``laboratoire``, ``fabrique_laboratoire``...);
* ``mac_simule``: simulated Macs (tests/mac_simule, fixtures ``fabrique_mac_simule``...);
* ``provisionnement``: the Ansible side (tests/provisionnement; those of its tests that
  build no simulated Mac are unit tests too);
* ``serveur_audit``: the audit server's test host (tests/serveur_audit);
* ``navigateur``: the HTML report in Chromium (tests/navigateur);
* ``lent``: unit tests that launch processes (the real command, ansible, concurrent
  writers) for seconds each; out of ``make test-rapide``, in ``make test``.

``make test-rapide`` runs ``-m "unitaire and not lent"`` in parallel; ``make test`` runs the same,
then everything else one test at a time.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The simulated Mac's fixtures (fabrique_mac_simule...) for every test folder.
pytest_plugins = ["tests.mac_simule.fixtures"]

RACINE = Path(__file__).resolve().parents[1]
FIXTURES = RACINE.parent / "shared" / "fixtures"
EXEMPLE = RACINE / "inventaires" / "exemple"

# Stage of each test folder (a test elsewhere is a unit test).
ETAGES_PAR_DOSSIER = {
    "unitaires": "unitaire",
    "labo": "labo",
    "mac_simule": "mac_simule",
    "provisionnement": "provisionnement",
    "serveur_audit": "serveur_audit",
    "navigateur": "navigateur",
}
# A test that uses one of these fixtures builds that stage's test host, wherever it lives.
ETAGES_PAR_FIXTURE = {
    "laboratoire": "labo",
    "fabrique_laboratoire": "labo",
    "laboratoire_prerequis": "labo",
    "fabrique_mac_simule": "mac_simule",
    "fabrique_mac_simule_module": "mac_simule",
    "mac_simule_prerequis": "mac_simule",
    "hote": "serveur_audit",
    "hote_neuf": "serveur_audit",
}
# Stages whose tests need root, namespaces or a browser: never "unitaire".
ETAGES_LOURDS = {"labo", "mac_simule", "serveur_audit", "navigateur"}
# Folders whose tests are unit tests unless they use a test host or need root.
DOSSIERS_UNITAIRES = {"unitaires", "provisionnement"}
# Unit tests (test ids or their prefixes: a whole file, or one test) that launch processes for
# seconds each, measured with --durations: the real telesante command per case, ansible-playbook,
# ansible-lint, ten concurrent writers, signals. In make test, out of make test-rapide.
LENTS = (
    "tests/unitaires/test_cas.py",
    "tests/unitaires/test_audit_exemple.py",
    "tests/unitaires/test_commande.py",
    "tests/unitaires/test_historique.py",
    "tests/unitaires/test_module_vmx.py",
    "tests/unitaires/test_isolement_commande.py",
    "tests/unitaires/test_benchmark_identification.py",
    "tests/unitaires/test_inventaire.py::test_aucune_faute_d_inventaire_ne_rend_conforme",
    "tests/unitaires/test_inventaire.py::test_vault_comme_pour_les_playbooks",
    "tests/unitaires/test_identification_filtre.py::test_raccourci_identique_a_la_recherche_complete",
    "tests/unitaires/test_invariant_echec_ferme.py::test_aucune_source_abimee_ne_rend_conforme",
    "tests/unitaires/test_proprietes.py::test_inventaire_quelconque_valide_ou_erreur_propre",
    "tests/unitaires/test_captures_hostiles.py::test_dossier_de_captures_sans_droit_de_traverser",
    "tests/unitaires/test_captures_hostiles.py::test_capture_sans_droit_de_lecture",
    "tests/unitaires/test_rapports_inertes.py::test_ports_messages_problemes_inertes_partout",
    "tests/unitaires/test_rapports_inertes.py::test_noms_choisis_par_les_appareils_inertes_partout",
    "tests/unitaires/test_isolement_rapports.py::test_demonstration_montre_la_paire_separee",
    "tests/provisionnement/test_statique.py",
    "tests/provisionnement/test_playbook_audit.py",
    "tests/provisionnement/test_verifications.py",
)


def etages(identifiant: str, chemin: Path, fixtures: list[str] | tuple[str, ...], racine: bool) -> set[str]:
    """Stage markers of a test: its folder's, those of the test hosts it uses, and ``unitaire`` or ``lent``."""
    relatif = chemin.resolve().relative_to(RACINE)
    dossier = relatif.parts[1] if len(relatif.parts) > 2 else ""
    trouves = {ETAGES_PAR_FIXTURE[nom] for nom in fixtures if nom in ETAGES_PAR_FIXTURE}
    if dossier in ETAGES_PAR_DOSSIER:
        trouves.add(ETAGES_PAR_DOSSIER[dossier])
    if dossier in DOSSIERS_UNITAIRES and not racine and not trouves & ETAGES_LOURDS:
        trouves.add("unitaire")
    if identifiant.startswith(LENTS):
        trouves.add("lent")
    return trouves


# The files whose tests take minutes (Ansible passes on simulated Macs, ansible-lint, the audit
# server's host), longest work unit first: they start first on the two workers of make test, so
# that the run does not end with one worker busy on a long test while the other has nothing left.
FICHIERS_LONGS_D_ABORD = (
    "tests/serveur_audit/test_serveur_audit.py",
    "tests/provisionnement/test_statique.py",
    "tests/provisionnement/test_windows_mise_a_jour.py",
    "tests/provisionnement/test_installation_windows.py",
    "tests/provisionnement/test_convergence.py",
    "tests/provisionnement/test_collection.py",
    "tests/provisionnement/test_verifications.py",
    "tests/provisionnement/test_poste.py",
    "tests/provisionnement/test_windows_invite.py",
)
# The files whose tests are independent (each builds its own simulated Mac, its own inventory,
# runs its own command...): under --dist loadscope, their tests are shared out one by one between
# the workers. The tests of any other file stay together on one worker, where a host built once per
# module (a lab, a simulated Mac, the audit server's host) serves them all; a test of a file listed
# here that uses such a fixture stops the collection (see pytest_collection_modifyitems).
# (pytest-xdist's own --dist loadgroup does not work with pytest 9, whose nodes no longer take the
# group suffix it writes.)
FICHIERS_DE_TESTS_INDEPENDANTS = (
    "tests/provisionnement/test_convergence.py",
    "tests/provisionnement/test_installation_windows.py",
    "tests/provisionnement/test_poste.py",
    "tests/provisionnement/test_windows_invite.py",
    "tests/unitaires/test_cas.py",
    "tests/unitaires/test_audit_exemple.py",
    "tests/unitaires/test_module_vmx.py",
    "tests/unitaires/test_isolement_commande.py",
    "tests/unitaires/test_commande.py",
    "tests/unitaires/test_historique.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its stage (see the module docstring); put the long files first
    (FICHIERS_LONGS_D_ABORD, a file's tests kept together and in order); refuse a test of an
    independent file that uses a fixture built once per module."""
    for item in items:
        racine = item.get_closest_marker("racine") is not None
        for marqueur in sorted(etages(item.nodeid, item.path, getattr(item, "fixturenames", ()), racine)):
            item.add_marker(marqueur)
        fichier = _fichier(item.nodeid)
        if fichier in FICHIERS_DE_TESTS_INDEPENDANTS and _fixtures_partagees(item):
            raise pytest.UsageError(
                f"{item.nodeid} utilise des fixtures construites une fois par module "
                f"({', '.join(_fixtures_partagees(item))}) : retirez {fichier} de "
                "FICHIERS_DE_TESTS_INDEPENDANTS (tests/conftest.py)")
    rang = {fichier: position for position, fichier in enumerate(FICHIERS_LONGS_D_ABORD)}
    items.sort(key=lambda item: rang.get(_fichier(item.nodeid), len(rang)))  # stable


def _fichier(identifiant: str) -> str:
    """The test file of a test id (``tests/x/test_y.py::test_z[...]``)."""
    return identifiant.split("::", 1)[0]


def _fixtures_partagees(item: pytest.Item) -> list[str]:
    """Fixtures of ``item`` built once per module or package (shared by the tests of its file)."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return sorted(nom for nom, defs in definitions.items() if any(d.scope in ("module", "package") for d in defs))


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under --dist loadscope: one work unit per file, or per test for the independent files;
    a worker is given its next unit when it has one test left to run, not two (the default): a
    long test never waits queued behind another while the other worker is idle."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ParFichier(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            fichier = _fichier(nodeid)
            return nodeid if fichier in FICHIERS_DE_TESTS_INDEPENDANTS else fichier

        def _reschedule(self, node) -> None:
            if not node.shutting_down and self.workqueue and self._pending_of(self.assigned_work[node]) > 1:
                return
            super()._reschedule(node)

    return ParFichier(config, log)


@pytest.fixture
def fixtures() -> Path:
    """The real captured outputs shared by the team (never copied into the project)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"dossier des fixtures partagées introuvable : {FIXTURES}")
    return FIXTURES


@pytest.fixture
def exemple(tmp_path) -> Path:
    """A private copy of the demo inventory, free to modify; returns its hosts.yml."""
    copy = tmp_path / "exemple"
    shutil.copytree(EXEMPLE, copy)
    return copy / "hosts.yml"
