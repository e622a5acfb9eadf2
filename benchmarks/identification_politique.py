"""Benchmark: correlation + identification + policy over 1,000,000 synthetic observations.

What is measured (the "fast path"): exactly what `telesante.audit.auditer` does once the
observations are collected, i.e.

    identificateur = charger_identificateur()          # real shipped signatures
    appareils = correler(observations, equipements)
    constats, counts, non_declares = evaluer(appareils, CarteReseaux(reseaux), identificateur,
                                             autorises, derogations, aujourd_hui)

on N synthetic observations (default 1,000,000). The IEEE registry behind
`registre_ieee()` is loaded once per process, before the measure (its load time is
reported separately), just as netaddr's own index is warmed up before the baseline.
A fresh `Identificateur` is built in every run, so its per-vendor cache starts cold.
`correler()` and `evaluer()` pause the cyclic garbage collector while they build their
objects, then move every tracked object to the oldest generation without visiting it
(see `gc_paused`). A collection of the young generations is still forced with
`gc.collect(1)` right after, inside the measure, so that any young-generation work the
pause left owed is counted. What the audit's objects do cost the collector is the share
of the next full collection that walks them: it is measured after each run, outside the
timed section (a full collection with the audit's results alive, then another once they
are freed), and reported with what the time and ratio would be if it were counted.
The fast path is run 5 times and the best time is kept (2-core, noisy machine).

The baseline (the naive way the issue compares against) is the vendor lookup alone,
done per observation with netaddr:

    try:
        vendor = EUI(mac).oui.registration().org
    except NotRegisteredError:
        vendor = None

It does nothing else (no correlation, no signatures, no policy), which favours the
baseline. It is run over a random sample of the same observations (default 30,000),
best of 5 runs as well, each right after a run of the fast path (turns taken, so that a
busy moment of the machine weighs on both sides, not on one only), and extrapolated
linearly to N. Goals, from the issue: fast path <= 3 s for
1,000,000 observations (scaled linearly for another N), at least 20x faster than the
extrapolated baseline, peak memory <= 1 GiB.

Memory: the goal is checked against the process's peak resident set size
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`), which includes everything: the
interpreter, the libraries, the N input observations, the generator's expectations
and the audit's results. The growth of that peak during the measured runs
(ru_maxrss delta) is reported too.

Correctness: the generator knows what every synthetic device is (consumer device by
OUI, host name or mDNS, randomized MAC, authorized, usurping, waived...) and where it
was placed, and derives the findings the policy must produce, independently of
telesante's code. Each fast-path run is compared device by device with them.

Synthetic data (fixed seed): vendors drawn at random from the IEEE registry netaddr
ships (the table behind `registre_ieee()`), plus consumer OUIs (Amazon, Google, Roku,
Sonos); randomized MACs (locally administered bit); authorized MACs (and a few that
present themselves as consumer devices); host names such as `amazon-...` on a
fraction; mDNS sightings known by IP only; 3 sites, each with a mission and an
off-mission network (IP subnets and VLANs) plus an undeclared range; devices seen by
several switches (access port and uplinks), ARP, DHCP leases and mDNS sensors; a few
waivers, in force and expired. Generating them is not timed.

Usage: python benchmarks/identification_politique.py [--observations N] [--echantillon N]
Exit code: 0 all goals met, 1 a performance goal missed, 2 the results are wrong.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from netaddr import EUI, IPNetwork, NotRegisteredError

from telesante.correlation import Correlation, correler
from telesante.placement import CarteReseaux
from telesante.identification import charger_identificateur, registre_ieee
from telesante.configuration import Autorise, Derogation, Equipement, Reseau
from telesante.observation import Observation
from telesante.politique import (
    A_VERIFIER,
    ACTIF,
    CATEGORIE_INTERDITE,
    CRITIQUE,
    HORS_RESEAUX,
    LEVE,
    MAC_ALEATOIRE,
    NON_AUTORISE,
    RESEAU_NON_DECLARE,
    USURPATION_POSSIBLE,
    Constat,
    evaluer,
)

SEED = 20260515
REFERENCE_OBSERVATIONS = 1_000_000
DEFAULT_SAMPLE = 30_000
RUNS = 5
TODAY = date(2026, 6, 1)

GOAL_SECONDS = 3.0  # for REFERENCE_OBSERVATIONS, scaled linearly for another N
GOAL_RATIO = 20.0
GOAL_MEMORY = 1 << 30  # bytes

# Consumer vendors drawn on purpose, by registry name prefix.
CONSUMER_VENDORS = {
    "amazon": ("Amazon Technologies", "Amazon.com"),
    "google": ("Google, Inc.",),
    "roku": ("Roku, Inc",),
    "sonos": ("Sonos, Inc.",),
}
# Never drawn as "ordinary" equipment: the consumer brands above and every vendor the
# shipped signatures name (lower-case prefixes). "sonos" also excludes "SonoSite, Inc."
# (ultrasound scanners), which the shipped Sonos patterns deliberately do not match.
NOT_ORDINARY = ("amazon", "blink by amazon", "google", "roku", "sonos", "nest labs", "facebook", "meta platforms",
                "ring llc", "eero", "vizio", "tivo", "nintendo", "sony interactive", "sony computer entertainment")

# Host names and mDNS announcements that the shipped signatures must flag...
FORBIDDEN_HOSTNAMES = ("amazon-{hex}", "echo-show-{n}", "fire-tv-{hex}", "echo-dot-{hex}")
GOOGLE_HOSTNAMES = ("google-home-{hex}", "chromecast-{hex}", "Google-Nest-Mini-{hex}", "nest-hub-{hex}")
GOOGLE_MDNS = (("_googlecast._tcp", "Chromecast"), ("_googlecast._tcp", "Google Nest Hub"),
               ("_googlecast._tcp", "Google Home Mini"), ("_googlecast._tcp", None))
AMAZON_MDNS = (("_amzn-alexa._tcp", None), ("_amzn-wplay._tcp", "Echo Show 8"))
# ...and host names that match no forbidden signature (esp_... is a connected object, allowed).
NEUTRAL_HOSTNAMES = ("poste-urg-{n}", "DESKTOP-{alnum}", "imp-{n}", "pompe-{n}", "moniteur-{n}", "esp_{hex}")
RANDOMIZED_HOSTNAMES = ("iPhone-{n}", "Galaxy-S23-{n}", "Pixel-{n}")


# Kinds of synthetic devices.
AUTHORIZED = "autorisé"
USURPER = "autorisé, mais se présente comme grand public"
ORDINARY = "non autorisé, OUI ordinaire du registre"
RANDOMIZED = "MAC aléatoire"
RANDOMIZED_CONSUMER = "MAC aléatoire, grand public (nom d'hôte ou mDNS)"
AMAZON, GOOGLE, ROKU, SONOS = "Amazon (OUI)", "Google (OUI)", "Roku (OUI)", "Sonos (OUI)"
CONSUMER_BY_NAME = "grand public (nom d'hôte, autre OUI)"

# Where devices are (share of devices), and which kinds each place holds (share of its devices):
# mission networks hold mostly inventoried equipment, patients' and guests' networks mostly
# phones and consumer devices.
PLACEMENT = {"mission": 0.5, "hors_mission": 0.4, "non_declare": 0.1}
_MIX = {
    "mission": {AUTHORIZED: 0.85, ORDINARY: 0.05, RANDOMIZED: 0.04, AMAZON: 0.015, GOOGLE: 0.015, ROKU: 0.007,
                SONOS: 0.007, CONSUMER_BY_NAME: 0.01, RANDOMIZED_CONSUMER: 0.005, USURPER: 0.001},
    "hors_mission": {RANDOMIZED: 0.40, ORDINARY: 0.23, AUTHORIZED: 0.02, AMAZON: 0.10, GOOGLE: 0.10, ROKU: 0.04,
                     SONOS: 0.04, CONSUMER_BY_NAME: 0.04, RANDOMIZED_CONSUMER: 0.03},
    "non_declare": {ORDINARY: 0.70, RANDOMIZED: 0.20, AUTHORIZED: 0.05, AMAZON: 0.05},
}
MIX = {place: (list(kinds), list(kinds.values())) for place, kinds in _MIX.items()}


@dataclass(frozen=True)
class Site:
    nom: str
    mission: Reseau
    hors_mission: Reseau
    switches: tuple[str, ...]
    dhcp: str
    sonde: str


@dataclass(slots=True)
class Attendu:
    """What the policy must produce for one device, derived from how it was generated."""

    reseaux: tuple[str, ...]  # declared networks where the device is seen
    constat: tuple[str, str, str, bool] | None  # (severity, type, status, waiver expired)
    mission: str | None  # the network the finding belongs to (HORS_RESEAUX: on no declared network)


@dataclass
class JeuSynthetique:
    observations: list[Observation]
    equipements: dict[str, Equipement]
    reseaux: list[Reseau]
    autorises: dict[str, Autorise]
    derogations: dict[str, Derogation]
    attendus: dict[str, Attendu]  # by MAC
    composition: Counter = field(default_factory=Counter)  # kind of device -> count
    ouis_registre: int = 0

    def constats_attendus(self) -> set[tuple]:
        return {
            (mac, a.mission, *a.constat) for mac, a in self.attendus.items() if a.constat is not None
        }

    def appareils_par_reseau(self) -> Counter:
        return Counter(nom for a in self.attendus.values() for nom in a.reseaux)


def _networks() -> tuple[list[Site], list[Reseau], tuple[IPNetwork, ...]]:
    """3 sites, each with a mission and an off-mission network, and an undeclared range."""
    plan = [
        ("hopital_nord", "nord", ("10.20.0.0/15", "10.22.0.0/16"), (110, 111), ("10.120.0.0/15",), (120,)),
        ("clinique_sud", "sud", ("10.30.0.0/15",), (210,), ("172.16.0.0/15",), (220, 221)),
        ("chsld_est", "est", ("10.40.0.0/15", "10.42.0.0/16"), (310,), ("10.140.0.0/15",), (320,)),
    ]
    sites, reseaux = [], []
    for site, short, mission_nets, mission_vlans, guest_nets, guest_vlans in plan:
        mission = Reseau(f"mission-{short}", site, True, tuple(IPNetwork(n) for n in mission_nets),
                         frozenset(mission_vlans))
        guests = Reseau(f"patients-{short}", site, False, tuple(IPNetwork(n) for n in guest_nets),
                        frozenset(guest_vlans))
        reseaux += [mission, guests]
        sites.append(Site(site, mission, guests, tuple(f"sw-{short}-{i:02d}" for i in range(1, 7)),
                          f"dhcp-{short}", f"sonde-{short}"))
    return sites, reseaux, (IPNetwork("198.18.0.0/15"),)


def _mac_text(value: int) -> str:
    text = f"{value:012x}"
    return ":".join((text[0:2], text[2:4], text[4:6], text[6:8], text[8:10], text[10:12]))


def _ip_text(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


class _Generator:
    """Draws synthetic devices and their observations; records what the policy must find."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        table = dict(registre_ieee().items())  # {24-bit OUI: vendor} as shipped by netaddr
        usable = {oui: vendor for oui, vendor in table.items() if not (oui >> 16) & 0x03}  # IEEE-assigned, unicast
        self.ouis_registre = len(table)
        self.ordinary_ouis = sorted(
            oui for oui, vendor in usable.items() if not vendor.lower().startswith(NOT_ORDINARY)
        )
        self.consumer_ouis = {
            brand: sorted(oui for oui, vendor in usable.items() if vendor.startswith(prefixes))
            for brand, prefixes in CONSUMER_VENDORS.items()
        }
        self.used_macs: set[int] = set()
        self.next_ip: dict[str, int] = {}
        self.sites, self.reseaux, self.undeclared = _networks()
        self.equipements = {
            name: Equipement(name, "cisco_ios", site.nom, ports_liaison=frozenset({"Te1/1/1", "Te1/1/2"}))
            for site in self.sites for name in site.switches
        }
        for site in self.sites:
            self.equipements[site.dhcp] = Equipement(site.dhcp, "dnsmasq", site.nom)
            self.equipements[site.sonde] = Equipement(site.sonde, "capteur_mdns", site.nom)
        commands = {"mac": "show mac address-table", "arp": "show ip arp", "dhcp": "dnsmasq.leases",
                    "mdns": "mdns.json"}
        self.sources = {(name, kind): f"{name} : {command}" for name in self.equipements
                        for kind, command in commands.items()}
        start = datetime(2026, 5, 31, 22, 0)
        self.times = [start + timedelta(minutes=7 * i) for i in range(20)]

    # -- identities -------------------------------------------------------------------
    def _fill(self, template: str) -> str:
        rng = self.rng
        return template.format(
            hex=f"{rng.getrandbits(24):06x}", n=rng.randrange(1, 10_000),
            alnum="".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=6)),
        )

    def _mac(self, oui: int | None) -> int:
        """A new MAC: under this OUI, or randomized (locally administered, unicast) if None."""
        while True:
            if oui is None:
                value = (self.rng.getrandbits(48) | (0x02 << 40)) & ~(0x01 << 40)
            else:
                value = (oui << 24) | self.rng.getrandbits(24)
            if value not in self.used_macs:
                self.used_macs.add(value)
                return value

    def _ip(self, subnets: tuple[IPNetwork, ...]) -> int:
        """A new address, unique in the whole data set (mDNS sightings join devices by IP)."""
        subnet = self.rng.choice(subnets)
        key = str(subnet)
        offset = self.next_ip.get(key, 1)
        if offset >= subnet.size - 1:
            raise ValueError(f"plus d'adresses libres dans {subnet} : réduisez --observations")
        self.next_ip[key] = offset + 1
        return int(subnet.first) + offset

    def _identity(self, kind: str) -> tuple[str, int, str | None, tuple[str, str | None] | None, bool]:
        """(kind, MAC, host name, mDNS (service, model), forbidden) of one new device of this kind."""
        rng = self.rng
        hostname, mdns, forbidden = None, None, False
        if kind == AUTHORIZED:
            mac = self._mac(rng.choice(self.ordinary_ouis))
            hostname = self._fill(rng.choice(NEUTRAL_HOSTNAMES)) if rng.random() < 0.5 else None
        elif kind == USURPER:
            mac = self._mac(rng.choice(self.ordinary_ouis))
            if rng.random() < 0.5:
                hostname = self._fill("amazon-{hex}")
            else:
                mdns = rng.choice(AMAZON_MDNS)
            forbidden = True
        elif kind == AMAZON:
            mac = self._mac(rng.choice(self.consumer_ouis["amazon"]))
            hostname = self._fill("amazon-{hex}") if rng.random() < 0.5 else None
            forbidden = True
        elif kind == GOOGLE:
            mac = self._mac(rng.choice(self.consumer_ouis["google"]))
            clue = rng.random()
            if clue < 0.35:
                kind, hostname, forbidden = "Google (OUI + nom d'hôte)", self._fill(rng.choice(GOOGLE_HOSTNAMES)), True
            elif clue < 0.70:
                kind, mdns, forbidden = "Google (OUI + mDNS)", rng.choice(GOOGLE_MDNS), True
            else:
                kind = "Google (OUI seul : non interdit)"  # could be a phone: no vendor signature
        elif kind == ROKU:
            mac = self._mac(rng.choice(self.consumer_ouis["roku"]))
            forbidden = True
        elif kind == SONOS:
            mac = self._mac(rng.choice(self.consumer_ouis["sonos"]))
            mdns = ("_sonos._tcp", None) if rng.random() < 0.5 else None
            forbidden = True
        elif kind == CONSUMER_BY_NAME:
            mac = self._mac(rng.choice(self.ordinary_ouis))
            hostname = self._fill(rng.choice(FORBIDDEN_HOSTNAMES))
            forbidden = True
        elif kind == RANDOMIZED:
            mac = self._mac(None)
            hostname = self._fill(rng.choice(RANDOMIZED_HOSTNAMES)) if rng.random() < 0.3 else None
        elif kind == RANDOMIZED_CONSUMER:
            mac = self._mac(None)
            if rng.random() < 0.5:
                hostname = self._fill(rng.choice(FORBIDDEN_HOSTNAMES))
            else:
                mdns = rng.choice(GOOGLE_MDNS)
            forbidden = True
        else:
            assert kind == ORDINARY, kind
            mac = self._mac(rng.choice(self.ordinary_ouis))
            hostname = self._fill(rng.choice(NEUTRAL_HOSTNAMES)) if rng.random() < 0.3 else None
        return kind, mac, hostname, mdns, forbidden

    # -- sightings --------------------------------------------------------------------
    def device(self) -> tuple[str, str, list[Observation], list[Reseau], bool]:
        """One device: (kind, MAC, observations, declared networks, forbidden).

        As with real drivers, every observation carries its own parsed MAC and IP text,
        while the source text is shared by all the lines of one command.
        """
        rng = self.rng
        site = rng.choice(self.sites)
        place = rng.random()
        if place < PLACEMENT["mission"]:
            home, subnets, mix = site.mission, site.mission.sous_reseaux, MIX["mission"]
        elif place < PLACEMENT["mission"] + PLACEMENT["hors_mission"]:
            home, subnets, mix = site.hors_mission, site.hors_mission.sous_reseaux, MIX["hors_mission"]
        else:
            home, subnets, mix = None, self.undeclared, MIX["non_declare"]
        kind, mac, hostname, mdns, forbidden = self._identity(rng.choices(mix[0], mix[1])[0])
        vlan = min(home.vlans) if home else 999
        when = rng.choice(self.times)
        access = rng.choice(site.switches)
        has_ip = hostname is not None or mdns is not None or rng.random() < 0.85
        ip = self._ip(subnets) if has_ip else None

        def mac_table(switch: str, vlan: int, port: str) -> Observation:
            return Observation(_mac_text(mac), self.sources[switch, "mac"], switch, vlan=vlan, port=port, vu_le=when)

        obs: list[Observation] = []
        if not has_ip or rng.random() < 0.9:
            obs.append(mac_table(access, vlan, f"Gi1/0/{rng.randrange(1, 49)}"))
        for switch in rng.sample(site.switches, rng.randrange(0, 3)):
            if switch != access:  # the MAC propagates: seen on the uplinks of other switches
                obs.append(mac_table(switch, vlan, "Te1/1/1"))
        arp = has_ip and rng.random() < 0.7
        dhcp = has_ip and (hostname is not None or rng.random() < 0.6)
        if mdns is not None and not (arp or dhcp):
            arp = True  # an mDNS sighting (IP only) needs an IP-bearing sighting to join its device
        if arp:
            core = site.switches[0]
            obs.append(Observation(_mac_text(mac), self.sources[core, "arp"], core, ip=_ip_text(ip), vu_le=when))
        if dhcp:
            obs.append(Observation(_mac_text(mac), self.sources[site.dhcp, "dhcp"], site.dhcp, ip=_ip_text(ip),
                                   nom_hote=hostname, vu_le=when))
        if mdns is not None:
            service, model = mdns
            obs.append(Observation(None, self.sources[site.sonde, "mdns"], site.sonde, ip=_ip_text(ip),
                                   services_mdns=(service,), modele_mdns=model, vu_le=when))
        if not obs:
            obs.append(mac_table(access, vlan, f"Gi1/0/{rng.randrange(1, 49)}"))
        networks = [home] if home else []
        if home is not None and rng.random() < 0.03:  # roaming: also seen in the site's other VLAN
            other = site.hors_mission if home.mission else site.mission
            obs.append(mac_table(access, min(other.vlans), f"Gi1/0/{rng.randrange(1, 49)}"))
            networks.append(other)
        return kind, _mac_text(mac), obs, networks, forbidden


def generer(n: int, seed: int = SEED) -> JeuSynthetique:
    """Exactly n observations, and the findings the policy must derive from them."""
    gen = _Generator(seed)
    rng = gen.rng
    observations: list[Observation] = []
    autorises: dict[str, Autorise] = {}
    attendus: dict[str, Attendu] = {}
    composition: Counter = Counter()
    while len(observations) < n:
        kind, mac, obs, networks, forbidden = gen.device()
        if len(obs) > n - len(observations):
            continue  # keep the total exact: draw another (smaller) device
        observations += obs
        composition[kind] += 1
        if kind in (AUTHORIZED, USURPER):
            autorises[mac] = Autorise(mac, f"équipement-{len(autorises)}", "clinique", "banc d'essai")
        mission = next((r.nom for r in networks if r.mission), None)
        finding = None
        if not networks and forbidden:  # on no declared network of a site that has a mission network
            mission, finding = HORS_RESEAUX, (A_VERIFIER, RESEAU_NON_DECLARE, ACTIF, False)
        elif mission is not None:
            if forbidden:
                finding = (CRITIQUE, USURPATION_POSSIBLE if mac in autorises else CATEGORIE_INTERDITE, ACTIF, False)
            elif mac not in autorises:
                finding = (A_VERIFIER, MAC_ALEATOIRE if kind in (RANDOMIZED, RANDOMIZED_CONSUMER) else NON_AUTORISE,
                           ACTIF, False)
        attendus[mac] = Attendu(tuple(r.nom for r in networks), finding, mission)
    # Authorized MACs that were never seen (stale entries).
    for i in range(200):
        mac = _mac_text(gen._mac(rng.choice(gen.ordinary_ouis)))
        autorises[mac] = Autorise(mac, f"ancien-équipement-{i}", "clinique", "banc d'essai")
    # A few waivers: on consumer devices (a Roku in a telehealth room...) and on devices to
    # check, one in three expired; plus some for MACs that were never seen.
    derogations: dict[str, Derogation] = {}
    for severity, count in ((CRITIQUE, 20), (A_VERIFIER, 10)):
        candidates = sorted(mac for mac, a in attendus.items() if a.constat and a.constat[0] == severity)
        for i, mac in enumerate(rng.sample(candidates, min(count, len(candidates)))):
            expired = i % 3 == 0
            expiration = date(2026, 3, 31) if expired else date(2030, 6, 30)
            derogations[mac] = Derogation(mac, f"dérogation {len(derogations)} (billet {4800 + i})", expiration)
            _, type_, _, _ = attendus[mac].constat
            attendus[mac].constat = (severity, type_, ACTIF if expired else LEVE, expired)
    for i in range(5):
        mac = _mac_text(gen._mac(rng.choice(gen.ordinary_ouis)))
        derogations[mac] = Derogation(mac, f"appareil retiré {i}", date(2030, 1, 1))
    return JeuSynthetique(observations, gen.equipements, gen.reseaux, autorises, derogations, attendus,
                          composition, gen.ouis_registre)


# -- the two measured paths ------------------------------------------------------------------

def auditer_synthetique(jeu: JeuSynthetique) -> tuple[Correlation, list[Constat], dict[str, int]]:
    """The fast path: correlation + identification + policy, as telesante.audit.auditer does."""
    identificateur = charger_identificateur()
    appareils = correler(jeu.observations, jeu.equipements)
    constats, counts, _non_declares = evaluer(appareils, CarteReseaux(jeu.reseaux), identificateur, jeu.autorises,
                                              jeu.derogations, TODAY)
    return appareils, constats, counts


def fabricant_netaddr(mac: str | None) -> str | None:
    """The baseline: netaddr's own per-MAC vendor lookup."""
    if mac is None:
        return None
    try:
        return EUI(mac).oui.registration().org
    except NotRegisteredError:
        return None


def verifier(jeu: JeuSynthetique, appareils, constats: list[Constat], counts: dict[str, int]) -> list[str]:
    """Differences between the audit's results and the generator's expectations (French)."""
    problems = []
    found = Counter((c.appareil.cle, c.reseau.nom, c.gravite, c.type, c.statut, c.derogation_expiree)
                    for c in constats)
    expected = jeu.constats_attendus()
    duplicates = [k for k, v in found.items() if v > 1]
    missing = expected - set(found)
    extra = set(found) - expected
    if duplicates:
        problems.append(f"{len(duplicates)} constats en double, ex. {duplicates[0]}")
    if missing:
        problems.append(f"{len(missing)} constats attendus absents, ex. {sorted(missing)[0]}")
    if extra:
        problems.append(f"{len(extra)} constats inattendus, ex. {sorted(extra)[0]}")
    if len(appareils) != len(jeu.attendus):
        problems.append(f"{len(appareils)} appareils corrélés, {len(jeu.attendus)} attendus")
    expected_counts = dict(jeu.appareils_par_reseau())
    if dict(counts) != expected_counts:
        problems.append(f"appareils par réseau : {dict(sorted(counts.items()))}, attendus "
                        f"{dict(sorted(expected_counts.items()))}")
    return problems


# -- measurement ------------------------------------------------------------------------------

def _max_rss() -> int:
    """Peak resident set size of this process so far, in bytes (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class Mesures:
    observations: int
    echantillon: int
    appareils: int
    generation_s: float
    registre_s: float
    essais_s: list[float]  # each run, the owed garbage collection included
    ramasse_miettes_s: list[float]  # of which the forced collection of the young generations
    collecte_avec_s: list[float]  # a full collection with the audit's results alive (not timed)
    collecte_sans_s: list[float]  # the same once they are freed
    essais_cpu_s: list[float]  # the same runs in CPU time of the process
    reference_s: float
    reference_cpu_s: float
    charge: tuple[float, float]  # 1-minute load average before and after the measures
    reference_extrapolee_s: float
    objectif_s: float
    rss_avant: int
    rss_max: int
    constats: Counter  # (severity, type, status) -> count
    constats_derogation_expiree: int
    constats_critiques_attendus: int
    problemes: list[str]
    composition: Counter
    ouis_registre: int
    reseaux: int
    reseaux_mission: int
    equipements: int
    derogations: int

    @property
    def meilleur_s(self) -> float:
        return min(self.essais_s)

    @property
    def ratio(self) -> float:
        return self.reference_extrapolee_s / self.meilleur_s

    @property
    def collecte_resultats_s(self) -> float:
        """Share of a full collection due to the audit's results: best with them minus best without."""
        return max(0.0, min(self.collecte_avec_s) - min(self.collecte_sans_s))

    @property
    def ratio_cpu(self) -> float:
        return self.reference_cpu_s * self.observations / self.echantillon / min(self.essais_cpu_s)

    @property
    def objectifs(self) -> list[tuple[bool, str]]:
        return [
            (self.meilleur_s <= self.objectif_s,
             f"temps ≤ {_f(self.objectif_s, 2)} s pour {_n(self.observations)} observations : "
             f"{_f(self.meilleur_s, 2)} s"),
            (self.ratio >= GOAL_RATIO, f"au moins {_f(GOAL_RATIO, 0)}× plus rapide que la référence : "
                                       f"{_f(self.ratio, 1)}×"),
            (self.rss_max <= GOAL_MEMORY, f"mémoire ≤ 1 Gio (pic RSS du processus) : {_mio(self.rss_max)}"),
            (not self.problemes, "résultats identiques aux attendus du générateur, à chaque essai"),
        ]

    @property
    def code_sortie(self) -> int:
        if self.problemes:
            return 2
        return 0 if all(ok for ok, _ in self.objectifs) else 1


def _timed(function: Callable, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def _load() -> float:
    return os.getloadavg()[0]


def mesurer(n: int, echantillon: int, runs: int = RUNS, progression: Callable[[str], None] = lambda _: None) -> Mesures:
    """Generate the data set, time the fast path and the baseline `runs` times each."""
    start = time.perf_counter()
    registre_s, _ = _timed(registre_ieee)  # once per process, like a real audit
    progression(f"génération de {_n(n)} observations (graine {SEED})...")
    jeu = generer(n)
    generation_s = time.perf_counter() - start - registre_s
    gc.collect()
    rss_before, load_before = _max_rss(), _load()

    sample = random.Random(SEED + 1).sample(jeu.observations, min(echantillon, len(jeu.observations)))
    fabricant_netaddr("00:1b:63:00:00:01")  # load netaddr's OUI index before timing, as for ours
    essais, gc_debts, cpu, problems, findings, expired, device_count = [], [], [], [], Counter(), 0, 0
    full_with, full_without = [], []
    reference_s, reference_cpu_s = float("inf"), float("inf")
    # The fast path and the baseline take turns, run after run: a busy moment of the
    # machine then weighs on both, not on one of them only. Best of the runs for each
    # (the baseline keeps no cache between runs).
    for run in range(runs):
        progression(f"essai {run + 1}/{runs} : chemin mesuré, puis référence netaddr sur {_n(echantillon)} observations...")
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        appareils, constats, counts = auditer_synthetique(jeu)
        calls = time.perf_counter()
        # correler() and evaluer() pause the cyclic garbage collector, then promote what
        # they made; whatever young-generation work is still owed is paid here, inside
        # the measure.
        gc.collect(1)
        essais.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        gc_debts.append(time.perf_counter() - calls)
        for problem in verifier(jeu, appareils, constats, counts):
            if problem not in problems:
                problems.append(problem)
        findings = Counter((c.gravite, c.type, c.statut) for c in constats)
        expired = sum(c.derogation_expiree for c in constats)
        device_count = len(appareils)
        # Not timed: the share of a full collection that walks the audit's results.
        full_with.append(_timed(gc.collect)[0])
        del appareils, constats, counts
        full_without.append(_timed(gc.collect)[0])

        start_cpu = time.process_time()
        elapsed, _ = _timed(lambda: [fabricant_netaddr(o.mac) for o in sample])
        reference_s = min(reference_s, elapsed)
        reference_cpu_s = min(reference_cpu_s, time.process_time() - start_cpu)

    expected_critical = sum(1 for a in jeu.attendus.values() if a.constat and a.constat[0] == CRITIQUE)
    return Mesures(
        observations=n, echantillon=len(sample), appareils=device_count, generation_s=generation_s,
        registre_s=registre_s, essais_s=essais, ramasse_miettes_s=gc_debts, essais_cpu_s=cpu,
        collecte_avec_s=full_with, collecte_sans_s=full_without,
        reference_s=reference_s, reference_cpu_s=reference_cpu_s, charge=(load_before, _load()),
        reference_extrapolee_s=reference_s * n / len(sample),
        objectif_s=GOAL_SECONDS * n / REFERENCE_OBSERVATIONS, rss_avant=rss_before, rss_max=_max_rss(),
        constats=findings, constats_derogation_expiree=expired, constats_critiques_attendus=expected_critical,
        problemes=problems,
        composition=jeu.composition, ouis_registre=jeu.ouis_registre, reseaux=len(jeu.reseaux),
        reseaux_mission=sum(r.mission for r in jeu.reseaux), equipements=len(jeu.equipements),
        derogations=len(jeu.derogations),
    )


# -- French report ----------------------------------------------------------------------------

def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def _f(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def _mio(octets: int) -> str:
    return f"{_f(octets / (1 << 20), 0)} Mio"


def rapport(m: Mesures) -> str:
    lines = [
        "Banc d'essai telesante : corrélation + identification + politique",
        "",
        f"Jeu synthétique (graine {SEED}, généré en {_f(m.generation_s, 1)} s, hors mesure) :",
        f"  {_n(m.observations)} observations, {_n(m.appareils)} appareils, {m.reseaux} réseaux "
        f"({m.reseaux_mission} de mission), {m.equipements} équipements, {m.derogations} dérogations ;",
        f"  fabricants tirés du registre IEEE de netaddr ({_n(m.ouis_registre)} OUI). Appareils par sorte :",
    ]
    lines += [f"    {_n(count):>9}  {kind}" for kind, count in m.composition.most_common()]
    if m.observations != REFERENCE_OBSERVATIONS:
        lines.append(f"  (objectif de temps mis à l'échelle : {_f(GOAL_SECONDS, 0)} s × "
                     f"{_n(m.observations)} / {_n(REFERENCE_OBSERVATIONS)})")
    lines += [
        "",
        "Chemin mesuré : charger_identificateur() + correler() + evaluer() (Identificateur réel,",
        f"  CarteReseaux de {m.reseaux} réseaux), puis une collecte forcée des jeunes générations",
        "  (gc.collect(1)) : le ramasse-miettes, suspendu pendant correler() et evaluer(), y paie ce",
        "  qui lui reste dû ; leurs objets passent d'un bloc à la génération la plus ancienne ;",
        f"  meilleur de {len(m.essais_s)} essais (machine à 2 cœurs, bruitée) :",
        f"  essais : {' ; '.join(_f(t, 2) + ' s' for t in m.essais_s)} (dont ramasse-miettes : "
        f"{' ; '.join(_f(t, 2) + ' s' for t in m.ramasse_miettes_s)})",
        f"  meilleur : {_f(m.meilleur_s, 2)} s ({_f(m.meilleur_s / m.observations * 1e6, 2)} µs par observation)",
        f"  en temps CPU du processus (time.process_time) : {' ; '.join(_f(t, 2) + ' s' for t in m.essais_cpu_s)}",
        f"  registre IEEE chargé une fois par processus avant la mesure : {_f(m.registre_s, 2)} s",
        "",
        "Référence naïve : EUI(mac).oui.registration().org de netaddr par observation",
        "  (NotRegisteredError interceptée) : la recherche du fabricant seule, sans corrélation,",
        f"  signatures ni politique, sur un échantillon aléatoire des mêmes observations, meilleur de "
        f"{len(m.essais_s)} passages :",
        f"  {_n(m.echantillon)} observations en {_f(m.reference_s, 2)} s "
        f"({_f(m.reference_s / m.echantillon * 1e6, 1)} µs par observation) → extrapolé à "
        f"{_n(m.observations)} : {_f(m.reference_extrapolee_s, 1)} s",
        f"  en temps CPU : {_f(m.reference_cpu_s, 2)} s → extrapolé : "
        f"{_f(m.reference_cpu_s * m.observations / m.echantillon, 1)} s",
        f"  rapport : {_f(m.ratio, 1)}× plus rapide que la référence (en temps CPU : {_f(m.ratio_cpu, 1)}×)",
        "",
        "Collecte complète du ramasse-miettes, hors mesure, après chaque essai : avec les résultats",
        f"  de l'audit en mémoire : {' ; '.join(_f(t, 2) + ' s' for t in m.collecte_avec_s)} ; une fois libérés : "
        f"{' ; '.join(_f(t, 2) + ' s' for t in m.collecte_sans_s)}",
        f"  part due aux résultats (écart des meilleurs temps) : {_f(m.collecte_resultats_s, 2)} s, payée à la prochaine "
        "collecte complète",
        f"  que fera l'interpréteur ; si on la comptait : {_f(m.meilleur_s + m.collecte_resultats_s, 2)} s, "
        f"{_f(m.reference_extrapolee_s / (m.meilleur_s + m.collecte_resultats_s), 1)}× plus rapide",
        "",
        f"Charge de la machine (moyenne sur 1 min, 2 cœurs) : {_f(m.charge[0], 2)} avant les mesures, "
        f"{_f(m.charge[1], 2)} après",
        "",
        "Mémoire : pic RSS du processus (resource.getrusage ru_maxrss), tout compris : interpréteur,",
        "  bibliothèques, observations en entrée, attendus du générateur et résultats de l'audit :",
        f"  {_mio(m.rss_max)} ; avant les mesures : {_mio(m.rss_avant)}, soit "
        f"+{_mio(max(0, m.rss_max - m.rss_avant))} pendant les mesures (delta ru_maxrss)",
        "",
        f"Constats produits (dernier essai) : {_n(sum(m.constats.values()))}, dont "
        f"{_n(sum(v for k, v in m.constats.items() if k[0] == CRITIQUE))} critiques "
        f"({_n(m.constats_critiques_attendus)} attendus) :",
    ]
    lines += [f"    {_n(count):>9}  {g} / {t} / {s}" for (g, t, s), count in sorted(m.constats.items())]
    lines.append(f"  dont {_n(m.constats_derogation_expiree)} actifs parce que leur dérogation a expiré")
    if m.problemes:
        lines.append("  ÉCARTS avec les attendus du générateur :")
        lines += [f"    - {p}" for p in m.problemes]
    lines += ["", "Objectifs :"]
    lines += [f"  {'PASS ' if ok else 'ÉCHEC'}  {text}" for ok, text in m.objectifs]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Mesure corrélation + identification + politique sur des observations synthétiques, "
                    "comparée à la recherche du fabricant par netaddr (EUI(mac).oui.registration()).")
    parser.add_argument("--observations", type=int, default=REFERENCE_OBSERVATIONS, metavar="N",
                        help=f"nombre d'observations synthétiques (défaut : {REFERENCE_OBSERVATIONS})")
    parser.add_argument("--echantillon", type=int, default=DEFAULT_SAMPLE, metavar="N",
                        help=f"taille de l'échantillon de la référence netaddr (défaut : {DEFAULT_SAMPLE})")
    args = parser.parse_args(argv)
    if args.observations < 1 or args.echantillon < 1:
        parser.error("--observations et --echantillon doivent être positifs")
    mesures = mesurer(args.observations, args.echantillon,
                      progression=lambda text: print(f"… {text}", file=sys.stderr, flush=True))
    print(rapport(mesures))
    return mesures.code_sortie


if __name__ == "__main__":
    sys.exit(main())
