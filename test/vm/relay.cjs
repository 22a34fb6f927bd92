// qemu's guestfwd runs this once per guest connection (`cmd:`): it joins the
// connection (stdin/stdout) to 127.0.0.1:PORT, where the test's metadata
// simulator listens. Nothing else is reachable from the guest.
"use strict"
const socket = require("node:net").connect(Number(process.argv[2]), "127.0.0.1")
process.stdin.pipe(socket)
socket.pipe(process.stdout)
socket.on("close", () => process.exit(0))
socket.on("error", () => process.exit(1))
