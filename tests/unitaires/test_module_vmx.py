"""Tests of the sante_quebec.telesante.telesante_vmx module and its module_utils/vmx.py.

The pure functions are tested against the real .vmx files kept in
../shared/fixtures/vmx/ (beside the repository, never copied into it); the
module itself is run end to end through ansible-playbook.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.sante_quebec.telesante.plugins.module_utils import vmx

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"  # the collection as it is in the repository
FIXTURE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "vmx"
FIXTURES = sorted(FIXTURE_DIR.glob("*.vmx"))
WIN10 = FIXTURE_DIR / "windows10-x64-workstation.vmx"  # .encoding = "windows-1252"
WIN7 = FIXTURE_DIR / "windows7-x64-workstation17.vmx"  # .encoding = "Shift_JIS"




def copy_fixture(fixture, tmp_path, name=None):
    """Copy a shared fixture into tmp_path (writable) and return the copy's path."""
    target = tmp_path / (name or fixture.name)
    shutil.copyfile(fixture, target)
    target.chmod(0o644)
    return target


def changed_indexes(before, after):
    """Indexes of the lines that differ; both byte strings must have as many lines."""
    old, new = before.split(b"\n"), after.split(b"\n")
    assert len(old) == len(new)
    return [i for i, (a, b) in enumerate(zip(old, new)) if a != b]


def test_fixtures_present():
    assert WIN10.is_file() and WIN7.is_file(), "fixtures attendues dans %s" % FIXTURE_DIR


# --------------------------------------------------------------------------
# Pure functions: parse_vmx / VmxDocument
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_round_trip_byte_for_byte(fixture, tmp_path):
    path = copy_fixture(fixture, tmp_path)
    data = path.read_bytes()
    doc = vmx.parse_vmx(data)
    assert doc.to_bytes() == data
    meaningful = [line for line in data.split(b"\n") if line.strip() and not line.strip().startswith(b"#")]
    assert len(doc.keys()) == len(meaningful)  # every key line is recognized


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_setting_the_current_value_changes_nothing(fixture):
    data = fixture.read_bytes()
    doc = vmx.parse_vmx(data)
    for key, value in doc.items():
        assert doc.set(key, value) is False
    assert doc.to_bytes() == data


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_one_key_changed_changes_exactly_one_line(fixture):
    data = fixture.read_bytes()
    doc = vmx.parse_vmx(data)
    assert doc.set("memsize", "4096") is True
    after = doc.to_bytes()
    indexes = changed_indexes(data, after)
    assert len(indexes) == 1
    assert after.split(b"\n")[indexes[0]] == b'memsize = "4096"\r'
    assert vmx.parse_vmx(after).get("memsize") == "4096"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_new_key_appended_and_removed_key_disappears(fixture):
    data = fixture.read_bytes()
    lines = data.split(b"\r\n")
    doc = vmx.parse_vmx(data)
    assert doc.set("isolation.tools.copy.disable", "TRUE") is True
    assert doc.set("floppy0.present", None) is True
    assert doc.set("cle.absente", None) is False
    after = doc.to_bytes()
    expected = [line for line in lines if not line.startswith(b"floppy0.present")]
    expected.insert(-1, b'isolation.tools.copy.disable = "TRUE"')  # before the final ''
    assert after.split(b"\r\n") == expected
    reread = vmx.parse_vmx(after)
    assert "floppy0.present" not in reread
    assert reread.keys()[-1] == "isolation.tools.copy.disable"


def test_case_insensitive_key_updates_line_in_place():
    data = WIN10.read_bytes()
    doc = vmx.parse_vmx(data)
    assert doc.get("ETHERNET0.ADDRESSTYPE") == "generated"
    assert doc.set("ethernet0.AddressType", "static") is True
    after = doc.to_bytes()
    indexes = changed_indexes(data, after)
    assert len(indexes) == 1
    # original spelling of the key kept, same position in the file
    assert after.split(b"\r\n")[indexes[0]] == b'ethernet0.addressType = "static"'
    assert b"AddressType" not in after


def test_crlf_and_lf_line_endings_preserved(tmp_path):
    crlf = WIN10.read_bytes()
    assert crlf.count(b"\r\n") == crlf.count(b"\n")  # the fixture is CRLF
    lf_path = tmp_path / "lf.vmx"
    lf_path.write_bytes(crlf.replace(b"\r\n", b"\n"))
    crlf_path = copy_fixture(WIN10, tmp_path, "crlf.vmx")
    for path, eol in ((crlf_path, b"\r\n"), (lf_path, b"\n")):
        data = path.read_bytes()
        doc = vmx.parse_vmx(data)
        assert doc.to_bytes() == data
        doc.set("displayName", "Poste DSQ")
        doc.set("annotation", "nouvelle clé")
        after = doc.to_bytes()
        assert after.endswith(eol)
        assert after.count(eol) == after.count(b"\n") == data.count(b"\n") + 1
        if eol == b"\n":
            assert b"\r" not in after


def test_comments_blank_lines_and_odd_lines_kept(tmp_path):
    data = (b"# Gabarit DSQ\n"
            b'.encoding = "UTF-8"\n'
            b"\n"
            b'  memsize  =  "2048"   # commentaire en fin de ligne\n'
            b"ligne sans egal\n"
            b"numvcpus = 2\n"
            b"   \n"
            b'displayName = "sans fin de ligne"')
    doc = vmx.parse_vmx(data)
    assert doc.to_bytes() == data
    assert doc.get("memsize") == "2048"
    assert doc.get("numvcpus") == "2"
    doc.set("memsize", "4096")
    doc.set("numvcpus", "4")
    doc.set("guestOS", "windows9-64")
    assert doc.to_bytes() == (b"# Gabarit DSQ\n"
                              b'.encoding = "UTF-8"\n'
                              b"\n"
                              b'  memsize  =  "4096"   # commentaire en fin de ligne\n'
                              b"ligne sans egal\n"
                              b'numvcpus = "4"\n'
                              b"   \n"
                              b'displayName = "sans fin de ligne"\n'
                              b'guestOS = "windows9-64"\n')


def test_windows_1252_encoding_preserved(tmp_path):
    path = copy_fixture(WIN10, tmp_path)
    original = path.read_bytes()
    # an accented value written by VMware itself, in windows-1252
    data = original.replace(b'displayName = "Windows 10 x64"',
                            'displayName = "Poste médecin"'.encode("cp1252"))
    doc = vmx.parse_vmx(data)
    assert doc.encoding == "windows-1252"
    assert doc.get("displayName") == "Poste médecin"
    assert doc.to_bytes() == data
    doc.set("annotation", "Hôpital de l'Enfant-Jésus, unité é")
    after = doc.to_bytes()
    assert 'annotation = "Hôpital de l\'Enfant-Jésus, unité é"\r\n'.encode("cp1252") in after
    assert "é".encode("utf-8") not in after
    assert after.startswith(data)
    assert vmx.parse_vmx(after).get("annotation") == "Hôpital de l'Enfant-Jésus, unité é"


def test_shift_jis_encoding_preserved():
    data = WIN7.read_bytes()
    doc = vmx.parse_vmx(data)
    assert doc.encoding == "Shift_JIS"
    value = "患者用端末|ビデオ診察"
    doc.set("displayName", value)
    after = doc.to_bytes()
    assert len(changed_indexes(data, after)) == 1
    assert 'displayName = "患者用端末|7Cビデオ診察"'.encode("shift_jis") in after
    assert "患者".encode("utf-8") not in after
    reread = vmx.parse_vmx(after)
    assert reread.get("displayName") == value
    assert reread.to_bytes() == after


def test_bytes_invalid_in_declared_codec_kept_verbatim():
    # Windows writes "Shift_JIS" files with code page 932, whose extensions
    # (here U+2460 CIRCLED DIGIT ONE, 0x87 0x40) Python's shift_jis cannot decode.
    line = 'annotation = "Salle ①"'.encode("cp932")
    with pytest.raises(UnicodeDecodeError):
        line.decode("shift_jis")
    data = WIN7.read_bytes().replace(b'workingDir = "."', line)
    doc = vmx.parse_vmx(data)
    assert doc.to_bytes() == data
    doc.set("displayName", "Poste 3")
    after = doc.to_bytes()
    assert len(changed_indexes(data, after)) == 1
    assert line + b"\r\n" in after
    # transcoding such a file is refused rather than silently corrupted
    doc.set(".encoding", "UTF-8")
    with pytest.raises(vmx.VmxError, match="octets invalides"):
        doc.to_bytes()


def test_unencodable_values_refused_in_french():
    doc = vmx.parse_vmx(WIN10.read_bytes())
    with pytest.raises(vmx.VmxError, match="impossibles à encoder en windows-1252"):
        doc.set("displayName", "患者")
    sjis = vmx.parse_vmx(WIN7.read_bytes())
    with pytest.raises(vmx.VmxError, match="ne se relit pas à l'identique en Shift_JIS"):
        sjis.set("displayName", "prix 100¥")  # U+00A5 is written 0x5C, read back as '\'
    assert doc.to_bytes() == WIN10.read_bytes()


def test_changing_encoding_transcodes_the_file():
    data = WIN10.read_bytes().replace(b'"Windows 10 x64"', '"Poste médecin"'.encode("cp1252"))
    doc = vmx.parse_vmx(data)
    changed = vmx.apply_settings(doc, {"displayName": "患者", ".encoding": "UTF-8"})
    assert changed == ["displayName", ".encoding"]
    after = doc.to_bytes()
    assert after.startswith(b'.encoding = "UTF-8"\r\n')
    assert 'displayName = "患者"'.encode("utf-8") in after
    assert vmx.parse_vmx(after).get("displayName") == "患者"


def test_escaping_of_quote_and_pipe():
    assert vmx.escape_value('a "b" | c') == "a |22b|22 |7C c"
    assert vmx.escape_value("ligne 1\nligne 2\t#3") == "ligne 1|0Aligne 2|09|233"
    assert vmx.unescape_value("a |22b|22 |7c c") == 'a "b" | c'  # lowercase hex too (libvirt)
    assert vmx.unescape_value("a|zz|") == "a|zz|"  # not an escape: kept literally
    assert vmx.unescape_value("caf|C3|A9") == "café"  # escaped UTF-8 bytes
    doc = vmx.parse_vmx(WIN10.read_bytes())
    doc.set("annotation", 'Salle "B" | poste 3')
    after = doc.to_bytes()
    assert b'annotation = "Salle |22B|22 |7C poste 3"\r\n' in after
    assert vmx.parse_vmx(after).get("annotation") == 'Salle "B" | poste 3'


def test_backslash_paths_are_not_escaped():
    doc = vmx.parse_vmx(WIN10.read_bytes())
    assert doc.get("sata0:1.fileName") == "C:\\Windows.iso"
    doc.set("sata0:1.fileName", "D:\\ISO\\Win11.iso")
    assert b'sata0:1.fileName = "D:\\ISO\\Win11.iso"\r\n' in doc.to_bytes()


def test_duplicate_keys_all_updated_last_one_read():
    data = b'.encoding = "UTF-8"\nmemsize = "1024"\nMEMSIZE = "2048"\n'
    doc = vmx.parse_vmx(data)
    assert doc.get("memsize") == "2048"
    doc.set("memsize", "4096")
    assert doc.to_bytes() == b'.encoding = "UTF-8"\nmemsize = "4096"\nMEMSIZE = "4096"\n'
    doc.set("Memsize", None)
    assert doc.to_bytes() == b'.encoding = "UTF-8"\n'


def test_invalid_input_refused_in_french():
    doc = vmx.parse_vmx(WIN10.read_bytes())
    for key in ("", "cle avec espace", 'cle"', "a=b", "a#b", "a|b"):
        with pytest.raises(vmx.VmxError, match="Clé .vmx invalide"):
            doc.set(key, "x")
    with pytest.raises(vmx.VmxError, match="ne diffèrent que par la casse"):
        vmx.apply_settings(doc, {"memsize": "1", "MemSize": "2"})
    with pytest.raises(vmx.VmxError, match="non pris en charge"):
        vmx.apply_settings(doc, {"memsize": ["1"]})
    with pytest.raises(vmx.VmxError, match="inconnu"):
        vmx.parse_vmx(b'.encoding = "pas-un-encodage"\n')
    with pytest.raises(vmx.VmxError, match="compatible ASCII"):
        vmx.parse_vmx(b'.encoding = "UTF-16"\n')


def test_normalize_value_uses_vmware_conventions():
    assert vmx.normalize_value("k", True) == "TRUE"
    assert vmx.normalize_value("k", False) == "FALSE"
    assert vmx.normalize_value("k", 4096) == "4096"
    assert vmx.normalize_value("k", None) is None
    assert vmx.normalize_value("k", "vmxnet3") == "vmxnet3"


def test_find_lock(tmp_path):
    path = copy_fixture(WIN10, tmp_path)
    assert vmx.find_lock(str(path)) is None
    disk_lock = tmp_path / "Windows 10 x64.vmdk.lck"
    disk_lock.mkdir()
    assert vmx.find_lock(str(path)) == str(disk_lock)
    own_lock = tmp_path / (path.name + ".lck")
    own_lock.mkdir()
    assert vmx.find_lock(str(path)) == str(own_lock)


def test_write_atomic_keeps_mode_and_leaves_no_temp_file(tmp_path):
    path = copy_fixture(WIN10, tmp_path)
    path.chmod(0o640)
    vmx.write_atomic(str(path), b'.encoding = "UTF-8"\n')
    assert path.read_bytes() == b'.encoding = "UTF-8"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


# --------------------------------------------------------------------------
# Property tests (hypothesis)
# --------------------------------------------------------------------------

UTF8_DATA = WIN10.read_bytes().replace(b'"windows-1252"', b'"UTF-8"') if WIN10.exists() else b""
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # everything but surrogates
PRINTABLE = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")))


def _check_set_then_parse(data, key, value):
    doc = vmx.parse_vmx(data)
    before = vmx.parse_vmx(data).items()
    doc.set(key, value)
    after = doc.to_bytes()
    reread = vmx.parse_vmx(after)
    assert reread.get(key) == value
    assert reread.to_bytes() == after
    # every other key is untouched
    others = [(k, v) for k, v in reread.items() if k.lower() != key.lower()]
    assert others == [(k, v) for k, v in before if k.lower() != key.lower()]
    assert len(after.split(b"\n")) - len(data.split(b"\n")) == (0 if key.lower() in
                                                                  [k.lower() for k, _ in before] else 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=ANY_TEXT, key=st.sampled_from(["displayName", "annotation", "guestinfo.poste"]))
def test_property_any_text_round_trips_in_utf8(value, key):
    _check_set_then_parse(UTF8_DATA, key, value)


@settings(max_examples=200, deadline=None)
@given(value=PRINTABLE)
def test_property_printable_text_round_trips_in_utf8(value):
    _check_set_then_parse(UTF8_DATA, "annotation", value)


@settings(max_examples=200, deadline=None)
@given(value=st.text(st.characters(codec="cp1252")))
def test_property_windows_1252_values_round_trip(value):
    _check_set_then_parse(WIN10.read_bytes(), "displayName", value)


@settings(max_examples=200, deadline=None)
@given(value=st.text(st.characters(codec="shift_jis", exclude_characters="\u00a5\u203e")))
def test_property_shift_jis_values_round_trip(value):
    _check_set_then_parse(WIN7.read_bytes(), "displayName", value)


# --------------------------------------------------------------------------
# The Ansible module itself, run through ansible-playbook
# --------------------------------------------------------------------------

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def run_playbook(tmp_path, module_args, *options):
    """Run one telesante_vmx task on localhost; return (recap counters, output)."""
    playbook = tmp_path / "playbook.yml"
    # JSON is valid YAML and avoids any quoting problem
    playbook.write_text(json.dumps([{
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{"name": "vmx", "sante_quebec.telesante.telesante_vmx": module_args}],
    }]))
    home = tmp_path / "ansible_home"
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_HOME": str(home),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(home / "remote_tmp"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_CONFIG": str(tmp_path / "absent.cfg"),
        "LC_ALL": "C.UTF-8",
    })
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-c", "local", "-i", "localhost,", str(playbook)] + list(options),
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                      output)
    assert recap, output
    counters = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, recap.groups())))
    return counters, output


def backups_of(path):
    return sorted(path.parent.glob(path.name + ".*~"))


def test_module_end_to_end(tmp_path):
    (tmp_path / "vm").mkdir()
    path = copy_fixture(WIN10, tmp_path / "vm", "DSQ.vmx")
    original = path.read_bytes()
    args = {
        "path": str(path),
        "settings": {
            "ethernet0.virtualDev": "vmxnet3",
            "memsize": 4096,
            "floppy0.present": None,
            "isolation.tools.copy.disable": True,
        },
    }

    # --check: reports the change, writes nothing
    counters, output = run_playbook(tmp_path, args, "--check")
    assert counters["changed"] == 1 and counters["failed"] == 0, output
    assert path.read_bytes() == original
    assert backups_of(path) == []

    # real run, with --diff
    counters, output = run_playbook(tmp_path, args, "--diff")
    assert counters["changed"] == 1 and counters["failed"] == 0, output
    assert '-ethernet0.virtualDev = "e1000e"' in output
    assert '+ethernet0.virtualDev = "vmxnet3"' in output
    assert '-floppy0.present = "FALSE"' in output
    after = path.read_bytes()
    doc = vmx.parse_vmx(after)
    assert doc.get("ethernet0.virtualDev") == "vmxnet3"
    assert doc.get("memsize") == "4096"
    assert doc.get("isolation.tools.copy.disable") == "TRUE"
    assert "floppy0.present" not in doc
    assert after.startswith(b'.encoding = "windows-1252"\r\n')
    assert after.count(b"\r\n") == after.count(b"\n") == original.count(b"\n")  # -1 +1 line
    backups = backups_of(path)
    assert len(backups) == 1 and backups[0].read_bytes() == original
    assert stat.S_IMODE(path.stat().st_mode) == 0o644

    # second run: idempotent
    counters, output = run_playbook(tmp_path, args)
    assert counters["changed"] == 0 and counters["failed"] == 0, output
    assert path.read_bytes() == after
    assert len(backups_of(path)) == 1


def test_module_refuses_when_vm_is_running(tmp_path):
    path = copy_fixture(WIN10, tmp_path, "DSQ.vmx")
    original = path.read_bytes()
    lock = tmp_path / "DSQ.vmx.lck"
    lock.mkdir()
    (lock / "M12345.lck").write_text("verrou VMware")

    counters, output = run_playbook(tmp_path, {"path": str(path), "settings": {"memsize": "8192"}})
    assert counters["failed"] == 1, output
    assert "est en cours d'exécution (verrou %s): le .vmx n'est pas modifié" % lock in output
    assert path.read_bytes() == original
    assert backups_of(path) == []

    # a file that already has the requested values is reported unchanged, VM running or not
    counters, output = run_playbook(tmp_path, {"path": str(path), "settings": {"memsize": "2048"}})
    assert counters["failed"] == 0 and counters["changed"] == 0, output

    # refuse_if_running: false lets the change through
    counters, output = run_playbook(tmp_path, {"path": str(path), "settings": {"memsize": "8192"},
                                               "refuse_if_running": False, "backup": False})
    assert counters["changed"] == 1, output
    assert vmx.parse_vmx(path.read_bytes()).get("memsize") == "8192"
    assert backups_of(path) == []


def test_module_missing_file_and_create(tmp_path):
    path = tmp_path / "Nouveau.vmx"
    counters, output = run_playbook(tmp_path, {"path": str(path), "settings": {"memsize": "2048"}})
    assert counters["failed"] == 1, output
    assert "Le fichier %s est introuvable" % path in output
    assert not path.exists()

    args = {"path": str(path), "create": True, "settings": {"displayName": "Gabarit é", "memsize": 2048}}
    counters, output = run_playbook(tmp_path, args)
    assert counters["changed"] == 1 and counters["failed"] == 0, output
    assert path.read_bytes() == ('.encoding = "UTF-8"\ndisplayName = "Gabarit é"\n'
                                 'memsize = "2048"\n').encode("utf-8")
    assert backups_of(path) == []
    counters, output = run_playbook(tmp_path, args)
    assert counters["changed"] == 0, output


# --------------------------------------------------------------------------
# Encrypted virtual machines (vTPM): the module never edits their .vmx
# --------------------------------------------------------------------------

# What Fusion leaves in clear in an encrypted .vmx: everything else is inside
# encryption.data (values shortened; see the README, « VM chiffrée »).
VMX_CHIFFRE = (
    b'.encoding = "UTF-8"\n'
    b'displayName = "Windows 11 venue d\'ailleurs"\n'
    b'encryption.keySafe = "vmware:key/list/(pair/(phrase/abc%2f/pass2key%3dPBKDF2-HMAC-SHA-1)"\n'
    b'encryption.data = "U2ltdWxlIDogZG9ubsOpZXMgY2hpZmZyw6llcw=="\n'
)


@pytest.mark.parametrize("cle", ["encryption.keySafe", "ENCRYPTION.DATA"])
def test_encryption_detected_case_insensitively(cle):
    doc = vmx.parse_vmx(b'config.version = "8"\n%s = "x"\n' % cle.encode())
    assert vmx.encryption_keys(doc) == [cle]
    assert vmx.encryption_keys(vmx.parse_vmx(WIN10.read_bytes())) == []


@pytest.mark.parametrize("options", [[], ["--check"]])
def test_module_refuses_to_edit_an_encrypted_vmx(tmp_path, options):
    path = tmp_path / "DSQ.vmx"
    path.write_bytes(VMX_CHIFFRE)
    args = {"path": str(path), "settings": {"usb.autoConnect.device0": "deviceType:virtual-smartcard"},
            "refuse_if_running": False}
    counters, output = run_playbook(tmp_path, args, *options)
    assert counters["failed"] == 1 and counters["changed"] == 0, output
    assert "est chiffrée par VMware (encryption.keySafe, encryption.data)" in output
    assert "usb.autoConnect.device0" in output  # says what was not applied
    assert "Réglages" in output and "mot de passe" in output  # says what to do
    assert path.read_bytes() == VMX_CHIFFRE
    assert backups_of(path) == []


def test_module_refuses_to_remove_a_key_from_an_encrypted_vmx(tmp_path):
    path = tmp_path / "DSQ.vmx"
    path.write_bytes(VMX_CHIFFRE)
    counters, output = run_playbook(tmp_path, {"path": str(path), "settings": {"displayName": None}})
    assert counters["failed"] == 1, output
    assert path.read_bytes() == VMX_CHIFFRE


def test_module_encrypted_vmx_already_as_wanted_is_unchanged(tmp_path):
    path = tmp_path / "DSQ.vmx"
    path.write_bytes(VMX_CHIFFRE)
    counters, output = run_playbook(tmp_path, {"path": str(path),
                                               "settings": {"displayName": "Windows 11 venue d'ailleurs"}})
    assert counters["failed"] == 0 and counters["changed"] == 0, output
