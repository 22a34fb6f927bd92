/** The marker a completed first boot leaves in `$TINY_CLOUD_VAR` (BEHAVIOUR.md §2). */
export const bootstrapMarker = (varDir: string): string => `${varDir}/.bootstrap-complete`

/**
 * Whether the boot phase of a first boot forgets the cloud `.autodetect` holds (`CLOUD=auto`): only where this machine's
 * signs name another cloud (an image made on one cloud and booted on another, its marker removed by hand). A cache no sign
 * contradicts (nothing recognised: one the image's builder placed to choose the cloud) is kept, and the phases use it.
 */
export const detectionOutdated = (cached: string, detectedNow: string): boolean => detectedNow !== "unknown" && detectedNow !== cached
