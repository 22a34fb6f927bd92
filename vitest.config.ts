import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: "threads",
    // one module graph per worker: the files share the program's modules instead of loading them each
    isolate: false,
    // the tests wait on processes, sockets and the disk as much as they compute: one worker per core
    maxWorkers: 2,
    minWorkers: 1,
    globalSetup: ["test/support/build.ts"]
  }
})
