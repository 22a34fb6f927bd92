import { truthOf } from "../truth.js"

/**
 * Whether a user-data's `vendor_data` setting lets the vendor-data apply, as
 * cloud-init decides: a map whose `enabled`, where it has one, is a true word
 * (its built-in setting is `{enabled: true}`); a setting that is no map turns
 * it off, null included (cloud-init's merge keeps the user-data's null over
 * its built-in map, then resets what is no map to `{enabled: false}`)
 */
export const vendorDataSettingApplies = (setting: unknown): boolean => {
  if (setting === null || typeof setting !== "object" || Array.isArray(setting)) return false
  return !Object.hasOwn(setting, "enabled") || truthOf((setting as Record<string, unknown>)["enabled"]) === true
}
