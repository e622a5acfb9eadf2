"""Wall time of a no-change run of playbooks/poste_dsq.yml: one simulated Mac, then 10 in parallel.

Builds simulated Macs (tests/mac_simule: network and mount namespaces, their own
sshd, macOS and Fusion stand-ins; needs root), half Apple Silicon and half Intel,
converges them all once (not timed: installs Fusion, creates the VMs), then times,
in the same run:

* a no-change run of the playbook against one Mac (the reference), best of 3;
* a no-change run against the 10 Macs at once (``--forks 10``), best of 3.

Each timed run must report ``changed=0`` for every Mac (else the measure is void:
exit 2). Goals, from the issue: one Mac <= 15 s; 10 Macs in parallel <= 2x the
single run, ratio measured in the same run.

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
sys.path.insert(0, str(RACINE))

OBJECTIF_UN_MAC_S = 15.0
OBJECTIF_RAPPORT = 2.0
VERSION_FUSION = "13.6.2"


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
            "fusion_numero_licence": "ABCDE-12345-FGHIJ-67890-KLMNO",
            "vm_windows_iso_chemin": ISO_MAC,
            "vm_windows_iso_sha256": fabrication.sha256(iso),
            "vm_windows_mot_de_passe_admin": "Mot-de-passe-de-mesure-42",
        }
        un_seul = construction.ecrire_inventaire(macs[:1], dossier / "un", **variables)
        tous = construction.ecrire_inventaire(macs, dossier / "tous", **variables)

        convergence = jouer(tous, forks=args.macs, timeout=1800)
        if convergence.code != 0 or convergence.echecs() or len(convergence.recap) != args.macs:
            print("Mesure impossible : la convergence initiale des Mac simulés a échoué.")
            print(convergence.sortie[-4000:])
            return 2

        cpu: dict[int, list[tuple[float, float]]] = {1: [], args.macs: []}

        def mesurer(inventaire: Path, forks: int, attendus: int) -> list[float] | None:
            durees = []
            for _ in range(args.essais):
                controleur_avant, distant_avant = _cpu_mesure_s(macs)
                passage = jouer(inventaire, forks=forks)
                controleur_apres, distant_apres = _cpu_mesure_s(macs)
                cpu[attendus].append((controleur_apres - controleur_avant, distant_apres - distant_avant))
                if (passage.code != 0 or len(passage.recap) != attendus or passage.echecs()
                        or passage.changes() != 0):
                    print(f"Mesure invalide : un passage qui ne devait rien changer a rendu le code "
                          f"{passage.code}, {passage.changes()} changement(s), {passage.echecs()} échec(s).")
                    print(passage.sortie[-4000:])
                    return None
                durees.append(passage.duree)
            return durees

        seul = mesurer(un_seul, 1, 1)
        parallele = mesurer(tous, args.macs, args.macs) if seul is not None else None
        if seul is None or parallele is None:
            return 2
    finally:
        for mac in macs:
            try:
                mac.close()
            except Exception as exc:  # noqa: BLE001 - tear every Mac down
                print(f"Démontage : {exc}", file=sys.stderr)
        shutil.rmtree(dossier, ignore_errors=True)
        for inventaire in (dossier / "un" / "hosts.yml", dossier / "tous" / "hosts.yml"):
            shutil.rmtree(dossier_controle_ssh(inventaire), ignore_errors=True)

    t_un = min(seul)
    t_tous = min(parallele)
    coeurs = os.cpu_count() or 1
    controleur_un, distant_un = min(cpu[1], key=sum)
    cpu_un = controleur_un + distant_un
    controleur_n, distant_n = min(cpu[args.macs], key=sum)
    cpu_par_mac = (controleur_n + distant_n) / args.macs
    rapport = t_tous / t_un
    un_ok = t_un <= OBJECTIF_UN_MAC_S
    rapport_ok = rapport <= OBJECTIF_RAPPORT
    charge = os.getloadavg()[0]
    print(f"Provisionnement des postes DSQ, passage sans changement (playbooks/poste_dsq.yml), "
          f"{os.cpu_count()} cœurs, charge {_virgule(charge, 2)} :")
    print(f"  construction de {args.macs} Mac simulés : {_virgule(construction_s)} s ; "
          f"convergence initiale des {args.macs} : {_virgule(convergence.duree)} s (non mesurée)")
    print(f"  1 Mac              : {_virgule(t_un)} s (meilleur de {', '.join(_virgule(d) for d in seul)} s) ; "
          f"objectif <= {_virgule(OBJECTIF_UN_MAC_S, 0)} s : {'RÉUSSI' if un_ok else 'ÉCHEC'}")
    print(f"  {args.macs} Mac en parallèle : {_virgule(t_tous)} s (meilleur de "
          f"{', '.join(_virgule(d) for d in parallele)} s) ; rapport au passage sur 1 Mac : "
          f"{_virgule(rapport, 2)}× ; objectif <= {_virgule(OBJECTIF_RAPPORT, 0)}× : "
          f"{'RÉUSSI' if rapport_ok else 'ÉCHEC'}")
    print(f"  CPU consommé (contrôleur Ansible + sshd et modules des Mac simulés, tous sur ces "
          f"{coeurs} cœurs) : {_virgule(cpu_un)} s pour 1 Mac (contrôleur {_virgule(controleur_un)} s, "
          f"Mac {_virgule(distant_un)} s), {_virgule(cpu_par_mac)} s par Mac à {args.macs} (contrôleur "
          f"{_virgule(controleur_n / args.macs)} s, Mac {_virgule(distant_n / args.macs)} s) ; "
          f"à {args.macs} Mac, {_virgule(cpu_par_mac * args.macs / coeurs)} s au moins sur {coeurs} cœurs, "
          f"soit {_virgule(cpu_par_mac * args.macs / coeurs / t_un, 2)}× le passage sur 1 Mac avant toute attente")
    ok = un_ok and rapport_ok
    print("Résultat :", "RÉUSSI" if ok else "ÉCHEC")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
