"""The audit's configuration, as validated from the inventory (networks, equipment, authorized devices, waivers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from netaddr import IPNetwork

from telesante.alertes.configuration import ConfigurationAlertes
from telesante.collecte.plan_isolement import Plan
from telesante.collecte.snmp_parametres import ParametresSnmp
from telesante.signatures import Categorie, Signature

FUSEAU_HORAIRE = "America/Montreal"  # telesante_fuseau_horaire by default: the zone of Québec's establishments


@dataclass(frozen=True)
class CibleIsolement:
    """A mission address the isolation probes try (`cibles_isolement` of a mission network)."""

    adresse: str
    ports: tuple[int, ...] = ()
    nom: str = ""
    resolveur: bool = False  # a mission DNS resolver: also asked a DNS query


@dataclass(frozen=True)
class Reseau:
    """A mission or off-mission network of one site."""

    nom: str
    site: str
    mission: bool
    sous_reseaux: tuple[IPNetwork, ...]
    vlans: frozenset[int]
    vide_attendu: bool = False  # inventory key `vide_attendu: true`: no device seen is then not « incomplet »
    cibles_isolement: tuple[CibleIsolement, ...] = ()  # mission network: what the isolation probes try


@dataclass(frozen=True)
class LancementSonde:
    """An isolation probe the audit runs itself over SSH (telesante_sonde_lancee_par_audit: true)."""

    commande: tuple[str, ...]  # telesante_sonde_commande, in words: how `telesante` is called on the probe (sudo -n /opt/...)
    plan: Plan  # built from the inventory; the audit gives each run its own `passage`


@dataclass(frozen=True)
class Equipement:
    """A source of observations: switch, router, Linux gear, DHCP server, mDNS sensor."""

    nom: str
    plateforme: str
    site: str
    adresse: str | None = None
    port_ssh: int = 22
    utilisateur: str | None = None
    cle_privee: str | None = None
    mot_de_passe: str | None = field(default=None, repr=False)  # from Vault, never printed
    captures: Path | None = None
    chemin_fichier: str | None = None  # lease or sensor file on a server
    ports_liaison: frozenset[str] = frozenset()
    vlan_par_defaut: int | None = None  # telesante_vlan_par_defaut: VLAN of a MAC table that prints none
    reseau: str | None = None  # telesante_reseau: the off-mission network an isolation probe sits in
    snmp: ParametresSnmp | None = None  # platform snmp: credentials and bounds (telesante_snmp_*)
    lancement: LancementSonde | None = None  # isolation probe launched by the audit; None: its timer's file is read


@dataclass(frozen=True)
class Autorise:
    """Equipment allowed on mission networks."""

    mac: str
    nom: str
    type: str
    origine: str  # where it was declared, for messages


@dataclass(frozen=True)
class Derogation:
    """A waiver: silences the findings of one MAC until its expiry date (inclusive)."""

    mac: str
    justification: str
    expiration: date


@dataclass(frozen=True)
class DerogationIsolement:
    """A declared opening from an off-mission network to a mission address (a portal open to patients)."""

    depuis: str  # off-mission network name
    cible: str  # mission address
    justification: str
    expiration: date
    port: int | None = None  # None: every port
    methode: str | None = None  # None: every method


@dataclass
class Configuration:
    """Everything the audit needs, read and validated from an Ansible inventory."""

    racine: Path
    reseaux: list[Reseau]
    equipements: list[Equipement]
    autorises: dict[str, Autorise]
    derogations: dict[str, Derogation]
    signatures: list[Signature]  # the shipped and the inventory's own, validated: the audit builds its identifier
    categories: dict[str, Categorie]
    fichier_hotes_connus: Path | None = None
    age_max_sources: timedelta = timedelta(hours=36)  # telesante_age_max_sources_heures
    fuseau_horaire: str = FUSEAU_HORAIRE  # telesante_fuseau_horaire (IANA): dates of the HTML report
    derogations_isolement: list[DerogationIsolement] = field(default_factory=list)
    alertes: ConfigurationAlertes = field(default_factory=ConfigurationAlertes)  # telesante_alertes_*
