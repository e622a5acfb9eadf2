"""SNMP at scale: 100 equipment in parallel against one at a time, then the whole audit of 1,000 agents.

Agents: snmpsim (a few processes, one UDP endpoint per agent, 127.0.x.y:161 inside a namespace of
the lab), each serving its own derived recording (its community is its name): named ports, a
Q-BRIDGE-MIB table (two devices on the patients' VLAN, one on the mission VLAN, an Echo every 50
agents), an ARP table. Latency: every response held 20 to 100 ms (five slices of agents: 20, 40,
60, 80, 100 ms) by NFQUEUE delay queues (tests/labo/auxiliaires.py delay-queue): the project's
machines have no netem. Measured in the same run (root):

1. 100 equipment: collection one at a time, then 100 at a time: the ratio (goal: 20 or more), and
   what bounds it here: every processor second of a read (the client's, snmpsim's, the delay
   queues') is spent on the same 2 cores, so 100 reads at once take at least
   100 × (CPU per read) / (number of cores), and at least 100 × (the client's CPU per read): the
   client is one Python process, on one core at a time (its GIL); the ratio cannot pass
   one-at-a-time / that bound, and the parallel efficiency is that bound / the time measured;
   how busy the cores were meanwhile (/proc/stat: this benchmark's share and the rest of the
   machine's, since on a shared machine the efficiency is the share it got), and the UDP
   responses dropped for a full receive buffer; `--simultanees N` sets the collector's bound on
   SNMP reads at once (LECTURES_SIMULTANEES) to measure what it costs;
2. 1,000 equipment: the collection alone (in this process, recording its captures), the offline
   audit of these captures (`telesante audit --source captures`: inventory, identification,
   policy, reports: everything but the collection), then `telesante audit --source direct
   --parallele 64`, whole (inventory, collection, identification, policy, terminal, JSON, CSV,
   JUnit and HTML reports): duration, equipment per second, ratio to NetDisco's reported 1.1 s
   per equipment (868 devices in 16 minutes), peak RSS;
3. where the time goes on this 2-core machine, where the agents and the audit share the processors:
   the client's CPU per equipment (RUSAGE_SELF of the measuring process over the 100 reads, the
   agents excluded) against snmpsim's and the delay queues' (utime + stime of their processes,
   read in /proc), the collector's projected throughput alone (equipment per second per core:
   1 / its CPU per equipment) against NetDisco's and against the throughput measured here, and a
   cProfile of one read (the functions where the client spends its CPU).

    sudo .venv/bin/python benchmarks/snmp_echelle.py [--agents 1000] [--parallele 64] [--processus 4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

RACINE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RACINE))

NETDISCO_S_PAR_EQUIPEMENT = 16 * 60 / 868  # NetDisco users: about 16 minutes for 868 devices
AUXILIAIRES = RACINE / "tests" / "labo" / "auxiliaires.py"


def adresse(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def _arcs(mac: str) -> str:
    return ".".join(str(int(x, 16)) for x in mac.split(":"))


def enregistrement(i: int) -> str:
    """The derived recording of agent i: 4 named ports, 3 or 4 devices, ARP on Vlan110."""
    lignes = []
    for n in range(1, 5):
        lignes += [f"1.3.6.1.2.1.2.2.1.2.{n}|4|GigabitEthernet1/0/{n}", f"1.3.6.1.2.1.31.1.1.1.1.{n}|4|Gi1/0/{n}",
                   f"1.3.6.1.2.1.17.1.4.1.2.{n}|2|{n}"]
    lignes += ["1.3.6.1.2.1.2.2.1.2.110|4|Vlan110", "1.3.6.1.2.1.31.1.1.1.1.110|4|Vl110",
               "1.3.6.1.2.1.17.7.1.4.2.1.3.0.110|66|110", "1.3.6.1.2.1.17.7.1.4.2.1.3.0.120|66|120"]
    haut, bas = divmod(i, 256)
    appareils = [(f"00:50:56:10:{haut:02x}:{bas:02x}", 120, 1), (f"00:50:56:20:{haut:02x}:{bas:02x}", 120, 2),
                 (f"f4:8e:38:30:{haut:02x}:{bas:02x}", 110, 3)]  # VMware, VMware, Dell
    if i % 50 == 0:
        appareils.append((f"fc:a1:83:40:{haut:02x}:{bas:02x}", 110, 4))  # Amazon Technologies: an Echo
    for mac, vlan, port in appareils:
        lignes += [f"1.3.6.1.2.1.17.7.1.2.2.1.2.{vlan}.{_arcs(mac)}|2|{port}",
                   f"1.3.6.1.2.1.17.7.1.2.2.1.3.{vlan}.{_arcs(mac)}|2|3"]
        if vlan == 110:
            ip = f"10.20.{110}.{10 + port}"
            lignes += [f"1.3.6.1.2.1.4.22.1.2.110.{ip}|4x|{mac.replace(':', '')}", f"1.3.6.1.2.1.4.22.1.4.110.{ip}|2|3"]
    return "\n".join(sorted(lignes, key=lambda l: tuple(int(a) for a in l.split("|")[0].split(".")))) + "\n"


def inventaire(dossier: Path, indices: range) -> Path:
    """hosts.yml of these agents (their equipment sw-NNNN)."""
    from tests.snmp.outils import ecrire_inventaire

    return ecrire_inventaire(dossier, {
        f"sw-{i:04d}": {"ansible_host": adresse(i), "telesante_snmp_version": "2c",
                        "telesante_snmp_communaute": f"agent{i:04d}", "telesante_snmp_delai": 10,
                        "telesante_snmp_tentatives": 2} for i in indices})


# -- in the namespace: the measures ----------------------------------------------------------------

def _cpu_agents(pids: list[int]) -> float:
    """utime + stime of these processes (snmpsim, delay queues), in seconds (/proc/<pid>/stat, fields 14 and 15)."""
    total = 0
    for pid in pids:
        champs = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(champs[11]) + int(champs[12])
    return total / os.sysconf("SC_CLK_TCK")


def _cpu_machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat: every process, ours or not)."""
    champs = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    inactif = champs[3] + champs[4]  # idle, iowait
    return (sum(champs) - inactif) / os.sysconf("SC_CLK_TCK"), sum(champs) / os.sysconf("SC_CLK_TCK")


def _udp_perdus() -> int:
    """UDP datagrams this namespace dropped for a full receive buffer (/proc/net/snmp, Udp RcvbufErrors)."""
    lignes = [l.split() for l in Path("/proc/net/snmp").read_text().splitlines() if l.startswith("Udp:")]
    return int(dict(zip(lignes[0], lignes[1]))["RcvbufErrors"])


def _cpu_client() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def profiler(equipement) -> str:
    """cProfile of one read, on the SNMP loop's thread where it runs: the 20 functions of most CPU of their own."""
    import asyncio
    import cProfile
    import io
    import pstats

    from telesante.collecte.snmp import _BOUCLE, lire_agent

    async def lire():
        profil.enable()
        try:
            return await lire_agent(equipement)
        finally:
            profil.disable()

    profil = cProfile.Profile()
    asyncio.run_coroutine_threadsafe(lire(), _BOUCLE._boucle).result()  # the loop already runs (warm-up)
    texte = io.StringIO()
    pstats.Stats(profil, stream=texte).sort_stats("tottime").print_stats(20)
    return texte.getvalue()


def mesurer(dossier: Path, agents: int, parallele: int, pids: list[int], retards: list[int]) -> dict:
    from rich.console import Console

    from telesante.collecte.parallele import collecter_en_parallele
    from telesante.collecte.contrat import ParametresCollecte
    from telesante.collecte.en_direct import collecter_en_direct
    from telesante.inventaire import charger_configuration

    collecter_snmp = partial(collecter_en_direct, parametres=ParametresCollecte(hotes_connus=Path("/dev/null"), tentatives=1))
    telesante = str(Path(sys.executable).with_name("telesante"))

    resultats = {}
    # One agent in every agents // 100: the 100 are spread over the five delays (20 to 100 ms), not the first slice's.
    config = charger_configuration(inventaire(dossier / "cent", range(0, agents, max(1, agents // 100))[:100]))
    silence = Console(stderr=True, quiet=True)
    collecter_en_parallele(collecter_snmp, config.equipements[:2], 2, silence)  # engine and MIB view built once
    resultats["profil"] = profiler(config.equipements[2])
    for workers in (1, 100):
        machine, perdus = _cpu_machine(), _udp_perdus()
        debut, client, agents_cpu, retards_cpu = time.perf_counter(), _cpu_client(), _cpu_agents(pids), _cpu_agents(retards)
        lus, _ = collecter_en_parallele(collecter_snmp, config.equipements, workers, silence)
        resultats[f"cent_{workers}"] = time.perf_counter() - debut
        occupe, total = (fin - avant for fin, avant in zip(_cpu_machine(), machine))
        resultats[f"cent_{workers}_machine"] = occupe / total  # share of all cores busy, whoever used them
        resultats[f"cent_{workers}_udp_perdus"] = _udp_perdus() - perdus
        resultats[f"cent_{workers}_client_ms"] = (_cpu_client() - client) / len(lus) * 1000
        resultats[f"cent_{workers}_agents_ms"] = (_cpu_agents(pids) - agents_cpu) / len(lus) * 1000
        resultats[f"cent_{workers}_retards_ms"] = (_cpu_agents(retards) - retards_cpu) / len(lus) * 1000
        resultats[f"cent_{workers}_incomplets"] = sum(1 for r in lus if not r.complet)
    chemin = inventaire(dossier / "mille", range(agents))
    tous = charger_configuration(chemin).equipements  # the collection alone first, as the audit runs it
    enregistrer = partial(collecter_en_direct, parametres=ParametresCollecte(
        hotes_connus=Path("/dev/null"), tentatives=1, dossier_captures=chemin.parent / "captures"))
    debut, client = time.perf_counter(), _cpu_client()
    lus, _ = collecter_en_parallele(enregistrer, tous, parallele, silence)
    resultats["mille_collecte"] = time.perf_counter() - debut
    resultats["mille_collecte_client_ms"] = (_cpu_client() - client) / len(lus) * 1000
    resultats["mille_collecte_incomplets"] = sum(1 for r in lus if not r.complet)
    del lus
    debut = time.perf_counter()  # everything but the collection: the offline audit of what it recorded
    hors_ligne = subprocess.run([telesante, "audit", "-i", str(chemin), "-f", "terminal,json,csv,junit,html",
                                 "-o", str(dossier / "rapports-hors-ligne")], capture_output=True, text=True,
                                env={**os.environ, "COLUMNS": "200"})
    resultats["mille_hors_ligne"] = time.perf_counter() - debut
    resultats["mille_hors_ligne_code"] = hors_ligne.returncode
    debut = time.perf_counter()
    audit = subprocess.run([telesante, "audit", "-i", str(chemin),
                            "--source", "direct", "--parallele", str(parallele), "-f", "terminal,json,csv,junit,html",
                            "-o", str(dossier / "rapports")], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "200"})
    resultats["mille"] = time.perf_counter() - debut
    resultats["mille_code"] = audit.returncode
    resultats["rss_mio"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rapport = json.loads((dossier / "rapports" / "rapport.json").read_text(encoding="utf-8"))
    resultats["mille_incomplets"] = sum(1 for e in rapport["equipements"] if e["statut"] != "complet")
    resultats["mille_critiques"] = sum(1 for c in rapport["constats"] if c["gravite"] == "critique")
    resultats["erreur"] = audit.stderr[-2000:] if audit.returncode not in (0, 1) else ""
    return resultats


# -- in the root namespace: the lab --------------------------------------------------------------------

def _ralentir(labo, agents: int) -> None:
    """Five NFQUEUE delay queues in the namespace, one per slice of agents: 20, 40, 60, 80, 100 ms."""
    tranche = -(-agents // 5)
    for k in range(5):
        premier, dernier = k * tranche, min(agents, (k + 1) * tranche) - 1
        pret = labo.dossier / f"retard-{k}.pret"
        journal = open(labo.dossier / f"retard-{k}.log", "wb")
        labo.processus.append(subprocess.Popen(
            ["ip", "netns", "exec", labo.espace, sys.executable, str(AUXILIAIRES), "delay-queue", "--queue",
             str(k + 1), "--delay-ms", str(20 + 20 * k), "--ready", str(pret), "--max-seconds", "3600"],
            stdout=journal, stderr=subprocess.STDOUT, start_new_session=True))
        limite = time.monotonic() + 20
        while not pret.exists():
            if time.monotonic() > limite:
                raise RuntimeError(f"file de retard {k} non prête : {(labo.dossier / f'retard-{k}.log').read_text()}")
            time.sleep(0.1)
        subprocess.run(["ip", "netns", "exec", labo.espace, "iptables", "-w", "5", "-t", "mangle", "-A", "OUTPUT",
                        "-o", "lo", "-p", "udp", "--sport", "161", "-m", "iprange", "--src-range",
                        f"{adresse(premier)}-{adresse(dernier)}", "-j", "NFQUEUE", "--queue-num", str(k + 1),
                        "--queue-bypass"], check=True, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SNMP à l'échelle : 100 en parallèle contre en séquence, audit de 1 000.")
    parser.add_argument("--agents", type=int, default=1000, help="agents SNMP simulés (défaut : 1000)")
    parser.add_argument("--parallele", type=int, default=64, help="--parallele de l'audit (défaut : 64)")
    parser.add_argument("--processus", type=int, default=4, help="processus snmpsim (défaut : 4)")
    parser.add_argument("--simultanees", type=int, default=None,
                        help="lectures SNMP à la fois dans le collecteur (défaut : celui du collecteur, "
                        "LECTURES_SIMULTANEES) : pour mesurer ce que coûte cette borne")
    parser.add_argument("--mesurer", type=Path, help=argparse.SUPPRESS)  # inside the namespace
    parser.add_argument("--pids", default="", help=argparse.SUPPRESS)  # snmpsim's processes, for their CPU
    parser.add_argument("--retards", default="", help=argparse.SUPPRESS)  # the delay queues' processes
    args = parser.parse_args(argv)
    if args.mesurer:
        if args.simultanees:
            from telesante.collecte import snmp

            snmp.LECTURES_SIMULTANEES = args.simultanees  # read when the SNMP loop takes its first read
        pids = [int(p) for p in args.pids.split(",") if p]
        retards = [int(p) for p in args.retards.split(",") if p]
        print(json.dumps(mesurer(args.mesurer, args.agents, args.parallele, pids, retards)))
        return 0
    from tests.labo.topologie import prerequis_manquants, nettoyer_restes
    from tests.snmp.labo_snmp import LaboSnmp

    if os.geteuid() != 0 or prerequis_manquants():
        print(f"Mesure sautée : le laboratoire exige root ({'; '.join(prerequis_manquants()) or 'pas root'}).")
        return 0
    nettoyer_restes()
    charge = os.getloadavg()[0]
    labo = LaboSnmp()
    try:
        debut = time.perf_counter()
        for groupe in range(args.processus):  # snmpsim serves one request at a time: several processes
            indices = range(groupe, args.agents, args.processus)
            labo.demarrer({f"agent{i:04d}": enregistrement(i) for i in indices}, adresses=[adresse(i) for i in indices])
        pids = [p.pid for p in labo.processus]  # `ip netns exec` execs snmpsim: the same process
        print(f"{args.agents} agents snmpsim prêts en {time.perf_counter() - debut:.0f} s", flush=True)
        _ralentir(labo, args.agents)
        retards = [p.pid for p in labo.processus[len(pids):]]
        with tempfile.TemporaryDirectory(prefix="snmp-echelle-") as dossier:
            sortie = subprocess.run(["ip", "netns", "exec", labo.espace, sys.executable, __file__, "--mesurer", dossier,
                                     "--agents", str(args.agents), "--parallele", str(args.parallele),
                                     *(["--simultanees", str(args.simultanees)] if args.simultanees else []),
                                     "--pids", ",".join(map(str, pids)), "--retards", ",".join(map(str, retards))],
                                    capture_output=True, text=True, cwd=dossier)
        if sortie.returncode != 0:
            print(sortie.stdout, sortie.stderr)
            return 1
        r = json.loads(sortie.stdout.strip().splitlines()[-1])
    finally:
        labo.close()
    from telesante.collecte.snmp import LECTURES_SIMULTANEES

    print(f"Lectures SNMP à la fois dans le collecteur : {args.simultanees or LECTURES_SIMULTANEES}")
    print(f"100 équipements SNMP (réponses retenues 20 à 100 ms) : séquentiel {r['cent_1']:.1f} s, "
          f"100 en parallèle {r['cent_100']:.1f} s : rapport {r['cent_1'] / r['cent_100']:.1f}× (objectif ≥ 20×) ; "
          f"incomplets {r['cent_1_incomplets']} et {r['cent_100_incomplets']}")
    coeurs = os.cpu_count() or 1
    cpu_ms = r["cent_100_client_ms"] + r["cent_100_agents_ms"] + r["cent_100_retards_ms"]
    # 100 reads take no less than their processor time on these cores, nor than the client's on its one core.
    borne = max(100 * cpu_ms / coeurs, 100 * r["cent_100_client_ms"]) / 1000
    print(f"Borne du processeur ({coeurs} cœurs partagés par le client, snmpsim et les files de retard ; le client, "
          f"un processus Python, sur un seul cœur à la fois) : "
          f"{cpu_ms:.1f} ms de CPU par lecture en parallèle (client {r['cent_100_client_ms']:.1f}, snmpsim "
          f"{r['cent_100_agents_ms']:.1f}, files de retard {r['cent_100_retards_ms']:.1f}), donc 100 lectures en "
          f"{borne:.2f} s au mieux : rapport atteignable ici {r['cent_1'] / borne:.1f}× au plus ; efficacité "
          f"parallèle {borne / r['cent_100']:.0%} (borne / durée mesurée)")
    banc = cpu_ms * 100 / 1000 / (r["cent_100"] * coeurs)
    print(f"Pendant les 100 en parallèle, les {coeurs} cœurs étaient occupés à {r['cent_100_machine']:.0%} : "
          f"{banc:.0%} par ce banc (client, snmpsim, files de retard), {max(0.0, r['cent_100_machine'] - banc):.0%} "
          f"par le reste de la machine ; charge moyenne au départ {charge:.1f} ; réponses UDP perdues faute de place "
          f"dans le tampon de réception : {r['cent_1_udp_perdus']} en séquentiel, {r['cent_100_udp_perdus']} en parallèle")
    print(f"{args.agents} équipements SNMP, audit complet (--parallele {args.parallele}) : {r['mille']:.1f} s "
          f"(objectif ≤ 60 s), {args.agents / r['mille']:.1f} équipements/s, "
          f"{r['mille'] / args.agents:.3f} s par équipement contre {NETDISCO_S_PAR_EQUIPEMENT:.2f} s pour NetDisco "
          f"({NETDISCO_S_PAR_EQUIPEMENT * args.agents / r['mille']:.1f}× plus rapide), pic RSS {r['rss_mio']:.0f} Mio ; "
          f"code {r['mille_code']}, {r['mille_incomplets']} incomplets, {r['mille_critiques']} constats critiques")
    client = r["cent_100_client_ms"]
    print(f"CPU par équipement (100 en parallèle) : client {client:.1f} ms, snmpsim {r['cent_100_agents_ms']:.1f} ms "
          f"(séquentiel : client {r['cent_1_client_ms']:.1f} ms, snmpsim {r['cent_1_agents_ms']:.1f} ms) ; "
          f"débit projeté du collecteur seul {1000 / client:.0f} équipements/s par cœur "
          f"({NETDISCO_S_PAR_EQUIPEMENT * 1000 / client:.0f}× NetDisco), mesuré ici {100 / r['cent_100']:.1f} "
          f"équipements/s sur 100 et {args.agents / r['mille']:.1f} sur {args.agents}")
    print(f"{args.agents} équipements, collecte seule (--parallele {args.parallele}, même processus, captures "
          f"enregistrées) : {r['mille_collecte']:.1f} s, {args.agents / r['mille_collecte']:.1f} équipements/s, client "
          f"{r['mille_collecte_client_ms']:.1f} ms de CPU par équipement, {r['mille_collecte_incomplets']} incomplets ; "
          f"audit hors ligne de ces captures (tout sauf la collecte : démarrage, inventaire, identification, "
          f"politique, rapports) {r['mille_hors_ligne']:.1f} s (code {r['mille_hors_ligne_code']}) ; l'audit complet "
          f"dure {r['mille'] - r['mille_collecte']:.1f} s de plus que la collecte seule")
    print("Profil d'une lecture (client) :\n" + r["profil"])
    if r["erreur"]:
        print(r["erreur"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
