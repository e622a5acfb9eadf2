"""Minimal ISO 9660 / Joliet reader, to check what `hdiutil makehybrid` burned."""

from __future__ import annotations

from pathlib import Path

SECTOR = 2048


def _records(image: bytes, extent: int, size: int):
    data = image[extent * SECTOR: extent * SECTOR + size]
    pos = 0
    while pos < len(data):
        length = data[pos]
        if length == 0:  # padding up to the next sector
            pos = (pos // SECTOR + 1) * SECTOR
            continue
        record = data[pos: pos + length]
        yield record
        pos += length


def _walk(image: bytes, extent: int, size: int, encoding: str, prefix: str, out: dict[str, bytes]):
    for record in _records(image, extent, size):
        ident = record[33: 33 + record[32]]
        if ident in (b"\x00", b"\x01"):
            continue
        name = ident.decode(encoding)
        child_extent = int.from_bytes(record[2:6], "little")
        child_size = int.from_bytes(record[10:14], "little")
        if record[25] & 0x02:
            _walk(image, child_extent, child_size, encoding, f"{prefix}{name}/", out)
        else:
            name = name.split(";", 1)[0]
            out[prefix + name] = image[child_extent * SECTOR: child_extent * SECTOR + child_size]


def lire_iso(chemin: Path, joliet: bool = True) -> dict[str, bytes]:
    """Files of the image (path -> content), from the Joliet tree if asked and present."""
    image = Path(chemin).read_bytes()
    if image[16 * SECTOR + 1: 16 * SECTOR + 6] != b"CD001":
        raise ValueError(f"{chemin} n'est pas une image ISO 9660")
    choisi = None
    sector = 16
    while True:
        vd = image[sector * SECTOR: (sector + 1) * SECTOR]
        if vd[1:6] != b"CD001" or vd[0] == 255:
            break
        if vd[0] == 1 and choisi is None:
            choisi = (vd, "ascii")
        if vd[0] == 2 and joliet and vd[88:91] in (b"%/@", b"%/C", b"%/E"):
            choisi = (vd, "utf-16-be")
        sector += 1
    vd, encoding = choisi
    root = vd[156:190]
    out: dict[str, bytes] = {}
    _walk(image, int.from_bytes(root[2:6], "little"), int.from_bytes(root[10:14], "little"),
          encoding, "", out)
    return out


def nom_de_volume(chemin: Path) -> str:
    image = Path(chemin).read_bytes()
    return image[16 * SECTOR + 40: 16 * SECTOR + 72].decode("ascii").strip()
