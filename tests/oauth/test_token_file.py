"""The token file: atomic replacement, modes, owners, validation and the lock."""

import json
import multiprocessing
import os
import shutil
import stat
import tempfile

import pytest

import zoho_crm_oauth as oauth

DATA = {"access_token": "1000.access.token", "refresh_token": "1000.refresh.token",
        "api_domain": "https://www.zohoapis.com", "expires_in": 3600, "token_type": "Bearer",
        "scope": "ZohoCRM.modules.deals.READ", "expires_at": "2026-01-01T00:00:00Z"}
RECORD = oauth.TokenRecord.from_json(DATA, "a test")


def write(token_file, record):
    with token_file.locked() as locked:
        locked.write(record)


def replaced(record, **changes):
    return oauth.TokenRecord.from_json(dict(record.to_json(), **changes), "a test")


@pytest.fixture
def token_file(tmp_path):
    directory = tmp_path / "credentials"
    directory.mkdir(mode=0o700)
    return oauth.TokenFile(str(directory / oauth.TOKENS_FILENAME))


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_then_read_round_trips_in_the_guides_field_order(token_file):
    write(token_file, oauth.TokenRecord.from_json(dict(reversed(list(DATA.items()))), "a test"))
    assert token_file.read() == RECORD
    with open(token_file.path) as handle:
        data = json.load(handle)
    assert data == DATA and list(data)[:6] == list(oauth.GUIDE_TOKEN_FIELDS)


def test_only_the_locked_handle_writes_and_only_while_it_holds_the_lock(token_file):
    assert not hasattr(token_file, "write") and not hasattr(token_file, "remove")
    with token_file.locked() as locked:
        locked.write(RECORD)
    with pytest.raises(RuntimeError, match="lock .* was released"):
        locked.write(RECORD)
    with pytest.raises(RuntimeError, match="lock .* was released"):
        locked.remove()
    assert token_file.read() == RECORD


def test_new_file_is_0600_even_under_a_permissive_umask(token_file):
    old = os.umask(0o000)
    try:
        write(token_file, RECORD)
    finally:
        os.umask(old)
    assert mode_of(token_file.path) == 0o600
    assert mode_of(token_file.lock_path) == 0o600


def test_replacing_a_loosened_file_leaves_0600(token_file):
    write(token_file, RECORD)
    os.chmod(token_file.path, 0o644)
    write(token_file, replaced(RECORD, access_token="1000.new.token"))
    assert mode_of(token_file.path) == 0o600
    assert token_file.read().access_token == "1000.new.token"


def test_write_leaves_no_temporary_file_behind(token_file):
    write(token_file, RECORD)
    assert sorted(os.listdir(os.path.dirname(token_file.path))) == [oauth.TOKENS_FILENAME,
                                                                     oauth.TOKENS_FILENAME + ".lock"]


def test_failed_write_keeps_the_old_file_cleans_up_and_names_the_fix(token_file, monkeypatch):
    write(token_file, RECORD)
    before = open(token_file.path, "rb").read()

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(oauth.TokenFileError) as raised:
        write(token_file, replaced(RECORD, access_token="1000.new.token"))
    monkeypatch.undo()
    assert "No space left on device" in str(raised.value) and "Fix: check the owner and mode" in str(raised.value)
    assert raised.value.exit_status == oauth.EXIT_CONFIG
    assert open(token_file.path, "rb").read() == before
    assert sorted(os.listdir(os.path.dirname(token_file.path))) == [oauth.TOKENS_FILENAME,
                                                                     oauth.TOKENS_FILENAME + ".lock"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_files_written_as_root_belong_to_the_directory_owner(token_file):
    directory = os.path.dirname(token_file.path)
    os.chown(directory, 1234, 1234)
    write(token_file, RECORD)
    for path in (token_file.path, token_file.lock_path):
        assert (os.stat(path).st_uid, os.stat(path).st_gid) == (1234, 1234)


def test_missing_file_reads_as_none(token_file):
    assert token_file.read() is None
    assert not token_file.exists()


@pytest.mark.parametrize("content, fragment", [
    ("{broken", "not a JSON object"),
    ('{"access_token": "a"}', "lacks api_domain"),
])
def test_damaged_file_is_reported_without_its_content(token_file, content, fragment):
    with open(token_file.path, "w") as handle:
        handle.write(content)
    with pytest.raises(oauth.TokenFileError) as caught:
        token_file.read()
    assert fragment in str(caught.value)
    assert "Fix:" in str(caught.value)
    assert '"a"' not in str(caught.value)


def _read_as_nobody(path, queue):
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)  # root reads any file: drop to nobody to see what the agent's user would
    try:
        oauth.TokenFile(path).read()
        queue.put("read")
    except oauth.TokenFileError as exc:
        queue.put(str(exc))


def test_unreadable_file_names_the_fix():
    directory = tempfile.mkdtemp(prefix="zoho-unreadable-")
    try:
        os.chmod(directory, 0o755)
        token_file = oauth.TokenFile(os.path.join(directory, oauth.TOKENS_FILENAME))
        write(token_file, RECORD)
        os.chmod(token_file.path, 0)
        queue = multiprocessing.Queue()
        reader = multiprocessing.Process(target=_read_as_nobody, args=(token_file.path, queue))
        reader.start()
        reader.join(10)
        message = queue.get(timeout=5)
    finally:
        shutil.rmtree(directory)
    assert "Cannot read the token file" in message
    assert "owner and mode" in message


def test_remove_deletes_the_file_then_the_lock(token_file):
    with token_file.locked() as locked:
        locked.write(RECORD)
        assert locked.remove() is True
        assert locked.remove() is False
    token_file.remove_lock()
    assert os.listdir(os.path.dirname(token_file.path)) == []
    token_file.remove_lock()  # nothing left: still fine


def test_lock_without_credentials_directory_names_the_fix(tmp_path):
    missing = oauth.TokenFile(str(tmp_path / "nowhere" / oauth.TOKENS_FILENAME))
    with pytest.raises(oauth.TokenFileError, match="does not exist"):
        with missing.locked():
            pass


def _hold_lock(path, ready, release):
    with oauth.TokenFile(path).locked():
        ready.set()
        release.wait(10)


def test_lock_is_exclusive_across_processes_and_times_out(token_file):
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(token_file.path, ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(oauth.TokenFileError, match="Another process has held"):
            with token_file.locked(timeout=0.3):
                pass
    finally:
        release.set()
        holder.join(10)
    with token_file.locked(timeout=5):
        pass  # free again once the holder is gone


def test_taking_the_lock_clears_a_killed_writers_temporary_file(token_file):
    directory = os.path.dirname(token_file.path)
    stale = os.path.join(directory, "." + oauth.TOKENS_FILENAME + ".abc123.tmp")
    unrelated = os.path.join(directory, "notes.tmp")
    for path in (stale, unrelated):
        with open(path, "w") as handle:
            handle.write("{")
    with token_file.locked():
        pass
    assert not os.path.exists(stale)
    assert os.path.exists(unrelated)
