/** The journals a rerun after a crash reads: what they may make it do to files it did not make. */
import { describe, expect, it } from "vitest"
import { directoriesOf } from "../../src/domain/append-journal.js"

describe("the write_files directories journal", () => {
  it("gives the file's owner only to recorded directories above the entry's path: never '/', a directory elsewhere, or one written with '..'", () => {
    const journal = [{ index: 0, path: "/srv/app/conf/app.ini", directories: ["/", "/etc", "/srv/app/../../etc", "/srv/app", "/srv/app/conf"] }]
    expect(directoriesOf(journal, 0, "/srv/app/conf/app.ini", [])).toEqual(["/srv/app", "/srv/app/conf"])
    // another entry's record is not this one's; what is missing now is added once
    expect(directoriesOf(journal, 1, "/srv/app/conf/app.ini", ["/srv/app/conf"])).toEqual(["/srv/app/conf"])
    expect(directoriesOf(journal, 0, "/srv/app/conf/app.ini", ["/srv/app/conf"])).toEqual(["/srv/app", "/srv/app/conf"])
  })
})
