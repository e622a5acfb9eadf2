"""DHCP lease files: dnsmasq and ISC dhcpd.

isc-dhcp-leases (PyPI) silently skips what its regexes do not match; an audit must
instead say which line of a lease file it could not read, hence this small reader.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from telesante.collecte.erreurs import SortieIllisible
from telesante.mac import MacInvalide, normaliser_mac
from telesante.observation import Observation


# A lease file holds no footer: nothing tells a file without leases from a copy cut before its
# first one (or taken while the server rewrote it). A DHCP server of a site always has leases:
# a file without any is a failed read, never « 0 appareil ».
AUCUN_BAIL = "aucun bail : fichier vide ou coupé ? (un serveur DHCP en service a toujours des baux)"


def observations_dnsmasq(texte: str, equipement: str, source: str) -> list[Observation]:
    """Observations from a dnsmasq lease file (dnsmasq.leases); a file without IPv4 lease is refused."""
    observations = []
    in_ipv6_section = False
    leases = 0
    for number, line in enumerate(texte.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "duid":
            in_ipv6_section = True  # DHCPv6 leases follow: IAID, not MAC, in field 2
            continue
        # dnsmasq always writes five fields ("*" for no name or client id): fewer is a cut line.
        if len(fields) != 5 or not (fields[0].isascii() and fields[0].isdigit()):
            raise SortieIllisible("bail dnsmasq illisible (attendu : expiration MAC IP nom identifiant)", number)
        if in_ipv6_section:
            continue
        leases += 1
        try:
            mac = normaliser_mac(fields[1])
        except MacInvalide as exc:
            raise SortieIllisible(f"bail dnsmasq : {exc}", number) from exc
        expiry = int(fields[0])
        try:
            expires = datetime.fromtimestamp(expiry, timezone.utc) if expiry else None
        except (OverflowError, OSError, ValueError) as exc:
            raise SortieIllisible(f"bail dnsmasq : date d'expiration hors limites ({fields[0]})", number) from exc
        observations.append(
            Observation(
                mac=mac,
                source=source,
                equipement=equipement,
                ip=fields[2],
                nom_hote=None if fields[3] == "*" else fields[3],
                vu_le=expires,
                attributs=(("expiration_bail", str(expiry)),),
            )
        )
    if not leases:
        raise SortieIllisible(AUCUN_BAIL.replace("aucun bail", "aucun bail IPv4"))
    return observations


# What dhcpd writes at the top level of its lease file (dhcpd.leases(5): lease, host, group
# and failover state declarations, authoring-byte-order; dhcpd's lease file reader also takes
# class/subclass, the DHCPv6 ia-na/ia-ta/ia-pd leases and server-duid). Anything else (a
# shell error, another tool's output) is not a lease file.
_TOP_LEVEL = {
    "lease", "host", "group", "class", "subclass", "failover", "authoring-byte-order", "server-duid",
    "ia-na", "ia-ta", "ia-pd", "ia_na", "ia_ta", "ia_pd",
}
_TOKEN = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"|[{};]|[^\s{};"#]+|"')
_INACTIVE_STATES = {"free", "expired", "released", "abandoned", "backup", "reset"}


def _tokens(texte: str):
    """(token, line) pairs of a dhcpd.leases file, comments removed."""
    for line, content in enumerate(texte.splitlines(), start=1):
        for match in _TOKEN.finditer(content):
            token = match.group(0)
            if token.startswith("#"):
                continue
            if token == '"':
                raise SortieIllisible("chaîne non terminée", line)
            yield token, line


def _statements(texte: str):
    """Top-level blocks: (header tokens, [statement token lists], header line)."""
    header: list[str] = []
    header_line = 0
    body: list[list[str]] | None = None
    statement: list[str] = []
    depth = 0
    for token, line in _tokens(texte):
        if token == "{":
            depth += 1
            if depth == 1:
                if not header:
                    raise SortieIllisible("bloc sans déclaration (fichier de baux ISC attendu)", line)
                body, statement = [], []
                header_line = header_line or line
            continue
        if token == "}":
            if depth == 0:
                raise SortieIllisible("accolade fermante sans bloc ouvert", line)
            depth -= 1
            if depth == 0:
                yield header, body, header_line
                header, body, header_line = [], None, 0
            continue
        if depth == 0:
            if not header and token not in _TOP_LEVEL:
                raise SortieIllisible(
                    f"« {token} » : déclaration inconnue de dhcpd.leases (fichier de baux ISC attendu)", line
                )
            if token == ";":
                header, header_line = [], 0  # top-level statement (server-duid...)
            else:
                header_line = header_line or line
                header.append(token)
        elif depth == 1:
            if token == ";":
                body.append(statement)
                statement = []
            else:
                statement.append(token)
    if depth:
        raise SortieIllisible("bloc non fermé (fichier tronqué ?)", header_line)
    if header:
        raise SortieIllisible("déclaration non terminée (fichier tronqué ?)", header_line)


def _isc_date(tokens: list[str]) -> datetime | None:
    # "starts 0 2002/06/30 15:28:33" (UTC) or "starts never"
    if len(tokens) >= 4:
        try:
            return datetime.strptime(f"{tokens[2]} {tokens[3]}", "%Y/%m/%d %H:%M:%S").replace(
                tzinfo=timezone.utc
            )
        except ValueError:
            return None
    return None


def observations_isc(texte: str, equipement: str, source: str) -> list[Observation]:
    """Observations from an ISC dhcpd lease file (dhcpd.leases(5)); the last lease of an IP wins.

    A file without any lease declaration (active or not) is refused.
    """
    if not texte.strip():
        # dhcpd always writes its header comments: an empty capture is a failed read.
        raise SortieIllisible("capture vide (dhcpd écrit toujours un en-tête de commentaires)")
    by_ip: dict[str, Observation] = {}
    leases = 0
    for header, body, line in _statements(texte):
        if len(header) != 2 or header[0] != "lease":
            continue
        leases += 1
        ip = header[1]
        fields = {stmt[0]: stmt for stmt in body if stmt}
        if "abandoned" in fields:
            continue
        binding = fields.get("binding")
        if binding and len(binding) >= 3 and binding[2] in _INACTIVE_STATES:
            continue
        hardware = fields.get("hardware")
        if not hardware:
            continue
        if len(hardware) != 3:
            raise SortieIllisible(f"bail {ip} : déclaration « hardware » incomplète", line)
        try:
            mac = normaliser_mac(hardware[2])
        except MacInvalide as exc:
            raise SortieIllisible(f"bail {ip} : {exc}", line) from exc
        hostname = fields.get("client-hostname")
        by_ip[ip] = Observation(
            mac=mac,
            source=source,
            equipement=equipement,
            ip=ip,
            nom_hote=hostname[1].strip('"') if hostname and len(hostname) > 1 else None,
            vu_le=_isc_date(fields.get("starts", [])),
        )
    if not leases:
        raise SortieIllisible(AUCUN_BAIL)
    return list(by_ip.values())
