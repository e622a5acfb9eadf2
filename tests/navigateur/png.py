"""Just enough of PNG (RFC 2083) to read Chromium's screenshots: 8-bit RGB or RGBA, not interlaced."""

from __future__ import annotations

import struct
import zlib


def lire_png(donnees: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of a PNG screenshot."""
    assert donnees[:8] == b"\x89PNG\r\n\x1a\n", "pas un PNG"
    position, idat, largeur, hauteur, octets = 8, b"", 0, 0, 0
    while position < len(donnees):
        longueur, genre = struct.unpack(">I4s", donnees[position:position + 8])
        contenu = donnees[position + 8:position + 8 + longueur]
        position += 12 + longueur
        if genre == b"IHDR":
            largeur, hauteur, profondeur, couleur, _c, _f, entrelace = struct.unpack(">IIBBBBB", contenu)
            assert profondeur == 8 and couleur in (2, 6) and not entrelace, "PNG inattendu"
            octets = 3 if couleur == 2 else 4
        elif genre == b"IDAT":
            idat += contenu
    brut = zlib.decompress(idat)
    pas = largeur * octets
    lignes, precedente = [], bytearray(pas)
    for y in range(hauteur):
        filtre, ligne = brut[y * (pas + 1)], bytearray(brut[y * (pas + 1) + 1:(y + 1) * (pas + 1)])
        for i in range(pas):
            gauche = ligne[i - octets] if i >= octets else 0
            haut, haut_gauche = precedente[i], precedente[i - octets] if i >= octets else 0
            if filtre == 1:
                ligne[i] = (ligne[i] + gauche) & 255
            elif filtre == 2:
                ligne[i] = (ligne[i] + haut) & 255
            elif filtre == 3:
                ligne[i] = (ligne[i] + (gauche + haut) // 2) & 255
            elif filtre == 4:
                p = gauche + haut - haut_gauche
                pa, pb, pc = abs(p - gauche), abs(p - haut), abs(p - haut_gauche)
                ligne[i] = (ligne[i] + (gauche if pa <= pb and pa <= pc else haut if pb <= pc else haut_gauche)) & 255
        precedente = ligne
        lignes.append(bytes(ligne) if octets == 3 else bytes(b for i, b in enumerate(ligne) if i % 4 != 3))
    return largeur, hauteur, lignes


def pixels_sombres(lignes: list[bytes]) -> int:
    """How many pixels are dark (luminance below 100): ink on the page."""
    return sum(1 for ligne in lignes for i in range(0, len(ligne), 3)
               if 0.299 * ligne[i] + 0.587 * ligne[i + 1] + 0.114 * ligne[i + 2] < 100)
