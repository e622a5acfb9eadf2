"""Rôles auxiliaires du laboratoire réseau, lancés dans ses espaces de noms.

``python auxiliaires.py <rôle>`` : annonce mDNS (``mdns-announce``), parcours
mDNS (``mdns-browse``), file de retard NFQUEUE (``delay-queue``). Lancé comme
script, hors du paquet des tests : n'importe que la bibliothèque standard au
niveau du module (python-zeroconf est importé par les rôles qui s'en servent).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Sequence

DUREE_MAXIMALE = 4 * 3600  # les processus auxiliaires s'arrêtent d'eux-mêmes après ce délai (s)


def _exit_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _run_mdns_announce(args: argparse.Namespace) -> None:
    """Announce one DNS-SD service on ``args.ip`` until SIGTERM or max lifetime."""
    from zeroconf import IPVersion, ServiceInfo, Zeroconf

    _exit_on_sigterm()
    txt = dict(item.split("=", 1) for item in args.txt)
    info = ServiceInfo(args.type, f"{args.instance}.{args.type}",
                       addresses=[socket.inet_aton(args.ip)], port=args.port, properties=txt,
                       server=args.server or f"{args.instance}.local.")
    zc = Zeroconf(interfaces=[args.ip], ip_version=IPVersion.V4Only)
    try:
        zc.register_service(info)
        Path(args.ready).write_text(str(os.getpid()))
        time.sleep(args.max_seconds)
    finally:
        with contextlib.suppress(Exception):
            zc.unregister_service(info)
        zc.close()


def _run_mdns_browse(args: argparse.Namespace) -> None:
    """Browse ``args.type`` for at most ``args.seconds``; print JSON on stdout."""
    from zeroconf import IPVersion, ServiceBrowser, Zeroconf

    names: set[str] = set()

    class Listener:
        def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            names.add(name)

        def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            names.add(name)

        def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            pass

    found: dict[str, dict] = {}
    zc = Zeroconf(interfaces=[args.ip], ip_version=IPVersion.V4Only)
    try:
        ServiceBrowser(zc, args.type, Listener())
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and len(found) < args.min:
            for name in sorted(names - found.keys()):
                remaining_ms = int(max(0.1, deadline - time.monotonic()) * 1000)
                info = zc.get_service_info(args.type, name, timeout=min(1000, remaining_ms))
                if info is None:
                    continue
                found[name] = {
                    "name": name,
                    "addresses": info.parsed_addresses(),
                    "port": info.port,
                    "server": info.server,
                    "txt": {k.decode(errors="replace"): (v.decode(errors="replace") if v is not None
                                                         else None)
                            for k, v in info.properties.items()},
                }
            time.sleep(0.1)
    finally:
        zc.close()
    print(json.dumps(list(found.values()), ensure_ascii=False))


# Netfilter queue protocol (linux/netfilter/nfnetlink_queue.h).
_NETLINK_NETFILTER = 12
_NFNL_SUBSYS_QUEUE = 3
_NFQNL_MSG_PACKET = (_NFNL_SUBSYS_QUEUE << 8) | 0
_NFQNL_MSG_VERDICT = (_NFNL_SUBSYS_QUEUE << 8) | 1
_NFQNL_MSG_CONFIG = (_NFNL_SUBSYS_QUEUE << 8) | 2
_NLMSG_ERROR = 2
_NLM_F_REQUEST, _NLM_F_ACK = 1, 4
_NFQA_PACKET_HDR, _NFQA_VERDICT_HDR = 1, 2
_NFQA_CFG_CMD, _NFQA_CFG_PARAMS = 1, 2
_NFQNL_CFG_CMD_BIND, _NFQNL_COPY_META, _NF_ACCEPT = 1, 1, 1


def _nl_attr(attr_type: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("=HH", length, attr_type) + data + b"\0" * (-length % 4)


def _nfq_message(msg_type: int, flags: int, queue: int, attrs: bytes, seq: int = 0) -> bytes:
    payload = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", queue) + attrs
    return struct.pack("=IHHII", 16 + len(payload), msg_type, flags, seq, 0) + payload


def _nfq_expect_ack(sock: socket.socket) -> None:
    data = sock.recv(8192)
    length, msg_type = struct.unpack_from("=IH", data)
    if msg_type != _NLMSG_ERROR or struct.unpack_from("=i", data, 16)[0] != 0:
        raise SystemExit(f"nfqueue : configuration refusée par le noyau ({data[16:20].hex()})")


def _run_delay_queue(args: argparse.Namespace) -> None:
    """Hold every packet of NFQUEUE ``args.queue`` for ``args.delay_ms``, then accept it.

    A constant delay keeps packets in order. On SIGTERM, held packets are
    accepted at once. Stops by itself after ``args.max_seconds``.
    """
    _exit_on_sigterm()
    delay = args.delay_ms / 1000
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, 0))
    sock.send(_nfq_message(_NFQNL_MSG_CONFIG, _NLM_F_REQUEST | _NLM_F_ACK, args.queue,
                           _nl_attr(_NFQA_CFG_CMD, struct.pack("!BxH", _NFQNL_CFG_CMD_BIND, 0)), 1))
    _nfq_expect_ack(sock)
    sock.send(_nfq_message(_NFQNL_MSG_CONFIG, _NLM_F_REQUEST | _NLM_F_ACK, args.queue,
                           _nl_attr(_NFQA_CFG_PARAMS, struct.pack("!IB", 0, _NFQNL_COPY_META)), 2))
    _nfq_expect_ack(sock)
    Path(args.ready).write_text(str(os.getpid()))

    held: list[tuple[float, int]] = []  # (release time, packet id), FIFO

    def release(packet_id: int) -> None:
        verdict = _nl_attr(_NFQA_VERDICT_HDR, struct.pack("!II", _NF_ACCEPT, packet_id))
        sock.send(_nfq_message(_NFQNL_MSG_VERDICT, _NLM_F_REQUEST, args.queue, verdict))

    import select

    end = time.monotonic() + args.max_seconds
    try:
        while time.monotonic() < end:
            wait = held[0][0] - time.monotonic() if held else 1.0
            readable, _, _ = select.select([sock], [], [], max(0.0, min(wait, 1.0)))
            if readable:
                try:
                    data = sock.recv(1 << 16)
                except OSError:  # ENOBUFS: the kernel dropped some queue messages
                    data = b""
                now = time.monotonic()
                offset = 0
                while offset + 16 <= len(data):
                    length, msg_type = struct.unpack_from("=IH", data, offset)
                    if length < 16:
                        break
                    if msg_type == _NFQNL_MSG_PACKET:
                        attr = offset + 20
                        while attr + 4 <= offset + length:
                            attr_len, attr_type = struct.unpack_from("=HH", data, attr)
                            if attr_len < 4:
                                break
                            if attr_type & 0x3FFF == _NFQA_PACKET_HDR:
                                held.append((now + delay, struct.unpack_from("!I", data, attr + 4)[0]))
                            attr += (attr_len + 3) & ~3
                    offset += (length + 3) & ~3
            now = time.monotonic()
            while held and held[0][0] <= now:
                release(held.pop(0)[1])
    finally:
        for _, packet_id in held:
            with contextlib.suppress(OSError):
                release(packet_id)
        sock.close()


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rôles auxiliaires du laboratoire réseau")
    roles = parser.add_subparsers(dest="role", required=True)

    announce = roles.add_parser("mdns-announce", help="annonce un service DNS-SD")
    announce.add_argument("--ip", required=True)
    announce.add_argument("--type", required=True)
    announce.add_argument("--instance", required=True)
    announce.add_argument("--port", type=int, required=True)
    announce.add_argument("--server")
    announce.add_argument("--txt", action="append", default=[])
    announce.add_argument("--ready", required=True)
    announce.add_argument("--max-seconds", type=float, default=DUREE_MAXIMALE)

    browse = roles.add_parser("mdns-browse", help="parcourt un type de service DNS-SD")
    browse.add_argument("--ip", required=True)
    browse.add_argument("--type", required=True)
    browse.add_argument("--seconds", type=float, default=5.0)
    browse.add_argument("--min", type=int, default=1)

    queue = roles.add_parser("delay-queue", help="retarde les paquets d'une file NFQUEUE")
    queue.add_argument("--queue", type=int, required=True)
    queue.add_argument("--delay-ms", type=int, required=True)
    queue.add_argument("--ready", required=True)
    queue.add_argument("--max-seconds", type=float, default=DUREE_MAXIMALE)

    args = parser.parse_args(argv)
    {"mdns-announce": _run_mdns_announce, "mdns-browse": _run_mdns_browse,
     "delay-queue": _run_delay_queue}[args.role](args)


if __name__ == "__main__":
    _main()
