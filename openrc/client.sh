# Tiny Cloud: the OpenRC services' client of the resident process of a first
# boot (`tiny-cloud serve`, which the boot service starts before the boot
# phase; the protocol is in the program's src/domain/resident.ts). It needs a
# POSIX sh, mkfifo, sleep, mv and rm: busybox has them all; on its way it starts
# only mkfifo (and rm, not waited for), so that a phase's hand-over costs little. Whenever the
# resident process is not there or does not answer, the phase runs in a
# process of its own, as it always could.

# _tiny_cloud_alive PID [NAME]: the process is there, and not a zombie (a server
# that died before its parent, the boot service's shell, could reap it); with
# NAME, its command name is that (a dead server's pid may be another's since)
_tiny_cloud_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	_tc_stat=
	{ read -r _tc_stat < "/proc/$1/stat"; } 2>/dev/null || return 0
	_tc_comm=${_tc_stat#*\(}
	[ -z "${2:-}" ] || [ "${_tc_comm%\) *}" = "$2" ] || return 1
	_tc_stat=${_tc_stat##*) }
	[ "${_tc_stat%% *}" != Z ]
}

# _tiny_cloud_phase PHASE: the phase's output and exit status, from the resident process or its own
_tiny_cloud_phase() {
	_tc_run="${ROOT:-}/run/tiny-cloud"
	# where /run or /run/tiny-cloud is a symbolic link, which may lead out of ROOT (planted in an image, as the boot
	# service sees it, which starts no server then), no server is looked for through it, nor asked, nor its leftovers
	# removed after final: another ROOT's run directory is not this one's. Nor in a run directory of another user's (planted
	# in an image whose /run is no tmpfs; the server refuses it): that user could name a program of theirs the server and
	# plant links where the client writes. The phase runs in a process of its own
	if [ -L "${ROOT:-}/run" ] || [ -L "$_tc_run" ] || { [ -e "$_tc_run" ] && ! [ -O "$_tc_run" ]; }; then
		tiny-cloud "$1" && return 0 || return $?
	fi
	# server.pid names the server once it listens (the server's command name:
	# src/domain/resident.ts); before, server.starting names it while it starts
	# (a request waits in the FIFO until it reads it). A live server.pid first:
	# a second server (the boot service started again) steps aside for it, maybe
	# before the boot service names that one in server.starting, which then
	# names a process that is gone. Then server.pid again: the server writes it
	# before it removes server.starting, so one that did both between the first
	# two reads is found there
	# (a file the server removes or has not written yet by the time it is read names
	# nobody: its status taken with ||, so that `set -e` does not end the service here)
	for _tc_file in server.pid server.starting server.pid; do
		_tc_pid=
		_tc_name=tiny-cloud-serv
		[ "$_tc_file" = server.pid ] || _tc_name=
		_tiny_cloud_read_pid _tc_pid "$_tc_run/$_tc_file"
		[ -z "$_tc_pid" ] || ! _tiny_cloud_alive "$_tc_pid" "$_tc_name" || break
	done
	# (the requests FIFO itself: a link in its place, planted, would take the request where it leads)
	if [ -n "$_tc_pid" ] && [ -p "$_tc_run/requests" ] && ! [ -L "$_tc_run/requests" ] && _tiny_cloud_alive "$_tc_pid" "$_tc_name"; then
		# (its status taken with ||, so that `set -e`, which openrc-run allows, does not end the service here)
		_tc_asked=0
		_tiny_cloud_ask "$1" "$_tc_pid" || _tc_asked=$?
		case $_tc_asked in
		0) return "$_tc_status" ;;
		# it took the phase and ended during it: as with a phase process that dies, it is not run again (final
		# refuses the marker then). Except boot: nothing after it could tell that it did not run (a first boot's
		# record starts with it), and it runs no program of the user's; it is run here, as the next boot would. A
		# server that ended during final (killed) leaves its name and FIFO, which no later service removes: they go
		# here, once it is gone (its end closes the reply a moment before; waited for as the watchdog waits)
		2)
			if [ "$1" != boot ]; then
				_tiny_cloud_report "$1" err "the resident process ended during the phase; it is not run again"
				if [ "$1" = final ]; then
					_tc_i=0
					while [ "$_tc_i" -lt 50 ] && _tiny_cloud_alive "$_tc_pid" "$_tc_name"; do
						sleep 0.2 2>/dev/null || { sleep 1; _tc_i=$((_tc_i + 4)); }
						_tc_i=$((_tc_i + 1))
					done
					_tiny_cloud_forget
				fi
				return 1
			fi
			_tiny_cloud_report boot warning "the resident process ended during the phase; it is run here"
			;;
		esac
	fi
	tiny-cloud "$1" && _tc_status=0 || _tc_status=$?
	[ "$1" != final ] || _tiny_cloud_forget
	return "$_tc_status"
}

# _tiny_cloud_read_pid VAR FILE: VAR set to the first line of FILE, server.pid or server.starting, as the server and
# the boot service write them: a regular file. Anything else in its place (planted in an image) names nobody and is not
# read (VAR left as it is): a FIFO would hold the read, and the service, for ever, a device never end it, a link lead
# out of ROOT
_tiny_cloud_read_pid() {
	if [ -f "$2" ] && ! [ -L "$2" ]; then
		{ read -r "$1" < "$2"; } 2>/dev/null || :
	fi
}

# _tiny_cloud_say LINE: the line on stderr, whose reader may be gone (a pipe closed early): the write fails (EPIPE)
# and neither SIGPIPE nor `set -e` ends the service before its phase is run and its status returned, as in the
# read loop of _tiny_cloud_ask
_tiny_cloud_say() {
	trap '' PIPE
	echo "$1" >&2 || :
	trap - PIPE
}

# _tiny_cloud_report PHASE LEVEL MESSAGE: the client's own line of the phase, `tiny-cloud/PHASE: MESSAGE` on stderr, and
# MESSAGE to syslog as the services log theirs (facility local7, tag tiny-cloud/PHASE[PID], where logger is installed):
# the phase's lines there end, or start again from another process, and syslog says why
_tiny_cloud_report() {
	_tiny_cloud_say "tiny-cloud/$1: $3"
	logger -p "local7.$2" -t "tiny-cloud/$1[$$]" "$3" 2>/dev/null || :
}

# After final run here: what a resident process killed before it (SIGKILL, which leaves it no clean-up of its own)
# left in the run directory, its name and request FIFO, goes; none serves once the bootstrap is complete, and a
# live one ends itself then. So does server.starting when it names that server: the boot service, slower than the
# server it started (a loaded machine), named it there after it had listened, which only its own end removes. So do
# the request FIFO and server.starting of a server that ended before it listened (it found the bootstrap complete,
# a tiny-cloud.conf the boot service could not read for itself; it could not serve), which the boot service made
# or wrote once it had started it. A server that is starting (named in server.starting alone) keeps them
_tiny_cloud_forget() {
	_tc_pid=
	_tiny_cloud_read_pid _tc_pid "$_tc_run/server.pid"
	[ -z "$_tc_pid" ] || ! _tiny_cloud_alive "$_tc_pid" tiny-cloud-serv || return 0
	_tc_named=
	_tiny_cloud_read_pid _tc_named "$_tc_run/server.starting"
	[ -z "$_tc_named" ] || [ "$_tc_named" = "$_tc_pid" ] || ! _tiny_cloud_alive "$_tc_named" || return 0
	if [ -n "$_tc_pid$_tc_named" ] || [ -e "$_tc_run/requests" ]; then
		# (a directory in a file's place, planted, stays: said by nobody here, nor failing the service under set -e)
		rm -f "$_tc_run/server.pid" "$_tc_run/requests" "$_tc_run/server.starting" 2>/dev/null || :
	fi
}

# The reply FIFO and the environment file are root's alone: the run
# directory is 0700 (the server refuses any other).
_tiny_cloud_ask() {
	_tc_reply="$_tc_run/reply.$$"
	_tc_env="$_tc_run/env.$$"
	# (a link there too, which -e follows: one leading nowhere, planted, would take the environment where it leads)
	if [ -e "$_tc_reply" ] || [ -e "$_tc_env" ] || [ -L "$_tc_reply" ] || [ -L "$_tc_env" ]; then rm -f "$_tc_reply" "$_tc_env"; fi
	# a run directory that takes no file (full, read-only) is one line naming the file and why, not the shell's own
	# words (dash says 'printf: I/O error' of a full disk): the phase is run here. Why the FIFO was refused is the end
	# of mkfifo's line (busybox's and coreutils' alike), asked for again (`test -w` is no help: busybox's tells root
	# it may write on a read-only file system); a write refused once the FIFO was made is one on a full one
	if ! mkfifo -m 600 "$_tc_reply" 2>/dev/null; then
		_tc_why=$(mkfifo -m 600 "$_tc_reply" 2>&1) || :
		rm -f "$_tc_reply"
		case $_tc_why in
		*": Read-only file system") _tc_why="read-only file system" ;;
		*": No space left on device") _tc_why="no space left on device" ;;
		*": "*) _tc_why=${_tc_why##*: } ;;
		*) _tc_why="refused" ;;
		esac
		_tiny_cloud_report "$1" warning "cannot make $_tc_reply: $_tc_why; the phase is run here"
		return 1
	fi
	# (its umask first: the phase's files and programs get it, as a process of its own would. The file is
	# made 0600 whatever that umask: the environment may hold a secret, a proxy's password)
	_tc_umask=$(umask)
	# (a write past the service's file size limit, rc_ulimit's -f, fails as one on a full disk does: SIGXFSZ, ignored here,
	# would end the subshell and the shell print its own line, `File size limit exceeded`)
	if ! (umask 077 && trap '' XFSZ && { printf '%s\n' "$_tc_umask" && export -p; } > "$_tc_env") 2>/dev/null; then
		rm -f "$_tc_reply" "$_tc_env"
		_tc_why="no space left on device"
		[ "$(ulimit -f 2>/dev/null)" = unlimited ] || _tc_why="file too large (the file size limit, ulimit -f)"
		_tiny_cloud_report "$1" warning "cannot write $_tc_env: $_tc_why; the phase is run here"
		return 1
	fi
	# read-write opens of a FIFO never wait for the other end; the request
	# FIFO stays open until the server has taken the request, as a FIFO that
	# nobody holds open drops what it holds (the server may be starting)
	exec 4<>"$_tc_reply" 3<>"$_tc_run/requests"
	# a server that ended as it was asked (its idle time out, a signal) took its FIFO with it: the open made a file in
	# its place, which nobody reads. It goes (the server makes a FIFO, never such a file: none is there now, so none
	# is asked), and the phase is run here
	if ! [ -p "$_tc_run/requests" ]; then
		exec 3>&- 4>&-
		rm -f "$_tc_run/requests" "$_tc_reply" "$_tc_env"
		return 1
	fi
	printf '%s %s\n' "$1" "$$" >&3
	# the server answers A when it takes the request (N: it cannot, run it here); should it die first,
	# or not answer within about 10 s, a watchdog answers T (through the
	# FIFO's name, which is gone once the reply is taken). Once the server has taken it (round 2), only its
	# death: a server that took it runs the phase, however late it answers, as it runs the phase itself
	_tc_round=
	while :; do
		(
			exec 3>&- 4>&- </dev/null >/dev/null 2>&1
			_tc_i=0
			# ($$: the client, killed while it waits, leaves no watchdog waiting on)
			while { [ -n "$_tc_round" ] || [ "$_tc_i" -lt 50 ]; } && _tiny_cloud_alive "$2" && _tiny_cloud_alive "$$"; do
				sleep 0.2 2>/dev/null || { sleep 1; _tc_i=$((_tc_i + 4)); }
				_tc_i=$((_tc_i + 1))
			done
			[ -p "$_tc_reply" ] && printf 'T\n' 1<>"$_tc_reply"
		) &
		_tc_watchdog=$!
		_tc_ack=
		read -r _tc_ack <&4
		kill "$_tc_watchdog" 2>/dev/null || :
		# the watchdog's T withdraws the request by taking its environment, as the server takes it; a server
		# that took it first (as the watchdog answered: a slow CPU) runs the phase, and its answer follows
		# (or, should it die before it answers, the watchdog's T: the phase is then this client's)
		[ "$_tc_ack" = T ] && [ -z "$_tc_round" ] || break
		mv -f "$_tc_env" "$_tc_env.withdrawn" 2>/dev/null && break
		_tc_round=2
	done
	exec 3>&-
	if [ "$_tc_ack" != A ]; then
		exec 4>&-
		# (.taken: a server that took the request and died before it answered)
		rm -f "$_tc_reply" "$_tc_env" "$_tc_env.withdrawn" "$_tc_env.taken"
		return 1
	fi
	# the server has the reply open now: read it alone, so its end is seen
	exec 5<"$_tc_reply" 4>&-
	rm -f "$_tc_reply" &
	_tc_status=
	# a console whose reader is gone (a stderr pipe closed early) fails a printf below (EPIPE), and does not
	# kill this service (SIGPIPE) before the phase's status comes: the phase goes on in the server whatever its
	# output, as a phase run as a process of its own does
	trap '' PIPE
	# (bytes, not characters: bash's read in a UTF-8 locale may take a newline into a character that is none;
	# its stderr, where bash warns, on each line, when it puts back an LC_ALL this system has no locale of)
	# A stdout that cannot take the output (a full disk) is one line and status 1 at the end, as a phase of its own says
	# it, not the shell's line at each write; one whose reader is gone (a pipe, a socket) is none, as there, and so is
	# a closed one (which node opens on /dev/null)
	_tc_lost=
	while LC_ALL=C IFS= read -r _tc_line <&5 2>/dev/null; do
		case $_tc_line in
		"1 "*) printf '%s\n' "${_tc_line#1 }" 2>/dev/null || _tc_lost=1 ;;
		"1-"*) printf '%s' "${_tc_line#1-}" 2>/dev/null || _tc_lost=1 ;;
		10) printf '\000' 2>/dev/null || _tc_lost=1 ;;
		"2 "*) printf '%s\n' "${_tc_line#2 }" >&2 ;;
		"X "*) _tc_status=${_tc_line#X }; break ;;
		esac
	done
	exec 5<&-
	trap - PIPE
	[ -n "$_tc_status" ] || return 2
	if [ -n "$_tc_lost" ] && [ -e /proc/self/fd/1 ] && ! [ -p /proc/self/fd/1 ] && ! [ -S /proc/self/fd/1 ]; then
		_tiny_cloud_say "tiny-cloud: cannot write to standard output"
		[ "$_tc_status" != 0 ] || _tc_status=1
	fi
}
