"""The isolation probe: from an off-mission network, try (within strict bounds) to reach the mission networks.

It runs on a small Linux machine plugged into an off-mission VLAN (a Raspberry Pi on the
patients' VLAN). Every reply from a mission address is evidence that the two networks are not
separate (bulletin 13). Methods: ICMP echo, TCP connection on declared ports, a DNS query to the
mission resolvers, a direct ARP request (a reply means both VLANs share one broadcast domain) and
an mDNS listen for announcements from mission subnets. The probe never sweeps: it sends at most
`Bornes.paquets_max` packets, at most `Bornes.debit_max` per second, and stops after
`Bornes.duree_max` seconds. Its plan: telesante.collecte.plan_isolement. The audit reads its file
(format: src/telesante/donnees/sonde-isolement-v1.schema.json).
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import select
import socket
import struct
import time
from datetime import datetime, timezone

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from telesante.collecte.plan_isolement import Bornes, Cible, Plan
FORMAT = "telesante-sonde-isolement"
VERSION = 1


class BudgetEpuise(Exception):
    """The packet or time budget is spent: the run stops, and says so."""


class _Cadence:
    """Counts packets and paces them: never more than the budget, never faster than the rate."""

    def __init__(self, bornes: Bornes):
        self.bornes = bornes
        self.envoyes = 0
        self._debut = time.monotonic()
        self._dernier = 0.0

    def restant(self) -> float:
        return self.bornes.duree_max - (time.monotonic() - self._debut)

    def paquet(self) -> None:
        """Account for one packet about to be sent, waiting as the rate demands."""
        if self.envoyes >= self.bornes.paquets_max:
            raise BudgetEpuise(f"budget de {self.bornes.paquets_max} paquets atteint")
        attente = self._dernier + 1.0 / self.bornes.debit_max - time.monotonic()
        if attente > 0:
            time.sleep(attente)
        if self.restant() <= 0:
            raise BudgetEpuise(f"durée maximale de {self.bornes.duree_max:g} s atteinte")
        self.envoyes += 1
        self._dernier = time.monotonic()

    def delai(self) -> float:
        return max(0.05, min(self.bornes.delai, self.restant()))


def _essai(methode: str, cible: Cible, resultat: str, debut: float, port: int | None = None, detail: str = "") -> dict:
    essai = {"methode": methode, "cible": cible.adresse, "reseau_cible": cible.reseau, "resultat": resultat,
             "delai_ms": round((time.monotonic() - debut) * 1000, 1)}
    if port is not None:
        essai["port"] = port
    if cible.nom:
        essai["nom"] = cible.nom
    if detail:
        essai["detail"] = detail
    return essai


def _somme_internet(donnees: bytes) -> int:
    """RFC 1071 checksum."""
    if len(donnees) % 2:
        donnees += b"\0"
    total = sum(struct.unpack(f"!{len(donnees) // 2}H", donnees))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def _icmp(cible: Cible, cadence: _Cadence) -> dict:
    """One ICMP echo request (RFC 792); a reply from the target itself is a leak."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        brut = False
    except OSError:  # unprivileged ping sockets disabled (net.ipv4.ping_group_range): raw socket (root)
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        brut = True
    with sock:
        identifiant, sequence = os.getpid() & 0xFFFF, cadence.envoyes & 0xFFFF
        charge = b"telesante-isolement"
        entete = struct.pack("!BBHHH", 8, 0, 0, identifiant, sequence)
        paquet = struct.pack("!BBHHH", 8, 0, _somme_internet(entete + charge), identifiant, sequence) + charge
        cadence.paquet()
        debut = time.monotonic()
        sock.sendto(paquet, (cible.adresse, 0))
        limite = debut + cadence.delai()
        while (reste := limite - time.monotonic()) > 0:
            if not select.select([sock], [], [], reste)[0]:
                break
            donnees, (source, _) = sock.recvfrom(2048)
            if brut:
                donnees = donnees[(donnees[0] & 0x0F) * 4:]
            if source == cible.adresse and donnees[:1] == b"\0":  # echo reply
                return _essai("icmp", cible, "joint", debut, detail="réponse d'écho ICMP")
        return _essai("icmp", cible, "sans_reponse", debut)


def _tcp(cible: Cible, port: int, cadence: _Cadence) -> dict:
    """One TCP connection attempt (SYN); an accepted connection is a leak."""
    cadence.paquet()
    debut = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(cadence.delai())
        try:
            sock.connect((cible.adresse, port))
        except socket.timeout:
            return _essai("tcp", cible, "sans_reponse", debut, port)
        except ConnectionRefusedError:
            # A RST or an ICMP unreachable: the target or a firewall answered; not a proof either way.
            return _essai("tcp", cible, "refuse", debut, port, "connexion refusée")
        except OSError as exc:
            return _essai("tcp", cible, "sans_reponse", debut, port, errno.errorcode.get(exc.errno, str(exc)))
        return _essai("tcp", cible, "joint", debut, port, "connexion TCP établie")


def _dns(cible: Cible, cadence: _Cadence) -> dict:
    """One DNS query (UDP) to a mission resolver; any answer is a leak."""
    cadence.paquet()
    debut = time.monotonic()
    requete = dns.message.make_query("telesante-isolement.invalid.", "A")
    try:
        reponse = dns.query.udp(requete, cible.adresse, timeout=cadence.delai())
    except dns.exception.Timeout:
        return _essai("dns", cible, "sans_reponse", debut, 53)
    except (OSError, dns.exception.DNSException) as exc:
        return _essai("dns", cible, "sans_reponse", debut, 53, type(exc).__name__)
    return _essai("dns", cible, "joint", debut, 53, f"réponse DNS ({dns.rcode.to_text(reponse.rcode())})")


def _mac_et_ip(interface: str) -> tuple[bytes, bytes]:
    """The interface's MAC and first IPv4 address (SIOCGIFHWADDR, SIOCGIFADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        demande = struct.pack("256s", interface.encode()[:15])
        mac = fcntl.ioctl(sock.fileno(), 0x8927, demande)[18:24]
        try:
            ip = fcntl.ioctl(sock.fileno(), 0x8915, demande)[20:24]
        except OSError:
            ip = b"\0\0\0\0"  # no address: an ARP probe (RFC 5227) still gets replies
    return mac, ip


def _demande_arp(adresse: str, interface: str, cadence: _Cadence, sauf: str | None = None) -> list[str]:
    """One ARP request (RFC 826) on the interface; the MACs that answered within the delay.

    Waiting stops early at the first answer from another MAC than `sauf`.
    """
    mac, ip = _mac_et_ip(interface)
    demandee = socket.inet_aton(adresse)
    trame = (b"\xff" * 6 + mac + b"\x08\x06"
             + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\0" * 6 + demandee)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806)) as sock:
        sock.bind((interface, 0))
        cadence.paquet()
        limite = time.monotonic() + cadence.delai()
        sock.send(trame)
        emetteurs: list[str] = []
        while (reste := limite - time.monotonic()) > 0:
            if not select.select([sock], [], [], reste)[0]:
                break
            recu = sock.recv(128)
            if len(recu) >= 42 and recu[20:22] == b"\0\2" and recu[28:32] == demandee:
                emetteur = ":".join(f"{b:02x}" for b in recu[22:28])
                if emetteur not in emetteurs:
                    emetteurs.append(emetteur)
                if emetteur != sauf:
                    break
    return emetteurs


def passerelle_locale(interface: str) -> str | None:
    """The IPv4 default gateway through `interface` (/proc/net/route), if any."""
    with open("/proc/net/route", encoding="ascii") as table:
        for ligne in table.readlines()[1:]:
            champs = ligne.split()
            if champs[0] == interface and champs[1] == "00000000" and int(champs[3], 16) & 0x2:
                return socket.inet_ntoa(struct.pack("<I", int(champs[2], 16)))
    return None


def _arp(cible: Cible, interface: str, mac_passerelle: str | None, cadence: _Cadence) -> dict:
    """A direct ARP request for a mission address: a reply means a shared broadcast domain.

    A reply from the probe's own gateway (same MAC) is that router answering for one of its
    own addresses (Linux does, by default): not evidence of a bridge, and said so.
    """
    debut = time.monotonic()
    emetteurs = _demande_arp(cible.adresse, interface, cadence, sauf=mac_passerelle)
    autres = [mac for mac in emetteurs if mac != mac_passerelle]
    if autres:
        return _essai("arp", cible, "joint", debut, detail=f"réponse ARP de {', '.join(autres)}")
    if emetteurs:
        return _essai("arp", cible, "passerelle_locale", debut,
                      detail=f"réponse ARP de la passerelle du réseau sondé ({mac_passerelle})")
    return _essai("arp", cible, "sans_reponse", debut)


def _adresses_annoncees(donnees: bytes) -> set[str]:
    """IPv4 addresses carried by the A records of an mDNS message (unreadable message: none)."""
    try:
        message = dns.message.from_wire(donnees, ignore_trailing=True)
    except (dns.exception.DNSException, ValueError):
        return set()
    return {rdata.address for section in (message.answer, message.additional) for rrset in section
            if rrset.rdtype == dns.rdatatype.A for rdata in rrset}


def _mdns(plan: Plan, cadence: _Cadence) -> list[dict]:
    """One mDNS query (RFC 6762), then listen: a packet from, or an A record into, a mission subnet is a leak."""
    reseaux = [(nom, ipaddress.ip_network(cidr)) for nom, cidrs in plan.sous_reseaux_mission.items()
               for cidr in cidrs]

    def reseau_de(adresse: str) -> str | None:
        ip = ipaddress.ip_address(adresse)
        return next((nom for nom, reseau in reseaux if ip in reseau), None)

    _, locale = _mac_et_ip(plan.interface)
    requete = dns.message.make_query("_services._dns-sd._udp.local.", "PTR", id=0).to_wire()
    essais: dict[tuple[str, str], dict] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, plan.interface.encode())
        sock.bind(("", 5353))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.251") + locale)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, locale)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
        cadence.paquet()
        debut = time.monotonic()
        sock.sendto(requete, ("224.0.0.251", 5353))
        limite = debut + max(0.5, min(plan.bornes.ecoute_mdns, cadence.restant()))
        while (reste := limite - time.monotonic()) > 0:
            if not select.select([sock], [], [], reste)[0]:
                break
            donnees, (source, _) = sock.recvfrom(9000)
            for adresse, comment in ((source, "paquet mDNS émis par"),
                                     *((a, "annonce mDNS d'une adresse de") for a in _adresses_annoncees(donnees))):
                reseau = reseau_de(adresse)
                if reseau and (adresse, reseau) not in essais:
                    essais[(adresse, reseau)] = _essai("mdns", Cible(adresse, reseau), "joint", debut,
                                                       detail=f"{comment} {adresse}")
    return list(essais.values())


def sonder(plan: Plan) -> dict:
    """Run the plan within its bounds; return the result document (schema sonde-isolement-v1)."""
    cadence = _Cadence(plan.bornes)
    debut = datetime.now(timezone.utc)
    essais: list[dict] = []
    arret = ""
    try:
        mac_passerelle = None
        if "arp" in plan.methodes and plan.interface and (passerelle := passerelle_locale(plan.interface)):
            mac_passerelle = next(iter(_demande_arp(passerelle, plan.interface, cadence)), None)
        for cible in plan.cibles:
            if "arp" in plan.methodes and plan.interface:
                essais.append(_arp(cible, plan.interface, mac_passerelle, cadence))
            if "icmp" in plan.methodes:
                essais.append(_icmp(cible, cadence))
            if "tcp" in plan.methodes:
                essais.extend(_tcp(cible, port, cadence) for port in cible.ports)
            if "dns" in plan.methodes and cible.resolveur:
                essais.append(_dns(cible, cadence))
        if "mdns" in plan.methodes and plan.interface and plan.sous_reseaux_mission:
            essais.extend(_mdns(plan, cadence))
    except BudgetEpuise as exc:
        arret = str(exc)
    document = {
        "format": FORMAT, "version": VERSION, "sonde": plan.sonde, "reseau": plan.reseau,
        "debut": debut.isoformat(), "fin": datetime.now(timezone.utc).isoformat(),
        "bornes": {"paquets_max": plan.bornes.paquets_max, "debit_max": plan.bornes.debit_max,
                   "duree_max": plan.bornes.duree_max, "delai": plan.bornes.delai},
        "paquets_envoyes": cadence.envoyes, "methodes": list(plan.methodes),
        "complet": not arret, "essais": essais,
    }
    if arret:
        document["arret"] = arret
    if plan.passage:
        document["passage"] = plan.passage
    return document
