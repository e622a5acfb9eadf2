"""Where a vendor CLI's answer ends and what belongs to it (collecte/ssh.py), without a network.

The live test of the same (a switch slow to answer, read whole) is
tests/labo/test_audit_direct.py::test_commutateur_lent_mais_vivant_lu_en_entier.
"""

from __future__ import annotations

import re

from telesante.collecte.ssh import fin_de_reponse, reponse_apres_echo

ARP = ("Protocol  Address          Age (min)  Hardware Addr   Type   Interface\n"
       "Internet  10.255.0.33             0   3676.0b04.6ed1  ARPA   mgmt0")


def test_la_reponse_finit_a_l_invite_de_la_session_en_fin_de_lecture():
    fin = fin_de_reponse("commutateur-ios")
    assert re.search(fin, f"show ip arp\n{ARP}\ncommutateur-ios#")
    assert re.search(fin, "show vlans\ncommutateur-ios# ")  # empty answer, prompt with a space
    assert re.search(fin, f"show ip arp\n{ARP}\ncommutateur-ios(config)#")
    assert re.search(fin_de_reponse("admin@sw-01"), "show arp no-resolve\n\n{master:0}\nadmin@sw-01> ")


def test_une_invite_due_suivie_de_l_echo_ne_finit_pas_la_reponse():
    """What a read holds when it stops at the echo, a prompt owed for an earlier Enter before it."""
    fin = fin_de_reponse("commutateur-ios")
    assert not re.search(fin, "\ncommutateur-ios#\ncommutateur-ios#show ip arp")
    assert not re.search(fin, f"show ip arp\n{ARP}")  # answer not over yet
    assert not re.search(fin, "show ip arp\nInternet  commutateur-ios#   0   ARPA\nInternet 10.0.0.1")
    assert not re.search(fin, "show ip arp\nautre-commutateur#")


def test_la_reponse_est_ce_qui_suit_l_echo_sans_l_invite_finale():
    sortie = f"\ncommutateur-ios#\n\ncommutateur-ios#show ip arp\n{ARP}\ncommutateur-ios#"
    assert reponse_apres_echo(sortie, "show ip arp") == ARP
    assert reponse_apres_echo("show vlans\ncommutateur-ios#", "show vlans") == ""
