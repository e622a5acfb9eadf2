"""State of a simulated Mac, shared by every stand-in command.

Installed on each simulated Mac as ``/opt/telesante-macos/lib/macos_etat.py``
and imported by the stand-ins (``sw_vers``, ``hdiutil``, ``vmrun``...).
Standard library only: it runs under the Mac's ``/usr/bin/python3``.

Everything lives on disk, under ``/private/var/telesante-etat/`` (JSON):

* ``machine.json``: what the test chose for this Mac (architecture, macOS
  version, serial number, memory, free disk space, token plugged or not);
* ``recus.json``: installer receipts (what ``pkgutil`` lists);
* ``xattr.json``: extended attributes (``com.apple.quarantine``...), keyed by
  path and inode, since the Linux file system under the Mac does not keep
  macOS attributes;
* ``montages.json``: disk images attached by ``hdiutil``;
* ``vmware.json``: Fusion state (initialisation, licence, running VMs).

Every function takes an optional ``racine``: the Mac's ``/`` as seen by the
caller (``/`` inside the Mac, a host directory for the test harness that
prepares a Mac before it boots).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator, NoReturn

RACINE = Path("/")
ETAT = Path("private/var/telesante-etat")

# What the builder writes and every stand-in may read (machine.json keys).
ARM64 = "arm64"
X86_64 = "x86_64"

# macOS version -> build number (Apple's published builds; others are derived).
BUILDS = {
    "11.7.10": "20G1427",
    "12.7.6": "21H1320",
    "13.6.9": "22G830",
    "13.7": "22H123",
    "14.4.1": "23E224",
    "14.5": "23F79",
    "14.6": "23G80",
    "14.6.1": "23G93",
    "26.0": "25A354",
    "14.7": "23H124",
    "15.0": "24A335",
    "15.1": "24B83",
}

# Command Line Tools: the label softwareupdate offers and what it installs.
CLT_VERSION = "15.3"
CLT_LABEL = f"Command Line Tools for Xcode-{CLT_VERSION}"
CLT_DOSSIER = "/Library/Developer/CommandLineTools"
CLT_RECUS = ("com.apple.pkg.CLTools_Executables", "com.apple.pkg.CLTools_SDK_macOS14",
             "com.apple.pkg.CLTools_macOS_SDK")
CLT_VERSION_RECU = "15.3.0.0.1.1708646388"
CLT_MARQUEUR = "/private/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress"

ROSETTA_RECU = "com.apple.pkg.RosettaUpdateAuto"
ROSETTA_FICHIER = "/Library/Apple/usr/share/rosetta/rosetta"

QUARANTINE = "com.apple.quarantine"


# ---------------------------------------------------------------------------
# Paths and JSON files
# ---------------------------------------------------------------------------


def dans(chemin: str | os.PathLike[str], racine: Path = RACINE) -> Path:
    """The Mac path ``chemin`` (absolute, as the Mac sees it) under ``racine``."""
    texte = os.fspath(chemin)
    if not texte.startswith("/"):
        raise ValueError(f"chemin Mac non absolu : {texte!r}")
    return racine / texte.lstrip("/")


def fichier_etat(nom: str, racine: Path = RACINE) -> Path:
    """Path of the state file ``<nom>.json``."""
    return racine / ETAT / f"{nom}.json"


def lire(nom: str, defaut: Any = None, racine: Path = RACINE) -> Any:
    """Content of state file ``nom`` (``defaut`` when it does not exist)."""
    try:
        return json.loads(fichier_etat(nom, racine).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return defaut


def ecrire(nom: str, donnees: Any, racine: Path = RACINE) -> None:
    """Replace state file ``nom`` atomically (write then rename)."""
    cible = fichier_etat(nom, racine)
    cible.parent.mkdir(parents=True, exist_ok=True)
    temporaire = cible.with_name(f".{nom}.{os.getpid()}.{time.monotonic_ns()}")
    try:
        with open(temporaire, "x", encoding="utf-8") as sortie:
            json.dump(donnees, sortie, indent=2, sort_keys=True, ensure_ascii=False)
            sortie.write("\n")
        # the simulation's state, written by stand-ins run by any account (vmrun as the clinician)
        os.chmod(temporaire, 0o666)
        os.replace(temporaire, cible)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporaire)
        raise


@contextlib.contextmanager
def modifier(nom: str, defaut: Any, racine: Path = RACINE) -> Iterator[Any]:
    """Read-modify-write of state file ``nom`` under an exclusive lock."""
    verrou = racine / ETAT / f".{nom}.verrou"
    verrou.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(verrou, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666), "a") as poignee:
        if os.fstat(poignee.fileno()).st_uid == os.getuid():
            os.fchmod(poignee.fileno(), 0o666)
        fcntl.flock(poignee, fcntl.LOCK_EX)
        donnees = lire(nom, defaut, racine)
        yield donnees
        ecrire(nom, donnees, racine)


# ---------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------


def machine(racine: Path = RACINE) -> dict[str, Any]:
    """What this Mac is (``machine.json``); fails loudly if missing."""
    donnees = lire("machine", None, racine)
    if donnees is None:
        sys.stderr.write("Mac simulé : état machine absent "
                         f"({fichier_etat('machine', racine)})\n")
        raise SystemExit(70)
    return donnees


def build_macos(version: str) -> str:
    """Build number of a macOS version (Apple's when known, derived otherwise)."""
    if version in BUILDS:
        return BUILDS[version]
    parties = [int(p) for p in version.split(".")] + [0, 0]
    return f"{_darwin_majeur(parties[0])}{chr(ord('A') + min(parties[1], 25))}{100 + parties[2]}"


def _darwin_majeur(majeur_macos: int) -> int:
    """Darwin major of a macOS major: 11-15 -> 20-24, then 26 (Tahoe) -> 25 (Apple skipped 16-25)."""
    return majeur_macos - 1 if majeur_macos >= 26 else majeur_macos + 9


def majeur_macos(mac: dict[str, Any]) -> int:
    """Major version of the simulated macOS (14 for 14.6.1, 26 for 26.1)."""
    return int(mac["version_macos"].split(".")[0])


def version_darwin(version_macos: str) -> str:
    """Darwin kernel release of a macOS version (macOS 14.6 -> 23.6.0)."""
    parties = [int(p) for p in version_macos.split(".")] + [0]
    return f"{_darwin_majeur(parties[0])}.{parties[1]}.0"


def profil_materiel(mac: dict[str, Any]) -> dict[str, Any]:
    """Hardware facts of the simulated model, from its architecture.

    Apple Silicon: a Mac mini (2023) with an M2 (4 performance + 4
    efficiency cores). Intel: a Mac mini (2018) with a Core i7-8700B (6 cores,
    12 threads). Values as ``sysctl`` and ``system_profiler`` report them.
    """
    if mac["architecture"] == ARM64:
        return {
            "nom_modele": "Mac mini", "identifiant_modele": "Mac14,3",
            "numero_modele": "MMFJ3C/A", "puce": "Apple M2",
            "marque_cpu": "Apple M2", "coeurs_physiques": 8, "coeurs_logiques": 8,
            "coeurs_detail": "proc 8:4:4", "micrologiciel": "10151.140.19",
            "frequence": None,
        }
    return {
        "nom_modele": "Mac mini", "identifiant_modele": "Macmini8,1",
        "numero_modele": "MRTT2C/A", "puce": None,
        "type_cpu": "6-Core Intel Core i7",
        "marque_cpu": "Intel(R) Core(TM) i7-8700B CPU @ 3.20GHz",
        "coeurs_physiques": 6, "coeurs_logiques": 12, "coeurs_detail": None,
        "micrologiciel": "2069.0.0.0.0 (iBridge: 22.16.10353.0.0,0)",
        "frequence": "3.2 GHz",
    }


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def quitter(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` on stderr (adding a newline) and exit with ``code``."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise SystemExit(code)


def non_simule(outil: str, detail: str, code: int = 1) -> NoReturn:
    """Refuse something the real tool may accept but the stand-in does not model."""
    quitter(f"{outil} (simulé) : {detail} — non pris en charge par le Mac simulé", code)


# ---------------------------------------------------------------------------
# Installer receipts (pkgutil)
# ---------------------------------------------------------------------------


def recus(racine: Path = RACINE) -> dict[str, dict[str, Any]]:
    """Installed package receipts: identifier -> details."""
    return lire("recus", {}, racine)


def enregistrer_recu(identifiant: str, version: str, emplacement: str, fichiers: list[str],
                     racine: Path = RACINE) -> None:
    """Record (or replace) the receipt of package ``identifiant``.

    ``emplacement`` is the install location as ``pkgutil`` prints it
    (``/`` or a path relative to the volume, such as ``Applications``).
    """
    with modifier("recus", {}, racine) as donnees:
        donnees[identifiant] = {
            "version": version,
            "volume": "/",
            "emplacement": emplacement,
            "date_installation": int(time.time()),
            "fichiers": sorted(fichiers),
        }


def oublier_recu(identifiant: str, racine: Path = RACINE) -> bool:
    """Drop a receipt; True if it existed."""
    with modifier("recus", {}, racine) as donnees:
        return donnees.pop(identifiant, None) is not None


# ---------------------------------------------------------------------------
# Extended attributes (xattr), kept beside the file system
# ---------------------------------------------------------------------------


def _cle(chemin: Path) -> tuple[str, int] | None:
    try:
        info = os.lstat(chemin)
    except FileNotFoundError:
        return None
    return os.path.abspath(chemin), info.st_ino


def attributs(chemin: Path, table: dict[str, Any] | None = None,
              racine: Path = RACINE) -> dict[str, str]:
    """Extended attributes of ``chemin`` (empty if none or if the file is gone).

    An entry whose inode no longer matches belongs to a deleted file that was
    replaced: it is ignored.
    """
    cle = _cle(chemin)
    if cle is None:
        return {}
    if table is None:
        table = lire("xattr", {}, racine)
    entree = table.get(cle[0])
    if not entree or entree.get("inode") != cle[1]:
        return {}
    return dict(entree.get("attributs", {}))


def fixer_attributs(table: dict[str, Any], chemin: Path, valeurs: dict[str, str]) -> None:
    """Set the attributes of ``chemin`` in ``table`` (drop the entry when empty)."""
    cle = _cle(chemin)
    if cle is None:
        return
    if valeurs:
        table[cle[0]] = {"inode": cle[1], "attributs": dict(valeurs)}
    else:
        table.pop(cle[0], None)


def valeur_quarantaine(agent: str = "Safari") -> str:
    """A quarantine value as browsers write it: flags;hex time;agent;UUID."""
    import uuid  # only here: keeps the stand-ins' start-up short

    return f"0083;{int(time.time()):08x};{agent};{str(uuid.uuid4()).upper()}"


def mettre_en_quarantaine(chemins: list[Path], agent: str = "Safari",
                          racine: Path = RACINE) -> None:
    """Give ``com.apple.quarantine`` to every path of ``chemins``, as downloads have."""
    valeur = valeur_quarantaine(agent)
    with modifier("xattr", {}, racine) as table:
        for chemin in chemins:
            actuels = attributs(chemin, table)
            actuels[QUARANTINE] = valeur
            fixer_attributs(table, chemin, actuels)


def arborescence(chemin: Path) -> list[Path]:
    """``chemin`` and everything below it (symlinks not followed)."""
    resultat = [chemin]
    if chemin.is_dir() and not chemin.is_symlink():
        for dossier, sous_dossiers, fichiers in os.walk(chemin):
            sous_dossiers.sort()
            for nom in sorted(sous_dossiers) + sorted(fichiers):
                resultat.append(Path(dossier) / nom)
    return resultat


# ---------------------------------------------------------------------------
# Command Line Tools and Rosetta
# ---------------------------------------------------------------------------

_CLT_OUTILS = {
    "git": 'echo "git version 2.39.3 (Apple Git-146)"',
    "clang": 'echo "Apple clang version 15.0.0 (clang-1500.3.9.4)"',
    "make": 'echo "GNU Make 3.81"',
    "python3": 'echo "Python 3.9.6"',
}


def outils_cli_installes(racine: Path = RACINE) -> bool:
    """True when the Command Line Tools are present (``git`` is the witness)."""
    return dans(f"{CLT_DOSSIER}/usr/bin/git", racine).is_file()


def installer_outils_cli(racine: Path = RACINE) -> None:
    """Install the Command Line Tools: files under CLT_DOSSIER plus receipts."""
    bin_dir = dans(f"{CLT_DOSSIER}/usr/bin", racine)
    bin_dir.mkdir(parents=True, exist_ok=True)
    dans(f"{CLT_DOSSIER}/SDKs/MacOSX.sdk", racine).mkdir(parents=True, exist_ok=True)
    fichiers = []
    for nom, corps in _CLT_OUTILS.items():
        outil = bin_dir / nom
        outil.write_text(f"#!/bin/sh\n# Outil des Command Line Tools (Mac simulé)\n{corps}\n")
        outil.chmod(0o755)
        fichiers.append(f"Library/Developer/CommandLineTools/usr/bin/{nom}")
    for identifiant in CLT_RECUS:
        enregistrer_recu(identifiant, CLT_VERSION_RECU, "/", fichiers, racine)


def rosetta_installe(racine: Path = RACINE) -> bool:
    """True when Rosetta 2 is installed (its runtime file is the witness)."""
    return dans(ROSETTA_FICHIER, racine).is_file()


def installer_rosetta(racine: Path = RACINE) -> None:
    """Install Rosetta 2: its runtime file and its receipt."""
    runtime = dans(ROSETTA_FICHIER, racine)
    runtime.parent.mkdir(parents=True, exist_ok=True)
    runtime.write_text("# Rosetta 2 (Mac simulé)\n")
    enregistrer_recu(ROSETTA_RECU, "1.0.0.0.1.1708646388", "/",
                     ["Library/Apple/usr/share/rosetta/rosetta"], racine)
