#!/usr/bin/env bash
# One connbench run on N Kubernetes pods (one per node), merged into one
# result: connbench kube job prints an Indexed Job whose pod I runs segment
# I/N of the run; this script applies it, waits for it to end, collects
# every pod's log (each holds its result as one JSON line, --jsonl) and
# merges them with connbench merge, which checks that every segment is
# there exactly once.
#
#   scripts/kube-run.sh OUT.json [run flags] --segments N --image IMAGE --target HOST:PORT [kube job flags]
#
# e.g.
#   scripts/kube-run.sh all.json -w per-request --rate 20000 -d 60s \
#       --segments 8 --image registry.example/connbench:0.2.0 --target nginx.default.svc:80
#
# Writes OUT.json (the merge), OUT.job.json (the Job) and OUT.pods.log (the
# pods' logs, one after the other); deletes the Job at the end unless
# KEEP=1. PARTIAL=1 merges the segments there are when pods failed (the
# result is then flagged partial and names the missing ones). Needs kubectl
# (its current context and namespace, or the Job's --namespace) and a
# connbench binary here (CONNBENCH, default connbench on PATH).
set -euo pipefail

if [ $# -lt 2 ]; then
	sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
out=$1
shift
case $out in
-*) echo "kube-run.sh: the first argument is the output file, got $out" >&2; exit 2 ;;
esac
cb=${CONNBENCH:-connbench}
jobfile=${out%.json}.job.json
logfile=${out%.json}.pods.log

"$cb" kube job "$@" > "$jobfile"
# kubectl create (not apply): a Job of the same name left by an earlier run
# is an error, not silently kept.
ref=$(kubectl create -f "$jobfile" -o jsonpath='{.metadata.namespace}{" "}{.metadata.name}{" "}{.spec.activeDeadlineSeconds}')
read -r ns name deadline <<< "$ref"
k() { kubectl -n "$ns" "$@"; }
cleanup() {
	if [ "${KEEP:-0}" != 1 ]; then
		k delete job "$name" --wait=false >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
echo "kube-run.sh: job $ns/$name created; waiting for it to end (at most ${deadline}s)" >&2

# Wait for Complete or Failed (kubectl wait takes one condition), bounded
# by the Job's own deadline plus a minute.
end=$((SECONDS + deadline + 60))
state=
while [ $SECONDS -lt $end ]; do
	state=$(k get job "$name" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
	case " $state " in
	*" Complete "* | *" Failed "*) break ;;
	esac
	sleep 5
done
echo "kube-run.sh: job $name: ${state:-still running}" >&2

: > "$logfile"
for pod in $(k get pods -l "job-name=$name" -o name); do
	k logs "$pod" >> "$logfile" || echo "kube-run.sh: no log from $pod" >&2
done

partial=()
if [ "${PARTIAL:-0}" = 1 ]; then
	partial=(--partial)
fi
"$cb" merge "${partial[@]}" -o "$out" "$logfile"
echo "kube-run.sh: wrote $out" >&2
"$cb" report "$out"
