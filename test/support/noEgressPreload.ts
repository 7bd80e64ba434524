// Loaded with `node --require` (bundled to .cache/no-egress/preload.cjs) into every Node process of a test
// suite that runAll starts: records and blocks any non-loopback connection (see noEgressGuard.ts).
import { installEgressGuardFromEnv } from "./noEgressGuard";

installEgressGuardFromEnv();
