"""The quick test on host names (anchored expressions at the start, then the words every
floating expression contains) answers exactly as searching every expression would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from telesante.identification import charger_identificateur

# Odd expressions an administrator may write: no common word (alternation at the top), a
# character that only non-ASCII text can match, one whose equivalent is ASCII (ſ ~ s, K ~ k).
LOCALES = [
    {"nom": "Sans mot", "categorie": "grand_public", "noms_hote": ["zz|qq9"]},
    {"nom": "Accent", "categorie": "grand_public", "noms_hote": ["cinéma"]},
    {"nom": "S long", "categorie": "grand_public", "noms_hote": ["ſalon-x", "\u212aiosque-y"]},
]
MORCEAUX = list("abcdefhikmnoprstuvwxyzAEKTV0123456789-_ .'é") + [
    "ſ", "\u212a", "İ", "ı", "echo", "Echo", "show", "dot", "tv", "TV", "fire", "stick", "nest", "hub", "mini",
    "google", "home", "chromecast", "roku", "sonos", "site", "apple", "homepod", "kindle", "amazon-", "aft",
    "portal", "facebook", "télé", "Télé", "bravia", "webos", "tizen", "smart", "castdisplay", "zz", "qq9",
    "cinéma", "CINÉMA", "salon-x", "iosque-y",
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
