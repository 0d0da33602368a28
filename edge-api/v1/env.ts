/** The Hono environment of the /v1 app: the relay's dependencies and the caller, per request. */
import type { Principal } from "../auth/policy.ts";
import type { ControlDeps } from "../deps.ts";

export interface V1Env {
  Variables: {
    control: ControlDeps;
    /** Who the credential proves; null without one (or with one that failed, see credentialError). */
    principal: Principal | null;
    /** Why a credential that was sent was refused. */
    credentialError: string | undefined;
  };
}
