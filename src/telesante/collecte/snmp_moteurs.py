"""The SNMP engines of the live collection: how one GETBULK request of a walk is sent and its answer
checked, in SNMPv2c (pysnmp's v1arch dispatcher, the community in each message) and in SNMPv3 USM (a
v3arch engine per user and keys). The walks themselves are `collecte/snmp.py`'s."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pysnmp.entity import config
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.hlapi.v1arch.asyncio import CommunityData, SnmpDispatcher, bulk_cmd
from pysnmp.proto import api
from pysnmp.proto.api import verdec
from pysnmp.proto.error import ProtocolError

from telesante.collecte.snmp_parametres import ParametresSnmp
from telesante.inerte import citer

_AUTH = {"SHA": config.USM_AUTH_HMAC96_SHA, "SHA-224": config.USM_AUTH_HMAC128_SHA224,
         "SHA-256": config.USM_AUTH_HMAC192_SHA256, "SHA-384": config.USM_AUTH_HMAC256_SHA384,
         "SHA-512": config.USM_AUTH_HMAC384_SHA512}
_CHIFFREMENT = {"AES": config.USM_PRIV_CFB128_AES, "AES-192": config.USM_PRIV_CFB192_AES,
                "AES-256": config.USM_PRIV_CFB256_AES}

# One GETBULK request of a walk: (max-repetitions, the OIDs asked) -> (error indication, error status,
# varbinds as (OID, value)).
Envoi = Callable[[int, list[tuple[int, ...]]], Awaitable[tuple]]


class Interrompu(Exception):
    """A walk that cannot be trusted to be whole; the message says why (French, no secret)."""


class _Repartiteur(SnmpDispatcher):
    """v1arch's dispatcher, checking what comes back as v3arch's engine does.

    v1arch's own hands any response whose request-id is pending to that request, and lets the
    decoder's error on a datagram that is not an SNMP message go up to the loop (a traceback on the
    audit's terminal). Here such a datagram is dropped, and so is a message that is not a response
    or whose community is not its request's (RFC 3412, 7.2.10 and 7.2.12, as v3arch): the request
    waits for its delay, the equipment is incomplete.
    """

    def send_pdu(self, authData, transportTarget, reqPdu, cbFun=None, cbCtx=None):
        requete = super().send_pdu(authData, transportTarget, reqPdu, cbFun, cbCtx)
        self._pendingReqs[requete]["communaute"] = univ.OctetString(authData.communityName).asOctets()
        return requete

    def _recv_callback(self, snmpEngine, transportDomain, transportAddress, wholeMsg):
        """pysnmp's (hlapi/v1arch/dispatch.py, one message per datagram), with these checks."""
        try:
            module = api.PROTOCOL_MODULES.get(verdec.decode_message_version(wholeMsg))
            if module is None:
                return None  # SNMPv3: not an answer to a v2c request
            message, _reste = decoder.decode(wholeMsg, asn1Spec=module.Message())
        except (ProtocolError, PyAsn1Error):
            return None
        pdu = module.apiMessage.get_pdu(message)
        requete = int(module.apiPDU.get_request_id(pdu))
        etat = self._pendingReqs.get(requete)
        if (etat is None or not pdu.isSameTypeWith(module.GetResponsePDU())
                or module.apiMessage.get_community(message).asOctets() != etat["communaute"]):
            return None
        del self._pendingReqs[requete]
        self.transport_dispatcher.job_finished(id(self))
        if etat["cbFun"]:
            etat["cbFun"](self, requete, None, pdu, etat["cbCtx"])
        return None


class MoteurV2c:
    """SNMPv2c: pysnmp's v1arch dispatcher, which writes the community into each message.

    Nothing is registered per community or per agent. hlapi's v3arch engine keeps every community
    and agent address in its configuration (LCD, never emptied), and rebuilds its maps of them by
    walking these tables whole at the first message after any change: each new agent cost more
    than the one before (its first request: 11 ms of CPU with 200 communities known, 16 ms with 400).
    """

    def __init__(self):
        self._dispatcher = _Repartiteur()

    @contextlib.asynccontextmanager
    async def parcours(self, parametres: ParametresSnmp, cible, vlan: int | None) -> AsyncIterator[Envoi]:
        """The requests of one walk: with the community, or `communauté@vlan` in a Cisco VLAN's context."""
        auth = CommunityData(parametres.communaute if vlan is None else f"{parametres.communaute}@{vlan}", mpModel=1)

        async def envoyer(repetitions: int, oids: list[tuple[int, ...]]) -> tuple:
            indication, statut, _index, varbinds = await bulk_cmd(self._dispatcher, auth, cible, 0, repetitions,
                                                                  *[(oid, None) for oid in oids])
            return indication, statut, varbinds

        yield envoyer


class MoteurV3:
    """SNMPv3 (USM): an SNMP engine of pysnmp's v3arch for one user and its keys.

    The engine addresses an agent through an entry of its configuration (LCD), which a walk adds and
    removes when it ends: the tables hold only the agents being read (kept, as hlapi does, they made
    each new agent cost more than the one before: see MoteurV2c).
    """

    def __init__(self, parametres: ParametresSnmp):
        self.snmp = SnmpEngine()
        self._noms = itertools.count()
        config.add_v3_user(self.snmp, parametres.utilisateur, _AUTH[parametres.protocole_auth], parametres.cle_auth,
                           _CHIFFREMENT[parametres.protocole_chiffrement], parametres.cle_chiffrement)
        config.add_target_parameters(self.snmp, "v3", parametres.utilisateur, "authPriv", 3)

    @contextlib.asynccontextmanager
    async def parcours(self, parametres: ParametresSnmp, cible, vlan: int | None) -> AsyncIterator[Envoi]:
        """The requests of one walk: in the default context, or `vlan-N` in a Cisco VLAN's."""
        nom = f"a{next(self._noms)}"
        contexte = b"" if vlan is None else f"vlan-{vlan}".encode()

        async def envoyer(repetitions: int, oids: list[tuple[int, ...]]) -> tuple:
            reponse = asyncio.get_running_loop().create_future()

            def recue(_moteur, _requete, indication, statut, _index, varbinds, _contexte):
                if not reponse.done():
                    reponse.set_result((indication, statut, varbinds))
                # None: this request only, not the walk that BulkCommandGenerator would go on with

            # pysnmp's command generator, as hlapi's bulk_cmd uses it, without its MIB view.
            cmdgen.BulkCommandGenerator().send_varbinds(self.snmp, nom, None, contexte, 0, repetitions,
                                                        [(oid, None) for oid in oids], recue)
            return await reponse

        try:
            if config.get_transport(self.snmp, cible.TRANSPORT_DOMAIN) is None:
                config.add_transport(self.snmp, cible.TRANSPORT_DOMAIN, cible.open_client_mode())
            config.add_target_address(self.snmp, nom, cible.TRANSPORT_DOMAIN, cible.transport_address, "v3",
                                      parametres.delai * 100, parametres.tentatives - 1)
        except Exception as exc:  # noqa: BLE001 - a socket that cannot be opened, an address pysnmp refuses
            raise Interrompu(f"échange SNMP impossible ({type(exc).__name__} : {citer(str(exc))})") from None
        try:
            yield envoyer
        finally:
            config.delete_target_address(self.snmp, nom)
