"use strict"
// Where the start-up loader keeps V8's code cache; scripts/build.mjs inlines
// this function into the loader (it runs on every start: keep it tiny).
//
// setting: TINY_CLOUD_CODE_CACHE. `off`: no cache; an absolute directory: that
// one; anything else (`no`, `OFF`, a relative path) is no cache either, never a
// directory made in whatever the working directory is.
// Unset: /run/tiny-cloud, but only when /run is a tmpfs mount point as this
// process sees it (the running system's per-boot /run): in an image builder's
// chroot, or wherever /run is a plain directory, no cache is read or written,
// so none is left in an image. readMountinfo returns /proc/self/mountinfo;
// when it throws (no /proc) there is no cache either. Returns the directory
// or undefined.
function codeCacheDir(setting, readMountinfo) {
  if (setting === "off") return undefined
  if (setting) return setting.startsWith("/") ? setting.replace(/(.)\/+$/, "$1") : undefined
  let fstype
  try {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS;
    // mounts stack, so the last one on /run is the one seen
    for (const line of readMountinfo().split("\n")) {
      const f = line.split(" ")
      if (f[4] === "/run") fstype = f[f.indexOf("-", 6) + 1]
    }
  } catch {
    return undefined
  }
  return fstype === "tmpfs" ? "/run/tiny-cloud" : undefined
}

module.exports = { codeCacheDir }
