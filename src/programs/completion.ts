/**
 * `tiny-cloud completion bash|zsh|fish`: shell completion for every command
 * and option of `tiny-cloud` and for `imds` (flags, aliases, `@nic:IFACE`
 * with the machine's interfaces, NIC keys), made from the command table.
 */
import { commandUsage } from "./usage.js"
import { COMMANDS, IMDS_ALIASES, IMDS_FLAGS, IMDS_NIC_KEYS, spellings, type CommandSpec, type Completes, type OptionSpec } from "./commands.js"
import { singleQuoted } from "../domain/shell-words.js"

export const SHELLS = ["bash", "zsh", "fish"] as const
export type Shell = (typeof SHELLS)[number]

/** a word between single quotes, for any of the three shells' `'...'` (fish: `\'`) */
const sq = singleQuoted
const fishq = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

const IMDS_WORDS = [...IMDS_FLAGS, ...IMDS_ALIASES].map(([w]) => w)
/** imds takes `-h` (or `--help`, imds(1)) as its first argument alone: after one, it is a usage error */
const IMDS_HELP = "-h"
const IMDS_HELP_WORDS = [IMDS_HELP, "--help"]
const IMDS_LATER_WORDS = IMDS_WORDS.filter((w) => w !== IMDS_HELP)
/** the commands that print their own usage for `-h` or `--help`, their only argument */
const OWN_HELP = COMMANDS.filter((c) => c.ownHelp === true).flatMap(spellings)
const OWN_HELP_TEXT = "print the usage of this command"

/** the bash words of a completion kind for the current word `$cur` */
const bashCompletes = (what: Completes, clouds: ReadonlyArray<string>): string => {
  if (what === "file") return `_tiny_cloud_files "$cur"`
  if (what === "directory") return `_tiny_cloud_files "$cur" d`
  if (what === "cloud") return `_tiny_cloud_reply "$cur" ${clouds.join(" ")}`
  if (what === "number" || what === "nothing") return ":"
  return `_tiny_cloud_reply "$cur" ${what.words.map(sq).join(" ")}`
}

const bashCommand = (c: CommandSpec, clouds: ReadonlyArray<string>): string => {
  if (c.name === "imds") return `    imds) _tiny_cloud_imds "$cur" $# ;;`
  const withArg = (c.options ?? []).filter((o) => o.arg !== undefined)
  const body: Array<string> = []
  if (withArg.length > 0) {
    body.push(`      case "$prev" in`)
    for (const o of withArg) body.push(`        ${o.names.join("|")}) ${bashCompletes(o.arg!.completes, clouds)}; return ;;`)
    body.push(`      esac`)
  }
  if (c.operands !== undefined) body.push(`      [ $# -eq 0 ] && ${bashCompletes(c.operands, clouds)}`)
  if ((c.options ?? []).length > 0) body.push(`      _tiny_cloud_options "$cur" ${(c.options ?? []).map((o) => sq(`${o.names.join("|")}${o.needs !== undefined ? `<${o.needs}` : ""}`)).join(" ")}`)
  return body.length === 0 ? "" : `    ${spellings(c).join("|")})\n${body.join("\n")}\n      ;;`
}

const bash = (clouds: ReadonlyArray<string>): string => `# bash completion for tiny-cloud and imds (made by: tiny-cloud completion bash)

# COMPREPLY: the candidates that start with the current word (argument 1), less
# what bash already took as earlier words (it splits at COMP_WORDBREAKS: @nic:eth0)
_tiny_cloud_reply() {
  local cur=$1 cut=$1 word
  shift
  while [ -n "$cut" ]; do
    case "$COMP_WORDBREAKS" in *"\${cut: -1}"*) break ;; esac
    cut=\${cut%?}
  done
  COMPREPLY=()
  for word in "$@"; do
    case "$word" in "$cur"*) COMPREPLY+=("\${word#"$cut"}") ;; esac
  done
  # a word that goes on (@nic:, @nic:eth0,) takes no space after it
  if [ \${#COMPREPLY[@]} -eq 1 ]; then
    case "\${COMPREPLY[0]}" in *: | *,) compopt -o nospace 2>/dev/null ;; esac
  fi
  return 0
}

# the options (argument 2 on: each one's spellings, -v|--verbose) not on the line yet, as each is
# taken once; one written NAME<OTHER only once OTHER is (--timeout<--wait)
_tiny_cloud_options() {
  local cur=$1 spec names needs word seen
  local -a offer=() list
  shift
  for spec in "$@"; do
    names=\${spec%%<*} needs=
    [ "$names" != "$spec" ] && needs=\${spec#*<}
    seen=
    for word in "\${words[@]:1}"; do
      case "|$names|" in *"|\${word%%=*}|"*) seen=1 ;; esac
      [ -n "$needs" ] && [ "$word" = "$needs" ] && needs=
    done
    [ -z "$seen" ] && [ -z "$needs" ] || continue
    IFS='|' read -r -a list <<< "$names"
    offer+=("\${list[@]}")
  done
  _tiny_cloud_reply "$cur" "\${offer[@]}"
}

# files (or, with d, directories) for the current word
_tiny_cloud_files() {
  local IFS=$'\\n'
  COMPREPLY=($(compgen -\${2:-f} -- "$1"))
  compopt -o filenames 2>/dev/null
  return 0
}

# imds words for the current word (argument 1), after argument 2 arguments of imds
_tiny_cloud_imds() {
  local cur=$1 iface word
  local -a words=()
  case "$cur" in
    @nic:*,*)
      for word in ${IMDS_NIC_KEYS.map(sq).join(" ")}; do words+=("\${cur%,*},$word"); done ;;
    @nic:*)
      for iface in /sys/class/net/*; do [ -e "$iface" ] && words+=("@nic:\${iface##*/}" "@nic:\${iface##*/},"); done ;;
    *)
      words=(${IMDS_LATER_WORDS.map(sq).join(" ")})
      [ "$2" -eq 0 ] && words=(${IMDS_HELP_WORDS.map(sq).join(" ")} "\${words[@]}") ;;
  esac
  _tiny_cloud_reply "$cur" "\${words[@]}"
}

# the words before the cursor, split at blanks only (so @nic:eth0 stays one word)
_tiny_cloud() {
  local line=\${COMP_LINE:0:COMP_POINT} cur prev
  local -a words
  read -r -a words <<< "$line"
  cur=\${line##*[[:space:]]}
  [ -n "$cur" ] && unset 'words[\${#words[@]}-1]'
  if [ "\${words[0]##*/}" = imds ]; then
    _tiny_cloud_imds "$cur" $((\${#words[@]} - 1))
    return
  fi
  set -- "\${words[@]:1}"
  if [ $# -eq 0 ]; then
    _tiny_cloud_reply "$cur" ${COMMANDS.flatMap(spellings).join(" ")}
    return
  fi
  local command=$1
  shift
  prev=\${words[\${#words[@]}-1]}
  # a command's own usage: -h or --help, its only argument (nothing after it)
  local -a own=()
  case "$command" in
    ${OWN_HELP.join("|")})
      if [ $# -eq 0 ]; then
        case "$cur" in -*) _tiny_cloud_reply "$cur" --help -h; own=("\${COMPREPLY[@]}"); COMPREPLY=() ;; esac
      else
        case "$1" in -h|--help) COMPREPLY=(); return 0 ;; esac
      fi ;;
  esac
  case "$command" in
${COMMANDS.map((c) => bashCommand(c, clouds))
  .filter((s) => s !== "")
  .join("\n")}
  esac
  COMPREPLY+=("\${own[@]}")
  return 0
}

complete -F _tiny_cloud tiny-cloud
complete -F _tiny_cloud imds
`

/** zsh `_arguments` text: no brackets or colons of its own */
const zdesc = (text: string) => text.replace(/\[/g, "(").replace(/\]/g, ")").replace(/:/g, " -")

const zshAction = (what: Completes, clouds: ReadonlyArray<string>): string => {
  if (what === "file") return "_files"
  if (what === "directory") return "_files -/"
  if (what === "cloud") return `(${clouds.join(" ")})`
  if (what === "number" || what === "nothing") return " "
  return `(${what.words.join(" ")})`
}

const zshCommand = (c: CommandSpec, clouds: ReadonlyArray<string>): string => {
  if (c.name === "imds") return `    (imds) _tiny_cloud_imds ;;`
  const spec = (o: OptionSpec) => {
    const names = o.names.length > 1 ? `{${o.names.join(",")}}` : o.names[0]!
    const exclusive = o.names.length > 1 ? `'(${o.names.join(" ")})'` : ""
    return `${exclusive}${names}${sq(`[${zdesc(o.help)}]${o.arg !== undefined ? `:${o.arg.name}:${zshAction(o.arg.completes, clouds)}` : ""}`)}`
  }
  // (_arguments offers an option once; one that needs another only once that one is on the line)
  const options = c.options ?? []
  const specs = options.filter((o) => o.needs === undefined).map(spec)
  if (c.operands !== undefined && c.operands !== "nothing") specs.push(sq(`1:${c.name} argument:${zshAction(c.operands, clouds)}`))
  const needing = options.filter((o) => o.needs !== undefined)
  // -h or --help as the command's only argument
  // (nothing after it: `_arguments` sees it only as the first argument)
  const help =
    c.ownHelp === true ? `(( CURRENT == 2 )) && specs+=('(- : *)'{-h,--help}${sq(`[${OWN_HELP_TEXT}]`)}); (( CURRENT > 2 )) && [[ $words[2] == (-h|--help) ]] && return 1; ` : ""
  if (needing.length > 0 || help !== "") {
    const adds = needing.map((o) => `(( \${words[(I)${o.needs}]} )) && specs+=(${spec(o)}); `).join("")
    return `    (${spellings(c).join("|")}) local -a specs; specs=(${specs.join(" ")}); ${adds}${help}_arguments -s $specs ;;`
  }
  return specs.length === 0 ? "" : `    (${spellings(c).join("|")}) _arguments -s ${specs.join(" ")} ;;`
}

const zsh = (clouds: ReadonlyArray<string>): string => `#compdef tiny-cloud imds
# zsh completion for tiny-cloud and imds (made by: tiny-cloud completion zsh)

_tiny_cloud_imds() {
  local cur=$PREFIX
  local -a words ifaces
  case $cur in
    (@nic:*,*)
      words=(${IMDS_NIC_KEYS.map(sq).join(" ")})
      compadd -S '' -- \${cur%,*},\${^words} ;;
    (@nic:*)
      ifaces=(/sys/class/net/*(N:t))
      compadd -S '' -- @nic:\${^ifaces} @nic:\${^ifaces}, ;;
    (*)
      words=(${IMDS_LATER_WORDS.map(sq).join(" ")})
      # (-h as the first argument alone)
      (( CURRENT == 2 )) && words=(${IMDS_HELP_WORDS.map(sq).join(" ")} $words)
      compadd -S '' -- @nic:
      compadd -- \${words:#@nic:} ;;
  esac
}

_tiny_cloud() {
  if [[ $service == imds ]]; then
    _tiny_cloud_imds
    return
  fi
  if (( CURRENT == 2 )); then
    local -a commands
    commands=(
${COMMANDS.flatMap((c) => spellings(c).map((s) => `      ${sq(`${s.replace(/:/g, "\\:")}:${c.summary}`)}`)).join("\n")}
    )
    _describe -t commands 'tiny-cloud command' commands
    return
  fi
  local command=$words[2]
  shift words
  (( CURRENT-- ))
  case $command in
${COMMANDS.map((c) => zshCommand(c, clouds))
  .filter((s) => s !== "")
  .join("\n")}
  esac
}

# autoloaded from fpath (as _tiny-cloud: compinit calls that function, whose body is this file,
# at every completion; the first runs it as it loads it): complete; sourced (or eval'ed): register
if [[ $zsh_eval_context[-1] == (loadautofunc|shfunc) ]]; then
  _tiny_cloud "$@"
else
  compdef _tiny_cloud tiny-cloud imds
fi
`

const fishCompletes = (what: Completes, clouds: ReadonlyArray<string>): string => {
  if (what === "file") return "-r -F"
  if (what === "directory") return "-x -a '(__fish_complete_directories)'"
  if (what === "cloud") return `-x -a ${fishq(clouds.join(" "))}`
  if (what === "number" || what === "nothing") return "-x"
  return `-x -a ${fishq(what.words.join(" "))}`
}

const fishOption = (names: ReadonlyArray<string>) =>
  names.map((n) => (n.startsWith("--") ? `-l ${n.slice(2)}` : n.length === 2 ? `-s ${n.slice(1)}` : `-o ${n.slice(1)}`)).join(" ")

const fishCommand = (c: CommandSpec, clouds: ReadonlyArray<string>): ReadonlyArray<string> => {
  const using = `__tiny_cloud_using ${spellings(c).join(" ")}`
  if (c.name === "imds") return [`complete -c tiny-cloud -n ${fishq(using)} -a '(__tiny_cloud_imds_args 2)'`]
  // an option once, and one that needs another only once that one is on the line
  // (none after the command's own -h or --help, its only argument)
  const help = c.ownHelp === true ? "; and not __tiny_cloud_own_help" : ""
  const when = (o: OptionSpec) =>
    `-n ${fishq(`${using}${help}; and __tiny_cloud_unseen ${o.names.join(" ")}${o.needs !== undefined ? `; and __tiny_cloud_seen ${o.needs}` : ""}`)}`
  return [
    ...(c.options ?? []).map(
      (o) => `complete -c tiny-cloud ${when(o)} ${fishOption(o.names)} ${o.arg !== undefined ? `${fishCompletes(o.arg.completes, clouds)} ` : ""}-d ${fishq(o.help)}`
    ),
    ...(c.operands !== undefined && c.operands !== "nothing"
      ? [`complete -c tiny-cloud -n ${fishq(`__tiny_cloud_operand ${spellings(c).join(" ")}`)} ${fishCompletes(c.operands, clouds)}`]
      : []),
    ...(c.ownHelp === true ? [`complete -c tiny-cloud -n ${fishq(`__tiny_cloud_operand ${spellings(c).join(" ")}`)} -s h -l help -d ${fishq(OWN_HELP_TEXT)}`] : [])
  ]
}

const fish = (clouds: ReadonlyArray<string>): string => `# fish completion for tiny-cloud and imds (made by: tiny-cloud completion fish)

# no command word yet
function __tiny_cloud_needs_command
    set -l words (commandline -opc)
    test (count $words) -eq 1
end

# the command word is one of the arguments
function __tiny_cloud_using
    set -l words (commandline -opc)
    test (count $words) -ge 2; and contains -- $words[2] $argv
end

# the command word is one of the arguments and its operand is next
function __tiny_cloud_operand
    set -l words (commandline -opc)
    test (count $words) -eq 2; and contains -- $words[2] $argv
end

# none of the arguments is on the line yet (an option is taken once; --timeout=5 is --timeout);
# while an option's value is completed (no - yet), that option is not counted
function __tiny_cloud_unseen
    set -l words (commandline -opc)[3..-1]
    if test (count $words) -gt 0; and not string match -q -- '-*' (commandline -ct)
        set -e words[-1]
    end
    for word in $words
        contains -- (string replace -r '=.*' '' -- $word) $argv; and return 1
    end
    return 0
end

# the command's first argument is -h or --help (its own usage, its only argument)
function __tiny_cloud_own_help
    set -l words (commandline -opc)
    test (count $words) -ge 3; and contains -- $words[3] -h --help
end

# the argument is on the line
function __tiny_cloud_seen
    contains -- $argv[1] (commandline -opc)[3..-1]
end

# imds words for the current token; argument 1: the words before imds's first argument (-h is that argument alone)
function __tiny_cloud_imds_args
    set -l cur (commandline -ct)
    switch $cur
        case '@nic:*,*'
            set -l base (string replace -r ',[^,]*$' '' -- $cur)
            for key in ${IMDS_NIC_KEYS.map(fishq).join(" ")}
                echo "$base,$key"
            end
        case '@nic:*'
            for iface in /sys/class/net/*
                set -l name (string replace -r '.*/' '' -- $iface)
                echo "@nic:$name"
                echo "@nic:$name,"
            end
        case '*'
${[...IMDS_FLAGS, ...IMDS_ALIASES]
  .flatMap(([w, help]): ReadonlyArray<readonly [string, string]> => (w === IMDS_HELP ? IMDS_HELP_WORDS.map((h) => [h, help] as const) : [[w, help]]))
  .map(([w, help]) => `            ${IMDS_HELP_WORDS.includes(w) ? "test (count (commandline -opc)) -eq $argv[1]; and " : ""}printf '%s\\t%s\\n' ${fishq(w)} ${fishq(help)}`)
  .join("\n")}
    end
end

complete -c imds -f -a '(__tiny_cloud_imds_args 1)'
complete -c tiny-cloud -f
${COMMANDS.flatMap((c) => spellings(c).map((s) => `complete -c tiny-cloud -n __tiny_cloud_needs_command -a ${fishq(s)} -d ${fishq(c.summary)}`)).join("\n")}
${COMMANDS.flatMap((c) => fishCommand(c, clouds)).join("\n")}
`

export const completionScript = (shell: Shell, clouds: ReadonlyArray<string>): string =>
  shell === "bash" ? bash(clouds) : shell === "zsh" ? zsh(clouds) : fish(clouds)

export const main = async (shell: string): Promise<number> => {
  if (!(SHELLS as ReadonlyArray<string>).includes(shell)) {
    process.stderr.write(commandUsage("completion"))
    return 1
  }
  // the clouds' names from their one list (via the simulator, which programs may import)
  const { SIM_CLOUDS } = await import("../sim/simulator.js")
  process.stdout.write(completionScript(shell as Shell, SIM_CLOUDS))
  return 0
}
