#!/usr/bin/env bash
# Run the demo workflow on a real, single-node Slurm cluster started on this
# machine, and check its results against a local run. Not part of `make test`.
#
#   sudo tests/slurm/run_slurm_demo.sh [OUT]      # OUT default: results/slurm_demo
#
# Then a small simulated consortium (RELCOORD_SLURM_CONSORTIUM organisations, default 6, of 300
# respondents; 0 skips it) runs through workflow/consortium/Snakefile the same two ways and is compared
# the same way (OUT/compare_consortium.tsv): each organisation's validation and scoring as Slurm jobs,
# then the benchmark pool. RELCOORD_SLURM_DEMO=0 skips the demo and runs only the consortium.
#
# Needs root and Debian/Ubuntu (installs slurm-wlm and munge with apt-get when
# missing). Everything else lives in a scratch folder: the munge key and
# socket, slurm.conf, the daemons' state and logs, and two copies of the demo
# project (one run with `--profile workflow/profiles/slurm`, one with
# `--profile workflow/profiles/local`). The daemons are stopped by the PIDs in
# their pid files when the script ends, however it ends. Every step that could
# hang has a hard `timeout`, and so has the whole script (RELCOORD_SLURM_TIMEOUT,
# default 1800 s).
#
# Two traps of running Snakemake's Slurm executor inside a test cluster are handled here:
# 1. the job step does not see SLURM_CONF (the plugin strips it before its
#    nested srun): a wrapper `srun` that exports it comes first in PATH;
# 2. without accounting (no slurmdbd) sacct never answers: the run uses
#    `--slurm-status-command squeue`, and slurm.conf sets MinJobAge=300.
#
# Writes OUT/summary.json (timings, job count, comparison), OUT/compare.tsv
# (one line per result file) and copies the daemons' logs to OUT/logs/.
set -Eeuo pipefail

if [[ -z "${RELCOORD_SLURM_GUARD:-}" ]]; then  # one hard limit on the whole run
    export RELCOORD_SLURM_GUARD=1
    exec timeout --kill-after=30 "${RELCOORD_SLURM_TIMEOUT:-1800}" "$0" "$@"
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/results/slurm_demo}")"
PY="${RELCOORD_PYTHON:-$ROOT/.venv/bin/python}"
SNAKEMAKE="$(dirname "$PY")/snakemake"
T0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { printf '[slurm-demo %6ss] %s\n' "$(since "$T0")" "$*"; }
die() { say "FAILED: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (installs packages, starts slurmd)"
[[ -x "$SNAKEMAKE" ]] || die "no snakemake at $SNAKEMAKE (run make setup, or set RELCOORD_PYTHON)"

# --------------------------------------------------------------------------- packages
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -q >/dev/null
    timeout 900 apt-get install -y -q slurm-wlm munge >/dev/null
fi
say "slurm $(slurmctld -V | awk '{print $2}'), munge $(munged -V 2>&1 | awk '{print $1}' | cut -d- -f2)"

# --------------------------------------------------------------------------- scratch, cleanup
WORK="$(mktemp -d /tmp/relcoord-slurm.XXXXXX)"
chmod 755 "$WORK"
CONF="$WORK/slurm/slurm.conf"
MUNGE="$WORK/munge"
PIDS=("$WORK/slurm/slurmd.pid" "$WORK/slurm/slurmctld.pid" "$MUNGE/munged.pid")
mkdir -p "$OUT/logs"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for f in "${PIDS[@]}"; do  # stop only the daemons this script started, by their PIDs
        if [[ -s "$f" ]]; then
            local pid; pid=$(cat "$f")
            if kill -0 "$pid" 2>/dev/null; then
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
                kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
            fi
        fi
    done
    cp "$WORK"/slurm/*.log "$MUNGE"/munged.log "$OUT/logs/" 2>/dev/null || true
    [[ -n "${KEEP_WORK:-}" ]] && say "scratch kept: $WORK" || rm -rf "$WORK"
    say "daemons stopped; exit $rc"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --------------------------------------------------------------------------- munge
mkdir -p "$MUNGE"
dd if=/dev/urandom bs=1 count=1024 of="$MUNGE/munge.key" status=none
chown -R munge:munge "$MUNGE"
chmod 755 "$MUNGE"   # munged: the socket's folder must be searchable by all
chmod 400 "$MUNGE/munge.key"
timeout 30 runuser -u munge -- munged --key-file="$MUNGE/munge.key" --socket="$MUNGE/munge.socket" \
    --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed"
timeout 10 munge -n -S "$MUNGE/munge.socket" | timeout 10 unmunge -S "$MUNGE/munge.socket" >/dev/null \
    || die "munge does not work (see $MUNGE/munged.log)"
say "munged running"

# --------------------------------------------------------------------------- slurm.conf, daemons
mkdir -p "$WORK/slurm/state" "$WORK/slurm/spool"
CPUS=$(nproc)
MEM=$(( $(free -m | awk '/^Mem:/ {print $7}') * 9 / 10 ))   # below the available memory
cat > "$CONF" <<EOF
ClusterName=relcoord
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE/munge.socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=300
SlurmctldPidFile=$WORK/slurm/slurmctld.pid
SlurmdPidFile=$WORK/slurm/slurmd.pid
SlurmctldLogFile=$WORK/slurm/slurmctld.log
SlurmdLogFile=$WORK/slurm/slurmd.log
StateSaveLocation=$WORK/slurm/state
SlurmdSpoolDir=$WORK/slurm/spool
NodeName=localhost NodeHostname=$(hostname) NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$CONF"
timeout 30 slurmctld -f "$CONF"
timeout 30 slurmd -f "$CONF"
for i in $(seq 60); do
    state=$(timeout 5 sinfo -h -o %T 2>/dev/null || true)
    [[ "$state" == idle* ]] && break
    sleep 1
    [[ $i -eq 60 ]] && die "node not idle after 60 s (state: ${state:-none}); see $OUT/logs/"
done
[[ $(timeout 30 srun -N1 hostname) == "$(hostname)" ]] || die "srun hostname failed"
say "slurmctld + slurmd running: node idle, CPUs=$CPUS RealMemory=${MEM}MB, srun works"

# Trap 1: the job step runs `srun` without SLURM_CONF; this one puts it back.
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexport SLURM_CONF=%q\nexec %q "$@"\n' "$CONF" "$(command -v srun)" > "$WORK/bin/srun"
chmod +x "$WORK/bin/srun"
export PATH="$WORK/bin:$PATH"

# --------------------------------------------------------------------------- the two runs
export RELCOORD_SECRET="${RELCOORD_SECRET:-slurm-demo-secret-0123456789abcdef}"  # same pseudonyms in both runs
for run in slurm local; do
    mkdir -p "$WORK/$run/data/raw"
    cp -r "$ROOT/config" "$WORK/$run/config"
    cp -r "$ROOT/data/raw/demo" "$WORK/$run/data/raw/demo"
done
chmod -R a+rX "$WORK/slurm" "$WORK/local"
SMK=("$SNAKEMAKE" -s "$ROOT/Snakefile")
git_state() { git -C "$ROOT" rev-parse HEAD 2>/dev/null; git -C "$ROOT" status --porcelain 2>/dev/null | sha256sum; }
GIT_BEFORE=$(git_state || true)

S0=0; S1=0; L0=0; L1=0; JOBS=0
if [[ "${RELCOORD_SLURM_DEMO:-1}" != 0 ]]; then
say "workflow through --executor slurm (profile workflow/profiles/slurm)"
S0=$(date +%s.%N)
( cd "$WORK/slurm" && timeout 1200 "${SMK[@]}" -d "$WORK/slurm" --configfile "$WORK/slurm/config/config.yaml" \
    --profile "$ROOT/workflow/profiles/slurm" --slurm-status-command squeue \
    --slurm-init-seconds-before-status-checks 2 --slurm-no-account \
    --default-resources slurm_partition=debug mem_mb=1000 runtime=15 ) > "$OUT/snakemake_slurm.log" 2>&1 \
    || { tail -40 "$OUT/snakemake_slurm.log"; die "the Slurm run failed (log: $OUT/snakemake_slurm.log)"; }
S1=$(date +%s.%N)
JOBS=$(grep -c "has been submitted with SLURM jobid" "$OUT/snakemake_slurm.log" || true)
SLURM_IDS=$(grep -o "SLURM jobid [0-9]*" "$OUT/snakemake_slurm.log" | awk '{print $3}' | sort -n | tr '\n' ' ' || true)
say "Slurm run done in $(awk -v a="$S0" -v b="$S1" 'BEGIN{printf "%.1f", b-a}') s: $JOBS Slurm jobs (ids ${SLURM_IDS:-?})"

say "the same workflow locally (profile workflow/profiles/local)"
L0=$(date +%s.%N)
( cd "$WORK/local" && timeout 900 "${SMK[@]}" -d "$WORK/local" --configfile "$WORK/local/config/config.yaml" \
    --profile "$ROOT/workflow/profiles/local" --cores 2 ) > "$OUT/snakemake_local.log" 2>&1 \
    || { tail -40 "$OUT/snakemake_local.log"; die "the local run failed (log: $OUT/snakemake_local.log)"; }
L1=$(date +%s.%N)
say "local run done in $(awk -v a="$L0" -v b="$L1" 'BEGIN{printf "%.1f", b-a}') s"

# --------------------------------------------------------------------------- compare
# provenance.json records the workflow's git commit and whether its tree had
# changes: if the checkout moved between the two runs, that part may differ.
ALLOW=()
if [[ "$(git_state || true)" != "$GIT_BEFORE" ]]; then
    say "note: the git checkout changed between the runs; provenance.json's /workflow may differ"
    ALLOW=(--allow provenance.json:/workflow)
fi
say "comparing results/ of the two runs"
timeout 300 "$PY" "$ROOT/tests/slurm/compare_results.py" "$WORK/slurm/results" "$WORK/local/results" \
    --tsv "$OUT/compare.tsv" --json "$OUT/compare.json" "${ALLOW[@]}" || COMPARE_FAILED=1

else
    echo '{"summary": "skipped (RELCOORD_SLURM_DEMO=0)"}' > "$OUT/compare.json"
fi

# --------------------------------------------------------------------------- a small consortium (benchmark)
N_ORGS="${RELCOORD_SLURM_CONSORTIUM:-6}"
CS0=0; CS1=0; CL0=0; CL1=0
if [[ "$N_ORGS" -gt 0 ]]; then
    for run in slurm local; do
        timeout 600 "$PY" -m relcoord.cli simulate --consortium "$N_ORGS" --respondents 300 --seed 17 \
            --out "$WORK/consortium-$run" > /dev/null || die "simulate --consortium failed"
    done
    chmod -R a+rX "$WORK/consortium-slurm" "$WORK/consortium-local"
    CSMK=("$SNAKEMAKE" -s "$ROOT/workflow/consortium/Snakefile")
    say "consortium of $N_ORGS organisations through --executor slurm"
    CS0=$(date +%s.%N)
    ( cd "$WORK/consortium-slurm" && timeout 1200 "${CSMK[@]}" -d "$WORK/consortium-slurm" \
        --profile "$ROOT/workflow/profiles/slurm" --slurm-status-command squeue \
        --slurm-init-seconds-before-status-checks 2 --slurm-no-account \
        --default-resources slurm_partition=debug mem_mb=1000 runtime=15 ) > "$OUT/snakemake_consortium_slurm.log" 2>&1 \
        || { tail -40 "$OUT/snakemake_consortium_slurm.log"; die "the consortium's Slurm run failed"; }
    CS1=$(date +%s.%N)
    CJOBS=$(grep -c "has been submitted with SLURM jobid" "$OUT/snakemake_consortium_slurm.log" || true)
    say "consortium Slurm run done in $(awk -v a="$CS0" -v b="$CS1" 'BEGIN{printf "%.1f", b-a}') s: $CJOBS Slurm jobs"
    CL0=$(date +%s.%N)
    ( cd "$WORK/consortium-local" && timeout 900 "${CSMK[@]}" -d "$WORK/consortium-local" \
        --profile "$ROOT/workflow/profiles/local" --cores 2 ) > "$OUT/snakemake_consortium_local.log" 2>&1 \
        || { tail -40 "$OUT/snakemake_consortium_local.log"; die "the consortium's local run failed"; }
    CL1=$(date +%s.%N)
    say "consortium local run done in $(awk -v a="$CL0" -v b="$CL1" 'BEGIN{printf "%.1f", b-a}') s"
    timeout 300 "$PY" "$ROOT/tests/slurm/compare_results.py" "$WORK/consortium-slurm/results" \
        "$WORK/consortium-local/results" --tsv "$OUT/compare_consortium.tsv" --json "$OUT/compare_consortium.json" \
        || CONSORTIUM_FAILED=1
fi

T1=$(date +%s.%N)
"$PY" - "$OUT" <<EOF
import json, sys
out = sys.argv[1]
cmp = json.load(open(f"{out}/compare.json"))
json.dump({"slurm_run_s": round($S1 - $S0, 1), "local_run_s": round($L1 - $L0, 1),
           "script_s": round($T1 - $T0, 1), "slurm_jobs": int("${JOBS:-0}" or 0),
           "slurm": "$(slurmctld -V)", "comparison": cmp["summary"],
           "consortium": {"organisations": int("${N_ORGS}"), "slurm_run_s": round($CS1 - $CS0, 1),
                          "local_run_s": round($CL1 - $CL0, 1), "slurm_jobs": int("${CJOBS:-0}" or 0),
                          "comparison": (json.load(open(f"{out}/compare_consortium.json"))["summary"]
                                         if int("${N_ORGS}") > 0 else None)}},
          open(f"{out}/summary.json", "w"), indent=2)
EOF
[[ -z "${COMPARE_FAILED:-}" ]] || die "the Slurm run's results differ from the local run's (see $OUT/compare.tsv)"
[[ -z "${CONSORTIUM_FAILED:-}" ]] || die "the consortium's Slurm results differ from the local run's (see $OUT/compare_consortium.tsv)"
say "OK: Slurm run $(awk -v a="$S0" -v b="$S1" 'BEGIN{printf "%.1f", b-a}') s, local run $(awk -v a="$L0" -v b="$L1" 'BEGIN{printf "%.1f", b-a}') s; results match ($OUT/summary.json)"
