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


def _planted_victim(tmp_path):
    """A file of root's outside the credentials directory, which a link planted there points at."""
    victim = tmp_path / "root-only"
    victim.write_text("root's\n")
    victim.chmod(0o600)
    return victim


def _unchanged(victim):
    status = victim.stat()
    return (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode), victim.read_text()) == (0, 0, 0o600, "root's\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="root's writes into the agent's directory are what this guards")
@pytest.mark.parametrize("planted", ["symlink", "hard link"])
def test_root_never_takes_a_planted_lock_file(token_file, tmp_path, planted):
    """The agent's user owns the credentials directory, so it can put a link where root (the module
    under become) opens the lock with O_CREAT and then gives it the token file's owner: followed, a
    link would hand any file of root's to the agent."""
    directory = os.path.dirname(token_file.path)
    os.chown(directory, 1234, 1234)
    victim = _planted_victim(tmp_path)
    (os.symlink if planted == "symlink" else os.link)(victim, token_file.lock_path)
    with pytest.raises(oauth.TokenFileError) as caught:
        write(token_file, RECORD)
    assert "Fix: remove it" in str(caught.value)
    assert _unchanged(victim)
    assert not os.path.exists(token_file.path)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_root_gives_an_existing_lock_file_of_its_own_the_token_files_owner(token_file):
    directory = os.path.dirname(token_file.path)
    os.chown(directory, 1234, 1234)
    open(token_file.lock_path, "w").close()  # root's, left by an older version
    write(token_file, RECORD)
    assert (os.stat(token_file.lock_path).st_uid, os.stat(token_file.lock_path).st_gid) == (1234, 1234)


@pytest.mark.parametrize("planted", ["symlink", "dangling symlink", "fifo"])
def test_a_token_file_that_is_not_a_regular_file_is_refused(token_file, tmp_path, planted):
    victim = _planted_victim(tmp_path)
    victim.write_text(json.dumps(DATA))
    if planted == "fifo":
        os.mkfifo(token_file.path)  # opened without O_NONBLOCK, the read would wait for a writer forever
    else:
        os.symlink(victim if planted == "symlink" else tmp_path / "nothing", token_file.path)
    with pytest.raises(oauth.TokenFileError) as caught:
        token_file.read()
    assert ("symbolic link" if "symlink" in planted else "is a FIFO, not a regular file") in str(caught.value)
    assert "Fix:" in str(caught.value) and "1000.refresh" not in str(caught.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
def test_a_write_replaces_a_planted_token_file_link_without_following_it(token_file, tmp_path):
    directory = os.path.dirname(token_file.path)
    os.chown(directory, 1234, 1234)
    victim = _planted_victim(tmp_path)
    os.symlink(victim, token_file.path)
    write(token_file, RECORD)
    assert _unchanged(victim)
    assert not os.path.islink(token_file.path) and token_file.read() == RECORD
    assert (os.stat(token_file.path).st_uid, os.stat(token_file.path).st_gid) == (1234, 1234)


@pytest.mark.skipif(os.geteuid() != 0, reason="root alone refuses a token file with other hard links")
def test_a_token_file_replaced_while_it_is_read_reads_whole(token_file, monkeypatch):
    """A reader that opened the file just before a writer renamed a new one over it holds a file
    with no link left: still a file of its own (the previous record), not a planted hard link."""
    write(token_file, RECORD)
    real_fstat = os.fstat
    replaced_meanwhile = []

    def fstat_after_a_writer(fd):
        if not replaced_meanwhile:
            replaced_meanwhile.append(fd)
            monkeypatch.setattr(os, "fstat", real_fstat)
            write(token_file, replaced(RECORD, access_token="1000.new.token"))
        return real_fstat(fd)

    monkeypatch.setattr(os, "fstat", fstat_after_a_writer)
    assert token_file.read() == RECORD
    assert replaced_meanwhile and token_file.read().access_token == "1000.new.token"


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


# ---- a separate refresher's agent copy --------------------------------------------------------

@pytest.fixture
def refresher_file(tmp_path):
    """The refresher's token file, with the agent's copy in another directory."""
    for name in ("refresher", "agent"):
        (tmp_path / name).mkdir(mode=0o700)
    return oauth.TokenFile(str(tmp_path / "refresher" / oauth.TOKENS_FILENAME),
                           agent_path=str(tmp_path / "agent" / oauth.TOKENS_FILENAME))


def agent_copy(refresher_file):
    with open(refresher_file.agent_path) as handle:
        return json.load(handle)


def test_a_write_also_writes_the_agents_copy_without_anything_that_mints(refresher_file):
    full = replaced(RECORD, client_id="1000.CLIENT", code_sha256="ab" * 32, accounts_server="https://accounts.zoho.com")
    write(refresher_file, full)
    assert refresher_file.read() == full
    copy = agent_copy(refresher_file)
    assert copy == {"access_token": DATA["access_token"], "api_domain": DATA["api_domain"], "expires_in": 3600,
                    "token_type": "Bearer", "scope": DATA["scope"], "expires_at": DATA["expires_at"],
                    "refresher_dir": os.path.dirname(refresher_file.path)}
    assert mode_of(refresher_file.agent_path) == 0o600


def test_publish_writes_only_what_differs(refresher_file):
    write(refresher_file, RECORD)
    with refresher_file.locked() as locked:
        assert locked.publish(RECORD) is False
    os.chmod(refresher_file.agent_path, 0o644)
    with refresher_file.locked() as locked:
        assert locked.publish(RECORD) is True
    assert mode_of(refresher_file.agent_path) == 0o600
    os.unlink(refresher_file.agent_path)
    with refresher_file.locked() as locked:
        assert locked.publish(RECORD) is True
        assert locked.publish(RECORD) is False
    assert agent_copy(refresher_file)["access_token"] == DATA["access_token"]


def test_the_agents_copy_in_a_symlinked_directory_is_refused(refresher_file, tmp_path):
    agent_dir = os.path.dirname(refresher_file.agent_path)
    os.rmdir(agent_dir)
    os.symlink(str(tmp_path / "refresher"), agent_dir)
    with pytest.raises(oauth.TokenFileError, match="is not a directory .* Fix:"):
        write(refresher_file, RECORD)


def test_remove_takes_the_agents_copy_too(refresher_file):
    write(refresher_file, RECORD)
    with refresher_file.locked() as locked:
        assert locked.remove()
    assert not os.path.exists(refresher_file.path) and not os.path.exists(refresher_file.agent_path)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can write files for another user")
def test_the_agents_copy_belongs_to_the_owner_of_its_directory(refresher_file):
    os.chown(os.path.dirname(refresher_file.agent_path), 65534, 65534)
    write(refresher_file, RECORD)
    assert (os.stat(refresher_file.agent_path).st_uid, os.stat(refresher_file.agent_path).st_gid) == (65534, 65534)
    assert os.stat(refresher_file.path).st_uid == 0


def test_the_agents_copy_is_usable_only_while_fresh():
    copy = RECORD.for_agent("/var/lib/zoho-crm/node")
    copy.source = "/home/node/.openclaw/credentials/zoho-crm-tokens.json"
    copy.updated_at = "2026-01-01T00:00:00Z"
    expires = RECORD.expires_at
    copy.require_fresh_agent_copy(now=expires - oauth.AGENT_COPY_MIN_TTL - 1)
    for now, state in ((expires - 30, "expires at 2026-01-01T00:00:00Z (30 s left)"),
                       (expires + 5, "expired at 2026-01-01T00:00:00Z")):
        with pytest.raises(oauth.RefresherStaleError) as raised:
            copy.require_fresh_agent_copy(now=now)
        message = str(raised.value)
        assert state in message and "last wrote it at 2026-01-01T00:00:00Z" in message and "\n" not in message
        assert "python3 /var/lib/zoho-crm/node/tools/zoho-crm-refresh-token.py --credentials-dir " \
               "/var/lib/zoho-crm/node --agent-token-file /home/node/.openclaw/credentials/zoho-crm-tokens.json" in message
    with pytest.raises(oauth.RefresherStaleError, match="was refused by Zoho CRM"):
        copy.require_fresh_agent_copy(rejected_access_token=copy.access_token, now=expires - 3000)


# ---- root in a directory the agent's user owns: one descriptor, no link it can swap in ------------

AGENT_UID = 1234
OTHER_UID = 4321
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="root writing into the agent's directories is what this guards")


def _agent_tree(base, uid):
    """base/.openclaw/credentials as an agent's host mode has them: the agent owns all three."""
    credentials = base / ".openclaw" / "credentials"
    credentials.mkdir(parents=True, mode=0o700)
    for directory in (base, base / ".openclaw", credentials):
        os.chown(directory, uid, uid)
    return credentials


def _snapshot(directory):
    """Everything under directory: each entry's name, kind, owner, mode and bytes."""
    seen = {}
    for root, dirs, files in os.walk(str(directory)):
        for name in dirs + files:
            path = os.path.join(root, name)
            status = os.lstat(path)
            content = open(path, "rb").read() if stat.S_ISREG(status.st_mode) else None
            seen[os.path.relpath(path, str(directory))] = (status.st_mode, status.st_uid, status.st_gid, content)
    return seen


def _swap_for_a_link(swapped, target):
    """What the agent does mid-write: moves its directory aside and puts a link to target in its place."""
    os.rename(str(swapped), str(swapped) + ".moved")
    os.symlink(str(target), str(swapped))


def _swap_at(monkeypatch, step, call, swap):
    """Run swap when root reaches step (a function of the module) for the call-th time."""
    real = getattr(oauth, step)
    calls = []

    def swapping(*args):
        calls.append(args)
        if len(calls) == call:
            swap()
        return real(*args)

    monkeypatch.setattr(oauth, step, swapping)
    return calls


@pytest.fixture
def victim(tmp_path):
    """Another agent's credentials directory, holding its token file: what a swapped-in link points at."""
    credentials = _agent_tree(tmp_path / "other", OTHER_UID)
    (credentials / oauth.TOKENS_FILENAME).write_text('{"the other agent": "its tokens"}\n')
    os.chown(str(credentials / oauth.TOKENS_FILENAME), OTHER_UID, OTHER_UID)
    return credentials


# Before the temporary file is created (the check is made, the directory opened), and after (before the rename).
SWAP_STEPS = ["_create_temporary_file", "_write_all"]


@as_root
@pytest.mark.parametrize("step", SWAP_STEPS)
@pytest.mark.parametrize("swapped", ["credentials", ".openclaw"])
def test_a_directory_swapped_for_a_link_mid_write_never_redirects_the_token_file(tmp_path, victim, monkeypatch,
                                                                               step, swapped):
    """Host mode: the module under become writes the token file into the agent's credentials
    directory. The agent swaps that directory, or ~/.openclaw, for a link to another agent's while
    root writes: the file still lands in the directory root opened, nothing of the other's changes."""
    credentials = _agent_tree(tmp_path / "agent", AGENT_UID)
    token_file = oauth.TokenFile(str(credentials / oauth.TOKENS_FILENAME))
    swapped_path = credentials if swapped == "credentials" else credentials.parent
    before = _snapshot(tmp_path / "other")
    calls = _swap_at(monkeypatch, step, 1, lambda: _swap_for_a_link(
        swapped_path, victim if swapped == "credentials" else victim.parent))
    write(token_file, RECORD)
    monkeypatch.undo()
    assert len(calls) == 1
    assert _snapshot(tmp_path / "other") == before
    opened = (tmp_path / "agent" / ".openclaw.moved" / "credentials" if swapped == ".openclaw"
              else tmp_path / "agent" / ".openclaw" / "credentials.moved")
    landed = opened / oauth.TOKENS_FILENAME
    assert oauth.TokenFile(str(landed)).read() == RECORD
    assert (os.stat(str(landed)).st_uid, os.stat(str(landed)).st_gid) == (AGENT_UID, AGENT_UID)
    assert sorted(os.listdir(str(opened))) == [oauth.TOKENS_FILENAME, oauth.TOKENS_FILENAME + ".lock"]
    with pytest.raises(oauth.TokenFileError) as refused:  # the next run meets the link and refuses it
        write(token_file, RECORD)
    assert "is a symbolic link in a directory uid %d can change, so it is never followed. Fix:" % AGENT_UID \
        in str(refused.value)
    assert _snapshot(tmp_path / "other") == before


@as_root
@pytest.mark.parametrize("step", SWAP_STEPS)
def test_the_agents_directory_swapped_for_a_link_mid_write_never_redirects_its_copy(tmp_path, victim, monkeypatch,
                                                                                  step):
    """A separate refresher (root) writes the agent's copy into the agent's credentials directory;
    the agent swaps it for a link to another agent's between root's check and the rename."""
    credentials = _agent_tree(tmp_path / "agent", AGENT_UID)
    (tmp_path / "refresher").mkdir(mode=0o700)
    refresher_file = oauth.TokenFile(str(tmp_path / "refresher" / oauth.TOKENS_FILENAME),
                                     agent_path=str(credentials / oauth.TOKENS_FILENAME))
    before = _snapshot(tmp_path / "other")
    # The refresher's own file is written first (call 1), the agent's copy second.
    calls = _swap_at(monkeypatch, step, 2, lambda: _swap_for_a_link(credentials, victim))
    write(refresher_file, RECORD)
    monkeypatch.undo()
    assert len(calls) == 2
    assert _snapshot(tmp_path / "other") == before
    opened = tmp_path / "agent" / ".openclaw" / "credentials.moved"
    landed = opened / oauth.TOKENS_FILENAME
    copy = oauth.TokenFile(str(landed)).read()
    assert copy.access_token == RECORD.access_token and copy.refresh_token is None
    assert (os.stat(str(landed)).st_uid, os.stat(str(landed)).st_gid) == (AGENT_UID, AGENT_UID)
    assert os.listdir(str(opened)) == [oauth.TOKENS_FILENAME]
    assert refresher_file.read() == RECORD
    with pytest.raises(oauth.TokenFileError, match="is not a directory .* Fix:"):
        write(refresher_file, RECORD)
    assert _snapshot(tmp_path / "other") == before


def _through_a_link(tmp_path, owner, mode=0o755):
    """tmp_path/home/.openclaw, a link owned by owner's directory home (mode), to a real .openclaw elsewhere."""
    real = _agent_tree(tmp_path / "elsewhere", AGENT_UID)
    home = tmp_path / "home"
    home.mkdir()
    os.chown(str(home), owner, owner)
    os.chmod(str(home), mode)
    os.symlink(str(real.parent), str(home / ".openclaw"))
    return home / ".openclaw" / "credentials", real


@as_root
@pytest.mark.parametrize("owner, mode, who", [
    (AGENT_UID, 0o755, "uid %d" % AGENT_UID),
    (0, 0o775, "other users"),  # root's, but its group may change it
])
@pytest.mark.parametrize("written", ["token file", "agent's copy"])
def test_a_link_in_a_directory_another_user_can_change_is_refused(tmp_path, owner, mode, who, written):
    credentials, real = _through_a_link(tmp_path, owner, mode)
    if written == "token file":
        token_file = oauth.TokenFile(str(credentials / oauth.TOKENS_FILENAME))
    else:
        (tmp_path / "refresher").mkdir(mode=0o700)
        token_file = oauth.TokenFile(str(tmp_path / "refresher" / oauth.TOKENS_FILENAME),
                                     agent_path=str(credentials / oauth.TOKENS_FILENAME))
    before = _snapshot(real)
    with pytest.raises(oauth.TokenFileError) as refused:
        write(token_file, RECORD)
    message = str(refused.value)
    assert message == (
        "%s is a symbolic link in a directory %s can change, so it is never followed. Fix: put the directory it "
        "points to in its place (or name the real path in the role's settings) and run the provisioning playbook "
        "(ansible-playbook playbooks/provision.yml)." % (tmp_path / "home" / ".openclaw", who))
    assert _snapshot(real) == before


@as_root
@pytest.mark.parametrize("link", ["absolute", "relative"])
def test_a_link_in_a_directory_only_root_can_change_is_followed(tmp_path, link):
    """Like /home -> /usr/home: root's own links are followed, relative ones (with ..) as the kernel would."""
    (tmp_path / "usr" / "home").mkdir(parents=True)
    credentials = _agent_tree(tmp_path / "usr" / "home" / "node", AGENT_UID)
    os.symlink(str(tmp_path / "usr" / "home") if link == "absolute" else "usr/../usr/home", str(tmp_path / "home"))
    token_file = oauth.TokenFile(str(tmp_path / "home" / "node" / ".openclaw" / "credentials" / oauth.TOKENS_FILENAME))
    write(token_file, RECORD)
    assert token_file.read() == RECORD
    landed = credentials / oauth.TOKENS_FILENAME
    assert oauth.TokenFile(str(landed)).read() == RECORD
    assert os.stat(str(landed)).st_uid == AGENT_UID
    with token_file.locked() as locked:
        assert locked.remove()
    token_file.remove_lock()
    assert os.listdir(str(credentials)) == []


@as_root
@pytest.mark.parametrize("link_owner, followed", [(0, True), (AGENT_UID, False)])
def test_a_link_in_a_sticky_directory_is_followed_only_when_root_owns_it(tmp_path, link_owner, followed):
    """A sticky, world-writable directory (like /tmp): only the link's owner can replace it."""
    credentials = _agent_tree(tmp_path / "elsewhere", AGENT_UID)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    os.symlink(str(credentials), str(shared / "credentials"))
    os.lchown(str(shared / "credentials"), link_owner, link_owner)
    token_file = oauth.TokenFile(str(shared / "credentials" / oauth.TOKENS_FILENAME))
    if followed:
        write(token_file, RECORD)
        assert oauth.TokenFile(str(credentials / oauth.TOKENS_FILENAME)).read() == RECORD
    else:
        with pytest.raises(oauth.TokenFileError, match="is a symbolic link in a directory other users can change"):
            write(token_file, RECORD)
        assert os.listdir(str(credentials)) == []


def test_the_agents_copy_without_its_directory_names_the_fix(refresher_file):
    os.rmdir(os.path.dirname(refresher_file.agent_path))
    with pytest.raises(oauth.TokenFileError) as missing:
        write(refresher_file, RECORD)
    assert str(missing.value) == (
        "The agent's credentials directory %s does not exist, so the agent's token file was not written. Fix: run "
        "the provisioning playbook (ansible-playbook playbooks/provision.yml)." % os.path.dirname(refresher_file.agent_path))
    with refresher_file.locked() as locked:
        assert locked.remove()  # nothing of the agent's to remove: the refresher's file goes
