"""Search every regular file this process can read under a root (/proc and /sys left out: the
kernel's views, not files anything wrote) for secret values read as a JSON list from stdin (never
from the command line). Prints JSON: files and bytes read, files skipped for size (over
MAX_BYTES), unreadable ones, and for each secret the paths that hold it. Standard library only:
it runs as the agent on the system's python3 (on this host, and on molecule's target).

    echo '["secret", ...]' | python3 readable_secrets.py /
"""

import json
import os
import stat
import sys

# Bounded: a credential file is a few hundred bytes; nothing the role writes comes near this.
MAX_BYTES = 8 * 1024 * 1024
# /dev stays in: only regular files are read (never a device node), and /dev/shm is a file system
# anything, the agent included, can write to.
SKIPPED = ("/proc", "/sys")


def main(root):
    secrets = json.load(sys.stdin)
    needles = [secret.encode("utf-8") for secret in secrets]
    hits = {secret: [] for secret in secrets}
    counts = {"files": 0, "bytes": 0, "skipped_large": 0, "unreadable": 0}
    for directory, subdirectories, files in os.walk(root, onerror=lambda exc: count(counts, "unreadable")):
        subdirectories[:] = [name for name in subdirectories if os.path.join(directory, name) not in SKIPPED]
        for name in files:
            path = os.path.join(directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if info.st_size > MAX_BYTES:
                counts["skipped_large"] += 1
                continue
            try:
                with open(path, "rb") as handle:
                    content = handle.read()
            except OSError:
                counts["unreadable"] += 1
                continue
            counts["files"] += 1
            counts["bytes"] += len(content)
            for secret, needle in zip(secrets, needles):
                if needle in content:
                    hits[secret].append(path)
    print(json.dumps(dict(counts, hits=hits)))


def count(counts, key):
    counts[key] += 1


if __name__ == "__main__":
    main(sys.argv[1])
