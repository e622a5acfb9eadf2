"""Parallel efficiency of the provisioning: each simulated Mac alone, then all of them at once.

Builds simulated Macs (tests/mac_simule: network and mount namespaces, their own
sshd, macOS and Fusion stand-ins; needs root), half Apple Silicon and half Intel,
converges them all once (not timed: installs Fusion, creates the VMs), then, in the
same run, for no-change runs of playbooks/poste_dsq.yml:

* each Mac alone, once: CPU time it costs (controller: ansible-playbook, its workers and
  ssh clients; Mac: its sshd and modules) and wall time;
* the N Macs at once (``--forks N``), best of ``--essais``: wall time and CPU.

This machine has few cores, shared by the controller and the N simulated Macs: the
wall time of the parallel run cannot go below the CPU it needs divided by the cores.
The measure, from the issue, is therefore the parallel efficiency

    efficacité = (sum of the solo runs' CPU / cores) / wall time of the run on N Macs

1 when running the N Macs together costs nothing more than running them one after the
other on all the cores; goal >= 0.8. Also printed: the controller's CPU per Mac, alone and
at N, and the one-Mac wall time (goal <= 15 s).

Each timed run must report ``changed=0`` for every Mac (else the measure is void: exit 2).

    sudo .venv/bin/python benchmarks/provisionnement.py [--macs 10] [--essais 3]

Exit code: 0 goals met (or measure skipped: not root), 1 a goal missed, 2 the runs
were wrong (failure, or changes on a run that should change nothing).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

RACINE = Path(__file__).resolve().parents[1]
# the tests' helpers, and the collection as the tests import it (.collections/, pytest's pythonpath)
sys.path[:0] = [str(RACINE), str(RACINE / ".collections")]

OBJECTIF_UN_MAC_S = 15.0
OBJECTIF_EFFICACITE = 0.8
VERSION_FUSION = "13.6.2"
VERSION_CHROME = "131.0.6778.86"
VERSION_ZOOM = "6.2.11 (43613)"


def _virgule(valeur: float, decimales: int = 1) -> str:
    return f"{valeur:.{decimales}f}".replace(".", ",")


def _cpu_processus_s(pid: int) -> float:
    """CPU time of a process and of its children it has reaped (/proc/<pid>/stat), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        champs = stat.read().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in champs[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def _cpu_mesure_s(macs) -> tuple[float, float]:
    """CPU spent so far by this measure only, not by the rest of the (shared) machine.

    Controller: ansible-playbook, its workers and ssh clients (reaped children of this
    process). Simulated Macs: every live process of each Mac (sshd, the connection kept by
    ControlPersist...) with the children it reaped (sessions, modules): a process that ends
    is counted in its parent's children time, so nothing is lost nor counted twice.
    """
    total = resource.getrusage(resource.RUSAGE_CHILDREN)
    controleur = total.ru_utime + total.ru_stime
    distant = 0.0
    for mac in macs:
        for pid in mac.pids():
            try:
                distant += _cpu_processus_s(pid)
            except (FileNotFoundError, ProcessLookupError):
                pass  # ended between the listing and the reading: counted by its parent
    return controleur, distant


def _mots_de_passe(inventaire: Path) -> Path:
    """Give each Mac of the inventory its own Windows administrator password (the role refuses a shared one)."""
    import yaml

    donnees = yaml.safe_load(inventaire.read_text(encoding="utf-8"))
    for nom, hote in donnees["all"]["children"]["postes_dsq"]["hosts"].items():
        hote["vm_windows_mot_de_passe_admin"] = f"Mot-de-passe-de-mesure-{nom}"
    inventaire.write_text(yaml.safe_dump(donnees, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return inventaire


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Durée d'un passage sans changement du provisionnement : un Mac simulé, puis N en parallèle.")
    parser.add_argument("--macs", type=int, default=10, help="Mac simulés en parallèle (défaut : 10)")
    parser.add_argument("--essais", type=int, default=3, help="passages mesurés par cas ; le meilleur est retenu (défaut : 3)")
    args = parser.parse_args(argv)

    if os.geteuid() != 0:
        print("Mesure sautée : les Mac simulés exigent root (espaces de noms, sshd). "
              "Relancer avec sudo .venv/bin/python benchmarks/provisionnement.py.")
        return 0
    from tests.mac_simule import construction

    manquants = construction.prerequis_manquants()
    if manquants:
        print("Mesure sautée : il manque de quoi construire les Mac simulés : " + " ; ".join(manquants))
        return 0

    from tests.mac_simule import fabrication
    from tests.provisionnement.aide import ISO_MAC, dossier_controle_ssh, installer_outils, jouer
    from tests.provisionnement.conftest import _enregistrer_formats

    _enregistrer_formats(construction)
    construction.nettoyer_restes()
    macs = []
    dossier = Path(tempfile.mkdtemp(prefix="telesante-mesure-provisionnement-"))
    try:
        installateur = fabrication.fabriquer_fusion(dossier / "fusion", VERSION_FUSION, format="dmg")
        iso = fabrication.fabriquer_iso(dossier, "Win11_Simule.iso")
        chrome = fabrication.fabriquer_application(dossier / "chrome", "chrome", VERSION_CHROME)
        zoom = fabrication.fabriquer_application(dossier / "zoom", "zoom", VERSION_ZOOM)
        debut = time.monotonic()
        for index in range(args.macs):
            architecture = "arm64" if index % 2 == 0 else "x86_64"
            mac = construction.construire_mac(architecture=architecture,
                                              numero_serie=f"C02MESURE{index:03d}",
                                              nom=f"mac-mesure-{index:02d}")
            macs.append(mac)
            installer_outils(mac)
            cible = mac.chemin(ISO_MAC)
            cible.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(iso, cible)
        construction_s = time.monotonic() - debut
        variables = {
            "fusion_version": VERSION_FUSION,
            "fusion_source": str(installateur),
            "fusion_sha256": fabrication.sha256(installateur),
            "vm_windows_iso_chemin": ISO_MAC,
            "vm_windows_iso_sha256": fabrication.sha256(iso),
            "vm_windows_proprietaire": construction.CLINICIEN,
            "vm_windows_installation_automatique": False,
            "applications_cliniques_chrome": {"source": str(chrome), "sha256": fabrication.sha256(chrome)},
            "applications_cliniques_zoom": {"source": str(zoom), "sha256": fabrication.sha256(zoom)},
            "applications_cliniques_zoom_version_minimale": "6.2.0",
        }
        seuls = [_mots_de_passe(construction.ecrire_inventaire([mac], dossier / f"seul-{i:02d}", **variables))
                 for i, mac in enumerate(macs)]
        tous = _mots_de_passe(construction.ecrire_inventaire(macs, dossier / "tous", **variables))

        convergence = jouer(tous, forks=args.macs, timeout=1800)
        if convergence.code != 0 or convergence.echecs() or len(convergence.recap) != args.macs:
            print("Mesure impossible : la convergence initiale des Mac simulés a échoué.")
            print(convergence.sortie[-4000:])
            return 2

        def mesurer(inventaire: Path, forks: int, attendus: int) -> tuple[float, float, float] | None:
            """(wall time, controller CPU, Macs' CPU) of one no-change run; None if it changed or failed."""
            controleur_avant, distant_avant = _cpu_mesure_s(macs)
            passage = jouer(inventaire, forks=forks)
            controleur_apres, distant_apres = _cpu_mesure_s(macs)
            if (passage.code != 0 or len(passage.recap) != attendus or passage.echecs()
                    or passage.changes() != 0):
                print(f"Mesure invalide : un passage qui ne devait rien changer a rendu le code "
                      f"{passage.code}, {passage.changes()} changement(s), {passage.echecs()} échec(s).")
                print(passage.sortie[-4000:])
                return None
            return passage.duree, controleur_apres - controleur_avant, distant_apres - distant_avant

        seul = [mesurer(inventaire, 1, 1) for inventaire in seuls]
        if any(mesure is None for mesure in seul):
            return 2
        parallele = []
        for _ in range(args.essais):
            mesure = mesurer(tous, args.macs, args.macs)
            if mesure is None:
                return 2
            parallele.append(mesure)
    finally:
        for mac in macs:
            try:
                mac.close()
            except Exception as exc:  # noqa: BLE001 - tear every Mac down
                print(f"Démontage : {exc}", file=sys.stderr)
        for inventaire in [dossier / "tous" / "hosts.yml", *sorted(dossier.glob("seul-*/hosts.yml"))]:
            shutil.rmtree(dossier_controle_ssh(inventaire), ignore_errors=True)
        shutil.rmtree(dossier, ignore_errors=True)

    coeurs = os.cpu_count() or 1
    cpu_seuls = sum(controleur + distant for _, controleur, distant in seul)
    controleur_seul_par_mac = sum(controleur for _, controleur, _ in seul) / len(seul)
    t_un = min(duree for duree, _, _ in seul)
    t_tous, controleur_n, distant_n = min(parallele)
    efficacite = (cpu_seuls / coeurs) / t_tous
    un_ok = t_un <= OBJECTIF_UN_MAC_S
    efficacite_ok = efficacite >= OBJECTIF_EFFICACITE
    charge = os.getloadavg()[0]
    print(f"Provisionnement des postes DSQ, passage sans changement (playbooks/poste_dsq.yml), "
          f"{coeurs} cœurs partagés par le contrôleur et les Mac simulés, charge {_virgule(charge, 2)} :")
    print(f"  construction de {args.macs} Mac simulés : {_virgule(construction_s)} s ; "
          f"convergence initiale des {args.macs} : {_virgule(convergence.duree)} s (non mesurée)")
    print(f"  chaque Mac seul : {', '.join(_virgule(d) for d, _, _ in seul)} s ; le plus court "
          f"{_virgule(t_un)} s, objectif <= {_virgule(OBJECTIF_UN_MAC_S, 0)} s : {'RÉUSSI' if un_ok else 'ÉCHEC'}")
    print(f"  CPU des {len(seul)} passages seuls : {_virgule(cpu_seuls)} s ; CPU du contrôleur par Mac : "
          f"{_virgule(controleur_seul_par_mac)} s seul, {_virgule(controleur_n / args.macs)} s à {args.macs} "
          f"(Mac : {_virgule(distant_n / args.macs)} s chacun)")
    print(f"  {args.macs} Mac en parallèle : {_virgule(t_tous)} s (meilleur de "
          f"{', '.join(_virgule(d) for d, _, _ in parallele)} s)")
    print(f"  efficacité parallèle = ({_virgule(cpu_seuls)} s / {coeurs} cœurs) / {_virgule(t_tous)} s = "
          f"{_virgule(efficacite, 2)} ; objectif >= {_virgule(OBJECTIF_EFFICACITE, 1)} : "
          f"{'RÉUSSI' if efficacite_ok else 'ÉCHEC'}")
    ok = un_ok and efficacite_ok
    print("Résultat :", "RÉUSSI" if ok else "ÉCHEC")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
