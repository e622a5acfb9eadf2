"""Collection time against the network lab with 1, 8 and 32 parallel workers.

Builds the real lab (network namespaces, sshd, dnsmasq; needs root), declares N
equipment that are SSH sessions to the lab's switch and gateway (each one a full
connection, host key check, commands and parsing), adds a WAN-like delay on the
management links, then times the collection sequentially (1 worker: the baseline)
and with 8 and 32 workers, in the same run. Ratios = sequential time / parallel time.

    sudo .venv/bin/python benchmarks/collecte_parallele.py [--equipements 32] [--delai-ms 50]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

RACINE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RACINE))

from rich.console import Console  # noqa: E402

from telesante.collecte.contrat import ParametresCollecte  # noqa: E402
from telesante.collecte.en_direct import collecter_en_direct  # noqa: E402
from telesante.collecte.parallele import collecter_en_parallele  # noqa: E402
from telesante.inventaire import charger_configuration  # noqa: E402
from tests.labo.inventaire_labo import ecrire_inventaire  # noqa: E402
from tests.labo.topologie import TOPOLOGIE_PAR_DEFAUT, PASSERELLE, COMMUTATEUR, construire_laboratoire, prerequis_manquants  # noqa: E402


def _mesurer(equipements, parametres, workers: int) -> tuple[float, int]:
    quiet = Console(stderr=True, quiet=True)
    start = time.perf_counter()
    results, interrupted = collecter_en_parallele(partial(collecter_en_direct, parametres=parametres), equipements, workers, quiet)
    elapsed = time.perf_counter() - start
    assert not interrupted
    failures = sum(1 for r in results if not r.complet)
    return elapsed, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Temps de collecte contre le laboratoire, 1, 8 et 32 en parallèle.")
    parser.add_argument("--equipements", type=int, default=32, help="équipements déclarés (défaut : 32)")
    parser.add_argument("--delai-ms", type=int, default=50, help="délai ajouté sur les liens de gestion (défaut : 50 ms)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or prerequis_manquants():
        print("Mesure sautée : le laboratoire réseau exige root et ses paquets "
              f"({'; '.join(prerequis_manquants()) or 'pas root'}).")
        return 0
    laboratoire = construire_laboratoire(TOPOLOGIE_PAR_DEFAUT)
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = charger_configuration(ecrire_inventaire(laboratoire, Path(folder) / "inv"))
            base = [e for e in config.equipements if e.nom in (COMMUTATEUR, PASSERELLE)]
            equipements = [dataclasses.replace(base[i % 2], nom=f"{base[i % 2].nom}-{i}") for i in range(args.equipements)]
            parametres = ParametresCollecte(hotes_connus=laboratoire.hotes_connus, tentatives=1)
            for node in (COMMUTATEUR, PASSERELLE):
                laboratoire.ralentir(node, args.delai_ms)
            _mesurer(equipements[:2], parametres, 2)  # warm-up: imports, first handshakes
            results = {workers: _mesurer(equipements, parametres, workers) for workers in (1, 8, 32)}
    finally:
        laboratoire.close()
    sequential = results[1][0]
    print(f"Collecte de {args.equipements} équipements (sessions SSH réelles vers le laboratoire, "
          f"délai ajouté {args.delai_ms} ms sur les liens de gestion) :")
    for workers, (seconds, failures) in results.items():
        ratio = sequential / seconds
        print(f"  {workers:>2} en parallèle : {seconds:6.2f} s  (rapport au séquentiel : {ratio:4.1f}×, "
              f"{failures} équipements incomplets)")
    ok = all(failures == 0 for _s, failures in results.values()) and results[8][0] < sequential
    print("Résultat :", "RÉUSSI" if ok else "ÉCHEC (collecte incomplète ou parallélisme sans gain)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
