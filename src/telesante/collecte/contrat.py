"""The collection contract: what a platform reads, and what its parsers take and give.

Every source kind (vendor CLI, Linux gear, DHCP lease file, mDNS sensor, isolation probe,
SNMP...) is one `Plateforme` of the registry (`telesante.collecte.plateformes`): its
reads (`Lecture`), each with the parser that turns its text into observations. The
offline path (capture files) and the live path go through the same `Lecture.analyser`,
so a capture replays exactly what a live run parsed. A read may need the text of other
commands to make sense of its own (Junos: `show vlans` gives the 802.1Q tag of the VLAN
names its MAC table prints): its `annexes`, read and recorded alongside it, and handed to
its parser.

A live read is SSH by default (netmiko for a vendor CLI, paramiko for plain commands); a
platform read otherwise (SNMP...) gives its own `LecteurDirect`: a function that returns
the text of each of its reads, recorded and parsed like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from telesante.configuration import Equipement
from telesante.observation import Observation

# A parser: (texte, equipement, source) -> observations, where `source` is "<equipment> : <command>".
# Keyword arguments, by what the read declares: annexes={command: Annexe} (Lecture.annexes),
# vlan_par_defaut= (Lecture.table_mac), reseau= (Lecture.isolement, which gives (attempts, stop) instead).
# A text that cannot be trusted raises telesante.collecte.erreurs.SortieIllisible.
Analyseur = Callable[..., list[Observation]]


def fichier_capture(commande: str) -> str:
    """Name of a command's capture file: the command with spaces as underscores, ".txt"."""
    return commande.replace(" ", "_") + ".txt"


@dataclass(frozen=True)
class Annexe:
    """The text of an annex command, and where it comes from (capture file or command)."""

    texte: str | None  # None: not read (its capture is missing)
    origine: str


@dataclass(frozen=True)
class Lecture:
    """One command (or file) read on an equipment."""

    commande: str
    analyser: Analyseur
    fichier_capture: str = ""
    capture_seulement: bool = False  # parsed when a capture holds it, never run live
    # Commands read with this one (live: run and recorded; offline: their captures, if present)
    # and passed to its parser; a missing one is the parser's to judge.
    annexes: tuple[str, ...] = ()
    # A MAC table: its parser also takes vlan_par_defaut=, the equipment's telesante_vlan_par_defaut.
    table_mac: bool = False
    # A source that carries its own date: when it was taken, read from its (parsed) text, and what it is.
    date_source: Callable[[str], datetime] | None = None
    nature: str = ""
    # The isolation probe's file: its parser takes reseau= (the equipment's telesante_reseau) and
    # gives (attempts, why it stopped early), kept apart from observations.
    isolement: bool = False

    @property
    def fichier(self) -> str:
        """Name of the capture file: the command with spaces as underscores, ".txt"."""
        return self.fichier_capture or fichier_capture(self.commande)


@dataclass(frozen=True)
class ParametresCollecte:
    """How to reach equipment live: known_hosts, timeouts, retries, where to record what was read."""

    hotes_connus: Path
    delai_connexion: float = 10.0
    delai_commande: float = 30.0
    tentatives: int = 3
    attente_initiale: float = 1.0  # doubled after each failed attempt
    dossier_captures: Path | None = None  # --enregistrer-captures


# A live read other than SSH commands: the text of every read of the platform (and of their
# annexes), by command (`Lecture.commande`). It raises EchecPassager (retried), EchecDefinitif
# or LectureRefusee with a French message; anything else is an internal error of the driver.
LecteurDirect = Callable[[Equipement, ParametresCollecte], Mapping[str, str]]


class EchecDefinitif(Exception):
    """A failure that retrying cannot fix (authentication, host key)."""


class EchecPassager(Exception):
    """A failure worth retrying (timeout, refused connection, dropped session)."""


class LectureRefusee(Exception):
    """The equipment answered, but refused or failed the command."""


@dataclass(frozen=True)
class Plateforme:
    """Everything the audit knows of one platform (`telesante_plateforme` of the inventory)."""

    nom: str
    lectures: tuple[Lecture, ...]
    # netmiko's device_type when live reads go through a vendor CLI; None: plain commands (paramiko).
    netmiko: str | None = None
    # The file a `{chemin}` command reads when the inventory names none (telesante_fichier).
    chemin_par_defaut: str | None = None
    # Live reads by a function of its own (SNMP...) instead of SSH commands.
    lecteur: LecteurDirect | None = None
