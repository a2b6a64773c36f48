"""The Docker test bed from Python: a real engine of its own and the OpenClaw-like image
(scripts/docker-testbed.sh), and the agent's container run as OpenClaw's docker-compose.yml runs its
gateway: a host directory bind-mounted at /home/node/.openclaw (and optionally another one at its
workspace, as OPENCLAW_WORKSPACE_DIR does), the image's user node, host networking, nothing pulled.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTBED_SCRIPT = ROOT / "scripts" / "docker-testbed.sh"
# docker.io's own CLI and daemon; another docker CLI earlier on PATH may speak another API version.
DOCKER = "/usr/bin/docker"
DOCKERD = "/usr/sbin/dockerd"

AGENT_UID = AGENT_GID = 1000
STATE_DIR = "/home/node/.openclaw"
WORKSPACE_DIR = STATE_DIR + "/workspace"
# Where openclaw_on_a_copy puts the copy, in the container's own filesystem.
STATE_COPY = "/tmp/openclaw-state-copy"
COMPOSE_PROJECT = "openclaw"
GATEWAY_SERVICE = "openclaw-gateway"
# The real gateway starts offline without a config, but it takes about 20 s of both cores, binds
# port 18789 in the host's network namespace (shared by every container and every test run on the
# machine) and writes its own state (state/openclaw.sqlite, cache/, tmp/) into the bind mount the
# tests check file by file. The agent's tools run through `docker exec` either way, so the
# container keeps a process under tini that does nothing.
KEEP_RUNNING = ("sleep", "infinity")


def why_docker_tests_cannot_run():
    """The reason the Docker tests must be skipped here, or None."""
    if os.geteuid() != 0:
        return "the Docker test bed needs root (dockerd, mounts, uid 1000's files); CI runs as root"
    if not (os.access(DOCKER, os.X_OK) and os.access(DOCKERD, os.X_OK)):
        return "docker.io is not installed: run scripts/install-system-packages.sh as root"
    return None


def agent_owned_dir(path, mode=0o700):
    """Makes a host directory as OpenClaw's docs tell operators to (chown -R 1000:1000): numeric
    owners, since the host need not have a user of that uid. Returns the path."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, AGENT_UID, AGENT_GID)
    path.chmod(mode)
    return path


def snapshot(directory):
    """DIRECTORY (".") and every path under it with its mode, owner and content (a symlink's: its
    target)."""
    entries = {}
    for path in [directory, *sorted(directory.rglob("*"))]:
        status = path.lstat()
        if stat.S_ISLNK(status.st_mode):
            content = os.readlink(path)
        else:
            content = path.read_bytes() if stat.S_ISREG(status.st_mode) else None
        entries[str(path.relative_to(directory))] = (status.st_mode, status.st_uid, status.st_gid, content)
    return entries


def run_testbed(command, directory, timeout=1800, env=None):
    """scripts/docker-testbed.sh COMMAND DIRECTORY (ENV: variables to add); returns the CompletedProcess
    (text)."""
    return subprocess.run([str(TESTBED_SCRIPT), command, str(directory)], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


class DockerTestbedError(RuntimeError):
    pass


def _checked(completed, what):
    if completed.returncode != 0:
        raise DockerTestbedError(f"{what} failed (exit {completed.returncode}):\n{completed.stdout}{completed.stderr}")
    return completed


def _run_testbed_checked(command, directory, timeout):
    completed = _checked(run_testbed(command, directory, timeout), f"docker-testbed.sh {command} {directory}")
    sys.stderr.write(completed.stderr)  # its log lines (timings, cache use), in pytest's captured output
    return completed


class DockerEngine:
    """A started engine of the test bed: its directory, socket and CLI."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.socket = self.directory / "docker.sock"
        # For anything that runs `docker` itself (Ansible, the role's tasks).
        self.environ = dict(os.environ, DOCKER_HOST=f"unix://{self.socket}")

    @classmethod
    def start(cls, directory):
        """Starts an engine in DIRECTORY (which must not exist); destroys what it made if it fails."""
        engine = cls(directory)
        try:
            _run_testbed_checked("create", directory, timeout=120)
        except (DockerTestbedError, subprocess.TimeoutExpired):
            run_testbed("destroy", directory)
            raise
        return engine

    def load_image(self):
        """Loads the cached OpenClaw-like image, or builds and caches it; returns its tag."""
        _run_testbed_checked("image", self.directory, timeout=1800)
        return (self.directory / "image").read_text().strip()

    def destroy(self):
        """Stops the engine and its containers and removes the bed; raises DockerTestbedError naming what
        is left."""
        _run_testbed_checked("destroy", self.directory, timeout=300)
        _run_testbed_checked("check-destroyed", self.directory, timeout=60)

    def docker(self, *args, check=True, timeout=120, input=None):
        """One docker CLI command against this engine; returns the CompletedProcess (text)."""
        completed = subprocess.run([DOCKER, *args], env=self.environ, capture_output=True, text=True,
                                   timeout=timeout, input=input,
                                   stdin=None if input is not None else subprocess.DEVNULL)
        if check:
            _checked(completed, "docker " + " ".join(args))
        return completed

    def run_container(self, image, config_dir, workspace_dir=None, name=None, project=COMPOSE_PROJECT,
                      command=KEEP_RUNNING, env=None, user=None, state_mount="rw"):
        """Starts an OpenClawContainer (see its docstring); returns it."""
        return OpenClawContainer(self, image, config_dir, workspace_dir, name, project, command, env, user,
                                 state_mount).start()


class OpenClawContainer:
    """The agent's container, run as OpenClaw's docker-compose.yml runs openclaw-gateway: Compose's
    labels and container name, HOME=/home/node, NET_RAW and NET_ADMIN dropped, no-new-privileges,
    restart unless-stopped; host networking and --pull never, as the test bed allows. The user is the
    image's (node) unless user says otherwise; state_mount "rw" binds config_dir at /home/node/.openclaw,
    "ro" read-only, None not at all (as a container run without OPENCLAW_CONFIG_DIR)."""

    def __init__(self, engine, image, config_dir, workspace_dir, name, project, command, env, user=None,
                 state_mount="rw"):
        self.engine = engine
        self.image = image
        self.config_dir = Path(config_dir)
        self.workspace_dir = None if workspace_dir is None else Path(workspace_dir)
        self.project = project
        self.name = name or f"{project}-{GATEWAY_SERVICE}-1"
        self.command = tuple(command)
        self.env = dict(env or {})
        self.user = user
        self.state_mount = state_mount
        self.id = None

    def start(self):
        volumes = []
        if self.state_mount:
            volumes += ["--volume", f"{self.config_dir}:{STATE_DIR}" + (":ro" if self.state_mount == "ro" else "")]
        if self.workspace_dir is not None:
            volumes += ["--volume", f"{self.workspace_dir}:{WORKSPACE_DIR}"]
        labels = {
            "com.docker.compose.project": self.project,
            "com.docker.compose.service": GATEWAY_SERVICE,
            "com.docker.compose.container-number": "1",
            "com.docker.compose.oneoff": "False",
        }
        environment = {"HOME": "/home/node", "TERM": "xterm-256color", **self.env}
        self.id = self.engine.docker(
            "run", "--detach", "--name", self.name, "--network", "host", "--pull", "never",
            *[f"--label={key}={value}" for key, value in labels.items()],
            *[f"--env={key}={value}" for key, value in environment.items()],
            "--cap-drop", "NET_RAW", "--cap-drop", "NET_ADMIN", "--security-opt", "no-new-privileges",
            "--restart", "unless-stopped", *(["--user", str(self.user)] if self.user is not None else []),
            *volumes, self.image, *self.command,
        ).stdout.strip()
        return self

    def exec_args(self, *command, user=None, workdir=None, env=None, interactive=False):
        """The docker exec command line (for subprocess.Popen); user None is the container's (node)."""
        args = [DOCKER, "exec"]
        if interactive:
            args.append("--interactive")
        if user is not None:
            args += ["--user", str(user)]
        if workdir is not None:
            args += ["--workdir", str(workdir)]
        for key, value in (env or {}).items():
            args.append(f"--env={key}={value}")
        return [*args, self.name, *command]

    def exec(self, *command, user=None, workdir=None, env=None, input=None, check=True, timeout=120):
        """Runs COMMAND in the container (docker exec); returns the CompletedProcess (text)."""
        completed = subprocess.run(
            self.exec_args(*command, user=user, workdir=workdir, env=env, interactive=input is not None),
            env=self.engine.environ, capture_output=True, text=True, timeout=timeout, input=input,
            stdin=None if input is not None else subprocess.DEVNULL)
        if check:
            _checked(completed, f"docker exec {self.name} " + " ".join(command))
        return completed

    def openclaw_on_a_copy(self, *args, timeout=180):
        """The real OpenClaw CLI in the container, as node, with OPENCLAW_STATE_DIR on a fresh copy of
        /home/node/.openclaw (modes kept): even its read-only commands write state/openclaw.sqlite,
        plugin-skills/ and tmp/ into the state directory. Returns the CompletedProcess (text)."""
        script = ('rm -rf "$OPENCLAW_STATE_DIR" && cp -a %s "$OPENCLAW_STATE_DIR" && exec openclaw "$@"' % STATE_DIR)
        return self.exec("sh", "-c", script, "openclaw", *args, env={"OPENCLAW_STATE_DIR": STATE_COPY},
                         check=False, timeout=timeout)

    def inspect(self):
        """docker inspect of this container, as a dict."""
        return json.loads(self.engine.docker("inspect", self.name).stdout)[0]

    def remove(self):
        """docker rm -f (the container only: the host directories stay)."""
        self.engine.docker("rm", "--force", self.name)

    def recreate(self):
        """docker rm -f, then a fresh docker run of the same image, mounts and command; returns the new
        container."""
        self.remove()
        return self.engine.run_container(self.image, self.config_dir, self.workspace_dir, self.name, self.project,
                                         self.command, self.env, self.user, self.state_mount)

