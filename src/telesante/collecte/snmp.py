"""Live SNMP collection (platform `snmp`): GETBULK walks with pysnmp (asyncio), written as a capture, then parsed.

The tables of `snmp_capture.TABLES` are walked by hand with GETBULK (RFC 3416, 4.2.3), all in
the same requests (one column per table still open), so that each response is checked before it is
trusted: every OID must be greater than the one before it
(else the agent loops: « l'OID recule ou ne croît pas »), a table stops at its end, never past
`entrees_max` varbinds (« ne finit pas »), `tooBig` halves max-repetitions down to 1, a timeout
or an error stops the walk. The first walk that fails ends the reading: the equipment is then
incomplete, its partial table is never taken for a whole one. On a Cisco switch (vtpVlanState
lists VLANs), the BRIDGE-MIB tables are walked again in each VLAN's context (`communauté@vlan`
in v2c, context `vlan-N` in v3), as Cisco documents (« Using SNMP to Find a Port Number from a
MAC Address on a Catalyst Switch », Cisco document 44800). Each request goes through an engine of
`collecte/snmp_moteurs.py` (v2c or SNMPv3 USM).

What was walked becomes a capture-snmp-v1 text, which the live collection (`collecte/en_direct.py`) records under
`--enregistrer-captures` (`<dossier>/<équipement>/snmp.json`) and parses exactly as an offline capture.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone

from pyasn1.type import univ
from pysnmp.hlapi.v3arch.asyncio import Udp6TransportTarget, UdpTransportTarget
from pysnmp.proto import rfc1902
from pysnmp.proto.rfc1905 import EndOfMibView, NoSuchInstance, NoSuchObject

from telesante.collecte.contrat import EchecDefinitif, ParametresCollecte
from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.snmp_analyse import vlans_cisco
from telesante.collecte.snmp_capture import (LECTURE, TABLES, TABLES_PAR_VLAN, Parcours, ecrire_capture, oid_texte,
                                             oid_tuple)
from telesante.collecte.snmp_moteurs import Envoi, Interrompu, MoteurV2c, MoteurV3
from telesante.collecte.snmp_parametres import ParametresSnmp
from telesante.inerte import citer
from telesante.configuration import Equipement

# Value types by their `.snmprec` tag (BER tag of RFC 2578); subclasses before their base class.
_TAGS = ((rfc1902.IpAddress, "64"), (rfc1902.Opaque, "68"), (univ.OctetString, "4"), (rfc1902.Counter64, "70"),
         (rfc1902.Counter32, "65"), (rfc1902.Gauge32, "66"), (rfc1902.TimeTicks, "67"), (univ.Integer, "2"),
         (univ.ObjectIdentifier, "6"))
# pysnmp's error indications, in French (the others are quoted as they are).
_INDICATIONS = {
    "RequestTimedOut": "délai dépassé : aucune réponse",
    "UnknownUserName": "utilisateur SNMPv3 inconnu de l'agent",
    "WrongDigest": "authentification SNMPv3 refusée (mot de passe ou protocole d'authentification)",
    "DecryptionError": "déchiffrement SNMPv3 impossible (mot de passe ou protocole de chiffrement)",
    "UnknownEngineID": "identifiant de moteur SNMPv3 inconnu",
    "UnknownContextName": "contexte SNMPv3 inconnu de l'agent",
    "UnsupportedSecLevel": "niveau de sécurité SNMPv3 refusé par l'agent",
    "NotInTimeWindow": "horloge SNMPv3 hors fenêtre",
}


# Reads under way at once on the loop; the others wait their turn before sending anything (their
# delay has not started). Every response comes into the same UDP socket of the engine: up to 9
# columns × 25 rows, about 8 KB; Linux's default receive buffer (net.core.rmem_default, 208 KiB)
# holds about 25 of them, and a response dropped there is waited for during the whole delay.
LECTURES_SIMULTANEES = 16


class _Boucle:
    """One asyncio loop in a thread of its own for every SNMP read, and one SNMP engine per set of credentials.

    An SnmpEngine costs about a second of CPU to build (it compiles its MIB modules): built once, it
    is shared by every equipment that has the same SNMPv3 credentials (a site's user); one v1arch
    dispatcher serves every v2c community. Workers of the parallel collection hand their reads to
    this loop and wait; the loop runs them concurrently, LECTURES_SIMULTANEES at most.
    """

    def __init__(self):
        self._verrou = threading.Lock()
        self._boucle: asyncio.AbstractEventLoop | None = None
        self._moteurs: dict[tuple, MoteurV2c | MoteurV3] = {}  # touched from the loop's thread only
        self._places: asyncio.Semaphore | None = None  # LECTURES_SIMULTANEES, created on the loop

    def executer(self, equipement: Equipement) -> str:
        """lire_agent(equipement) run on the loop; its result (or its exception) here."""
        with self._verrou:
            if self._boucle is None:
                self._boucle = asyncio.new_event_loop()
                threading.Thread(target=self._boucle.run_forever, name="snmp", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(self._lire(equipement), self._boucle).result()

    async def _lire(self, equipement: Equipement) -> str:
        if self._places is None:
            self._places = asyncio.Semaphore(LECTURES_SIMULTANEES)
        async with self._places:
            return await lire_agent(equipement)

    def moteur(self, parametres: ParametresSnmp) -> MoteurV2c | MoteurV3:
        """The engine of these credentials: one for every v2c community, one per SNMPv3 user and keys (a user's
        keys are the engine's). Kept in memory, never written."""
        cle = ("2c",) if parametres.version == "2c" else (
            parametres.utilisateur, parametres.cle_auth, parametres.cle_chiffrement, parametres.protocole_auth,
            parametres.protocole_chiffrement)
        if cle not in self._moteurs:
            self._moteurs[cle] = MoteurV2c() if parametres.version == "2c" else MoteurV3(parametres)
        return self._moteurs[cle]


_BOUCLE = _Boucle()


def _tag(valeur) -> tuple[str, object]:
    for genre, tag in _TAGS:
        if isinstance(valeur, genre):
            if tag in ("4", "64", "68"):
                return tag, bytes(valeur.asOctets())
            return tag, tuple(valeur) if tag == "6" else int(valeur)
    raise Interrompu(f"valeur de type inattendu ({type(valeur).__name__})")


def _indication(indication, agent: str, parametres: ParametresSnmp) -> str:
    texte = _INDICATIONS.get(type(indication).__name__)
    if texte and texte.startswith("délai"):
        return (f"{texte} de {agent} en {parametres.delai:g} s × {parametres.tentatives} envoi(s) "
                "(telesante_snmp_delai, telesante_snmp_tentatives)")
    return f"{texte or 'erreur SNMP « ' + citer(str(indication)) + ' »'} ({agent})"


async def _parcourir(envoyer: Envoi, tables: tuple[str, ...], vlan: int | None, agent: str,
                     parametres: ParametresSnmp) -> list[Parcours]:
    """Walk these tables together with GETBULK, checking every response (see the module's docstring).

    One column per table still open in each request (RFC 3416, 4.2.3: the response holds up to
    max-repetitions rows of one varbind per column, in request order; an agent may drop bindings from
    the end); a table leaves the request when it ends. One request then reads what took one per table:
    fewer messages to build, send, decode and answer. The walks, in `tables` order: whole ones, then
    the one that failed (its message names it), if any; nothing after it.
    """
    racines = {table: oid_tuple(TABLES[table]) for table in tables}
    courants = dict(racines)
    lignes: dict[str, list] = {table: [] for table in tables}
    ouvertes, repetitions = list(tables), parametres.repetitions
    table = ouvertes[0]  # the table a failure is told of: the one whose value broke the walk, else the first open
    try:
        while ouvertes:
            table = ouvertes[0]
            try:
                indication, statut, varbinds = await envoyer(repetitions, [courants[t] for t in ouvertes])
            except Exception as exc:  # noqa: BLE001 - pysnmp raises its own errors on malformed exchanges
                raise Interrompu(f"échange SNMP impossible ({type(exc).__name__} : {citer(str(exc))})") from None
            if indication:
                raise Interrompu(_indication(indication, agent, parametres))
            if statut:
                if int(statut) == 1:  # tooBig (RFC 3416): ask for fewer rows
                    if repetitions == 1:
                        raise Interrompu("réponse trop grande (tooBig) même pour une seule entrée")
                    repetitions = max(1, repetitions // 2)
                    continue
                raise Interrompu(f"erreur SNMP « {citer(statut.prettyPrint())} » de {agent}")
            if not varbinds:
                raise Interrompu("réponse sans aucune valeur : réponse incohérente")
            finies = set()
            for rang, (oid, valeur) in enumerate(varbinds):
                table = ouvertes[rang % len(ouvertes)]
                if table in finies:
                    continue  # the rows past a table's end belong to other tables
                oid = tuple(oid)
                if isinstance(valeur, (EndOfMibView, NoSuchObject, NoSuchInstance)):
                    finies.add(table)
                    continue
                if oid <= courants[table]:  # before the end test: an OID that goes back out of the table is no end
                    raise Interrompu(f"OID {oid_texte(oid)} après {oid_texte(courants[table])} (l'OID recule ou ne "
                                      "croît pas) : réponse incohérente")
                if oid[:len(racines[table])] != racines[table]:
                    finies.add(table)
                    continue
                lignes[table].append((oid, *_tag(valeur)))
                courants[table] = oid
                if len(lignes[table]) > parametres.entrees_max:
                    raise Interrompu(f"table qui ne finit pas : plus de {parametres.entrees_max} valeurs "
                                      "(telesante_snmp_entrees_max)")
            ouvertes = [t for t in ouvertes if t not in finies]
    except Interrompu as exc:
        faits = [Parcours(t, vlan, tuple(lignes[t]), True) for t in tables[:tables.index(table)] if t not in ouvertes]
        return [*faits, Parcours(table, vlan, (), False, str(exc))]
    return [Parcours(t, vlan, tuple(lignes[t]), True) for t in tables]


async def lire_agent(equipement: Equipement) -> str:
    """Walk every table of an agent (and of each Cisco VLAN context); the capture-snmp-v1 text."""
    parametres: ParametresSnmp = equipement.snmp
    debut = datetime.now(timezone.utc)
    agent = f"[{equipement.adresse}]:{parametres.port}" if ":" in equipement.adresse else \
        f"{equipement.adresse}:{parametres.port}"
    transport = Udp6TransportTarget if ":" in equipement.adresse else UdpTransportTarget
    try:
        cible = await transport.create((equipement.adresse, parametres.port), timeout=parametres.delai,
                                       retries=parametres.tentatives - 1)
    except Exception as exc:  # noqa: BLE001 - name resolution and address errors
        raise Interrompu(f"adresse de l'agent SNMP {agent} inutilisable ({citer(str(exc))})") from None
    moteur = _BOUCLE.moteur(parametres)
    parcours: list[Parcours] = []
    etapes: list[tuple[tuple[str, ...], int | None]] = [(tuple(TABLES), None)]  # every table at once, then per VLAN
    while etapes:
        tables, vlan = etapes.pop(0)
        async with moteur.parcours(parametres, cible, vlan) as envoyer:
            faits = await _parcourir(envoyer, tables, vlan, agent, parametres)
        parcours += faits
        if not faits[-1].complet:
            break  # the equipment is incomplete: no use asking more of it
        if vlan is None:
            try:
                etapes += [(TABLES_PAR_VLAN, v) for v in vlans_cisco(faits[0], equipement.nom)]
            except SortieIllisible:
                pass  # the capture carries the walk: its parser says what is wrong with it
    return ecrire_capture(equipement.nom, agent, parametres.version, debut, datetime.now(timezone.utc), parcours)


def lire_snmp(equipement: Equipement, parametres: ParametresCollecte) -> dict[str, str]:
    """The platform snmp's reader (`Plateforme.lecteur`): every walk of the agent, as one capture-snmp-v1
    text, which the collection records and parses as it does any read. pysnmp retries on its own
    (telesante_snmp_tentatives): a walk that fails is final, the equipment incomplete."""
    try:
        return {LECTURE: _BOUCLE.executer(equipement)}
    except Interrompu as exc:
        raise EchecDefinitif(f"équipement {equipement.nom} : {exc}") from None
