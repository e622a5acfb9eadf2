#!/usr/bin/python3
"""Stand-in for a Cisco IOS exec CLI on the lab switch (switch firmware cannot run here).

Run by sshd as a forced command for one key, so netmiko's `cisco_ios` driver talks to it
exactly as to a Catalyst. It prints the formats of Cisco IOS 15 / IOS-XE as captured in
ntc-templates' tests (tests/cisco_ios/show_mac-address-table, show_ip_arp) from the
switch's real Linux tables, and rejects anything else the way IOS does.
Standard library only: it runs with the system Python inside the switch namespace.

It echoes what it reads itself, as IOS does, once it reads it: the terminal's own echo is
turned off. Left on, the pseudo-terminal echoed each line the moment it arrived, before the
CLI had answered the previous one; two prompts then ended up on one line
(`commutateur-ios#commutateur-ios#`), which no Catalyst prints. (Lines sent before the CLI
has started are still echoed by the terminal: that echo cannot be taken back.)

`--lenteur S`: wait S seconds before answering each line (a switch whose CPU is busy).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import termios
import time

HOSTNAME = "commutateur-ios"
INVALID = "% Invalid input detected at '^' marker.\n"
ACCEPTED_SILENTLY = {"terminal length 0", "terminal width 511", "terminal no monitor"}


def _dotted(mac: str) -> str:
    digits = mac.replace(":", "").lower()
    return f"{digits[0:4]}.{digits[4:8]}.{digits[8:12]}"


def _vlan(entry: dict) -> int:
    if isinstance(entry.get("vlan"), int):
        return entry["vlan"]
    match = re.search(r"(\d+)$", entry.get("master", ""))
    return int(match.group(1)) if match else 1


def show_mac_address_table() -> str:
    fdb = json.loads(subprocess.run(["bridge", "-j", "fdb", "show"], capture_output=True, text=True).stdout or "[]")
    rows = [e for e in fdb if e.get("master") and e.get("state") != "permanent" and not int(e["mac"][:2], 16) & 1]
    lines = ["          Mac Address Table", "-------------------------------------------", "",
             "Vlan    Mac Address       Type        Ports", "----    -----------       --------    -----"]
    lines += [f"{_vlan(e):>4}    {_dotted(e['mac'])}    DYNAMIC     {e['ifname']}" for e in rows]
    lines.append(f"Total Mac Addresses for this criterion: {len(rows)}")
    return "\n".join(lines) + "\n"


def show_ip_arp() -> str:
    neigh = json.loads(subprocess.run(["ip", "-j", "-4", "neigh", "show"], capture_output=True, text=True).stdout or "[]")
    lines = ["Protocol  Address          Age (min)  Hardware Addr   Type   Interface"]
    lines += [f"Internet  {n['dst']:<15}         0   {_dotted(n['lladdr'])}  ARPA   {n['dev']}"
              for n in neigh if n.get("lladdr")]
    return "\n".join(lines) + "\n"


COMMANDS = {"show mac address-table": show_mac_address_table, "show ip arp": show_ip_arp}


def _sans_echo_du_terminal() -> None:
    """Turn the pseudo-terminal's echo off (no terminal: nothing to do)."""
    try:
        attributes = termios.tcgetattr(sys.stdin.fileno())
    except termios.error:
        return
    attributes[3] &= ~(termios.ECHO | termios.ECHONL)
    termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, attributes)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lenteur", type=float, default=0.0)
    lenteur = parser.parse_args().lenteur
    _sans_echo_du_terminal()
    while True:
        sys.stdout.write(f"{HOSTNAME}#")
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            return 0
        time.sleep(lenteur)
        sys.stdout.write(line.rstrip("\r\n") + "\n")  # the echo, as IOS gives it (the terminal adds \r)
        sys.stdout.flush()
        command = " ".join(line.split())
        if command in ("exit", "logout", "quit"):
            return 0
        if not command or command in ACCEPTED_SILENTLY:
            continue
        handler = COMMANDS.get(command)
        sys.stdout.write(handler() if handler else f"{' ' * (len(HOSTNAME) + 1)}^\n{INVALID}")


if __name__ == "__main__":
    sys.exit(main())
