"""Fixtures of the Docker tests: one real engine and the OpenClaw-like image per session
(scripts/docker-testbed.sh), and the agent's containers per test (docker_harness.py). The engine is
destroyed after the session, pass or fail, and the session fails if it left a process, a mount or
a file behind."""

import pytest

from docker_harness import DockerEngine, agent_owned_dir, why_docker_tests_cannot_run


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory):
    """A started DockerEngine (its own dockerd, socket, data root); skips without root or docker.io."""
    reason = why_docker_tests_cannot_run()
    if reason:
        pytest.skip(reason)
    engine = DockerEngine.start(tmp_path_factory.mktemp("docker") / "bed")
    yield engine
    engine.destroy()


@pytest.fixture(scope="session")
def openclaw_image(docker_engine):
    """The tag of the OpenClaw-like image, loaded into docker_engine (built and cached on first use)."""
    return docker_engine.load_image()


@pytest.fixture
def openclaw_container(docker_engine, openclaw_image, tmp_path):
    """Factory: openclaw_container(config_dir=None, workspace_dir=None, **run_container kwargs) -> a
    started OpenClawContainer. config_dir None is a fresh host directory owned 1000:1000, mode 0700
    (tmp_path/"openclaw-config"); workspace_dir None mounts no separate workspace. Every container it
    started, recreated ones included, is removed after the test; the host directories stay."""
    started = []

    def start(config_dir=None, workspace_dir=None, **kwargs):
        if config_dir is None:
            config_dir = agent_owned_dir(tmp_path / "openclaw-config")
        container = docker_engine.run_container(openclaw_image, config_dir, workspace_dir, **kwargs)
        started.append(container.name)
        return container

    yield start
    for name in dict.fromkeys(started):
        docker_engine.docker("rm", "--force", name, check=False)
