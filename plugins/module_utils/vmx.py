# -*- coding: utf-8 -*-
"""The .vmx format of VMware Fusion and Workstation: parse, edit key by key, write atomically.

Shared by the telesante_vmx module and by the workstation verifications (verifications/),
so both read a .vmx the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import codecs
import glob
import os
import re
import stat
import tempfile


DEFAULT_ENCODING = "UTF-8"
ENCODING_KEY = ".encoding"
UTF8_BOM = b"\xef\xbb\xbf"

# Characters VMware writes as |XX (hex) inside a quoted value: the escape
# character itself, the double quote, the comment character and every ASCII
# control character.
_SPECIAL_CHARS = frozenset(u'|"#')
_HEX_ESCAPE = re.compile(u"\\|([0-9A-Fa-f]{2})")
_FORBIDDEN_IN_KEY = re.compile(u'[\\s="#|\\x00-\\x1f\\x7f]')
# lone surrogates left by surrogateescape: bytes invalid in the file's codec
_UNDECODABLE = re.compile(u"[\udc80-\udcff]")
# lead, key, separator, rest of the line (value and optional trailing part)
_ENTRY = re.compile(u'^([ \\t]*)([^\\s="#]+)([ \\t]*=[ \\t]*)(.*)$')


class VmxError(Exception):
    """Error whose message is shown to the user as is (in French)."""


def escape_value(value):
    """Escape a value the way VMware does: special characters become |XX."""
    out = []
    for char in value:
        if char in _SPECIAL_CHARS or ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(u"|%02X" % ord(char))
        else:
            out.append(char)
    return u"".join(out)


def unescape_value(value):
    """Undo VMware's |XX escaping.

    Consecutive escapes form a byte string decoded as UTF-8 (VMware escapes
    bytes); a '|' not followed by two hex digits is kept literally.
    """
    out = []
    pending = bytearray()
    pos = 0
    while pos < len(value):
        match = _HEX_ESCAPE.match(value, pos)
        if match:
            pending.append(int(match.group(1), 16))
            pos = match.end()
            continue
        if pending:
            out.append(bytes(pending).decode("utf-8", "surrogateescape"))
            pending = bytearray()
        out.append(value[pos])
        pos += 1
    if pending:
        out.append(bytes(pending).decode("utf-8", "surrogateescape"))
    return u"".join(out)


def validate_key(key):
    """Raise VmxError if key cannot be written as a .vmx key."""
    if not isinstance(key, str) or not key or _FORBIDDEN_IN_KEY.search(key):
        raise VmxError(
            u"Clé .vmx invalide : %r (clé vide, espaces, caractères de contrôle, "
            u"'=', '\"', '#' et '|' interdits)" % (key,))


def lookup_codec(name):
    """Return the Python codec name for a .encoding value, or raise VmxError.

    Only ASCII-compatible codecs are accepted: the syntax of the file (keys,
    '=', quotes, end of lines) is ASCII in every encoding VMware writes.
    """
    try:
        codec = codecs.lookup(name).name
        compatible = u'k = "v"\r\n'.encode(codec) == b'k = "v"\r\n'
    except (LookupError, UnicodeError):
        codec, compatible = None, False
    if codec is None:
        raise VmxError(u"Encodage « %s » déclaré par .encoding inconnu : "
                       u"impossible de lire ou d'écrire le fichier" % name)
    if not compatible:
        raise VmxError(u"Encodage « %s » non pris en charge : un .vmx doit utiliser un "
                       u"encodage compatible ASCII (UTF-8, windows-1252, Shift_JIS...)" % name)
    return codec


def _split_rest(rest):
    """Split what follows '=' into (raw value, trailing text kept on rewrite)."""
    if rest.startswith(u'"'):
        end = rest.find(u'"', 1)
        if end == -1:  # unterminated quote: take everything
            return rest[1:], u""
        return rest[1:end], rest[end + 1:]
    # unquoted value (tolerated by VMware): stops at a comment
    hash_pos = rest.find(u"#")
    value = rest if hash_pos == -1 else rest[:hash_pos]
    stripped = value.rstrip()
    return stripped, rest[len(stripped):]


class VmxLine(object):
    """One physical line: raw bytes (without end of line) plus its decoded form."""

    __slots__ = ("raw", "eol", "text", "dirty", "key", "lead", "sep", "raw_value", "trail")

    def __init__(self, raw, eol, text):
        self.raw = raw
        self.eol = eol
        self.text = text
        self.dirty = False
        self.key = None
        self.lead = self.sep = self.raw_value = self.trail = u""
        stripped = text.strip()
        if not stripped or stripped.startswith(u"#"):
            return
        match = _ENTRY.match(text)
        if not match:
            return  # unknown syntax: kept verbatim, never touched
        self.lead, self.key, self.sep, rest = match.groups()
        self.raw_value, self.trail = _split_rest(rest)

    @property
    def value(self):
        return unescape_value(self.raw_value)

    def set_value(self, value):
        self.raw_value = escape_value(value)
        self.text = u'%s%s%s"%s"%s' % (self.lead, self.key, self.sep, self.raw_value, self.trail)
        self.dirty = True


class VmxDocument(object):
    """A parsed .vmx file that can be edited and serialized back to bytes."""

    def __init__(self, lines, bom=b"", source_codec=None):
        self.lines = lines
        self.bom = bom
        self.source_codec = source_codec or lookup_codec(self.encoding)

    # -- reading -----------------------------------------------------------

    @property
    def encoding(self):
        """Encoding name as declared by .encoding (UTF-8 when absent)."""
        declared = self.get(ENCODING_KEY)
        return declared if declared else DEFAULT_ENCODING

    @property
    def codec(self):
        return lookup_codec(self.encoding)

    def _entries(self, key):
        wanted = key.lower()
        return [line for line in self.lines if line.key is not None and line.key.lower() == wanted]

    def get(self, key, default=None):
        """Value of key (case-insensitive); the last occurrence wins, as in VMware."""
        entries = self._entries(key)
        return entries[-1].value if entries else default

    def keys(self):
        """Keys in file order, with their original spelling (duplicates included)."""
        return [line.key for line in self.lines if line.key is not None]

    def items(self):
        return [(line.key, line.value) for line in self.lines if line.key is not None]

    def __contains__(self, key):
        return bool(self._entries(key))

    # -- editing -----------------------------------------------------------

    def _check_encodable(self, key, value, codec):
        escaped = escape_value(value)
        try:
            encoded = escaped.encode(codec)
        except UnicodeEncodeError:
            raise VmxError(u"La valeur de la clé %s contient des caractères impossibles à "
                           u"encoder en %s (encodage déclaré par .encoding)" % (key, self.encoding))
        # Some codecs encode a character into bytes that read back as another
        # one (Shift_JIS: U+00A5 YEN SIGN -> 0x5C -> backslash).
        if encoded.decode(codec) != escaped:
            raise VmxError(u"La valeur de la clé %s ne se relit pas à l'identique en %s "
                           u"(caractère ambigu dans cet encodage, par exemple ¥ en Shift_JIS)"
                           % (key, self.encoding))

    def set(self, key, value):
        """Set key to value (None removes it). Return True if the document changed."""
        validate_key(key)
        if value is None:
            return self.remove(key)
        if not isinstance(value, str):
            raise VmxError(u"Valeur de la clé %s : texte attendu, %s reçu"
                           % (key, type(value).__name__))
        if key.lower() == ENCODING_KEY:
            lookup_codec(value)
        else:
            self._check_encodable(key, value, self.codec)
        entries = self._entries(key)
        changed = False
        for line in entries:
            if line.value != value:
                line.set_value(value)
                changed = True
        if not entries:
            self._append(key, value)
            changed = True
        return changed

    def remove(self, key):
        """Remove every occurrence of key. Return True if something was removed."""
        validate_key(key)
        before = len(self.lines)
        self.lines = [line for line in self.lines
                      if line.key is None or line.key.lower() != key.lower()]
        return len(self.lines) != before

    def _default_eol(self):
        for line in self.lines:
            if line.eol:
                return line.eol
        return b"\n"

    def _append(self, key, value):
        eol = self._default_eol()
        if self.lines and not self.lines[-1].eol:
            self.lines[-1].eol = eol
        line = VmxLine(b"", eol, u"%s = \"\"" % key)
        line.set_value(value)
        self.lines.append(line)

    # -- writing -----------------------------------------------------------

    def to_bytes(self):
        """Serialize: untouched lines are written back byte for byte."""
        codec = self.codec
        transcode = codec != self.source_codec
        chunks = [self.bom]
        for line in self.lines:
            if line.dirty or transcode:
                if _UNDECODABLE.search(line.text):
                    raise VmxError(u"Le fichier contient des octets invalides pour l'encodage "
                                   u"d'origine : conversion en %s impossible" % self.encoding)
                try:
                    chunks.append(line.text.encode(codec))
                except UnicodeEncodeError:
                    raise VmxError(u"La ligne « %s » ne peut pas être encodée en %s"
                                   % (line.text, self.encoding))
            else:
                chunks.append(line.raw)
            chunks.append(line.eol)
        return b"".join(chunks)

    def to_text(self):
        """Decoded content, for display (diff)."""
        return decode_for_display(self.to_bytes(), self.codec)


def decode_for_display(data, codec):
    return data.decode(codec, "replace")


def _declared_encoding(raw_lines):
    """Find the .encoding value without knowing the codec (the value is ASCII).

    The last occurrence wins, as for any other key.
    """
    declared = DEFAULT_ENCODING
    for raw in raw_lines:
        line = VmxLine(raw, b"", raw.decode("latin-1"))
        if line.key is not None and line.key.lower() == ENCODING_KEY:
            declared = line.value.strip() or DEFAULT_ENCODING
    return declared


def parse_vmx(data):
    """Parse the bytes of a .vmx file into a VmxDocument."""
    if not isinstance(data, bytes):
        raise TypeError("parse_vmx expects bytes")
    bom = b""
    if data.startswith(UTF8_BOM):
        bom, data = UTF8_BOM, data[len(UTF8_BOM):]
    pieces = data.split(b"\n")
    # split() leaves an empty last piece when the file ends with a newline
    raw_lines = [(piece, b"\n") for piece in pieces[:-1]]
    if pieces[-1]:
        raw_lines.append((pieces[-1], b""))
    normalized = []
    for raw, eol in raw_lines:
        if raw.endswith(b"\r") and eol:
            raw, eol = raw[:-1], b"\r\n"
        normalized.append((raw, eol))
    codec = lookup_codec(_declared_encoding([raw for raw, _eol in normalized]))
    lines = [VmxLine(raw, eol, raw.decode(codec, "surrogateescape")) for raw, eol in normalized]
    return VmxDocument(lines, bom=bom, source_codec=codec)


def new_document():
    """Content of a file created from scratch."""
    return parse_vmx(b'.encoding = "UTF-8"\n')


def normalize_value(key, value):
    """Convert a value coming from YAML into the text VMware expects."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return u"TRUE" if value else u"FALSE"
    if isinstance(value, (int, float)):
        return str(value)
    raise VmxError(u"Valeur de la clé %s : type %s non pris en charge "
                   u"(texte, nombre, booléen ou null attendus)" % (key, type(value).__name__))


def apply_settings(doc, settings):
    """Apply a dict of settings to doc; return the list of keys that changed."""
    seen = {}
    for key in settings:
        validate_key(key)
        lowered = key.lower()
        if lowered in seen:
            raise VmxError(u"Les clés « %s » et « %s » ne diffèrent que par la casse : "
                           u"VMware les considère comme une seule clé" % (seen[lowered], key))
        seen[lowered] = key
    changed = []
    # .encoding first, so that the other values are checked against the new codec
    ordered = sorted(settings, key=lambda k: k.lower() != ENCODING_KEY)
    for key in ordered:
        if doc.set(key, normalize_value(key, settings[key])):
            changed.append(key)
    return [key for key in settings if key in changed]


ENCRYPTION_KEYS = ("encryption.keySafe", "encryption.data")


def encryption_keys(doc):
    """Keys (file spelling) showing that VMware encrypted this .vmx; empty if none."""
    found = []
    for key in doc.keys():
        if key.lower() in (k.lower() for k in ENCRYPTION_KEYS) and key not in found:
            found.append(key)
    return found


def encrypted_message(path, keys, changed_keys):
    """French refusal for an encrypted .vmx: what was not applied and what to do."""
    return (u"La VM %s est chiffrée par VMware (%s) : ses réglages sont dans encryption.data, "
            u"protégés par son mot de passe, et VMware ne permet pas de modifier ce .vmx à la main. "
            u"Non appliqué : %s. Ouvrir la VM dans Fusion avec son mot de passe et faire ces "
            u"réglages (Réglages de la VM), ou retirer le chiffrement (Réglages > Chiffrement) "
            u"puis relancer le provisionnement." % (path, u", ".join(keys), u", ".join(changed_keys)))


def find_lock(vmx_path):
    """Return the path of a VMware lock (*.lck) beside vmx_path, or None."""
    own = vmx_path + ".lck"
    if os.path.lexists(own):
        return own
    directory = os.path.dirname(os.path.abspath(vmx_path))
    locks = sorted(glob.glob(os.path.join(glob.escape(directory), "*.lck")))
    return locks[0] if locks else None


def write_atomic(path, data):
    """Write data to path through a temporary file in the same directory.

    The mode (and, when allowed, the owner) of an existing file is kept; a new
    file gets the default mode from the umask.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        current = os.stat(path)
    except OSError:
        current = None
    fd, tmp_path = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp",
                                    dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if current is not None:
            os.chmod(tmp_path, stat.S_IMODE(current.st_mode))
            if (current.st_uid, current.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.chown(tmp_path, current.st_uid, current.st_gid)
                except OSError:
                    pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        raise
