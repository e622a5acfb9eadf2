"""Benchmark: writing the HTML report of a large audit (`telesante.rapports.html.en_html`).

What is measured: `en_html(document)` on synthetic report documents of 3,000 and 30,000
findings (30,000 is a large audit: the 1,000,000-observation bench of
identification_politique.py gives about 29,000). The documents start from the real JSON of
the demo (`telesante audit -i inventaires/exemple/hosts.yml --date 2026-11-21 -f json`, run
once here) and multiply its findings with varied and hostile names (HTML tags, quotes, ESC,
NUL, bidi controls, very long names without spaces), as a night with history gives them:
the night's changes (5 % new, 90 % persisting, a few gone), dérogations (levés) and a
30-night trend.

For each size: the best of N runs (the machine is shared: the best run is the one least
disturbed) of the CPU time of the process (`time.process_time`) and of the wall-clock time,
and the size of the page in bytes. The reference, measured in the same run on the same
document: `formats.en_json` (the JSON report, written for every audit too), its time and its
size. Results are given as ratios to it.

Goals: 30,000 findings written in <= 5 s of CPU time, and a page <= 3 times the size of the
JSON report. The page is also checked: one finding per MAC in it, no raw control character,
no hostile name read as markup (`<script`, `<img`) — a fast page that lost findings or
escaping is a failure (exit code 2).

Usage: python benchmarks/rapport_html.py [--tailles 3000,30000] [--repetitions N]
Exit code: 0 all goals met, 1 a goal missed, 2 the page is wrong.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

RACINE = Path(__file__).resolve().parent.parent
TELESANTE = Path(sys.executable).with_name("telesante")
TAILLES = (3_000, 30_000)
CIBLE = 30_000
DELAI_MAX = 5.0  # s of CPU time for CIBLE findings
TAILLE_MAX = 3.0  # × the JSON report

HOSTILES = [
    '<script>alert("x")</script>', "<img src=x onerror=alert(1)>", "\x1b]0;pwn\x07", "a\x00b",
    "\u202etxt.exe", "\"'&amp;", "Ｗ" * 8 + "commutateur" * 6, "🦜 Salon de Julie", "]]>", "\ud800",
]
# What must never reach the page raw (the report writes these characters as their escapes).
INTERDITS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u061c\u200e\u200f\u202a-\u202e"
                       "\u2066-\u2069]")


def json_de_l_exemple(dossier: Path) -> dict:
    """The real JSON report of the demo audit."""
    resultat = subprocess.run(
        [TELESANTE, "audit", "-i", RACINE / "inventaires/exemple/hosts.yml", "--date", "2026-11-21",
         "-f", "json", "-o", dossier], capture_output=True, text=True, timeout=600)
    if resultat.returncode not in (0, 1, 2):
        sys.exit(f"audit de l'exemple en échec (code {resultat.returncode}) :\n{resultat.stderr}")
    return json.loads((dossier / "rapport.json").read_text(encoding="utf-8"))


def _mac(i: int) -> str:
    return "02:" + ":".join(f"{(i >> s) & 0xFF:02x}" for s in (32, 24, 16, 8, 0))


def document_synthetique(reel: dict, n: int) -> dict:
    """The real document with `n` findings derived from its own, each with a distinct MAC and
    varied (often hostile) names, plus the night's changes and a 30-night trend."""
    document = copy.deepcopy(reel)
    modeles = reel["constats"]
    constats = []
    for i in range(n):
        c = copy.deepcopy(modeles[i % len(modeles)])
        hostile = HOSTILES[i % len(HOSTILES)]
        c["mac"] = _mac(i)
        c["ips"] = [f"10.{20 + i % 7}.{(i >> 8) % 256}.{i % 256}"]
        c["noms_hote"] = [f"poste-{i}{hostile if i % 3 == 0 else ''}"]
        for e in c["emplacements"]:
            e["equipement"] = f"sw-{i % 40:02d}" + (hostile if i % 11 == 0 else "")
            e["port"] = f"Gi{i % 4}/0/{i % 48}"
        for m in c["services_mdns"]:
            m["modele"] = (m["modele"] or "") + (hostile if i % 5 == 0 else "")
        c["vu_le"] = f"2026-11-2{1 + i % 2}T0{i % 6}:{i % 60:02d}:00+00:00"
        if i % 20 == 7 and c["derogation"] is None:  # a few silenced by a dérogation
            c["statut"] = "leve"
            c["derogation"] = {"justification": f"prêt n° {i}{hostile}", "expiration": "2027-01-31", "expiree": False}
        constats.append(c)
    document["constats"] = constats
    actifs = [c for c in constats if c["statut"] == "actif"]
    entrees = []
    for i, c in enumerate(actifs):
        if i % 20 == 0:
            entrees.append({**c, "etat": "nouveau", "premiere_vue": "2026-11-21", "nuits": 1})
        else:
            debut = date(2026, 11, 21) - timedelta(days=i % 60)
            entrees.append({**c, "etat": "persistant", "premiere_vue": debut.isoformat(), "nuits": 1 + i % 60})
    for i in range(n // 50):
        entrees.append({**actifs[i % len(actifs)], "mac": _mac(10_000_000 + i), "etat": "disparu",
                        "premiere_vue": "2026-11-02", "nuits": 19})
    document["changements"] = {
        "precedent": {"date": "2026-11-20T07:01:02.345678+00:00"}, "constats": entrees,
        "equipements": [{"equipement": "sw-03" + HOSTILES[0], "etat": "devenu_illisible"}],
        "derogations_expirant": [{"mac": _mac(7), "reseau": "mission-nord", "expire": "2026-11-25", "jours": 4}],
    }
    document["tendance"] = [
        {"date": (date(2026, 11, 21) - timedelta(days=k)).isoformat(),
         "reseaux": {"mission-nord": {"critiques": n // 3 + k, "a_verifier": n // 2 - k},
                     "mission-sud": {"critiques": k % 4, "a_verifier": 2}},
         "equipements_non_lus": k % 3}
        for k in range(30)]
    document["resume"]["constats_critiques"] = sum(c["gravite"] == "critique" for c in actifs)
    document["resume"]["constats_a_verifier"] = len(actifs) - document["resume"]["constats_critiques"]
    document["resume"]["constats_leves"] = n - len(actifs)
    return document


def meilleur(fonction, repetitions: int) -> tuple[float, float, object]:
    """Best CPU and best wall-clock time of `repetitions` calls, and the last result."""
    cpu, mur, resultat = float("inf"), float("inf"), None
    for _ in range(repetitions):
        gc.collect()
        debut_cpu, debut_mur = time.process_time(), time.perf_counter()
        resultat = fonction()
        cpu = min(cpu, time.process_time() - debut_cpu)
        mur = min(mur, time.perf_counter() - debut_mur)
    return cpu, mur, resultat


def verifier(page: bytes, document: dict) -> list[str]:
    """What is wrong with the page: a finding missing, a raw control character, a name read as markup."""
    texte = page.decode("utf-8")
    erreurs = []
    manquants = [c["mac"] for c in document["constats"] if c["mac"] not in texte]
    if manquants:
        erreurs.append(f"{len(manquants)} constats absents de la page (MAC {manquants[0]}...)")
    if INTERDITS.search(texte.replace("\n", "")):
        erreurs.append(f"caractère brut dans la page : {INTERDITS.search(texte.replace(chr(10), '')).group()!r}")
    for balise in ("<script", "<img"):
        if balise in texte.lower():
            erreurs.append(f"« {balise} » lu comme balise dans la page")
    return erreurs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mesure l'écriture du rapport HTML de gros audits.")
    parser.add_argument("--tailles", default=",".join(map(str, TAILLES)), help="nombres de constats (virgules)")
    parser.add_argument("--repetitions", type=int, default=3, help="mesures par taille (la meilleure est gardée)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(RACINE / "src"))
    from telesante.rapports import formats
    from telesante.rapports.html import en_html

    with tempfile.TemporaryDirectory() as dossier:
        reel = json_de_l_exemple(Path(dossier))
    lignes = [f"{'constats':>9} | {'HTML CPU':>9} {'HTML mur':>9} {'Mo':>6} | {'JSON CPU':>9} {'Mo':>6} | "
              f"{'× temps':>7} {'× taille':>8} | objectif"]
    code = 0
    for n in (int(t) for t in args.tailles.split(",")):
        document = document_synthetique(reel, n)
        html_cpu, html_mur, page = meilleur(lambda: en_html(document), args.repetitions)
        json_cpu, _json_mur, texte = meilleur(lambda: formats.en_json(document).encode("utf-8"), args.repetitions)
        erreurs = verifier(page, document)
        if erreurs:
            print(f"{n} constats : page fausse : " + " ; ".join(erreurs), file=sys.stderr)
            code = 2
        taille = len(page) / len(texte)
        atteint = html_cpu * CIBLE / n <= DELAI_MAX and taille <= TAILLE_MAX  # time scaled to CIBLE findings
        if not atteint and code == 0:
            code = 1
        lignes.append(f"{n:>9} | {html_cpu:>8.2f}s {html_mur:>8.2f}s {len(page) / 1e6:>6.1f} | {json_cpu:>8.2f}s "
                      f"{len(texte) / 1e6:>6.1f} | {html_cpu / json_cpu:>6.1f}× {taille:>7.2f}× | "
                      f"{'atteint' if atteint else 'MANQUÉ'}{' (page fausse)' if erreurs else ''}")
        print(lignes[-1], file=sys.stderr, flush=True)
    print(f"Rapport HTML (meilleur de {args.repetitions}) ; objectif : {CIBLE} constats en <= {DELAI_MAX:g} s CPU "
          f"(temps ramené à {CIBLE} constats), page <= {TAILLE_MAX:g} × le JSON")
    print("\n".join(lignes))
    return code


if __name__ == "__main__":
    sys.exit(main())
