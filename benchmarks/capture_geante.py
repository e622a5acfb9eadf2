"""Benchmark: giant captures read offline, as `telesante audit` reads them.

What is measured: `collecter_captures()` (the offline path: the file is opened, checked,
read, parsed by the platform's parser, turned into observations) on synthetic captures
written to a temporary folder:

- an IOS `show mac address-table` of 100,000 entries (a core switch's table; about 5 Mio);
- an IOS `show mac address-table` of 2,000,000 lines (about 94 Mio);
- a `dnsmasq.leases` of 2,000,000 leases (about 126 Mio).

Each scenario runs in a fresh Python process (the figures of one never weigh on the
next); the process reports its own peak resident set size
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`: interpreter, libraries, the capture's text
and everything built from it) and the wall-clock and CPU time of `collecter_captures()`.
The time goal is checked on CPU time, and the wall-clock time is reported beside it: on a
shared machine (several test runs on 2 cores) the wall clock mostly measures the wait for
a core, not the work of the parser.

Goals, from the issue: 100,000 entries parsed in <= 10 s with a peak RSS <= 1 GiB, and
every entry read; 2,000,000 lines (of a MAC table or of leases): peak RSS <= 2 GiB, or a
clean refusal (equipment incomplete, « capture trop grande ») before the file is read,
the threshold being `TAILLE_MAX_CAPTURE` (src/telesante/collecte/resultat.py, 32 Mio).
The largest captures still accepted (a MAC table and a lease file just under the
threshold) are measured too: their peak RSS is the bound the threshold gives, <= 2 GiB.

For comparison, the 100,000-entry table is also parsed the way the collection did before
(ntc-templates' `parse_output`, through clitable, which deep-copies every row), in its own
process as well.

Usage: python benchmarks/capture_geante.py [--entrees N] [--lignes N]
Exit code: 0 all goals met, 1 a goal missed, 2 the results are wrong.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIO = 1024**3
ENTREES = 100_000
LIGNES = 2_000_000
DELAI_MAX = 10.0
RSS_MAX_TABLE = 1 * GIO
RSS_MAX_GEANTE = 2 * GIO

EN_TETE_IOS = ("          Mac Address Table\n-------------------------------------------\n\n"
               "Vlan    Mac Address       Type        Ports\n----    -----------       --------    -----\n")


def ecrire_table_mac(path: Path, entrees: int) -> None:
    """An IOS MAC table of `entrees` unicast entries (distinct MACs, 5 VLANs, 48 ports), with its total."""
    with path.open("w", encoding="utf-8") as file:
        file.write(EN_TETE_IOS)
        for index in range(entrees):
            mac = f"{0x0050B6000000 + index:012x}"
            file.write(f" {110 + index % 5:<4}   {mac[:4]}.{mac[4:8]}.{mac[8:]}    DYNAMIC     Gi1/0/{1 + index % 48}\n")
        file.write(f"Total Mac Addresses for this criterion: {entrees}\n")


def ecrire_baux(path: Path, baux: int) -> None:
    """A dnsmasq lease file of `baux` leases."""
    with path.open("w", encoding="utf-8") as file:
        for index in range(baux):
            mac = f"{0x0050B6000000 + index:012x}"
            mac = ":".join(mac[i:i + 2] for i in range(0, 12, 2))
            file.write(f"1795305600 {mac} 10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255} "
                       f"poste-{index} 01:{mac}\n")


def _scenario(kind: str, path: str) -> dict:
    """Run in the child process: collect one capture folder, report time, memory, outcome."""
    from telesante.collecte.captures import collecter_captures
    from telesante.configuration import Equipement

    folder = Path(path)
    if kind == "reference":  # the way the collection parsed before: ntc-templates through clitable
        from ntc_templates.parse import parse_output

        text = (folder / "show_mac_address-table.txt").read_text(encoding="utf-8")
        start, cpu = time.perf_counter(), time.process_time()
        records = parse_output(platform="cisco_ios", command="show mac address-table", data=text)
        outcome = {"observations": len(records), "problemes": []}
    else:
        plateforme = "cisco_ios" if kind == "table" else "dnsmasq"
        equipement = Equipement(nom="eq", plateforme=plateforme, site="s", captures=folder)
        start, cpu = time.perf_counter(), time.process_time()
        resultat = collecter_captures(equipement, racine=folder)
        mac_table = [p for p in resultat.problemes if "show_ip_arp" not in p]  # the ARP capture is absent
        outcome = {"observations": len(resultat.observations), "problemes": mac_table}
    return {**outcome, "secondes": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def _mesurer(kind: str, folder: Path) -> dict:
    output = subprocess.run([sys.executable, __file__, "--scenario", kind, str(folder)],
                            capture_output=True, text=True, check=True).stdout
    return json.loads(output)


def _verdict(ok: bool) -> str:
    return "atteint" if ok else "MANQUÉ"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mesure la lecture hors ligne de captures géantes.")
    parser.add_argument("--entrees", type=int, default=ENTREES, help=f"entrées de la table MAC (défaut : {ENTREES})")
    parser.add_argument("--lignes", type=int, default=LIGNES,
                        help=f"lignes de la table et des baux géants (défaut : {LIGNES})")
    parser.add_argument("--scenario", nargs=2, metavar=("GENRE", "DOSSIER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scenario:
        print(json.dumps(_scenario(*args.scenario)))
        return 0
    from telesante.collecte.resultat import TAILLE_MAX_CAPTURE

    code = 0
    lines = []
    with tempfile.TemporaryDirectory(prefix="capture-geante-") as tmp:
        table = Path(tmp) / "table"
        giant = Path(tmp) / "geante"
        leases = Path(tmp) / "baux"
        for folder in (table, giant, leases):
            folder.mkdir()
        ecrire_table_mac(table / "show_mac_address-table.txt", args.entrees)
        ecrire_table_mac(giant / "show_mac_address-table.txt", args.lignes)
        ecrire_baux(leases / "dnsmasq.leases", args.lignes)
        # Just under the threshold: the largest captures the audit accepts.
        table_max, leases_max = Path(tmp) / "table-au-seuil", Path(tmp) / "baux-au-seuil"
        for folder in (table_max, leases_max):
            folder.mkdir()
        ecrire_table_mac(table_max / "show_mac_address-table.txt", TAILLE_MAX_CAPTURE // 47 - 1)
        ecrire_baux(leases_max / "dnsmasq.leases", TAILLE_MAX_CAPTURE // 75)
        print("… captures écrites, mesures en cours", file=sys.stderr, flush=True)

        size = (table / "show_mac_address-table.txt").stat().st_size
        result = _mesurer("table", table)
        reference = _mesurer("reference", table)
        if result["observations"] != args.entrees or result["problemes"] or reference["observations"] != args.entrees:
            lines.append(f"RÉSULTAT FAUX : {result['observations']} observations pour {args.entrees} entrées, "
                         f"problèmes : {result['problemes']}")
            code = 2
        fast = result["cpu"] <= DELAI_MAX * args.entrees / ENTREES
        small = result["rss"] <= RSS_MAX_TABLE
        code = code or (0 if fast and small else 1)
        lines += [
            f"Table MAC IOS de {args.entrees} entrées ({size / 2**20:.1f} Mio) : {result['observations']} observations",
            f"  durée : CPU {result['cpu']:.1f} s (horloge {result['secondes']:.1f} s) — objectif ≤ "
            f"{DELAI_MAX * args.entrees / ENTREES:.1f} s : {_verdict(fast)}",
            f"  pic RSS : {result['rss'] / 2**20:.0f} Mio — objectif ≤ {RSS_MAX_TABLE / 2**20:.0f} Mio : {_verdict(small)}",
            f"  avant (ntc-templates parse_output, par clitable) : {reference['secondes']:.1f} s "
            f"(CPU {reference['cpu']:.1f} s), pic RSS {reference['rss'] / 2**20:.0f} Mio",
        ]
        for name, folder, file, kind, count in (
                ("Table MAC IOS", giant, "show_mac_address-table.txt", "table", args.lignes),
                ("Baux dnsmasq", leases, "dnsmasq.leases", "baux", args.lignes),
                ("Table MAC IOS au seuil", table_max, "show_mac_address-table.txt", "table",
                 TAILLE_MAX_CAPTURE // 47 - 1),
                ("Baux dnsmasq au seuil", leases_max, "dnsmasq.leases", "baux", TAILLE_MAX_CAPTURE // 75)):
            size = (folder / file).stat().st_size
            if "seuil" in name and size > TAILLE_MAX_CAPTURE:
                lines.append(f"ERREUR DU BANC : {name} ({size} octets) dépasse le seuil")
                code = 2
            result = _mesurer(kind, folder)
            refused = result["problemes"] == [
                f"{folder / file} : capture trop grande ({size / 2**20:.1f} Mio, au-delà de "
                f"{TAILLE_MAX_CAPTURE // 2**20} Mio) : refusée sans être analysée"]
            read = result["observations"] == count and not result["problemes"]
            if not (refused or read):
                lines.append(f"RÉSULTAT FAUX : {name} : {result['observations']} observations, {result['problemes']}")
                code = 2
            small = result["rss"] <= RSS_MAX_GEANTE
            code = code or (0 if small else 1)
            lines += [
                f"{name} : {count} lignes ({size / 2**20:.1f} Mio) : "
                + ("refusée, « capture trop grande », avant lecture" if refused else
                   f"{result['observations']} observations"),
                f"  durée : CPU {result['cpu']:.2f} s (horloge {result['secondes']:.2f} s)",
                f"  pic RSS : {result['rss'] / 2**20:.0f} Mio — objectif ≤ {RSS_MAX_GEANTE / 2**20:.0f} Mio : "
                f"{_verdict(small)}",
            ]
    lines.append(f"Seuil de refus : {TAILLE_MAX_CAPTURE // 2**20} Mio par capture (TAILLE_MAX_CAPTURE).")
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
