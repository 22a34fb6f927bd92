/**
 * Two mdev events for one NVMe volume at once (coldplug's and a hotplug's):
 * each nvme-ebs-links makes the links `sdf` and `xvdf`, and the other's link
 * may appear in the path at any moment. Made certain by libc's unlink and
 * rename, preloaded into the built program: just after it removes what is at
 * a path named `sdf`, or just before it renames something to that path, the
 * other event's link is made there. Neither event may fail for it, and the
 * link ends where it belongs.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect } from "vitest"
import { PROGRAM } from "../support/harness.js"
import { itSystem, which } from "../support/system.js"

const OTHER_EVENT = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static int named(const char *path) {
  const char *base = strrchr(path, '/');
  return strcmp(base == NULL ? path : base + 1, "sdf") == 0;
}
int unlink(const char *path) {
  int (*real)(const char *) = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
  int done = real(path);
  if (named(path)) symlink("nvme1n1", path);
  return done;
}
int rename(const char *from, const char *to) {
  int (*real)(const char *, const char *) = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
  if (named(to)) symlink("nvme1n1", to);
  return real(from, to);
}
`

itSystem("nvme-ebs-links: the other event's link made in its path at any moment costs neither event anything", { tools: { gcc: "gcc" } }, () => {
  const dir = mkdtempSync(join(tmpdir(), "tiny-cloud-raced-symlink-"))
  try {
    writeFileSync(join(dir, "other.c"), OTHER_EVENT)
    execFileSync(which("gcc")!, ["-shared", "-fPIC", "-o", join(dir, "other.so"), join(dir, "other.c"), "-ldl"])
    // nvme id-ctrl -b: the EBS name in the vendor-specific area
    const bin = join(dir, "bin")
    mkdirSync(bin)
    writeFileSync(join(bin, "nvme"), `#!/bin/sh\nhead -c 3072 /dev/zero; printf '%-32s' sdf; head -c 992 /dev/zero\n`)
    chmodSync(join(bin, "nvme"), 0o755)
    const root = join(dir, "root")
    const dev = join(root, "dev")
    mkdirSync(dev, { recursive: true })
    // one event's link there already: the second event replaces it
    for (const round of ["first", "second"]) {
      const r = spawnSync(process.execPath, [PROGRAM, "hotplug", "nvme-ebs"], {
        cwd: dev,
        env: { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`, ROOT: root, MDEV: "nvme1n1", ACTION: "add", TINY_CLOUD_CODE_CACHE: "off", LD_PRELOAD: join(dir, "other.so") },
        encoding: "utf8"
      })
      expect([round, r.status, r.stderr]).toEqual([round, 0, ""])
      expect([readlinkSync(join(dev, "sdf")), readlinkSync(join(dev, "xvdf"))]).toEqual(["nvme1n1", "nvme1n1"])
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
