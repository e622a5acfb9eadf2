"""A small SNMPv2c agent on the loopback that misbehaves on purpose (pysnmp's message API, RFC 3416).

It serves GETBULK (and GETNEXT) from a list of (OID, value), like any agent, unless told to:

- `muet`: never answers;
- `recule`: answers an OID lower than the one asked, inside the table;
- `trop_grand`: always answers tooBig(1);
- `illisible`: answers a datagram that starts as an SNMPv2c message and is not BER past its version;
- `autre_communaute`: answers faithfully, with another community in its response;
- `sans_fin`: under `racine_sans_fin`, always answers the asked OID with one more arc (a table that
  never ends, as a looping agent does);
- `normal`: answers faithfully (the data may hold a MAC of the wrong length, hostile ifName...).

Runs in a thread with its own event loop; `with AgentHostile(...) as agent:` gives `agent.port`.
"""

from __future__ import annotations

import asyncio
import bisect
import threading

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api, rfc1902, rfc1905

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def oid(texte: str) -> tuple[int, ...]:
    return tuple(int(p) for p in texte.split("."))


class _Protocole(asyncio.DatagramProtocol):
    def __init__(self, agent: "AgentHostile"):
        self.agent = agent

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, adresse):
        if self.agent.mode == "muet":
            return
        try:
            message, _ = decoder.decode(data, asn1Spec=V2C.Message())
        except Exception:  # noqa: BLE001 - not SNMPv2c: ignored, as an agent does
            return
        if bytes(V2C.apiMessage.get_community(message)) != self.agent.communaute.encode():
            return  # wrong community: silence (RFC 3584)
        self.agent.requetes += 1
        if self.agent.mode == "illisible":  # SEQUENCE { INTEGER 1 (v2c), a length on 127 octets }
            self.transport.sendto(bytes.fromhex("300a020101") + b"\x04\xff\xff\xff\xff", adresse)
            return
        requete = V2C.apiMessage.get_pdu(message)
        reponse_message = V2C.apiMessage.get_response(message)
        reponse = V2C.apiMessage.get_pdu(reponse_message)
        demandes = [tuple(o) for o, _ in V2C.apiPDU.get_varbinds(requete)]
        repetitions = (V2C.apiBulkPDU.get_max_repetitions(requete)
                       if requete.isSameTypeWith(V2C.GetBulkRequestPDU()) else 1)
        if self.agent.mode == "trop_grand":
            V2C.apiPDU.set_error_status(reponse, 1)
            V2C.apiPDU.set_error_index(reponse, 1)
            V2C.apiPDU.set_varbinds(reponse, [(o, V2C.Null("")) for o in demandes])
        else:
            # One column per requested OID, row by row (RFC 3416, 4.2.3); a column that ended repeats endOfMibView.
            colonnes = [self.agent.repondre(d, max(1, int(repetitions))) for d in demandes]
            rangs = max(map(len, colonnes))
            colonnes = [c + [(c[-1][0], rfc1905.endOfMibView)] * (rangs - len(c)) for c in colonnes]
            varbinds = [c[k] for k in range(rangs) for c in colonnes]
            if self.agent.mode == "tronque":  # a small message size: bindings dropped from the end (RFC 3416, 4.2.3)
                varbinds = varbinds[:max(1, len(demandes) * 2 - 1)]
            V2C.apiPDU.set_varbinds(reponse, varbinds)
        if self.agent.mode == "autre_communaute":
            V2C.apiMessage.set_community(reponse_message, b"intrus")
        self.transport.sendto(encoder.encode(reponse_message), adresse)


class AgentHostile:
    """The agent, on 127.0.0.1 and a free port, in a thread of its own."""

    def __init__(self, donnees: list[tuple[str, object]], mode: str = "normal", communaute: str = "public",
                 racine_sans_fin: str | None = None):
        self.donnees = sorted((oid(o), v) for o, v in donnees)
        self.cles = [o for o, _ in self.donnees]
        self.mode = mode
        self.communaute = communaute
        self.racine_sans_fin = oid(racine_sans_fin) if racine_sans_fin else None
        self.requetes = 0
        self.port = 0
        self._boucle = asyncio.new_event_loop()
        self._pret = threading.Event()
        self._fil = threading.Thread(target=self._tourner, daemon=True)

    def repondre(self, depart: tuple[int, ...], repetitions: int):
        if self.mode == "recule":
            return [(rfc1902.ObjectName(depart[:-1] + (max(0, depart[-1] - 1),) if len(depart) > 1 else depart),
                     rfc1902.Integer32(1))]
        if self.mode == "sans_fin" and depart[:len(self.racine_sans_fin)] == self.racine_sans_fin:
            suite = depart if len(depart) > len(self.racine_sans_fin) else self.racine_sans_fin + (1,)
            return [(rfc1902.ObjectName(suite + (1,) * (n + 1)), rfc1902.Integer32(3)) for n in range(repetitions)]
        position = bisect.bisect_right(self.cles, depart)
        suite = self.donnees[position:position + repetitions]
        varbinds = [(rfc1902.ObjectName(o), v) for o, v in suite]
        if len(suite) < repetitions:
            varbinds.append((rfc1902.ObjectName(suite[-1][0] if suite else depart), rfc1905.endOfMibView))
        return varbinds

    def _tourner(self):
        asyncio.set_event_loop(self._boucle)
        transport, _ = self._boucle.run_until_complete(
            self._boucle.create_datagram_endpoint(lambda: _Protocole(self), local_addr=("127.0.0.1", 0)))
        self.port = transport.get_extra_info("sockname")[1]
        self._pret.set()
        try:
            self._boucle.run_forever()
        finally:
            transport.close()
            self._boucle.close()

    def __enter__(self) -> "AgentHostile":
        self._fil.start()
        if not self._pret.wait(10):
            raise RuntimeError("agent SNMP de test non démarré")
        return self

    def __exit__(self, *exc) -> None:
        self._boucle.call_soon_threadsafe(self._boucle.stop)
        self._fil.join(10)
