#!/usr/bin/env bash
# make test-slurm: restyle batch under a real Slurm, on this machine. Installs Debian's slurm-wlm and
# munge if missing, starts munged, slurmctld and slurmd for a one-node cluster on localhost (a generated
# slurm.conf under a temporary folder), submits scripts/slurm-array.sbatch as a 4-task array over
# 8 jobs on small synthetic images, cancels one task midway (scancel), resubmits the array, and checks
# that every output exists, was made exactly once, and that the cancelled job resumed from its session.
# Everything it starts is stopped on exit.
set -euo pipefail
BIN="$(realpath "${1:-.build/release/restyle}")"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'test-slurm: %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }
[[ -x $BIN ]] || die "no restyle binary at $BIN (make build)"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null
fi

T="$(mktemp -d /tmp/restyle-slurm.XXXXXX)"
HOST="$(hostname -s)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $T/slurmctld.pid ]] && kill "$(cat "$T/slurmctld.pid")" 2>/dev/null || true
  [[ -f $T/slurmd.pid ]] && kill "$(cat "$T/slurmd.pid")" 2>/dev/null || true
  [[ -f $T/munged.pid ]] && kill "$(cat "$T/munged.pid")" 2>/dev/null || true
}
trap cleanup EXIT

# munge: a key of our own, a socket in our folder.
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/work"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$T/munge"; chmod 400 "$T/munge/munge.key"
SOCK="$T/munge/munge.socket"
munged --force --key-file="$T/munge/munge.key" --socket="$SOCK" --pid-file="$T/munged.pid" \
  --log-file="$T/munged.log" --seed-file="$T/munge/seed"
CPUS=$(nproc)
cat > "$T/slurm.conf" <<CONF
ClusterName=restyle-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
KillWait=30
MpiDefault=none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)' && break; sleep 1; done
sinfo -h -o %t | grep -qE '^(idle|mix|alloc)' || { tail -5 "$T/slurmctld.log" "$T/slurmd.log" >&2; die "the node did not come up"; }
say "one-node cluster up: $(sinfo -h -o '%P %D node %c cpus %t')"

# 8 jobs: 2 contents × 2 styles × 2 βs on 40–64 px synthetic images.
cd "$T/work"
python3 - <<'PY'
import struct, zlib
def png(path, w, h, f):
    raw = b"".join(b"\0" + bytes(v for x in range(w) for v in f(x, y)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png("c1.png", 64, 48, lambda x, y: ((x * 4) % 256, (y * 5) % 256, (x * y) % 256))
png("c2.png", 48, 64, lambda x, y: ((x ^ y) * 3 % 256, 128, (x + 2 * y) * 2 % 256))
png("s1.png", 40, 40, lambda x, y: (255 * ((x // 5 + y // 5) % 2), 60, 200))
png("s2.png", 48, 48, lambda x, y: ((x * x + y * y) % 256, (x * 7) % 256, (y * 11) % 256))
PY
"$BIN" batch plan --contents c1.png c2.png --styles s1.png s2.png --beta 10,100 --size 48 --iterations 80 -o out
SBATCH_ARGS=(--array=0-3 --cpus-per-task=1 --export=ALL,RESTYLE="$BIN" --output="$T/work/task-%A_%a.log")

submit() { sbatch --parsable "${SBATCH_ARGS[@]}" "$ROOT/scripts/slurm-array.sbatch" out/jobs.jsonl --save-every 10; }
wait_done() { for _ in $(seq 900); do [[ -z $(squeue -h -j "$1" 2>/dev/null) ]] && return 0; sleep 1; done; die "array $1 did not finish"; }

FIRST=$(submit)
say "submitted array $FIRST (4 tasks, 1 cpu each)"
# Cancel the task of the first job that has saved a session (i.e. is midway).
VICTIM=
for _ in $(seq 600); do
  s=$(ls out/.sessions/ 2>/dev/null | grep '\.session$' | head -1 || true)
  if [[ -n $s ]]; then VICTIM=${s%%-*}; break; fi
  sleep 0.2
done
[[ -n $VICTIM ]] || die "no job saved a session"
INDEX=$(awk -v n="\"output\":\"$VICTIM.png\"" 'index($0, n) {print NR; exit}' out/jobs.jsonl)
[[ -n $INDEX ]] || die "cannot find $VICTIM in the list"
TASK=$(( (INDEX - 1) % 4 ))
say "job $INDEX ($VICTIM) is midway (session saved); scancel ${FIRST}_$TASK"
scancel "${FIRST}_$TASK"
wait_done "$FIRST"
say "first array finished; status: $("$BIN" batch status out/jobs.jsonl | head -1 || true)"
grep -h "stopped" task-"${FIRST}"_*.log || die "the cancelled task did not save its job (no 'stopped' line)"

SECOND=$(submit)
say "resubmitted as array $SECOND"
wait_done "$SECOND"
for f in task-*.log; do sed "s/^/  $f: /" "$f" >&2; done

"$BIN" batch status out/jobs.jsonl >&2 || die "not every job is done"
for out in $(python3 -c 'import json,sys; [print(json.loads(l)["output"]) for l in open("out/jobs.jsonl")]'); do
  [[ -f out/$out ]] || die "$out missing"
  n=$(cat task-*.log | grep -c "\] done $out " || true)
  [[ $n -eq 1 ]] || die "$out was made $n times"
done
grep -h "resumed from iteration" task-"${SECOND}"_*.log | grep -q "$VICTIM" || die "the cancelled job ($VICTIM) did not resume from its session"
[[ -z $(ls out/.sessions/) ]] || die "left in .sessions: $(ls out/.sessions/)"
say "PASS: 8 jobs, each output made exactly once; $VICTIM resumed from its session: $(grep -h "done $VICTIM.png " task-*.log)"
