#!/usr/bin/python3
""""Initialize VMware Fusion.tool" stand-in of the simulated Mac.

Imitates the tool VMware documents for mass deployment of Fusion (KB
"Deploying VMware Fusion to multiple Macs", and the Homebrew cask's
postflight): ``"/Applications/VMware Fusion.app/Contents/Library/Initialize
VMware Fusion.tool" set`` initialises Fusion (networking configuration) and
``... set "<user>" "<company>" "<serial>"`` also stores the licence. The
serial must be 5 groups of 5 letters or digits separated by dashes; it is
never printed. Effects: ``/Library/Preferences/VMware Fusion/networking``,
``/Library/Preferences/VMware Fusion/license-fusion-130-e1-202208`` (mode
0600) and ``vmware.json`` (initialised, sha256 of the serial). Must run as
root. Installed inside the Fusion bundle by the test installers.
"""

import hashlib
import os
import re
import sys
import time
from pathlib import Path

sys.path[:0] = ["/opt/telesante-macos/lib", os.path.dirname(os.path.realpath(__file__))]
import macos_etat as etat  # noqa: E402

USAGE = 'Usage: "Initialize VMware Fusion.tool" set [<user name> <company name> <serial number>]'
NUMERO = re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$")
PREFERENCES = Path("/Library/Preferences/VMware Fusion")
LICENCE = PREFERENCES / "license-fusion-130-e1-202208"
RESEAU = """VERSION=1,0
answer VNET_1_DHCP yes
answer VNET_1_HOSTONLY_NETMASK 255.255.255.0
answer VNET_1_HOSTONLY_SUBNET 172.16.94.0
answer VNET_1_VIRTUAL_ADAPTER yes
answer VNET_8_DHCP yes
answer VNET_8_HOSTONLY_NETMASK 255.255.255.0
answer VNET_8_HOSTONLY_SUBNET 192.168.225.0
answer VNET_8_NAT yes
answer VNET_8_VIRTUAL_ADAPTER yes
"""


def main(args: list[str]) -> int:
    if not args or args[0] != "set" or len(args) not in (1, 4):
        etat.quitter(USAGE, 1)
    if os.geteuid() != 0:
        etat.quitter("Initialize VMware Fusion.tool: must be run as root (sudo).", 1)
    PREFERENCES.mkdir(parents=True, exist_ok=True)
    reseau = PREFERENCES / "networking"
    if not reseau.exists():
        reseau.write_text(RESEAU)
    licence = None
    if len(args) == 4:
        numero = args[3].strip().upper()
        if not NUMERO.match(numero):
            # The serial itself is never echoed, even when malformed.
            etat.quitter("Initialize VMware Fusion.tool: invalid serial number "
                         "(expected XXXXX-XXXXX-XXXXX-XXXXX-XXXXX).", 1)
        descripteur = os.open(LICENCE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descripteur, "w") as sortie:
            sortie.write(f"# VMware Fusion licence (Mac simulé)\nSerial = {numero}\n"
                         f"Name = {args[1]}\nCompany = {args[2]}\n")
        licence = {"sha256": hashlib.sha256(numero.encode()).hexdigest(),
                   "date": int(time.time())}
    with etat.modifier("vmware", {}) as donnees:
        donnees["initialise"] = True
        if licence is not None:
            donnees["licence"] = licence
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
