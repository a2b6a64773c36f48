# shellcheck shell=bash
# What the test beds share (scripts/chroot-testbed.sh, molecule-testbed.sh, docker-testbed.sh): log
# lines named after the bed, and finding, stopping and checking for what a bed leaves behind: processes, mounts
# and files under its directory. Source it after setting TESTBED_NAME.

log() { printf '%s: %s\n' "$TESTBED_NAME" "$*" >&2; }
die() { log "$*"; exit 1; }

# Processes that belong to the test bed: rooted in DIR (a chroot's sshd and its sessions), running on
# a root filesystem mounted from DIR (a container's processes, even once their shim is gone), naming
# DIR on their command line (the Zoho stand-in, ssh masters, dockerd, containerd and its shims), and
# everything they started. This script and its callers name DIR too: ancestors are skipped.
testbed_pids() {
  TESTBED_DIR=$1 python3 - <<'EOF'
import os
directory = os.environ["TESTBED_DIR"].rstrip("/")
ancestors, pid = set(), os.getpid()
while pid > 1:
    ancestors.add(pid)
    with open(f"/proc/{pid}/stat") as f:
        pid = int(f.read().rpartition(")")[2].split()[1])
processes, found = {}, set()
for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
    try:
        root = os.readlink(f"/proc/{pid}/root")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        with open(f"/proc/{pid}/stat") as f:
            parent = int(f.read().rpartition(")")[2].split()[1])
        # The topmost mount on the process's own "/" (an overlay names its layers' paths).
        with open(f"/proc/{pid}/mountinfo") as f:
            root_mount = ([line for line in f if line.split()[4] == "/"] or [""])[-1]
    except OSError:  # gone meanwhile
        continue
    processes[pid] = (parent, root, cmdline)
    if pid not in ancestors and (root.startswith(directory + "/") or directory + "/" in root_mount
                                 or directory in cmdline):
        found.add(pid)
while True:
    children = {pid for pid, (parent, _, _) in processes.items() if parent in found} - found - ancestors
    if not children:
        break
    found |= children
for pid in sorted(found):
    _, root, cmdline = processes[pid]
    print(pid, cmdline or "[" + root + "]")
EOF
}

# Mount points at or under DIR, deepest first.
testbed_mounts() {
  local dir=${1%/}
  awk -v dir="$dir" '$5 == dir || index($5, dir "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# TERM, and KILL what ignores it; fails naming what survived.
testbed_stop_processes() {
  local dir=$1 signal pids
  pids=$(testbed_pids "$dir")
  [[ -z $pids ]] || log "stopping:"$'\n'"$pids"
  for signal in TERM TERM TERM TERM TERM KILL; do
    pids=$(testbed_pids "$dir" | cut -d' ' -f1)
    [[ -n $pids ]] || return 0
    # shellcheck disable=SC2086 # one argument per pid
    kill -"$signal" $pids 2>/dev/null || true
    sleep 0.5
  done
  pids=$(testbed_pids "$dir")
  [[ -z $pids ]] || die "processes survived SIGKILL: $pids"
}

# Unmounts everything at or under DIR, then removes DIR; a mount that stays stops it.
testbed_unmount_and_remove() {
  local dir=$1 mountpoint
  for mountpoint in $(testbed_mounts "$dir"); do
    umount "$mountpoint"
  done
  [[ -z $(testbed_mounts "$dir") ]] || die "still mounted under $dir: $(testbed_mounts "$dir")"
  # --one-file-system: never follow into a mount that appeared meanwhile (such as the host's /dev).
  rm -rf --one-file-system "$dir"
  log "destroyed $dir"
}

testbed_check_destroyed() {
  local dir=${1%/} leftovers
  leftovers=$(
    testbed_pids "$dir" | sed 's/^/process: /'
    testbed_mounts "$dir" | sed 's/^/mount: /'
    if [[ -e $dir ]]; then echo "directory: $dir"; fi
  )
  [[ -z $leftovers ]] || die "left behind by the test bed:"$'\n'"$leftovers"
  log "nothing of $dir is left: no process, mount or file"
}

# A test bed script's command line: COMMAND DIR, as root (WHY names what needs it). COMMAND is one
# of COMMANDS (|-separated) and runs the script's function of that name; check-destroyed is this
# file's.
testbed_main() {
  local why=$1 commands=$2 dir
  shift 2
  [[ $# -eq 2 ]] || die "usage: $0 $commands DIR"
  [[ $(id -u) -eq 0 ]] || die "needs root ($why). Fix: run it as root"
  [[ "|$commands|" == *"|$1|"* ]] || die "unknown command $1; usage: $0 $commands DIR"
  dir=$(realpath --canonicalize-missing "$2")
  if [[ $1 == check-destroyed ]]; then testbed_check_destroyed "$dir"; else "$1" "$dir"; fi
}
