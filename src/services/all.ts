import type { Bootstrap } from "./Bootstrap.js"
import type { Cloud } from "./Cloud.js"
import type { Commands } from "./Commands.js"
import type { Config } from "./Config.js"
import type { Http } from "./Http.js"
import type { Lock } from "./Lock.js"
import type { Log } from "./Log.js"
import type { Metadata } from "./Metadata.js"
import type { Network } from "./Network.js"
import type { Output } from "./Output.js"
import type { RootFs } from "./RootFs.js"
import type { UserData } from "./UserData.js"

/** every service a command may ask for; the entry provides them all */
export type AppServices = Bootstrap | Cloud | Commands | Config | Http | Lock | Log | Metadata | Network | Output | RootFs | UserData
