"""SSH collection of 200 simulated switches: duration, equipment per second, where the time goes.

Builds the network lab (tests/labo/topologie.py; root), then starts, inside the lab switch's
namespace, light OpenSSH servers: 13 sshd processes listening on 16 ports each (sshd's limit of
listening sockets), 200 endpoints in all, each one a « switch » whose sessions get the Cisco IOS
CLI stand-in (tests/labo/cli_ios_simulee.py, forced command: the lab switch's real tables, IOS
formats). The audit's real collector (netmiko cisco_ios, host keys checked, ntc-templates) reads
them; everything runs on this machine (client, 200 servers, their CLIs), so the figures are a
lower bound of what a dedicated collector would do against real switches.

Measured in the same run:
  * base: the 200 with the default parallelism (--parallele 8), then 32 and 64: ratio to the base;
  * on a sequential sample: each phase of a session timed with paramiko (TCP connection, SSH
    banner and key exchange, authentication, session creation (channel, shell, server's CLI
    start), commands), compared with netmiko's whole session on the same devices (its overhead:
    prompt detection and session preparation);
  * encryption: client CPU per Mio received through one session, applied to the bytes a device sends;
  * CPU of the client process and of the servers (sshd and the CLIs they start) during each run.

root's shell start-up files are hidden from the benchmark's sshd (a mount namespace of their own):
sshd runs every session through the user's shell, and on the project's machines root's ~/.bashrc
starts pyenv (several processes and a lock shared by all sessions), which a switch never does.

    sudo .venv/bin/python benchmarks/ssh_200.py [--equipements 200] [--echantillon 10]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

RACINE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RACINE))

import paramiko  # noqa: E402
from rich.console import Console  # noqa: E402

from telesante.collecte.contrat import ParametresCollecte  # noqa: E402
from telesante.collecte.en_direct import collecter_en_direct  # noqa: E402
from telesante.collecte.parallele import collecter_en_parallele  # noqa: E402
from telesante.inventaire import charger_configuration  # noqa: E402
from tests.labo.inventaire_labo import ecrire_inventaire  # noqa: E402
from tests.espaces_de_noms import OPTIONS_SSHD  # noqa: E402
from tests.labo.topologie import TOPOLOGIE_PAR_DEFAUT, COMMUTATEUR, construire_laboratoire, prerequis_manquants  # noqa: E402

PORTS_PAR_SSHD = 16  # OpenSSH: MAX_LISTEN_SOCKS
PREMIER_PORT = 2200
CLI_IOS = RACINE / "tests" / "labo" / "cli_ios_simulee.py"
INVITE = b"commutateur-ios#"
RC_ROOT = ("/root/.bashrc", "/root/.bash_profile", "/root/.profile", "/root/.bash_login")


def _cle(chemin: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(chemin)], check=True)
    return chemin


def demarrer_serveurs(laboratoire, dossier: Path, nombre: int) -> tuple[list[subprocess.Popen], Path, Path, Path]:
    """sshd processes in the switch namespace, `nombre` ports in all; (processes, known_hosts, IOS key, shell key)."""
    cle_ios, cle_shell = _cle(dossier / "cle_ios"), _cle(dossier / "cle_shell")
    autorisees = dossier / "authorized_keys"
    autorisees.write_text(f'command="{CLI_IOS}" {cle_ios.with_suffix(".pub").read_text()}'
                          f"{cle_shell.with_suffix('.pub').read_text()}")
    hotes_connus, processus = [], []
    ip = laboratoire.commutateur.ip_gestion
    for index in range(0, nombre, PORTS_PAR_SSHD):
        ports = range(PREMIER_PORT + index, PREMIER_PORT + min(index + PORTS_PAR_SSHD, nombre))
        cle_hote = _cle(dossier / f"hote_{index}")
        config = dossier / f"sshd_{index}.conf"
        # MaxStartups: 200 handshakes at once would hit the default 10:30:100 (connections dropped).
        options = OPTIONS_SSHD.replace("MaxStartups 50:30:100", "MaxStartups 300").replace(
            "LogLevel VERBOSE", "LogLevel ERROR")
        config.write_text("".join(f"ListenAddress {ip}:{p}\n" for p in ports)
                          + f"HostKey {cle_hote}\nPidFile {dossier / f'sshd_{index}.pid'}\n"
                          + f"AuthorizedKeysFile {autorisees}\n" + options)
        masquer = "".join(f"mount --bind /dev/null {f}; " for f in RC_ROOT if Path(f).is_file())
        processus.append(subprocess.Popen(["ip", "netns", "exec", laboratoire.commutateur.espace, "unshare", "--mount",
                                           "--propagation", "private", "sh", "-c",
                                           f"{masquer}exec /usr/sbin/sshd -D -e -f {config}"],
                                          stdin=subprocess.DEVNULL,
                                          stdout=open(dossier / f"sshd_{index}.log", "ab"), stderr=subprocess.STDOUT))
        type_cle, b64 = cle_hote.with_suffix(".pub").read_text().split()[:2]
        hotes_connus += [f"[{ip}]:{p} {type_cle} {b64}\n" for p in ports]
    fichier = dossier / "known_hosts"
    fichier.write_text("".join(hotes_connus))
    limite = time.monotonic() + 15
    for port in range(PREMIER_PORT, PREMIER_PORT + nombre):
        while True:
            try:
                socket.create_connection((ip, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > limite:
                    raise RuntimeError(f"sshd du banc sur le port {port} injoignable") from None
                time.sleep(0.1)
    return processus, fichier, cle_ios, cle_shell


def cpu_serveurs(processus: list[subprocess.Popen]) -> float:
    """CPU seconds of the sshd listeners and of the sessions they reaped (children: session sshd, CLI)."""
    total = 0
    for p in processus:
        champs = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(champs[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def cpu_client() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def collecte(equipements, parametres, parallele, serveurs) -> dict:
    silence = Console(stderr=True, quiet=True)
    cpu_c, cpu_s, debut = cpu_client(), cpu_serveurs(serveurs), time.perf_counter()
    resultats, interrompu = collecter_en_parallele(partial(collecter_en_direct, parametres=parametres), equipements,
                                                   parallele, silence, afficher=False)
    duree = time.perf_counter() - debut
    assert not interrompu
    incomplets = [r for r in resultats if not r.complet]
    # Problems by kind: the same message but for the device's address, port and name.
    sortes = collections.Counter(re.sub(r"\d+\.\d+\.\d+\.\d+:\d+|sw-\d+", "…", r.problemes[0]) for r in incomplets)
    return {"duree": duree, "incomplets": len(incomplets), "cpu_client": cpu_client() - cpu_c,
            "cpu_serveurs": cpu_serveurs(serveurs) - cpu_s,
            "exemple_probleme": "; ".join(f"{n} × {texte[:160]}" for texte, n in sortes.most_common(3))}


def _lire_jusqu_a_l_invite(canal: paramiko.Channel) -> bytes:
    recu = b""
    limite = time.monotonic() + 30
    while not recu.rstrip().endswith(INVITE):
        if time.monotonic() > limite:
            raise TimeoutError("invite de la CLI simulée jamais reçue")
        recu += canal.recv(65536)
    return recu


def phases(ip: str, port: int, cle: Path, hotes_connus: Path) -> dict[str, float]:
    """One session timed phase by phase with paramiko (what netmiko does underneath, without its waits)."""
    t, c = {"debut": time.perf_counter()}, {"debut": time.process_time()}
    sock = socket.create_connection((ip, port), timeout=10)
    t["tcp"], c["tcp"] = time.perf_counter(), time.process_time()
    transport = paramiko.Transport(sock)
    transport.start_client(timeout=10)  # banner and key exchange (curve25519), then the host key
    cles = paramiko.HostKeys(str(hotes_connus))
    attendue = cles.lookup(f"[{ip}]:{port}")
    recue = transport.get_remote_server_key()
    assert attendue is not None and attendue[recue.get_name()] == recue
    t["echange_de_cles"], c["echange_de_cles"] = time.perf_counter(), time.process_time()
    transport.auth_publickey("root", paramiko.Ed25519Key.from_private_key_file(str(cle)))
    t["authentification"], c["authentification"] = time.perf_counter(), time.process_time()
    canal = transport.open_session()
    canal.get_pty(width=511)
    t["canal"], c["canal"] = time.perf_counter(), time.process_time()
    canal.invoke_shell()  # answered once the server has started the forced command
    t["shell"], c["shell"] = time.perf_counter(), time.process_time()
    _lire_jusqu_a_l_invite(canal)  # the CLI's interpreter starts and prints its prompt
    t["invite"], c["invite"] = time.perf_counter(), time.process_time()
    octets = 0
    for commande in (b"terminal length 0\n", b"show mac address-table\n", b"show ip arp\n"):
        canal.sendall(commande)
        octets += len(_lire_jusqu_a_l_invite(canal))
    t["commandes"], c["commandes"] = time.perf_counter(), time.process_time()
    canal.close()
    transport.close()
    t["fermeture"], c["fermeture"] = time.perf_counter(), time.process_time()
    etapes = list(t)
    mesures = {b: t[b] - t[a] for a, b in zip(etapes, etapes[1:])}
    mesures.update({f"cpu_{b}": c[b] - c[a] for a, b in zip(etapes, etapes[1:])})  # client CPU (all threads)
    mesures["octets"] = octets
    return mesures


def chiffrement(ip: str, port: int, cle: Path, hotes_connus: Path, mio: int = 32) -> tuple[float, float, str]:
    """(client CPU seconds per Mio received, wall seconds per Mio, cipher) through one session (plain shell key)."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(hotes_connus))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(ip, port=port, username="root", key_filename=str(cle), allow_agent=False, look_for_keys=False)
    try:
        _entree, sortie, _erreurs = client.exec_command(f"head -c {mio * 2**20} /dev/zero")
        cpu, debut, recu = cpu_client(), time.perf_counter(), 0
        while bloc := sortie.channel.recv(1 << 20):
            recu += len(bloc)
        mur, cpu = time.perf_counter() - debut, cpu_client() - cpu
        chiffre = client.get_transport().remote_cipher
    finally:
        client.close()
    assert recu == mio * 2**20
    return cpu / mio, mur / mio, chiffre


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Collecte SSH de 200 commutateurs simulés : durée, débit, "
                                     "où va le temps.")
    parser.add_argument("--equipements", type=int, default=200, help="commutateurs simulés (défaut : 200)")
    parser.add_argument("--echantillon", type=int, default=10, help="sessions chronométrées une à une (défaut : 10)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or prerequis_manquants():
        print("Mesure sautée : le laboratoire réseau exige root et ses paquets "
              f"({'; '.join(prerequis_manquants()) or 'pas root'}).")
        return 0
    charge_debut = os.getloadavg()[0]
    laboratoire = construire_laboratoire(TOPOLOGIE_PAR_DEFAUT)
    serveurs: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory(prefix="ssh200-") as dossier:
            dossier = Path(dossier)
            serveurs, hotes_connus, cle_ios, cle_shell = demarrer_serveurs(laboratoire, dossier, args.equipements)
            config = charger_configuration(ecrire_inventaire(laboratoire, dossier / "inv"))
            modele = next(e for e in config.equipements if e.nom == COMMUTATEUR)
            equipements = [dataclasses.replace(modele, nom=f"sw-{i:03d}", plateforme="cisco_ios",
                                               port_ssh=PREMIER_PORT + i, cle_privee=str(cle_ios))
                           for i in range(args.equipements)]
            parametres = ParametresCollecte(hotes_connus=hotes_connus, tentatives=1, delai_connexion=30,
                                       delai_commande=60)
            collecte(equipements[:2], parametres, 2, serveurs)  # warm-up: imports, caches
            ip, echantillon = laboratoire.commutateur.ip_gestion, equipements[: args.echantillon]
            sequentiel = collecte(echantillon, parametres, 1, serveurs)
            mesures = [phases(ip, e.port_ssh, cle_ios, hotes_connus) for e in echantillon]
            cpu_mio, mur_mio, chiffre = chiffrement(ip, PREMIER_PORT, cle_shell, hotes_connus)
            runs = {n: collecte(equipements, parametres, n, serveurs) for n in (8, 32, 64)}
    finally:
        for p in serveurs:
            p.terminate()
        for p in serveurs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        laboratoire.close()

    n, base = args.equipements, runs[8]
    charge_fin = os.getloadavg()[0]
    par_equipement = sequentiel["duree"] / len(echantillon)
    print(f"Collecte SSH de {n} commutateurs simulés (netmiko cisco_ios, CLI IOS simulée, clés d'hôtes vérifiées ; "
          f"client, {len(serveurs)} sshd et les CLI sur la même machine, {os.cpu_count()} cœurs partagés ; charge "
          f"moyenne {charge_debut:.1f} au début, {charge_fin:.1f} à la fin) :")
    print(f"  séquentiel (estimé sur {len(echantillon)}) : {par_equipement:.2f} s par équipement, soit "
          f"{par_equipement * n:.0f} s pour {n} ({1 / par_equipement:.1f} équipements/s) — référence NetDisco "
          "(SNMP) : 1,1 s par équipement")
    for parallele, r in runs.items():
        print(f"  --parallele {parallele:>2} : {r['duree']:6.1f} s, {n / r['duree']:5.1f} équipements/s, "
              f"rapport à la base (--parallele 8) : {base['duree'] / r['duree']:4.2f}× ; CPU client "
              f"{r['cpu_client']:.0f} s, serveurs {r['cpu_serveurs']:.0f} s ; {r['incomplets']} incomplet(s)"
              f"{' (' + r['exemple_probleme'] + ')' if r['incomplets'] else ''}")
    moyenne = {cle: statistics.mean(m[cle] for m in mesures) for cle in mesures[0]}
    brut = sum(moyenne[k] for k in ("tcp", "echange_de_cles", "authentification", "canal", "shell", "invite",
                                     "commandes", "fermeture"))
    print(f"Où va le temps d'une session (moyenne de {len(mesures)}, une à la fois, paramiko chronométré) :")
    noms = {"tcp": "connexion TCP", "echange_de_cles": "bannière et échange de clés (curve25519)",
            "authentification": "authentification (ed25519)",
            "canal": "création de la session : canal et pty",
            "shell": "création de la session : shell (le serveur lance la commande forcée)",
            "invite": "démarrage de la CLI simulée jusqu'à son invite (côté serveur)",
            "commandes": "trois commandes (attente des sorties)", "fermeture": "fermeture"}
    for cle, nom in noms.items():
        print(f"  {nom:<72} {moyenne[cle] * 1000:7.1f} ms ({moyenne[cle] / brut:5.1%}), dont CPU client "
              f"{moyenne['cpu_' + cle] * 1000:5.1f} ms")
    print(f"  total paramiko : {brut * 1000:.0f} ms ; session netmiko complète (collecte réelle, avec analyse) : "
          f"{par_equipement * 1000:.0f} ms, soit {par_equipement / brut:.1f}× : le surplus ({(par_equipement - brut) * 1000:.0f}"
          " ms) est l'attente de netmiko (détection de l'invite, préparation de session, lectures bornées)")
    octets = moyenne["octets"]
    print(f"  chiffrement ({chiffre}) : {cpu_mio * 1000:.1f} ms de CPU client par Mio ({mur_mio * 1000:.1f} ms au mur) ; "
          f"un équipement envoie {octets / 1024:.1f} Kio : {cpu_mio * octets / 2**20 * 1000:.2f} ms, "
          f"{cpu_mio * octets / 2**20 / par_equipement:.2%} de sa session")
    cpu_par_eq = (base["cpu_client"] + base["cpu_serveurs"]) / n
    print(f"  CPU par équipement à --parallele 8 : client {base['cpu_client'] / n * 1000:.0f} ms, serveurs "
          f"{base['cpu_serveurs'] / n * 1000:.0f} ms ; plafond de cette machine : {os.cpu_count() / cpu_par_eq:.1f} "
          "équipements/s (tous cœurs occupés) ; collecteur seul, équipements ailleurs (CPU client seulement) : "
          f"{os.cpu_count() * n / base['cpu_client']:.0f} équipements/s")
    ok = all(r["incomplets"] == 0 for r in runs.values()) and sequentiel["incomplets"] == 0
    print("Résultat :", "RÉUSSI" if ok else "ÉCHEC (collecte incomplète)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
