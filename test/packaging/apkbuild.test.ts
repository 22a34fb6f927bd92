import { execFile, execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, join, posix, resolve } from "node:path"
import { gunzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CLOUD_NAMES } from "../../src/clouds/registry.js"
import { parseAssignments } from "../../src/domain/shell-words.js"
import { readCommandLog } from "../../src/sim/fake-system.js"
import { makeInstance } from "../support/harness.js"
import { PATIENT_METADATA } from "../support/instance-env.js"
import { alive, endResident, serverPid, servicesEnv, startService, until } from "../support/openrc.js"
import { describeSystem, itSystem, which } from "../support/system.js"

/** a script run without blocking the thread, so that the concurrent tests that make code caches (seconds of node each) overlap */
const runScript = (args: ReadonlyArray<string>, options: { readonly cwd?: string; readonly env: NodeJS.ProcessEnv }) =>
  new Promise<string>((done, fail) => execFile("sh", args, { ...options, encoding: "utf8" }, (e, stdout) => (e ? fail(e) : done(stdout))))

const REPO = resolve(new URL("../..", import.meta.url).pathname)
const STARTDIR = join(REPO, "packaging/alpine")
/** every cloud of the registry has its package (README "Adding a cloud"): a cloud added without one fails the package tests */
const CLOUDS = CLOUD_NAMES
const VERSION = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version as string

/**
 * Runs the APKBUILD as abuild would, as far as it goes: sources it in its
 * directory, unpacks the release tarball into srcdir, runs build, check and
 * package in builddir, then each subpackage's split function with its own
 * subpkgdir. abuild's helpers are stand-ins written after abuild's own
 * (default_doc, default_openrc, default_*comp, amove). Prints one line per package:
 * @@pkg|NAME|depends|install_if|pkgdesc.
 */
const HARNESS = String.raw`
set -eu
startdir=$1 srcdir=$2 pkgbase=$3 tarball=$4
cd "$startdir"
. ./APKBUILD

amove() {
	local pattern f
	for pattern; do
		for f in "$pkgdir"/\${pattern#/}; do
			[ -e "$f" ] || [ -L "$f" ] || { echo "amove: $pattern: not found" >&2; return 1; }
			f=\${f#"$pkgdir"/}
			mkdir -p "$subpkgdir/\${f%/*}"
			mv "$pkgdir/$f" "$subpkgdir/\${f%/*}/"
		done
	done
}
default_openrc() {
	pkgdesc="$pkgdesc (OpenRC init scripts)"
	install_if="openrc \${subpkgname%-openrc}=$pkgver-r$pkgrel"
	local dir
	for dir in conf.d init.d; do
		if [ -d "$pkgdir/etc/$dir" ]; then amove "etc/$dir"; fi
	done
}
default_doc() {
	pkgdesc="$pkgdesc (documentation)"
	install_if="docs $pkgname=$pkgver-r$pkgrel"
	local i
	for i in doc man info html sgml licenses gtk-doc ri help; do
		if [ -d "$pkgdir/usr/share/$i" ]; then amove "usr/share/$i"; fi
	done
	if [ -d "$subpkgdir/usr/share/man" ]; then find "$subpkgdir/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +; fi
	rmdir "$pkgdir/usr/share" 2>/dev/null || :
}
default_bashcomp() {
	depends= pkgdesc="Bash completions for $pkgname" install_if="$pkgname=$pkgver-r$pkgrel bash-completion"
	amove usr/share/bash-completion/completions
}
default_zshcomp() {
	depends= pkgdesc="Zsh completions for $pkgname" install_if="$pkgname=$pkgver-r$pkgrel zsh"
	amove usr/share/zsh/site-functions
}
default_fishcomp() {
	depends= pkgdesc="Fish completions for $pkgname" install_if="$pkgname=$pkgver-r$pkgrel fish"
	amove usr/share/fish/vendor_completions.d
}

mkdir -p "$srcdir"
tar -xzf "$tarball" -C "$srcdir"
pkgdir=$pkgbase/$pkgname
mkdir -p "$pkgdir"
cd "$builddir"
build
check > /dev/null
package
echo "@@pkg|$pkgname|$depends||$pkgdesc|$provides"
maindesc=$pkgdesc
for spec in $subpackages; do
	subpkgname=\${spec%%:*}
	func=
	case $spec in *:*) func=\${spec#*:}; func=\${func%%:*} ;; esac
	if [ -z "$func" ]; then
		case $subpkgname in
		*-doc) func=default_doc ;;
		*-openrc) func=default_openrc ;;
		*-bash-completion) func=default_bashcomp ;;
		*-zsh-completion) func=default_zshcomp ;;
		*-fish-completion) func=default_fishcomp ;;
		*) func=\${subpkgname##*-} ;;
		esac
	fi
	subpkgdir=$pkgbase/$subpkgname
	(
		depends= install_if= pkgdesc=$maindesc
		cd "$builddir"
		$func
		mkdir -p "$subpkgdir"
		echo "@@pkg|$subpkgname|$depends|$install_if|$pkgdesc|$provides"
	)
done
`.replace(/\\\$/g, "$")

interface Entry {
  readonly kind: "file" | "link"
  readonly mode: number
  readonly what: string
}

/** files and symlinks under dir (directories are implied), path → kind, mode, content hash or the path a link leads to (relative or absolute alike); a man page gzipped by -doc counts as the page */
const tree = (dir: string, prefix = ""): Map<string, Entry> => {
  const out = new Map<string, Entry>()
  if (!existsSync(dir)) return out
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const rel = `${prefix}/${name}`
    const st = lstatSync(path)
    if (st.isDirectory()) for (const [k, v] of tree(path, rel)) out.set(k, v)
    else if (st.isSymbolicLink()) out.set(rel, { kind: "link", mode: 0o777, what: posix.resolve(posix.dirname(rel), readlinkSync(path)) })
    else if (/\/share\/man\/.*\.gz$/.test(rel)) out.set(rel.slice(0, -3), { kind: "file", mode: st.mode & 0o7777, what: createHash("sha256").update(gunzipSync(readFileSync(path))).digest("hex") })
    else out.set(rel, { kind: "file", mode: st.mode & 0o7777, what: createHash("sha256").update(readFileSync(path)).digest("hex") })
  }
  return out
}

let dir = ""
let packages: Record<string, Map<string, Entry>> = {}
let meta: Record<string, { depends: string; installIf: string; pkgdesc: string; provides: string }> = {}
let installed = new Map<string, Entry>()

// make dist and make install build what every test here reads
describeSystem("the package and make install", { tools: { make: "make" } }, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "tiny-cloud-apkbuild-"))
    execFileSync("make", ["-s", "dist", `DISTDIR=${dir}`], { cwd: REPO })
    const tarball = join(dir, `tiny-cloud-${VERSION}.tar.gz`)
    // abuild's startdir: the APKBUILD, its install scripts and the source
    const startdir = join(dir, "startdir")
    cpSync(STARTDIR, startdir, { recursive: true })
    cpSync(tarball, join(startdir, `tiny-cloud-${VERSION}.tar.gz`))
    const pkgbase = join(dir, "pkg")
    const out = execFileSync("sh", ["-c", HARNESS, "harness", startdir, join(dir, "src"), pkgbase, tarball], {
      encoding: "utf8",
      env: { PATH: `${process.env.PATH}`, HOME: dir }
    })
    for (const line of out.split("\n").filter((l) => l.startsWith("@@pkg|"))) {
      const [, name, depends, installIf, pkgdesc, provides] = line.split("|")
      meta[name!] = { depends: depends!.trim(), installIf: installIf!.trim(), pkgdesc: pkgdesc!, provides: provides!.trim() }
      packages[name!] = tree(join(pkgbase, name!))
    }
    // the package makes its code caches on the target (post-install), not in the package
    execFileSync("make", ["-s", "install", `DESTDIR=${join(dir, "make-install")}`, "PREPARE_CODE_CACHE=no"], { cwd: REPO })
    installed = tree(join(dir, "make-install"))
  }, 60_000)

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    packages = {}
    meta = {}
  })

  describe("the APKBUILD", () => {
    it("has the project's version and the shell edition's dependencies, noarch", () => {
      const apkbuild = readFileSync(join(STARTDIR, "APKBUILD"), "utf8")
      expect(apkbuild).toMatch(new RegExp(`^pkgver=${VERSION.replace(/\./g, "\\.")}$`, "m"))
      expect(apkbuild).toMatch(/^arch="noarch"$/m)
      expect(meta["tiny-cloud"]!.depends.split(/\s+/)).toEqual(["nodejs", "e2fsprogs-extra", "partx", "sfdisk", "openssh-server", "iproute2-minimal"])
      // built from the release tarball: no npm, no build dependencies
      expect(apkbuild).not.toMatch(/^\s*(npm|npx)\s/m)
      expect(apkbuild).not.toMatch(/^makedepends=/m)
    })

    it("stands in for the shell edition's tiny-cloud-network, whose helpers it installs, and answers to tiny-cloud-allclouds, as the shell edition's main package does", () => {
      const out = execFileSync("sh", ["-c", '. ./APKBUILD; printf "%s|%s" "$provides" "$replaces"'], { cwd: STARTDIR, encoding: "utf8" })
      // (apk add tiny-cloud-allclouds: the cloud detected, CLOUD left to the stock configuration's auto)
      expect(out).toBe(`tiny-cloud-network=${VERSION}-r0 tiny-cloud-allclouds=${VERSION}-r0|tiny-cloud-network`)
      expect(meta["tiny-cloud"]!.provides).toBe(`tiny-cloud-network=${VERSION}-r0 tiny-cloud-allclouds=${VERSION}-r0`)
      expect(installed.get("/sbin/assemble-interfaces")?.kind).toBe("link")
    })

    it("splits into the main package, -doc, -openrc, the completions and one package per cloud", () => {
      const completions = ["bash", "zsh", "fish"].map((shell) => `tiny-cloud-${shell}-completion`)
      expect(Object.keys(packages).sort()).toEqual(["tiny-cloud", "tiny-cloud-doc", "tiny-cloud-openrc", ...completions, ...CLOUDS.map((c) => `tiny-cloud-${c}`)].sort())
    })

    it("installs, across its packages, exactly what make install installs, each file in one package", () => {
      const union = new Map<string, Entry>()
      for (const [name, files] of Object.entries(packages)) {
        for (const [path, entry] of files) {
          expect(union.has(path), `${path} in two packages (again in ${name})`).toBe(false)
          union.set(path, entry)
        }
      }
      expect(Object.fromEntries([...union].sort())).toEqual(Object.fromEntries([...installed].sort()))
      expect(installed.get("/usr/lib/tiny-cloud/tiny-cloud.cjs")).toMatchObject({ kind: "file", mode: 0o755 })
      expect(readlinkSync(join(dir, "make-install/usr/sbin/tiny-cloud"))).toBe("../lib/tiny-cloud/tiny-cloud.cjs")
      expect(readlinkSync(join(dir, "make-install/usr/bin/imds"))).toBe("../lib/tiny-cloud/tiny-cloud.cjs")
    })

    it("leads the network helpers' names to the program by an absolute link, right whether /sbin and /lib are directories or links to /usr (Alpine 3.23 on)", () => {
      const links = [...packages["tiny-cloud"]!].filter(([, e]) => e.kind === "link").map(([path]) => path)
      expect(links.sort()).toEqual(["/lib/mdev/nvme-ebs-links", "/lib/mdev/vnic-eth-hotplug", "/sbin/assemble-interfaces", "/sbin/imds-net-sync", "/usr/bin/imds", "/usr/sbin/tiny-cloud"])
      for (const link of links.filter((l) => !l.startsWith("/usr/"))) expect(readlinkSync(join(dir, "pkg/tiny-cloud", link)), link).toBe("/usr/lib/tiny-cloud/tiny-cloud.cjs")
    })

    it("leads /usr/sbin/tiny-cloud and /usr/bin/imds to the program from their directory: alpine-cloud-images' setup-tiny finds the image's tiny-cloud from outside it before it runs --enable in its chroot", () => {
      const image = join(dir, "pkg/tiny-cloud")
      for (const link of ["/usr/sbin/tiny-cloud", "/usr/bin/imds"]) expect(readlinkSync(join(image, link)), link).toBe("../lib/tiny-cloud/tiny-cloud.cjs")
      // its test, on the builder (TARGET the image, mounted at /mnt), whose own /usr has no tiny-cloud; else "Error: /usr/sbin/tiny-cloud not found" and the build stops
      const found = spawnSync("sh", ["-c", '[ -f "$1/usr/sbin/tiny-cloud" ]', "sh", image])
      expect(found.status).toBe(0)
    })

    it("README's table of what make install installs names every file and link it installs", () => {
      const readme = readFileSync(join(REPO, "README.md"), "utf8")
      const table = readme.slice(readme.indexOf("| path | what |")).split("\n\n")[0]!
      const expand = (p: string): Array<string> => {
        const m = /\{([^}]*)\}/.exec(p)
        return m === null ? [p] : m[1]!.split(",").flatMap((alt) => expand(p.replace(m[0], alt)))
      }
      // a row's first cell: paths in backquotes, a name without a directory beside the path before it
      const named = table.split("\n").flatMap((row) => {
        let dir = ""
        return [...(row.split("|")[1] ?? "").matchAll(/`([^`]+)`/g)].flatMap(([, token]) => {
          const path = token!.replace(/^\$PREFIX/, "/usr")
          const full = path.startsWith("/") ? path : `${dir}/${path}`
          dir = full.replace(/\/[^/]*\/?$/, "")
          return expand(full)
        })
      })
      const covered = (file: string) => named.some((n) => (n.endsWith("/") ? file.startsWith(n) : file === n))
      expect([...installed.keys()].filter((file) => !covered(file))).toEqual([])
    })

    it("runs through the installed names: imds through its symlink is the imds command", () => {
      const root = join(dir, "make-install")
      // run as an operator would: by path, through the symlink, #!/usr/bin/env node
      const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, TINY_CLOUD_CODE_CACHE: "off" }
      expect(execFileSync(join(root, "usr/bin/imds"), ["-h"], { encoding: "utf8", env })).toMatch(/^Usage: imds /)
      const version = execFileSync(join(root, "usr/sbin/tiny-cloud"), ["--version"], { encoding: "utf8", env })
      expect(version.trim()).toBe(`tiny-cloud ${VERSION}`)
    })

    it("puts the OpenRC services in -openrc (installed with openrc) and the documentation in -doc", () => {
      expect([...packages["tiny-cloud-openrc"]!.keys()].sort()).toEqual(["boot", "early", "final", "main"].map((p) => `/etc/init.d/tiny-cloud-${p}`))
      for (const entry of packages["tiny-cloud-openrc"]!.values()) expect(entry.mode).toBe(0o755)
      expect(meta["tiny-cloud-openrc"]!.installIf).toBe(`openrc tiny-cloud=${VERSION}-r0`)
      expect([...packages["tiny-cloud-doc"]!.keys()].sort()).toEqual(
        ["/usr/share/doc/tiny-cloud/README.md", ...["man1/imds.1", "man5/alpine-config.5", "man5/cloud-config.5", "man5/tiny-cloud.conf.5", "man8/tiny-cloud.8"].map((m) => `/usr/share/man/${m}`)].sort()
      )
      expect([...packages["tiny-cloud-bash-completion"]!.keys()].sort()).toEqual(["imds", "tiny-cloud"].map((c) => `/usr/share/bash-completion/completions/${c}`))
      expect([...packages["tiny-cloud-zsh-completion"]!.keys()]).toEqual(["/usr/share/zsh/site-functions/_tiny-cloud"])
      expect([...packages["tiny-cloud-fish-completion"]!.keys()].sort()).toEqual(["imds", "tiny-cloud"].map((c) => `/usr/share/fish/vendor_completions.d/${c}.fish`))
      expect(meta["tiny-cloud-zsh-completion"]!.installIf).toBe(`tiny-cloud=${VERSION}-r0 zsh`)
      expect([...packages["tiny-cloud"]!.keys()].filter((p) => p.startsWith("/etc/init.d/") || p.startsWith("/usr/share/"))).toEqual([])
    })

    it("tiny-cloud-aws and tiny-cloud-nocloud answer to the older names Alpine's shell-edition packages provide (tiny-ec2-bootstrap, tiny-cloud-alpine); the other clouds to none", () => {
      const provides = Object.fromEntries(CLOUDS.map((c) => [c, meta[`tiny-cloud-${c}`]!.provides]))
      expect(provides).toEqual({ ...Object.fromEntries(CLOUDS.map((c) => [c, ""])), aws: `tiny-ec2-bootstrap=${VERSION}-r0`, nocloud: `tiny-cloud-alpine=${VERSION}-r0` })
    })

    it.each(CLOUDS)("tiny-cloud-%s is empty, needs this very tiny-cloud, and has a post-install script", (cloud) => {
      expect(packages[`tiny-cloud-${cloud}`]!.size).toBe(0)
      expect(meta[`tiny-cloud-${cloud}`]!.depends).toBe(`tiny-cloud=${VERSION}-r0`)
      expect(meta[`tiny-cloud-${cloud}`]!.pkgdesc).toContain(cloud)
      expect(existsSync(join(STARTDIR, `tiny-cloud-${cloud}.post-install`))).toBe(true)
    })
  })

  describe("a cloud package's post-install", () => {
    /** runs tiny-cloud-CLOUD.post-install in a copy of the installed tree; returns /etc/tiny-cloud.conf */
    const postInstall = (cloud: string, conf?: string | null) => {
      const root = mkdtempSync(join(dir, "root-"))
      cpSync(join(dir, "make-install"), root, { recursive: true, verbatimSymlinks: true })
      if (conf === null) rmSync(join(root, "etc/tiny-cloud.conf"))
      else if (conf !== undefined) writeFileSync(join(root, "etc/tiny-cloud.conf"), conf)
      execFileSync("sh", [join(STARTDIR, `tiny-cloud-${cloud}.post-install`)], { env: { PATH: process.env.PATH!, ROOT: root } })
      return readFileSync(join(root, "etc/tiny-cloud.conf"), "utf8")
    }
    const template = () => readFileSync(join(REPO, "conf/tiny-cloud.conf"), "utf8")

    it.each(CLOUDS)("tiny-cloud-%s sets CLOUD in the stock configuration, and nothing else", (cloud) => {
      const conf = postInstall(cloud)
      expect(conf.match(/^\s*CLOUD=.*$/gm)).toEqual([`CLOUD=${cloud}`])
      expect(conf).toBe(template().replace(/^#CLOUD=auto$/m, `CLOUD=${cloud}`))
    })

    it("creates /etc/tiny-cloud.conf from the template when there is none", () => {
      expect(postInstall("gcp", null)).toBe(template().replace(/^#CLOUD=auto$/m, "CLOUD=gcp"))
    })

    it("replaces the operator's CLOUD and keeps the rest of their file", () => {
      const conf = postInstall("aws", `# mine\nCLOUD_USER=ec2-user\nCLOUD="nocloud"\nIMDS_TIMEOUT=5\n CLOUD=azure\n`)
      expect(conf).toBe(`# mine\nCLOUD_USER=ec2-user\nCLOUD=aws\nIMDS_TIMEOUT=5\n`)
    })

    it("replaces a CLOUD the operator exports ('export KEY=value' is a tiny-cloud.conf line), which would otherwise win over the one it sets", () => {
      expect(postInstall("aws", "#CLOUD=auto\nCLOUD_USER=bob\n  export CLOUD=azure\n")).toBe("#CLOUD=auto\nCLOUD_USER=bob\nCLOUD=aws\n")
      expect(postInstall("gcp", "CLOUD=aws\nexport\tCLOUD='azure'\n")).toBe("CLOUD=gcp\n")
    })

    it("keeps a line that sets CLOUD beside another assignment (which sh and tiny-cloud.conf take: CLOUD_USER set too) and sets CLOUD after it, where it wins; a second run changes nothing", () => {
      const once = postInstall("aws", "#CLOUD=auto\nexport CLOUD_USER=ops CLOUD=azure\nIMDS_TIMEOUT=5\n")
      expect(once).toBe("#CLOUD=auto\nexport CLOUD_USER=ops CLOUD=azure\nIMDS_TIMEOUT=5\nCLOUD=aws\n")
      expect(postInstall("aws", once)).toBe(once)
      expect(postInstall("gcp", "CLOUD=oci\nCLOUD=azure CLOUD_USER=ops\n")).toBe("CLOUD=azure CLOUD_USER=ops\nCLOUD=gcp\n")
      expect(postInstall("oci", "CLOUD_USER=ops;CLOUD=azure\nCLOUD=oci\n")).toBe("CLOUD_USER=ops;CLOUD=azure\nCLOUD=oci\n")
      // a CLOUD= in a comment after a value is no assignment
      expect(postInstall("aws", "CLOUD=azure # CLOUD_USER=ops\n")).toBe("CLOUD=aws\n")
    })

    it("keeps a line that sets CLOUD after names it exports ('export CLOUD_USER CLOUD=azure', which sh and tiny-cloud.conf take) and sets CLOUD after it: set at the template's line above it, the line's azure won", () => {
      const once = postInstall("aws", "#CLOUD=auto\nexport CLOUD_USER DEBUG CLOUD=azure\n")
      expect(once).toBe("#CLOUD=auto\nexport CLOUD_USER DEBUG CLOUD=azure\nCLOUD=aws\n")
      expect(postInstall("aws", once)).toBe(once)
      expect(parseAssignments(once).values["CLOUD"]).toBe("aws")
      // a command of its own after the names: the same
      const apart = postInstall("gcp", "#CLOUD=auto\nexport CLOUD_USER; export CLOUD=azure\n")
      expect(apart).toBe("#CLOUD=auto\nexport CLOUD_USER; export CLOUD=azure\nCLOUD=gcp\n")
      expect(parseAssignments(apart).values["CLOUD"]).toBe("gcp")
      // names, then an assignment before CLOUD's, or a command of its own with both: the same
      for (const line of ["export CLOUD_USER DEBUG=1 CLOUD=azure", "export CLOUD_USER; CLOUD_USER=ops CLOUD=azure"]) {
        const conf = postInstall("oci", `#CLOUD=auto\n${line}\n`)
        expect(conf).toBe(`#CLOUD=auto\n${line}\nCLOUD=oci\n`)
        expect(parseAssignments(conf).values["CLOUD"]).toBe("oci")
      }
    })

    it("adds CLOUD to a file that has no CLOUD line", () => {
      expect(postInstall("oci", "CLOUD_USER=opc\n")).toBe("CLOUD_USER=opc\nCLOUD=oci\n")
    })
  })

  describe.concurrent("tiny-cloud's own install scripts", () => {
    /**
     * One post-install (seconds of node making the code caches) for the two tests that read what it made, run as on a live instance
     * whose networking is started: the system's own commands recording (rc-service says networking is started), and the instance's
     * state and log directories exported where it runs (make install, apk --preserve-env from a phase whose user-data upgrades
     * tiny-cloud: the simulated first boot wrote its marker, user-data and run record there, and waited for ever for the lock that
     * phase holds). Node is this system's, from the PATH.
     */
    let liveInstall: Promise<{ readonly root: string; readonly calls: string; readonly state: string; readonly logs: string }> | undefined
    const postInstalledLive = () =>
      (liveInstall ??= (async () => {
        const root = mkdtempSync(join(dir, "root-"))
        cpSync(join(dir, "make-install"), root, { recursive: true, verbatimSymlinks: true })
        const system = mkdtempSync(join(dir, "system-"))
        const calls = join(system, "calls")
        for (const command of ["rc-service", "ifup", "logger", "ip", "udhcpc"]) {
          writeFileSync(join(system, command), `#!/bin/sh\necho "${command} $*" >> "${calls}"\nexit 0\n`, { mode: 0o755 })
        }
        const state = mkdtempSync(join(dir, "state-"))
        const logs = mkdtempSync(join(dir, "logs-"))
        const env = { PATH: `${system}:${dirname(process.execPath)}:${process.env.PATH}`, ROOT: root, TINY_CLOUD_VAR: state, TINY_CLOUD_LOGS: logs }
        await runScript([join(STARTDIR, "tiny-cloud.post-install")], { env })
        return { root, calls, state, logs }
      })())

    it("post-install makes the code caches with this system's node, which then serve a boot's first run; pre-deinstall removes them", async () => {
      const apkbuild = readFileSync(join(STARTDIR, "APKBUILD"), "utf8")
      for (const script of ["post-install", "post-upgrade", "pre-deinstall"]) expect(apkbuild).toContain(`$pkgname.${script}`)
      const { root } = await postInstalledLive()
      const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, ROOT: root }
      const caches = join(root, "usr/lib/tiny-cloud/code-cache")
      expect(readdirSync(caches).map((f) => f.replace(/^code-cache-[0-9a-f]{16}-/, "")).sort()).toEqual(["bootstrap", "imds", "network", "other", "phase"])
      for (const f of readdirSync(caches)) expect(lstatSync(join(caches, f)).mode & 0o777).toBe(0o644)
      // the prepared cache is accepted: a boot's run directory gets none of its own
      const run = mkdtempSync(join(dir, "run-"))
      mkdirSync(join(root, "var/lib/cloud"), { recursive: true })
      // --version runs the whole program (--bootstrap status compiles none)
      const version = execFileSync(join(root, "usr/sbin/tiny-cloud"), ["--version"], { encoding: "utf8", env: { ...env, TINY_CLOUD_CODE_CACHE: run } })
      expect(version).toMatch(/^tiny-cloud \S+\n$/)
      expect(readdirSync(run)).toEqual([])
      // on a copy of the instance: the other test reads this one
      const removed = mkdtempSync(join(dir, "root-"))
      cpSync(root, removed, { recursive: true, verbatimSymlinks: true })
      execFileSync("sh", [join(STARTDIR, "tiny-cloud.pre-deinstall")], { env: { ...env, ROOT: removed } })
      expect(existsSync(join(removed, "usr/lib/tiny-cloud/code-cache"))).toBe(false)
    })

    it("pre-upgrade moves the settings of the shell edition before 3.0 (/etc/conf.d/tiny-cloud) to /etc/tiny-cloud.conf, where the program reads them, unless that file is there", () => {
      expect(readFileSync(join(STARTDIR, "APKBUILD"), "utf8")).toMatch(/^\t\$pkgname\.pre-upgrade$/m)
      const root = mkdtempSync(join(dir, "root-"))
      mkdirSync(join(root, "etc/conf.d"), { recursive: true })
      writeFileSync(join(root, "etc/conf.d/tiny-cloud"), "CLOUD=aws\nCLOUD_USER=ec2-user\n")
      execFileSync("sh", [join(STARTDIR, "tiny-cloud.pre-upgrade")], { env: { PATH: process.env.PATH!, ROOT: root } })
      expect(existsSync(join(root, "etc/conf.d/tiny-cloud"))).toBe(false)
      const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, ROOT: root, TINY_CLOUD_CODE_CACHE: "off" }
      const config = execFileSync("node", [join(REPO, "dist/tiny-cloud.cjs"), "config"], { encoding: "utf8", env })
      expect(config).toMatch(/^CLOUD_USER=ec2-user\b.*line 2/m)
      // a 3.x system's own file stays the one read; the old one is left as it is
      writeFileSync(join(root, "etc/conf.d/tiny-cloud"), "CLOUD_USER=old\n")
      execFileSync("sh", [join(STARTDIR, "tiny-cloud.pre-upgrade")], { env: { PATH: process.env.PATH!, ROOT: root } })
      expect([readFileSync(join(root, "etc/tiny-cloud.conf"), "utf8"), readFileSync(join(root, "etc/conf.d/tiny-cloud"), "utf8")]).toEqual(["CLOUD=aws\nCLOUD_USER=ec2-user\n", "CLOUD_USER=old\n"])
    })

    it("post-install, run on a live instance whose networking is started, runs none of its system's commands (no ifup, no syslog lines) and writes none of its state while making the code caches", async () => {
      const { root, calls, state, logs } = await postInstalledLive()
      expect(readdirSync(join(root, "usr/lib/tiny-cloud/code-cache")).length).toBe(5)
      expect(existsSync(calls) ? readFileSync(calls, "utf8") : "").toBe("")
      expect([...readdirSync(state), ...readdirSync(logs)]).toEqual([])
    })
    it("post-upgrade run by main's user-data under the resident process (tiny-cloud upgraded by its own first boot): the training boot beside it leaves it alone, final is still served by it", async () => {
      const image = mkdtempSync(join(dir, "upgraded-"))
      cpSync(join(dir, "make-install"), image, { recursive: true, verbatimSymlinks: true })
      const lib = join(image, "usr/lib/tiny-cloud")
      // what apk does in main: each file replaced by a rename, then the package's post-upgrade (ROOT: the image, where the instance has none)
      const upgrade = `for f in tiny-cloud.cjs client.sh; do cp ${lib}/$f ${lib}/.apk.$f && mv ${lib}/.apk.$f ${lib}/$f; done; ROOT=${image} sh ${join(STARTDIR, "tiny-cloud.post-upgrade")}`
      const instance = await makeInstance({
        cloud: "aws",
        env: { ...PATIENT_METADATA, IMDS_TOKEN_TTL: "21600" },
        instance: { hostname: "upgraded-1.example.internal", sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUpgraded a@example"], userData: new TextEncoder().encode(`#cloud-config\nbootcmd:\n  - "${upgrade}"\n`) }
      })
      try {
        // the installed program first, then the harness's stand-ins (never this host's commands before them)
        const env = { ...servicesEnv(instance), PATH: `${join(image, "usr/sbin")}:${instance.env.PATH}`, TINY_CLOUD_LIB: lib }
        const boot = await startService("boot", env)
        await until(() => serverPid(instance) !== undefined, "the resident process listens")
        const server = serverPid(instance)!
        const rest = [await startService("early", env), await startService("main", env), await startService("final", env)]
        expect([boot, ...rest].map((r) => r.code)).toEqual([0, 0, 0, 0])
        // the post-upgrade's caches, made while the real first boot's server ran main
        expect(readdirSync(join(lib, "code-cache")).length).toBe(5)
        // every phase by the one server (the training's own server and phases under its ROOT alone), which then ends, leaving nothing
        await until(() => !alive(server), "the resident process ends after final")
        const tags = readCommandLog(instance.fake).filter((c) => c.line.startsWith("logger ")).map((c) => /-t tiny-cloud\/(\w+)\[(\d+)\]/.exec(c.line)?.slice(1).join(" "))
        expect(new Set(tags)).toEqual(new Set(["boot", "early", "main", "final"].map((p) => `${p} ${server}`)))
        expect(readCommandLog(instance.fake).filter((c) => c.line.startsWith("adduser ")).length).toBe(1)
        expect(readdirSync(join(instance.root, "run/tiny-cloud"))).toEqual([])
        expect(existsSync(join(instance.root, "var/lib/cloud/.bootstrap-complete"))).toBe(true)
        expect(readFileSync(join(instance.root, "etc/hostname"), "utf8")).toBe("upgraded-1\n")
        expect(rest[1]!.stderr).not.toMatch(/error|failed/i)
      } finally {
        endResident(instance)
        await instance.close()
      }
    })
    itSystem(
      "post-install where /tmp is mounted noexec (a hardened instance): no caches, and none of its system's commands run in place of the stand-ins that cannot",
      { tools: { unshare: "util-linux", mount: "mount" }, root: true },
      async () => {
        const root = mkdtempSync(join(dir, "root-"))
        cpSync(join(dir, "make-install"), root, { recursive: true, verbatimSymlinks: true })
        // the system's own commands, recording: each a name the runs' stand-ins take, and the instance's own tiny-cloud
        const system = mkdtempSync(join(dir, "system-"))
        const calls = join(system, "calls")
        const commands = ["tiny-cloud", "logger", "rc-service", "rc-update", "ifup", "ifdown", "ip", "udhcpc", "kill", "nvme", "hostname", "addgroup", "adduser", "chpasswd", "chown", "getent", "sfdisk", "partx", "resize2fs", "apk", "setup-apkrepos", "lbu", "setup-disk", "reboot", "findfs", "mount", "umount", "assemble-interfaces"]
        for (const command of commands) writeFileSync(join(system, command), `#!/bin/sh\necho "${command} $*" >> "${calls}"\nexit 0\n`, { mode: 0o755 })
        // TMPDIR a noexec tmpfs, in a mount namespace of the test's own (gone with it)
        const tmp = mkdtempSync(join(dir, "noexec-"))
        const env = { PATH: `${system}:${dirname(process.execPath)}:${process.env.PATH}`, ROOT: root, TMPDIR: tmp }
        const inNamespace = `${which("mount")} -t tmpfs -o noexec tmpfs "$1" && exec sh "$2"`
        await runScript(["-c", `exec ${which("unshare")} -m --propagation private sh -c '${inNamespace}' sh "$1" "$2"`, "sh", tmp, join(STARTDIR, "tiny-cloud.post-install")], { env })
        // before: the system's tiny-cloud ran the resident boot (serve, then its phases: addgroup, adduser, chpasswd...), the hotplug run its ifup eth0
        expect(existsSync(calls) ? readFileSync(calls, "utf8") : "").toBe("")
        expect(existsSync(join(root, "usr/lib/tiny-cloud/code-cache"))).toBe(false)
      }
    )
  })

  describe.concurrent("make install's code caches", () => {
    // one run of prepare-code-cache.sh, as make runs it (paths relative to where it runs), each program it starts recorded by a node
    // first on PATH (the simulated boot's phases are started by the node that runs it): a training boot, which both tests read
    let prepared: Promise<{ readonly work: string; readonly out: string; readonly started: ReadonlyArray<string> }> | undefined
    const prepare = () =>
      (prepared ??= (async () => {
        const work = mkdtempSync(join(dir, "relative-"))
        cpSync(join(dir, "make-install"), join(work, "image"), { recursive: true, verbatimSymlinks: true })
        const recorder = mkdtempSync(join(dir, "recorder-"))
        const runs = join(recorder, "runs")
        mkdirSync(join(recorder, "bin"))
        writeFileSync(join(recorder, "bin/node"), `#!/bin/sh\necho "\${*##*/}" >> "${runs}"\nexec "${process.execPath}" "$@"\n`, { mode: 0o755 })
        // make runs prepare-code-cache.sh with $(DESTDIR)$(LIBDIR): relative paths, from where it runs
        const out = await runScript([join(REPO, "packaging/prepare-code-cache.sh"), "image/usr/lib/tiny-cloud/tiny-cloud.cjs", "image/usr/lib/tiny-cloud/code-cache"], {
          cwd: work,
          env: { PATH: `${join(recorder, "bin")}:${dirname(process.execPath)}:${process.env.PATH}` }
        })
        return { work, out, started: readFileSync(runs, "utf8").split("\n").filter((l) => l !== "") }
      })())

    it("are made for a DESTDIR given relative to where make runs ('make install DESTDIR=image'), as for an absolute one", async () => {
      const { work, out } = await prepare()
      expect(out).toMatch(/^prepared code caches in /)
      expect(readdirSync(join(work, "image/usr/lib/tiny-cloud/code-cache")).length).toBe(5)
      expect(readdirSync(work)).toEqual(["image"])
    })

    it("hold the resident process's path: a first boot is made as OpenRC runs one, its phases handed to `tiny-cloud serve` by client.sh", async () => {
      const { work, started } = await prepare()
      // served, each phase: none of them in a process of its own (the client's way when the server does not answer)
      expect(started.filter((l) => /^tiny-cloud\.cjs (serve|boot|early|main|final)$/.test(l))).toEqual(["tiny-cloud.cjs serve"])
      expect(readdirSync(join(work, "image/usr/lib/tiny-cloud/code-cache")).length).toBe(5)
    })
  })

  describe("make install into a /usr-merged image (Alpine 3.23 on, Debian: /sbin and /lib links to usr/sbin and usr/lib)", () => {
    it("leads the network helpers' names at /sbin and /lib/mdev to the program from where they land, /usr/sbin and /usr/lib/mdev", () => {
      const image = mkdtempSync(join(dir, "merged-"))
      for (const d of ["usr/sbin", "usr/lib", "usr/bin"]) mkdirSync(join(image, d), { recursive: true })
      for (const d of ["sbin", "lib", "bin"]) symlinkSync(`usr/${d}`, join(image, d))
      execFileSync("make", ["-s", "install", `DESTDIR=${image}`, "PREPARE_CODE_CACHE=no"], { cwd: REPO, stdio: "ignore" })
      expect(readlinkSync(join(image, "usr/sbin/assemble-interfaces"))).toBe("../lib/tiny-cloud/tiny-cloud.cjs")
      expect(readlinkSync(join(image, "usr/lib/mdev/vnic-eth-hotplug"))).toBe("../tiny-cloud/tiny-cloud.cjs")
      // run by the names mdev rules and images give them: each is its program
      const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, TINY_CLOUD_CODE_CACHE: "off" }
      const usage = (path: string) => execFileSync(join(image, path), ["-h"], { encoding: "utf8", env })
      expect(usage("sbin/assemble-interfaces")).toBe("Usage: assemble-interfaces\n")
      expect(usage("lib/mdev/nvme-ebs-links")).toBe("Usage: nvme-ebs-links (MDEV=nvmeXnY[pZ] ACTION=add|remove)\n")
      expect(usage("sbin/imds-net-sync")).toMatch(/^Usage: imds-net-sync/)
      expect(usage("lib/mdev/vnic-eth-hotplug")).toMatch(/^Usage: vnic-eth-hotplug/)
      expect(usage("usr/sbin/tiny-cloud")).toMatch(/^Usage: tiny-cloud /)
    })
  })

  describe("make install with PREFIX=/usr/local", () => {
    it("the OpenRC services look for the client of the resident process where it installs it, $PREFIX/lib/tiny-cloud, not in /usr/lib", () => {
      const image = mkdtempSync(join(dir, "local-"))
      execFileSync("make", ["-s", "install", `DESTDIR=${image}`, "PREFIX=/usr/local", "PREPARE_CODE_CACHE=no"], { cwd: REPO, stdio: "ignore" })
      expect(existsSync(join(image, "usr/local/lib/tiny-cloud/client.sh"))).toBe(true)
      for (const phase of ["boot", "early", "main", "final"]) {
        const service = readFileSync(join(image, "etc/init.d", `tiny-cloud-${phase}`), "utf8")
        const looked = [...service.matchAll(/"\$\{TINY_CLOUD_LIB:-([^}]*)\}\/client\.sh"/g)].map((m) => m[1])
        expect([phase, looked]).toEqual([phase, ["/usr/local/lib/tiny-cloud", "/usr/local/lib/tiny-cloud"]])
        // nothing else of the service changed
        expect(service.replaceAll("TINY_CLOUD_LIB:-/usr/local/lib/tiny-cloud}", "TINY_CLOUD_LIB:-/usr/lib/tiny-cloud}")).toBe(readFileSync(join(REPO, "openrc", `tiny-cloud-${phase}`), "utf8"))
      }
    })

    it("the configuration, stock and /etc's copy, names the stock copy where it installs it; uninstall takes the unchanged copy away", () => {
      const template = readFileSync(join(REPO, "conf/tiny-cloud.conf"), "utf8")
      for (const [prefix, lib] of [["/usr/local", "/usr/local/lib/tiny-cloud"], ["", "/lib/tiny-cloud"], ["/usr", "/usr/lib/tiny-cloud"]] as const) {
        const image = mkdtempSync(join(dir, "conf-"))
        execFileSync("make", ["-s", "install", `DESTDIR=${image}`, `PREFIX=${prefix}`, "PREPARE_CODE_CACHE=no"], { cwd: REPO, stdio: "ignore" })
        const expected = template.replace("# The stock copy of this file is /usr/lib/tiny-cloud/tiny-cloud.conf.\n", `# The stock copy of this file is ${lib}/tiny-cloud.conf.\n`)
        expect([prefix, readFileSync(join(image, lib.slice(1), "tiny-cloud.conf"), "utf8")]).toEqual([prefix, expected])
        expect([prefix, readFileSync(join(image, "etc/tiny-cloud.conf"), "utf8")]).toEqual([prefix, expected])
        execFileSync("make", ["-s", "uninstall", `DESTDIR=${image}`, `PREFIX=${prefix}`], { cwd: REPO, stdio: "ignore" })
        expect([prefix, existsSync(join(image, "etc/tiny-cloud.conf"))]).toEqual([prefix, false])
      }
      expect(template).toContain("# The stock copy of this file is /usr/lib/tiny-cloud/tiny-cloud.conf.\n")
    })
  })

  describe("make install with a blank in LIBDIR or PREFIX", () => {
    it("refuses it in one line and installs nothing (before: relpath, given the path in pieces, looped for ever)", () => {
      const image = mkdtempSync(join(dir, "blank-"))
      for (const setting of ["LIBDIR=/opt/tc lib", "PREFIX=/usr/my local"]) {
        const r = spawnSync("make", ["-s", "install", `DESTDIR=${image}`, setting, "PREPARE_CODE_CACHE=no"], { cwd: REPO, encoding: "utf8", timeout: 60_000 })
        expect([setting, r.status, r.stderr.split("\n")[0]]).toEqual([setting, 2, expect.stringMatching(/^make: PREFIX and LIBDIR may hold no blank: '/)])
        expect(readdirSync(image)).toEqual([])
      }
    })

    it("make uninstall refuses it in one line too, and removes nothing the path's pieces name (LIBDIR=/opt/tc lib: DESTDIR/opt/tc)", () => {
      const image = mkdtempSync(join(dir, "blank-uninstall-"))
      mkdirSync(join(image, "opt"))
      writeFileSync(join(image, "opt/tc"), "an operator's file\n")
      for (const setting of ["LIBDIR=/opt/tc lib", "PREFIX=/opt/tc local"]) {
        const r = spawnSync("make", ["-s", "uninstall", `DESTDIR=${image}`, setting], { cwd: REPO, encoding: "utf8", timeout: 60_000 })
        expect([setting, r.status, r.stderr.split("\n")[0]]).toEqual([setting, 2, expect.stringMatching(/^make: PREFIX and LIBDIR may hold no blank: '/)])
        expect([setting, readFileSync(join(image, "opt/tc"), "utf8")]).toEqual([setting, "an operator's file\n"])
      }
    })
  })

  describe("make install with a relative PREFIX or LIBDIR", () => {
    it("refuses it in one line and installs nothing (before: PREFIX=usr LIBDIR=opt/tc, relpath climbed usr/sbin for ever)", () => {
      const image = mkdtempSync(join(dir, "relative-"))
      for (const settings of [["PREFIX=usr", "LIBDIR=opt/tc"], ["PREFIX=usr"], ["LIBDIR=opt/tc"]]) {
        const r = spawnSync("make", ["-s", "install", `DESTDIR=${image}`, ...settings, "PREPARE_CODE_CACHE=no"], { cwd: REPO, encoding: "utf8", timeout: 60_000 })
        expect([settings, r.status, r.stderr.split("\n")[0]]).toEqual([settings, 2, expect.stringMatching(/^make: PREFIX and LIBDIR must be absolute paths: '/)])
        expect(readdirSync(dir).filter((name) => name.startsWith(basename(image)) && name !== basename(image))).toEqual([])
        expect(readdirSync(image)).toEqual([])
      }
    })

    it("takes an empty PREFIX, the root: its paths ($PREFIX/sbin...) are absolute, and install and uninstall run", () => {
      const image = mkdtempSync(join(dir, "empty-prefix-"))
      const install = spawnSync("make", ["-s", "install", `DESTDIR=${image}`, "PREFIX=", "PREPARE_CODE_CACHE=no"], { cwd: REPO, encoding: "utf8", timeout: 60_000 })
      expect([install.status, install.stderr]).toEqual([0, ""])
      expect(readlinkSync(join(image, "sbin/tiny-cloud"))).toBe("../lib/tiny-cloud/tiny-cloud.cjs")
      expect(existsSync(join(image, "sbin/tiny-cloud"))).toBe(true)
      const uninstall = spawnSync("make", ["-s", "uninstall", `DESTDIR=${image}`, "PREFIX="], { cwd: REPO, encoding: "utf8", timeout: 60_000 })
      expect([uninstall.status, uninstall.stderr]).toEqual([0, ""])
      expect(existsSync(join(image, "lib/tiny-cloud/tiny-cloud.cjs"))).toBe(false)
    })
  })

  describe("make install over an earlier install (an upgrade on a running instance)", () => {
    it("puts each file in place by a rename: a program started meanwhile (a phase, imds, a hotplug helper, a service) finds the old file or the new one, never none or half of one", () => {
      const image = mkdtempSync(join(tmpdir(), "tiny-cloud-reinstall-"))
      const bin = mkdtempSync(join(tmpdir(), "tiny-cloud-reinstall-bin-"))
      try {
        cpSync(join(dir, "make-install"), image, { recursive: true, verbatimSymlinks: true })
        // `install` given an installed file as its destination removes it and writes the new one where it was (GNU's),
        // or writes it over (busybox's): a run started between finds no program, or one cut short (a stack trace);
        // busybox's `ln -sf` removes an installed name before it makes the link again
        for (const tool of ["install", "ln"]) {
          writeFileSync(join(bin, tool), `#!/bin/sh\nfor last; do :; done\n{ [ -f "$last" ] || [ -L "$last" ]; } && echo "\${last#"$IMAGE"}" >> "$OVER"\nexec "${which(tool)!}" "$@"\n`, { mode: 0o755 })
        }
        execFileSync("make", ["-s", "install", `DESTDIR=${image}`, "PREPARE_CODE_CACHE=no"], {
          cwd: REPO,
          stdio: "ignore",
          env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, IMAGE: image, OVER: join(bin, "over") }
        })
        expect(existsSync(join(bin, "over")) ? readFileSync(join(bin, "over"), "utf8").split("\n").filter((l) => l !== "") : []).toEqual([])
        // the same files as a first install, nothing left beside them
        expect(tree(image)).toEqual(installed)
      } finally {
        rmSync(image, { recursive: true, force: true })
        rmSync(bin, { recursive: true, force: true })
      }
    })
  })

  describe("make install over a name that is a link to a directory", () => {
    // `ln -sfn` replaced such a name; `mv` renames into the directory it leads to, and the name would stay the directory's
    it("replaces the name by the program's link, and puts nothing in the directory", () => {
      const image = mkdtempSync(join(tmpdir(), "tiny-cloud-reinstall-dir-"))
      try {
        cpSync(join(dir, "make-install"), image, { recursive: true, verbatimSymlinks: true })
        mkdirSync(join(image, "old-imds"))
        rmSync(join(image, "usr/bin/imds"))
        symlinkSync("../../old-imds", join(image, "usr/bin/imds"))
        execFileSync("make", ["-s", "install", `DESTDIR=${image}`, "PREPARE_CODE_CACHE=no"], { cwd: REPO, stdio: "ignore" })
        expect(readlinkSync(join(image, "usr/bin/imds"))).toBe("../lib/tiny-cloud/tiny-cloud.cjs")
        expect(readdirSync(join(image, "old-imds"))).toEqual([])
      } finally {
        rmSync(image, { recursive: true, force: true })
      }
    })
  })

  describe("make uninstall", () => {
    it("removes everything make install put in place, and keeps a tiny-cloud.conf the operator changed", () => {
      /** the files and links under a directory (empty directories are not listed), relative to it */
      const walk = (dir: string, under = ""): Array<string> =>
        readdirSync(join(dir, under), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(dir, join(under, e.name)) : [join(under, e.name)]))
      // what make install put in place: a copy of the beforeAll's `make install` into an empty DESTDIR (same flags), each round its own
      const install = (image: string) => cpSync(join(dir, "make-install"), image, { recursive: true, verbatimSymlinks: true })
      const image = mkdtempSync(join(tmpdir(), "tiny-cloud-uninstall-"))
      try {
        install(image)
        execFileSync("make", ["-s", "uninstall", `DESTDIR=${image}`], { cwd: REPO, stdio: "ignore" })
        expect(walk(image)).toEqual([])
        expect(existsSync(join(image, "usr/share/doc/tiny-cloud"))).toBe(false)
        expect(existsSync(join(image, "usr/lib/tiny-cloud"))).toBe(false)

        install(image)
        writeFileSync(join(image, "etc/tiny-cloud.conf"), "CLOUD=aws\n")
        execFileSync("make", ["-s", "uninstall", `DESTDIR=${image}`], { cwd: REPO, stdio: "ignore" })
        expect(walk(image)).toEqual(["etc/tiny-cloud.conf"])
      } finally {
        rmSync(image, { recursive: true, force: true })
      }
    })

    // `make install` makes each file and name beside its place, `.NAME.new`, and renames it in: one stopped between the two
    // (a full disk, ^C) leaves it, and the program's directory then stayed behind too
    it("removes what an install stopped before its renames left beside the files and names", () => {
      const walk = (dir: string, under = ""): Array<string> =>
        readdirSync(join(dir, under), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(dir, join(under, e.name)) : [join(under, e.name)]))
      const image = mkdtempSync(join(tmpdir(), "tiny-cloud-uninstall-left-"))
      try {
        cpSync(join(dir, "make-install"), image, { recursive: true, verbatimSymlinks: true })
        writeFileSync(join(image, "usr/lib/tiny-cloud/.tiny-cloud.cjs.new"), "half of a program")
        writeFileSync(join(image, "etc/init.d/.tiny-cloud-boot.new"), "#!/sbin/openrc-run\n")
        symlinkSync("../lib/tiny-cloud/tiny-cloud.cjs", join(image, "usr/bin/.imds.new"))
        execFileSync("make", ["-s", "uninstall", `DESTDIR=${image}`], { cwd: REPO, stdio: "ignore" })
        expect(walk(image)).toEqual([])
        expect(existsSync(join(image, "usr/lib/tiny-cloud"))).toBe(false)
      } finally {
        rmSync(image, { recursive: true, force: true })
      }
    })
  })
})
