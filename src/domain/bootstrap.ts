/** The marker a completed first boot leaves in `$TINY_CLOUD_VAR` (BEHAVIOUR.md §2). */
export const bootstrapMarker = (varDir: string): string => `${varDir}/.bootstrap-complete`
