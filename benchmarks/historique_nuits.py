"""Benchmark: the history of a year of nights, and the changes of one more night.

What is measured, on a synthetic history written to a temporary folder:

- a base of 365 nights × 30,000 findings (a large establishment: 30,000 findings a night on
  its mission networks; 1 % of them leave and 1 % arrive each night), written in the
  product's own schema: the first night by `enregistrer_nuit()` itself (which creates the
  tables), the 364 others by bulk inserts of the rows the product writes (the same columns,
  the same JSON, each finding's first night and count of nights as the product computes
  them); 364 product writes would measure the writer, not the history;
- the changes of night 366: `telesante.historique.enregistrer_nuit()` exactly as the audit
  calls it (previous run read, 30,000 findings compared, the run written, the 30-night trend
  read), wall-clock and CPU time; goal (issue 16): <= 2 s, checked on CPU time, the wall-clock
  time reported beside it (as benchmarks/capture_geante.py: on a shared machine, several test
  runs on 2 cores, the wall clock mostly measures the wait for a core and for the disk);
- the size of the base (file and WAL journal), and the time of `VACUUM`.

Reference measured in the same run: the same night-366 write on a base that holds a single
night (what the history size costs), the size of that one-night base (bytes a night), and
a plain copy of the 365-night base file (`shutil.copyfile`: what `VACUUM`, which rewrites
the whole file, cannot beat).

Usage: python benchmarks/historique_nuits.py [--nuits N] [--constats N]
Exit code: 0 goal met, 1 goal missed, 2 the results are wrong.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from telesante import changements  # noqa: E402
from telesante.historique import enregistrer_nuit  # noqa: E402

NUITS, CONSTATS, DELAI_MAX = 365, 30_000, 2.0
ROTATION = 0.01  # share of findings that leave (and of new ones) each night
PREMIERE_NUIT = date(2025, 11, 1)
RESEAUX = [f"mission-{n:02d}" for n in range(20)]


def _constat(numero: int) -> dict:
    """Finding number `numero`, as the report document writes it (a MAC derived from the number)."""
    mac = ":".join(f"{(numero >> s) & 0xFF:02x}" for s in (40, 32, 24, 16, 8, 0)).replace("00:", "02:", 1)
    critique = numero % 10 == 0
    return {"gravite": "critique" if critique else "à vérifier", "type": "categorie_interdite" if critique else "non_autorise",
            "statut": "actif", "message": "appareil grand public interdit : Amazon Echo Show (écran intelligent)"
            if critique else "appareil non autorisé", "reseau": RESEAUX[numero % len(RESEAUX)], "site": "site-01",
            "mac": mac, "fabricant": "Amazon Technologies Inc." if critique else None,
            "identification": {"signature": "Amazon Echo Show" if critique else None,
                               "categorie": "écran intelligent" if critique else None, "motifs": ["oui"] if critique else []},
            "ips": [f"10.{numero >> 16 & 0xFF}.{numero >> 8 & 0xFF}.{numero & 0xFF}"],
            "vlans": [100 + numero % len(RESEAUX)],
            "emplacements": [{"equipement": f"sw-{numero % 97:02d}", "port": f"Gi1/0/{numero % 48 + 1}",
                              "vlan": 100 + numero % len(RESEAUX)}],
            "noms_hote": [f"poste-{numero}"], "services_mdns": [], "sources": [f"sw-{numero % 97:02d}"],
            "vu_le": None, "derogation": None}


def _document(nuit: date, numeros: range | list[int]) -> dict:
    constats = [_constat(n) for n in numeros]
    return {"format": "telesante-rapport-audit", "version": 1, "inventaire": "/etc/telesante/inventaire",
            "mode": "direct", "debut": f"{nuit.isoformat()}T02:00:00+00:00", "fin": f"{nuit.isoformat()}T02:10:00+00:00",
            "date_reference": nuit.isoformat(),
            "verdict": {"code_sortie": 1, "statut": "non_conforme", "signification": "non-conformités", "interrompu": False},
            "resume": {"equipements": 97, "equipements_incomplets": 0, "appareils": len(constats) * 3,
                       "constats_critiques": sum(c["gravite"] == "critique" for c in constats),
                       "constats_a_verifier": sum(c["gravite"] != "critique" for c in constats), "constats_leves": 0},
            "notes": [], "equipements": [{"nom": f"sw-{n:02d}", "plateforme": "cisco_ios", "site": "site-01",
                                         "statut": "complet", "problemes": [], "lectures": [], "observations": 900}
                                        for n in range(97)],
            "reseaux": [{"nom": r, "site": "site-01", "type": "mission", "statut": "non_conforme", "appareils": 4500,
                         "constats_actifs": len(constats) // len(RESEAUX), "motif": None} for r in RESEAUX],
            "non_declares": [], "constats": constats, "isolement": {"paires": [], "constats": []}}


def _numeros(nuit: int, constats: int) -> range:
    """The findings of night `nuit` (0-based): a window that slides by 1 % a night."""
    debut = nuit * int(constats * ROTATION)
    return range(debut, debut + constats)


@functools.lru_cache(maxsize=4 * CONSTATS)
def _colonnes(numero: int) -> tuple:
    """The columns of a finding's row that do not change from night to night (historique.enregistrement._inserer)."""
    c = _constat(numero)
    complement = {k: c[k] for k in ("fabricant", "identification", "services_mdns", "vu_le", "derogation")}
    return ((c["reseau"], c["site"], c["mac"], c["gravite"], c["type"], c["statut"], c["message"],
             json.dumps({k: c[k] for k in ("ips", "vlans", "emplacements", "noms_hote", "sources")}, ensure_ascii=False),
             changements.cle_constat(c)), json.dumps(complement, ensure_ascii=False))


def _lignes(passage: int, numeros: range, suivi: dict[int, tuple[str, int]]) -> list[tuple]:
    """The constats rows the product writes for one run."""
    lignes = []
    for numero in numeros:
        colonnes, complement = _colonnes(numero)
        lignes.append((passage, *colonnes, *suivi[numero], complement))
    return lignes


def remplir(base: Path, nuits: int, constats: int) -> None:
    """A history of `nuits` nights: the first by the product, the others by bulk inserts of the same rows."""
    enregistrer_nuit(base, _document(PREMIERE_NUIT, _numeros(0, constats)))
    suivi = {n: (PREMIERE_NUIT.isoformat(), 1) for n in _numeros(0, constats)}
    connexion = sqlite3.connect(base, isolation_level=None)
    connexion.execute("PRAGMA synchronous=OFF")
    modele = _document(PREMIERE_NUIT, [])
    for indice in range(1, nuits):
        nuit = PREMIERE_NUIT + timedelta(days=indice)
        numeros = _numeros(indice, constats)
        suivi = {n: (suivi[n][0], suivi[n][1] + 1) if n in suivi else (nuit.isoformat(), 1) for n in numeros}
        connexion.execute("BEGIN")
        passage = connexion.execute(
            "INSERT INTO passages (debut, fin, inventaire, mode, code_sortie, statut, interrompu, resume) "
            "VALUES (?, ?, ?, 'direct', 1, 'non_conforme', 0, ?)",
            (f"{nuit}T02:00:00+00:00", f"{nuit}T02:10:00+00:00", modele["inventaire"],
             json.dumps(modele["resume"]))).lastrowid
        connexion.executemany(
            "INSERT INTO constats (passage_id, reseau, site, mac, gravite, type, statut, message, preuves, cle, "
            "premiere_vue, nuits, complement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _lignes(passage, numeros, suivi))
        connexion.executemany("INSERT INTO equipements VALUES (?, ?, 'complet', '[]')",
                              [(passage, e["nom"]) for e in modele["equipements"]])
        connexion.execute("INSERT INTO nuits VALUES (?, ?, 0)", (passage, nuit.isoformat()))
        connexion.executemany("INSERT INTO reseaux VALUES (?, ?, 'site-01', 1, 'non_conforme', ?, ?)",
                              [(passage, r, constats // len(RESEAUX) // 10, constats // len(RESEAUX) * 9 // 10)
                               for r in RESEAUX])
        connexion.execute("COMMIT")
    connexion.close()


def taille(base: Path) -> int:
    return sum(p.stat().st_size for p in (base, Path(f"{base}-wal")) if p.exists())


def nuit_suivante(base: Path, nuits: int, constats: int) -> tuple[float, float, dict]:
    """enregistrer_nuit() of the next night, as the audit calls it: (wall s, CPU s, its changes)."""
    document = _document(PREMIERE_NUIT + timedelta(days=nuits), _numeros(nuits, constats))
    debut, cpu = time.perf_counter(), time.process_time()
    enregistrement = enregistrer_nuit(base, document, derogations=[])
    return time.perf_counter() - debut, time.process_time() - cpu, enregistrement


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nuits", type=int, default=NUITS)
    parser.add_argument("--constats", type=int, default=CONSTATS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="telesante-banc-historique-") as dossier:
        reference = Path(dossier) / "une-nuit.sqlite"
        remplir(reference, 1, args.constats)
        taille_reference = taille(reference)
        mur_ref, cpu_ref, _ = nuit_suivante(reference, 1, args.constats)

        base = Path(dossier) / "historique.sqlite"
        debut = time.perf_counter()
        remplir(base, args.nuits, args.constats)
        remplissage = time.perf_counter() - debut
        mur, cpu, enregistrement = nuit_suivante(base, args.nuits, args.constats)
        taille_base = taille(base)

        debut = time.perf_counter()
        shutil.copyfile(base, Path(dossier) / "copie.sqlite")
        copie = time.perf_counter() - debut
        os.unlink(Path(dossier) / "copie.sqlite")
        connexion = sqlite3.connect(base, isolation_level=None)
        connexion.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        debut = time.perf_counter()
        connexion.execute("VACUUM")
        vacuum = time.perf_counter() - debut
        connexion.close()

    entrees = enregistrement.changements["constats"]
    comptes = {etat: sum(1 for e in entrees if e["etat"] == etat) for etat in ("nouveau", "persistant", "disparu")}
    bouge = int(args.constats * ROTATION)
    attendus = {"nouveau": bouge, "persistant": args.constats - bouge, "disparu": bouge}
    plus_vieux = min(e["premiere_vue"] for e in entrees if e["etat"] == "persistant")
    justes = (comptes == attendus and len(enregistrement.tendance) == min(30, args.nuits + 1)
              and plus_vieux == (PREMIERE_NUIT + timedelta(days=max(0, args.nuits - 99))).isoformat())
    mio = 1024 * 1024
    print(f"Historique de {args.nuits} nuits × {args.constats} constats (rempli en {remplissage:.0f} s)")
    print(f"  changements de la nuit {args.nuits + 1} : CPU {cpu:.2f} s (objectif ≤ {DELAI_MAX:g} s), horloge {mur:.2f} s ;"
          f" référence (base d'une nuit) : CPU {cpu_ref:.2f} s, horloge {mur_ref:.2f} s ; rapport CPU {cpu / cpu_ref:.2f}")
    print(f"  résultat : {comptes['nouveau']} nouveaux, {comptes['persistant']} persistants, {comptes['disparu']} "
          f"disparus ; plus ancien persistant vu depuis le {plus_vieux} ; tendance de {len(enregistrement.tendance)} nuits")
    print(f"  taille de la base : {taille_base / mio:.0f} Mio ({taille_base / (args.nuits * args.constats):.0f} octets "
          f"par constat) ; référence (une nuit) : {taille_reference / mio:.1f} Mio, rapport "
          f"{taille_base / taille_reference:.0f} pour {args.nuits + 1} nuits")
    print(f"  VACUUM : {vacuum:.1f} s ; référence (copie du fichier) : {copie:.1f} s, rapport {vacuum / copie:.1f}")
    if not justes:
        print(f"RÉSULTATS FAUX : attendus {attendus}, obtenus {comptes}", file=sys.stderr)
        return 2
    return 0 if cpu <= DELAI_MAX else 1


if __name__ == "__main__":
    sys.exit(main())
