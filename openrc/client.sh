# Tiny Cloud: the OpenRC services' client of the resident process of a first
# boot (`tiny-cloud serve`, which the boot service starts before the boot
# phase; the protocol is in the program's src/domain/resident.ts). It needs a
# POSIX sh, mkfifo, timeout and dd: busybox has them all. Whenever the
# resident process is not there or does not answer, the phase runs in a
# process of its own, as it always could.

# _tiny_cloud_phase PHASE: the phase's output and exit status, from the resident process or its own
_tiny_cloud_phase() {
	_tc_run="$ROOT/run/tiny-cloud"
	_tiny_cloud_wait_resident
	_tc_pid=$(cat "$_tc_run/server.pid" 2>/dev/null) || _tc_pid=
	if [ -n "$_tc_pid" ] && [ -p "$_tc_run/requests" ] && kill -0 "$_tc_pid" 2>/dev/null && _tiny_cloud_ask "$1"; then
		return "$_tc_status"
	fi
	tiny-cloud "$1"
}

# the resident process the boot service started may still be starting
# (server.starting names it; server.pid is there once it listens): wait for
# it while it lives, at most about 10 s
_tiny_cloud_wait_resident() {
	_tc_starting=$(cat "$_tc_run/server.starting" 2>/dev/null) || return 0
	_tc_i=0
	while [ ! -e "$_tc_run/server.pid" ] && [ "$_tc_i" -lt 200 ] && kill -0 "$_tc_starting" 2>/dev/null; do
		sleep 0.05 2>/dev/null || { sleep 1; _tc_i=$((_tc_i + 19)); }
		_tc_i=$((_tc_i + 1))
	done
}

_tiny_cloud_ask() {
	_tc_reply="$_tc_run/reply.$$"
	_tc_env="$_tc_run/env.$$"
	rm -f "$_tc_reply" "$_tc_env"
	mkfifo -m 600 "$_tc_reply" 2>/dev/null || return 1
	if ! (umask 077 && export -p > "$_tc_env"); then
		rm -f "$_tc_reply" "$_tc_env"
		return 1
	fi
	# read-write opens of a FIFO never wait for the other end
	exec 4<>"$_tc_reply"
	printf '%s %s\n' "$1" "$$" 1<>"$_tc_run/requests"
	if [ "$(timeout 5 dd bs=2 count=1 2>/dev/null <&4)" != A ]; then
		exec 4>&-
		rm -f "$_tc_reply" "$_tc_env"
		return 1
	fi
	# the server has the reply open now: read it alone, so its end is seen
	exec 5<"$_tc_reply" 4>&-
	rm -f "$_tc_reply"
	_tc_status=
	while IFS= read -r _tc_line <&5; do
		case $_tc_line in
		"1 "*) printf '%s\n' "${_tc_line#1 }" ;;
		"1-"*) printf '%s' "${_tc_line#1-}" ;;
		"2 "*) printf '%s\n' "${_tc_line#2 }" >&2 ;;
		"X "*) _tc_status=${_tc_line#X }; break ;;
		esac
	done
	exec 5<&-
	[ -n "$_tc_status" ]
}
