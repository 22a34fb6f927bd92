import { Option } from "effect"

/** the user-data type from its first line: `#!` script, `#WORD` WORD, no file `missing`, else `unknown` */
export const userDataType = (data: Option.Option<Uint8Array>): string =>
  Option.match(data, {
    onNone: () => "missing",
    onSome: (bytes) => {
      const head = new TextDecoder().decode(bytes.subarray(0, 256)).split("\n")[0]!.split(/\s/)[0]!
      if (head.startsWith("#!")) return "script"
      if (head.startsWith("#") && head.length > 1) return head.slice(1)
      return "unknown"
    }
  })
