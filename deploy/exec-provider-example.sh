#!/usr/bin/env bash
# Example drover exec provider (see deploy/exec-provider.md).
#
# drover runs this once per action with one JSON request on stdin and reads
# one JSON answer from stdout. This example keeps its "machines" as JSON
# files in $EXEC_PROVIDER_DIR and boots nothing: replace the marked lines
# with calls to your machine pool (IPMI, Slurm, Kubernetes, a cloud API).
# Needs bash, jq and sha256sum.
set -euo pipefail

dir="${EXEC_PROVIDER_DIR:-/tmp/drover-exec-provider}"
mkdir -p "$dir"
req="$(cat)"
action="$(jq -r '.action' <<<"$req")"
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

fail() { # fail CODE MESSAGE: an error answer (code: not_found, state or failed)
	jq -cn --arg c "$1" --arg m "$2" '{error: $m, code: $c}'
	exit 0
}

instance_file() { echo "$dir/$1.json"; }

set_state() { # set_state ID STATE
	local f; f="$(instance_file "$1")"
	jq -c --arg s "$2" --arg t "$now" '.state = $s | .since = $t' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
}

case "$action" in
create)
	key="$(jq -r '.key' <<<"$req")"
	# The id is derived from the intent key: a second create with the same
	# key finds the same instance (drover relies on this idempotency).
	id="x-$(printf '%s' "$key" | sha256sum | cut -c1-12)"
	f="$(instance_file "$id")"
	if [[ ! -f "$f" ]]; then
		# >>> Boot a machine here, passing CONTAINER_ID=.spec.worker_id and
		# >>> MASTER_TOKEN=.spec.master_token to the drover worker it runs.
		jq -c --arg id "$id" --arg t "$now" \
			'{id: $id, intent_key: .key, group_id: .spec.group_id, state: "loading",
			  since: $t, created: $t, hardware: "example-gpu", cost: 1}' <<<"$req" >"$f"
	fi
	jq -c '{instance: .}' "$f"
	;;
start | stop | destroy)
	id="$(jq -r '.id' <<<"$req")"
	f="$(instance_file "$id")"
	[[ -f "$f" ]] || fail not_found "no instance $id"
	state="$(jq -r '.state' "$f")"
	case "$action" in
	start)
		[[ "$state" == stopped || "$state" == starting || "$state" == ready ]] || fail state "cannot start $id in state $state"
		[[ "$state" == stopped ]] && set_state "$id" starting # >>> power the machine on here
		;;
	stop)
		[[ "$state" == gone ]] && fail state "cannot stop $id: gone"
		set_state "$id" stopped # >>> stop the worker here, keep the disk
		;;
	destroy)
		set_state "$id" gone # >>> release the machine here
		;;
	esac
	echo '{}'
	;;
list)
	shopt -s nullglob
	files=("$dir"/*.json)
	if ((${#files[@]} == 0)); then
		echo '{"instances":[]}'
	else
		jq -cs '{instances: sort_by(.id)}' "${files[@]}"
	fi
	;;
*)
	fail failed "unknown action $action"
	;;
esac
