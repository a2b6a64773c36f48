"""The Docker test bed itself: the image is what OpenClaw's official one is where the agent's tools can
tell, the container is run as Compose runs it, locks and files cross the bind mount, the real
OpenClaw CLI runs inside, and the bed leaves nothing behind."""

import fcntl
import hashlib
import io
import json
import os
import pwd
import subprocess
import tarfile
import time

import pytest

from docker_harness import (
    AGENT_GID,
    AGENT_UID,
    GATEWAY_SERVICE,
    STATE_DIR,
    TESTBED_SCRIPT,
    WORKSPACE_DIR,
    DockerEngine,
    DockerTestbedError,
    agent_owned_dir,
    run_testbed,
    snapshot,
    why_docker_tests_cannot_run,
)


def test_the_host_has_no_user_named_node():
    # What proves that the Docker tests never lean on a host user of the agent's name.
    with pytest.raises(KeyError):
        pwd.getpwnam("node")


def test_python3_has_the_standard_library_but_not_requests(openclaw_container):
    container = openclaw_container()
    stdlib = container.exec("python3", "-c", "import json, ssl, http.client, fcntl; print(ssl.OPENSSL_VERSION)")
    assert stdlib.stdout.startswith("OpenSSL 3.")
    requests = container.exec("python3", "-c", "import requests", check=False)
    assert requests.returncode == 1
    assert "ModuleNotFoundError: No module named 'requests'" in requests.stderr
    package = container.exec("dpkg-query", "--show", "--showformat=${Status}", "python3-requests", check=False)
    assert "install ok installed" not in package.stdout


def test_the_agent_is_node_uid_1000_under_tini(openclaw_container):
    container = openclaw_container()
    assert container.exec("id", "-u", "-n").stdout.split() == ["node"]
    assert container.exec("sh", "-c", "echo $(id -u) $(id -g) $HOME").stdout.split() == ["1000", "1000", "/home/node"]
    assert container.exec("readlink", "/proc/1/exe").stdout.strip() == "/usr/bin/tini"
    assert container.inspect()["Config"]["User"] == "node"


def test_the_image_has_home_node_openclaw_0700(docker_engine, openclaw_image):
    unmounted = docker_engine.docker("run", "--rm", "--network", "none", "--pull", "never", openclaw_image,
                                     "stat", "-c", "%a %U:%G %u:%g", STATE_DIR)
    assert unmounted.stdout.split() == ["700", "node:node", "1000:1000"]


def test_the_state_directory_is_the_bind_mount(openclaw_container, tmp_path):
    config_dir = agent_owned_dir(tmp_path / "config")
    workspace_dir = agent_owned_dir(tmp_path / "elsewhere" / "workspace", mode=0o755)
    container = openclaw_container(config_dir, workspace_dir)

    (config_dir / "from-host.txt").write_text("written on the host\n")
    (workspace_dir / "in-workspace.txt").write_text("the workspace mount\n")
    assert container.exec("cat", f"{STATE_DIR}/from-host.txt").stdout == "written on the host\n"
    assert container.exec("cat", f"{WORKSPACE_DIR}/in-workspace.txt").stdout == "the workspace mount\n"
    container.exec("sh", "-c", f"echo written in the container > {STATE_DIR}/from-container.txt")
    written = config_dir / "from-container.txt"
    assert written.read_text() == "written in the container\n"
    assert (written.stat().st_uid, written.stat().st_gid) == (AGENT_UID, AGENT_GID)

    mount_points = container.exec("awk", "{print $5}", "/proc/self/mountinfo").stdout.split()
    assert STATE_DIR in mount_points and WORKSPACE_DIR in mount_points
    mounts = {mount["Destination"]: mount for mount in container.inspect()["Mounts"]}
    assert set(mounts) == {STATE_DIR, WORKSPACE_DIR}
    state_mount = mounts[STATE_DIR]
    assert (state_mount["Type"], state_mount["Source"], state_mount["RW"]) == ("bind", str(config_dir), True)
    assert mounts[WORKSPACE_DIR]["Source"] == str(workspace_dir)
    # Docker made the mount point of the workspace on the host, inside the config directory, as root.
    mount_point = (config_dir / "workspace").stat()
    assert (mount_point.st_uid, oct(mount_point.st_mode & 0o777)) == (0, "0o755")
    assert not (config_dir / "workspace" / "in-workspace.txt").exists()


def test_compose_labels_find_the_gateway(docker_engine, openclaw_container):
    container = openclaw_container(project="vps1")
    found = docker_engine.docker("ps", "--filter", "label=com.docker.compose.project=vps1",
                                 "--filter", f"label=com.docker.compose.service={GATEWAY_SERVICE}",
                                 "--format", "{{.ID}} {{.Names}}").stdout.split()
    assert found == [container.id[:12], f"vps1-{GATEWAY_SERVICE}-1"]
    state = container.inspect()["State"]
    assert (state["Status"], state["Running"]) == ("running", True)


def test_flock_blocks_across_host_and_container_both_ways(openclaw_container, tmp_path):
    container = openclaw_container()
    lock_file = container.config_dir / "shared.lock"
    lock_file.touch()
    os.chown(lock_file, AGENT_UID, AGENT_GID)
    in_container = f"{STATE_DIR}/shared.lock"

    # The host holds the lock: the container can neither take it at once nor within a second.
    with open(lock_file) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert container.exec("flock", "--nonblock", in_container, "true", check=False).returncode == 1
        assert container.exec("flock", "--timeout", "1", in_container, "true", check=False).returncode == 1
    assert container.exec("flock", "--nonblock", in_container, "true").returncode == 0

    # The container holds it (until its stdin closes): the host blocks until it lets go.
    holder = subprocess.Popen(
        container.exec_args("flock", in_container, "sh", "-c", "echo locked; cat >/dev/null", interactive=True),
        env=container.engine.environ, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        with open(lock_file) as waiting:
            with pytest.raises(BlockingIOError):
                fcntl.flock(waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
            holder.stdin.close()
            fcntl.flock(waiting, fcntl.LOCK_EX)  # blocks until the container's flock exits
            assert holder.wait(timeout=30) == 0
    finally:
        holder.kill()
        holder.wait()


def test_docker_exec_as_uid_1000_and_as_root(openclaw_container):
    container = openclaw_container()
    assert container.exec("id", "-u", user="1000").stdout.strip() == "1000"
    container.exec("touch", f"{STATE_DIR}/by-1000", user="1000:1000")
    owner = (container.config_dir / "by-1000").stat()
    assert (owner.st_uid, owner.st_gid) == (1000, 1000)
    assert container.exec("id", "-u", user="0").stdout.strip() == "0"


def test_the_real_openclaw_cli_runs_inside_on_a_copy(openclaw_container):
    container = openclaw_container()
    version = container.exec("openclaw", "--version")
    assert version.stdout.startswith("OpenClaw 2026.9.6 ")

    # Two workspace skills gated on binaries: python3 is in the image, pip3 is not.
    for name, binary in (("bed-python3", "python3"), ("bed-pip3", "pip3")):
        container.exec("mkdir", "-p", f"{WORKSPACE_DIR}/skills/{name}")
        container.exec("sh", "-c", f"cat > {WORKSPACE_DIR}/skills/{name}/SKILL.md", input=(
            f"---\nname: {name}\ndescription: Needs {binary}.\n"
            f"metadata:\n  openclaw:\n    requires:\n      bins: [{binary}]\n---\n\nRun `{binary} --version`.\n"))
    before = snapshot(container.config_dir)

    listed = container.openclaw_on_a_copy("skills", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    by_name = {skill["name"]: skill for skill in json.loads(listed.stdout)["skills"]}
    assert (by_name["bed-python3"]["eligible"], by_name["bed-python3"]["missing"]["bins"]) == (True, [])
    assert (by_name["bed-pip3"]["eligible"], by_name["bed-pip3"]["missing"]["bins"]) == (False, ["pip3"])
    assert snapshot(container.config_dir) == before  # the CLI wrote into the copy only


def test_a_fresh_container_of_the_same_image_and_mounts_sees_the_same_files(openclaw_container, tmp_path):
    container = openclaw_container(workspace_dir=agent_owned_dir(tmp_path / "workspace"))
    container.exec("sh", "-c", f"echo kept > {STATE_DIR}/state.txt && echo kept too > {WORKSPACE_DIR}/work.txt")
    first_id = container.id

    fresh = container.recreate()
    assert fresh.id != first_id
    assert fresh.exec("cat", f"{STATE_DIR}/state.txt", f"{WORKSPACE_DIR}/work.txt").stdout == "kept\nkept too\n"
    assert fresh.inspect()["State"]["Running"] is True


# The script's own refusals: one line naming the cause and the fix, and nothing made.

@pytest.fixture
def root_only():
    reason = why_docker_tests_cannot_run()
    if reason:
        pytest.skip(reason)


def test_create_refuses_an_existing_directory(root_only, tmp_path):
    (tmp_path / "keep.txt").write_text("mine\n")
    refused = run_testbed("create", tmp_path)
    assert refused.returncode == 1
    assert refused.stderr == f"docker-testbed: {tmp_path} exists; run: {TESTBED_SCRIPT} destroy {tmp_path}\n"
    assert [path.name for path in tmp_path.iterdir()] == ["keep.txt"]


def test_create_refuses_a_directory_too_long_for_the_sockets(root_only, tmp_path):
    directory = tmp_path / ("d" * 80)
    refused = run_testbed("create", directory)
    assert refused.returncode == 1
    assert "too long for the engine's sockets. Fix: a directory of 70 characters or less" in refused.stderr
    assert not directory.exists()


def test_destroy_refuses_a_directory_it_did_not_make(root_only, tmp_path):
    (tmp_path / "keep.txt").write_text("mine\n")
    refused = run_testbed("destroy", tmp_path)
    assert refused.returncode == 1
    assert "was not made by this script (no .docker-testbed); not touching it" in refused.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine\n"


def test_create_needs_docker_io(root_only, tmp_path):
    refused = run_testbed("create", tmp_path / "bed", env={"TESTBED_DOCKERD": str(tmp_path / "no-dockerd")})
    assert refused.returncode == 1
    assert refused.stderr == "docker-testbed: docker.io is not installed. Fix: scripts/install-system-packages.sh\n"
    assert not (tmp_path / "bed").exists()


def fake_dockerd(path, body):
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return {"TESTBED_DOCKERD": str(path)}


def test_a_daemon_that_exits_is_reported_and_the_harness_cleans_up(root_only, tmp_path, monkeypatch):
    directory = tmp_path / "bed"
    fake = fake_dockerd(tmp_path / "dockerd", 'echo "failed to start daemon: pid file found" >&2; exit 1')
    monkeypatch.setenv("TESTBED_DOCKERD", fake["TESTBED_DOCKERD"])
    with pytest.raises(DockerTestbedError, match="dockerd exited: failed to start daemon: pid file found"):
        DockerEngine.start(directory)
    assert not directory.exists()  # start destroyed what create made: the tmpfs, the directory


def test_a_daemon_that_never_answers_is_stopped(root_only, tmp_path):
    directory = tmp_path / "bed"
    # Its command line names the bed, as dockerd's does: destroy finds it by that.
    fake = fake_dockerd(tmp_path / "dockerd", "while :; do sleep 1; done")
    refused = run_testbed("create", directory, timeout=120, env=fake)
    assert refused.returncode == 1
    assert refused.stderr.endswith(f"docker-testbed: dockerd did not answer on {directory}/docker.sock within 30 s: \n")
    assert run_testbed("destroy", directory).returncode == 0
    assert run_testbed("check-destroyed", directory).returncode == 0


def test_a_bad_cached_image_is_replaced_and_npm_failing_says_so(docker_engine, openclaw_image, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    bad = cache / (openclaw_image.replace(":", "-") + ".docker.tar")
    bad.write_bytes(b"not a docker save archive")
    unreachable_npm = {"TESTBED_CACHE_DIR": str(cache), "npm_config_cache": str(tmp_path / "npm-cache"),
                       "npm_config_registry": "http://127.0.0.1:9/", "npm_config_fetch_retries": "0"}
    refused = run_testbed("image", docker_engine.directory, timeout=300, env=unreachable_npm)
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert "docker-testbed: the cached image is unusable; removing it and building a new one" in lines
    assert lines[-1] == "docker-testbed: npm ci failed. Fix: check that the npm registry answers (npm ping)"
    assert not bad.exists()
    assert (docker_engine.directory / "image").read_text().strip() == openclaw_image  # the bed is as it was


def test_image_needs_a_started_engine(root_only, tmp_path):
    refused = run_testbed("image", tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"docker-testbed: no engine answers in {tmp_path}. "
                                      f"Fix: {TESTBED_SCRIPT} create {tmp_path}")


def test_an_unknown_command_is_refused(root_only, tmp_path):
    refused = run_testbed("start", tmp_path / "bed")
    assert refused.returncode == 1
    assert refused.stderr == (f"docker-testbed: unknown command start; "
                              f"usage: {TESTBED_SCRIPT} create|image|destroy|check-destroyed DIR\n")
    assert not (tmp_path / "bed").exists()


def test_it_needs_root(root_only, tmp_path):
    refused = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              str(TESTBED_SCRIPT), "create", str(tmp_path / "bed")],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr == "docker-testbed: needs root (dockerd, mounts). Fix: run it as root\n"
    assert not (tmp_path / "bed").exists()


# Leaving nothing behind: check-destroyed sees a live bed, and destroy cleans up after a crash.

def tiny_image_tar():
    """A root filesystem of four symlinks into the host's /usr (Debian 12 is merged-/usr), so a
    container of it runs the host's binaries with --volume /usr:/usr:ro: an image in no time."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        usr = tarfile.TarInfo("usr")
        usr.type, usr.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(usr)
        for name in ("bin", "sbin", "lib", "lib64"):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, f"usr/{name}"
            tar.addfile(link)
    return buffer.getvalue()


def test_destroy_leaves_nothing_after_the_daemon_crashed(root_only, tmp_path_factory):
    directory = tmp_path_factory.mktemp("crash") / "bed"
    engine = DockerEngine.start(directory)
    try:
        subprocess.run(["/usr/bin/docker", "import", "-", "tiny:bed"], input=tiny_image_tar(), env=engine.environ,
                       check=True, capture_output=True, timeout=60)
        engine.docker("run", "--detach", "--name", "survivor", "--network", "none", "--pull", "never",
                      "--volume", "/usr:/usr:ro", "tiny:bed", "sleep", "infinity")
        container_id, container_pid = engine.docker("inspect", "--format", "{{.Id}} {{.State.Pid}}",
                                                    "survivor").stdout.split()
        container_process = process_identity(container_pid)

        live = run_testbed("check-destroyed", directory)
        assert live.returncode == 1
        leftovers = live.stderr.splitlines()
        assert leftovers[0] == "docker-testbed: left behind by the test bed:"
        assert any(line.startswith("process: ") and "/usr/sbin/dockerd" in line for line in leftovers)
        assert any(line.startswith("process: ") and "containerd-shim" in line and container_id in line
                   for line in leftovers)
        assert any(line.startswith("process: ") and line.endswith(" sleep infinity") for line in leftovers)
        assert f"mount: {directory}/data" in leftovers
        assert f"directory: {directory}" in leftovers

        # The daemon dies without stopping anything: its shim and container outlive it.
        dockerd = int((directory / "dockerd.pid").read_text())
        os.kill(dockerd, 9)
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{dockerd}") and time.monotonic() < deadline:
            time.sleep(0.1)
        # The shim goes too (as when it was killed): the container's process is nobody's child then.
        shim = next(line.split()[1] for line in leftovers if "containerd-shim" in line)
        os.kill(int(shim), 9)
        shim_socket = shim_socket_path(directory, container_id)
        assert os.path.exists(shim_socket)
        assert process_identity(container_pid) == container_process
    finally:
        engine.destroy()  # raises, naming them, if processes, mounts or files are left
    assert process_identity(container_pid) != container_process
    assert not os.path.exists(shim_socket)
    assert not directory.exists()


def process_identity(pid):
    """A process's pid and start time (a pid alone may be reused), or None once it is gone (a zombie
    is: it waits only for init to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except FileNotFoundError:
        return None
    return None if fields[0] == "Z" else (pid, fields[19])


def shim_socket_path(directory, container_id):
    """Where containerd keeps a container's shim socket (outside the bed, hashed from its address)."""
    address = f"{directory}/exec/containerd/containerd.sock/moby/{container_id}"
    return "/run/containerd/s/" + hashlib.sha256(address.encode()).hexdigest()


def test_the_harness_raises_when_destroy_refuses(root_only, tmp_path):
    # Without its marker, destroy touches nothing, and the fixture's teardown fails with its words.
    with pytest.raises(DockerTestbedError, match="not made by this script"):
        DockerEngine(tmp_path).destroy()
