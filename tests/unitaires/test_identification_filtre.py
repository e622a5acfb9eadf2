"""The quick test on host names and vendors (the anchored expressions of every signature at
once, at the start; then the words every floating expression contains) answers exactly as
searching every expression of each signature, one signature after another, would."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telesante.identification import Identificateur, charger_identificateur, registre_ieee
from telesante.signatures import lire_signatures

# Odd expressions an administrator may write: no common word (alternation at the top), a
# character that only non-ASCII text can match, one whose equivalent is ASCII (ſ ~ s, K ~ k),
# searched anywhere or anchored at the start (no ASCII prefix to require).
LOCALES = [
    {"nom": "Sans mot", "categorie": "grand_public", "noms_hote": ["zz|qq9"]},
    {"nom": "Accent", "categorie": "grand_public", "noms_hote": ["cinéma"]},
    {"nom": "S long", "categorie": "grand_public",
     "noms_hote": ["ſalon-x", "\u212aiosque-y", "^ſalle", "^\u212aiosk"]},
]
MORCEAUX = list("abcdefhikmnoprstuvwxyzAEKTV0123456789-_ .'é") + [
    "ſ", "\u212a", "İ", "ı", "echo", "Echo", "show", "dot", "tv", "TV", "fire", "stick", "nest", "hub", "mini",
    "google", "home", "chromecast", "roku", "sonos", "site", "apple", "homepod", "kindle", "amazon-", "aft",
    "portal", "facebook", "télé", "Télé", "bravia", "webos", "tizen", "smart", "castdisplay", "zz", "qq9",
    "cinéma", "CINÉMA", "salon-x", "iosque-y", "salle", "iosk",
]
noms = st.lists(st.sampled_from(MORCEAUX), max_size=8).map("".join) | st.text(max_size=20)

IDENTIFICATEURS = [charger_identificateur(), charger_identificateur(LOCALES)]


def _recherche_complete(identificateur, nom):
    """The first signature whose host name expressions match anywhere, searched one by one."""
    return next((s for s in identificateur.signatures if s.noms_hote and s.noms_hote.search(nom)), None)


@settings(max_examples=1500, deadline=None)
@given(noms)
def test_raccourci_identique_a_la_recherche_complete(nom):
    for identificateur in IDENTIFICATEURS:
        assert identificateur._by_hostname(nom) is _recherche_complete(identificateur, nom)


def test_exemples_qui_exercent_chaque_chemin():
    livrees, locales = IDENTIFICATEURS
    assert livrees._by_hostname("Fire TV de Julie").nom == "Amazon Fire TV"  # ASCII, par un mot
    assert livrees._by_hostname("Télé du salon").nom == "Téléviseur intelligent (diffusion)"  # non ASCII
    assert livrees._by_hostname("poste-urg-12") is None
    assert locales._by_hostname("xqq9").nom == "Sans mot"  # aucun mot commun : recherche complète
    assert locales._by_hostname("CINÉMA-2").nom == "Accent"
    assert locales._by_hostname("SALON-X").nom == "S long"  # S majuscule ASCII ~ ſ : jamais écarté
    assert locales._by_hostname("kiosque-y").nom == "S long"  # k ASCII ~ K (signe kelvin)
    assert locales._by_hostname("Salle-3").nom == "S long"  # ancrée, « ſ » : aucun préfixe ASCII exigé
    assert locales._by_hostname("KIOSK").nom == "S long"  # ancrée, « K »


# Signatures whose expressions, anchored at the start or searched anywhere, overlap from one
# signature to the next, and every name of up to 6 characters over their alphabet: a name
# matched at its start by a signature and anywhere by an earlier one (or a later one) is met
# in every combination; the first signature in order must win, as in a plain search.
# With a back-reference after the first signature, the anchored expressions are not joined
# (their numbers would change) and each signature's are tried in turn: both ways are checked.
# Joined, they are skipped for a name that begins with none of their literal prefixes.
def _chevauchantes(renvoi: bool) -> list[dict]:
    listes = [["ba$", "^aab"], ["^ab", "cb"], ["bc"], ["^a", "^c(a|b)"],
              ["^(b)(c)\\2" if renvoi else "^bcc", "ac"], ["^B"], ["c"]]
    return [{"nom": f"L{i}", "categorie": "grand_public", "noms_hote": motifs} for i, motifs in enumerate(listes)]


@pytest.mark.parametrize("renvoi", [False, True], ids=["joints", "un_par_un"])
def test_premiere_signature_dans_l_ordre_pour_tous_les_noms_courts(renvoi):
    identificateur = charger_identificateur(_chevauchantes(renvoi))
    premiere = identificateur._first_hostname
    assert (premiere._at_start is None) is renvoi  # the way under test is taken
    assert renvoi or premiere._prefixes[:6] == ("aab", "ab", "a", "c", "bcc", "b")  # then the shipped ones
    noms = ["".join(lettres) for n in range(7) for lettres in itertools.product("abcB-", repeat=n)]
    trouves = set()
    for nom in noms:
        attendu = _recherche_complete(identificateur, nom)
        assert identificateur._by_hostname(nom) is attendu, nom
        trouves.add(attendu.nom if attendu else None)
    assert trouves == {f"L{i}" for i in range(7)} | {None}  # every signature won for some name


def test_premier_fabricant_dans_l_ordre_pour_tout_le_registre():
    """Every vendor name of the IEEE registry gets the signature a plain search finds."""
    signatures, categories = lire_signatures(
        [{"nom": "Local", "categorie": "grand_public", "fabricants": ["inc\\.$", "^Texas"]}])
    identificateur = Identificateur(signatures, categories, registre_ieee())
    trouves = set()
    for oui, fabricant in registre_ieee().items():
        attendu = next((s for s in signatures if s.fabricants and s.fabricants.search(fabricant)), None)
        mac = f"{oui:06x}"
        resultat = identificateur.identifier(f"{mac[0:2]}:{mac[2:4]}:{mac[4:6]}:00:00:01")
        assert resultat.signature == (attendu.nom if attendu else None), fabricant
        trouves.add(resultat.signature)
    assert {"Local", "Sonos", "Roku", "Appareil Amazon (Echo, Fire TV, Kindle...)", None} <= trouves
