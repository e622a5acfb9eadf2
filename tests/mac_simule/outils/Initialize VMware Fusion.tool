#!/usr/bin/python3
""""Initialize VMware Fusion.tool" stand-in of the simulated Mac.

Syntax, from its public usages (no help text is published): ``"/Applications/
VMware Fusion.app/Contents/Library/Initialize VMware Fusion.tool" set``
initialises Fusion (networking configuration; Homebrew cask ``vmware-fusion``,
postflight ``args: ["set"]``, ``sudo: true``), and ``... set "<user>"
"<company>" "<serial>"`` also stores the licence (Chef resource
``vmware_fusion``, ``set '' '' '<license>'``). The serial must be 5 groups of
5 letters or digits separated by dashes; it is never printed.

By Fusion version (read from the bundle's Info.plist, see fusion_simule.py):
the serial form is accepted before 13.6.2 only; from 13.6.2 (free, no
licence key) nothing documents it and it is refused as not simulated.
Effects: ``/Library/Preferences/VMware Fusion/networking``, the licence file
(mode 0600) and ``vmware.json``. Must run as root. Installed inside the
Fusion bundle by the test installers.
"""

import os
import sys
from pathlib import Path

sys.path[:0] = ["/opt/telesante-macos/lib", os.path.dirname(os.path.realpath(__file__))]
import fusion_simule as fusion  # noqa: E402
import macos_etat as etat  # noqa: E402

USAGE = 'Usage: "Initialize VMware Fusion.tool" set [<user name> <company name> <serial number>]'
# Contents/Library/<this tool> -> the application bundle
APPLICATION = Path(os.path.abspath(__file__)).parents[2]


def main(args: list[str]) -> int:
    if not args or args[0] != "set" or len(args) not in (1, 4):
        etat.quitter(USAGE, 1)
    if os.geteuid() != 0:
        etat.quitter("Initialize VMware Fusion.tool: must be run as root (sudo).", 1)
    if len(args) == 4 and not fusion.a_une_licence(fusion.version_application(APPLICATION)):
        # The serial itself is never echoed.
        etat.non_simule("Initialize VMware Fusion.tool",
                        "numéro de série avec Fusion 13.6.2 ou plus (gratuit, sans clé de licence)")
    fusion.initialiser()
    if len(args) == 4:
        try:
            fusion.appliquer_licence(args[3], args[1], args[2])
        except fusion.LicenceInvalide as exc:
            etat.quitter(f"Initialize VMware Fusion.tool: {exc}.", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
