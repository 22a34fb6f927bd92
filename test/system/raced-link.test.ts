/**
 * A directory the program makes, swapped for a link between its mkdir and the
 * mode it is given (a user renames what root makes in their home, a
 * write_files parent, and leaves a link to /etc/shadow in its place): the
 * mode goes to the directory made, never to what the link leads to. The race
 * is made certain by a mkdir of libc's, preloaded into a process that runs
 * `mkdirs` (bundled from the source), which does the swap itself.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { buildSync } from "esbuild"
import { expect } from "vitest"
import { itSystem, which } from "../support/system.js"

/** after the real mkdir of a directory named `raced`: it renamed, and a link to $RACE_TARGET in its place */
const SWAPPING_MKDIR = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int mkdir(const char *path, mode_t mode) {
  int (*real)(const char *, mode_t) = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
  int made = real(path, mode);
  const char *base = strrchr(path, '/');
  if (made == 0 && base != NULL && strcmp(base + 1, "raced") == 0) {
    char moved[4096];
    snprintf(moved, sizeof moved, "%s.moved", path);
    rename(path, moved);
    symlink(getenv("RACE_TARGET"), path);
  }
  return made;
}
`

itSystem("a directory made and swapped for a link before it gets its mode: the link's target keeps its own", { tools: { gcc: "gcc" } }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-raced-"))
  try {
    writeFileSync(join(dir, "mkdir.c"), SWAPPING_MKDIR)
    execFileSync(which("gcc")!, ["-shared", "-fPIC", "-o", join(dir, "mkdir.so"), join(dir, "mkdir.c"), "-ldl"])
    buildSync({ entryPoints: [resolve(new URL("../../src/layers/directories.ts", import.meta.url).pathname)], bundle: true, platform: "node", format: "cjs", outfile: join(dir, "directories.cjs"), logLevel: "error" })
    const shadow = join(dir, "shadow")
    writeFileSync(shadow, "root:$6$secret:20000::::::\n")
    chmodSync(shadow, 0o600)
    const made = join(dir, "home/bob/.config/raced")
    const run = execFileSync(process.execPath, ["-e", `try { require(${JSON.stringify(join(dir, "directories.cjs"))}).mkdirs(${JSON.stringify(made)}, 0o755) } catch (e) { console.log(e.code) }`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LD_PRELOAD: join(dir, "mkdir.so"), RACE_TARGET: shadow },
      encoding: "utf8"
    })
    // the swap happened: the made directory moved away, the link in its place
    expect(lstatSync(made).isSymbolicLink()).toBe(true)
    // before: 755, readable by all, through the link
    expect((statSync(shadow).mode & 0o7777).toString(8)).toBe("600")
    // refused, as a link in the place of a directory is
    expect(run.trim()).toBe("ENOTDIR")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
