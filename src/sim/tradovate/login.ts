/**
 * Auth endpoints: accesstokenrequest (business failures are HTTP 200 `{errorText}`), renewaccesstoken
 * (extends the same session) and me.
 */
import type { SimSession } from "./auth";
import { badRequest, type CallContext, ok, type Reply, type SimWorld } from "./context";
import { AccessTokenRequest, issueText } from "./requests";

export function tokenResponse(session: SimSession) {
  return {
    accessToken: session.accessToken,
    mdAccessToken: session.mdAccessToken,
    expirationTime: new Date(session.expiresAt).toISOString(),
    userStatus: "Active",
    userId: session.user.id,
    name: session.user.name,
    hasLive: false,
    outdatedTaC: false,
    hasFunded: true,
    hasMarketData: true,
    outdatedLiquidationPolicy: false,
  };
}

export function accessTokenRequest(world: SimWorld, body: unknown): Reply {
  const parsed = AccessTokenRequest.safeParse(body);
  if (!parsed.success) return badRequest(issueText(parsed.error));
  const result = world.auth.login(parsed.data);
  if ("errorText" in result) return ok({ errorText: result.errorText });
  return ok(tokenResponse(result.session));
}

export function renewAccessToken(world: SimWorld, ctx: CallContext): Reply {
  const check = world.auth.renew(ctx.token ?? "");
  if (!check.ok) return { status: 401, body: "Access is denied" };
  return ok(tokenResponse(check.session));
}

export function me(ctx: CallContext): Reply {
  const user = ctx.user;
  if (!user) return { status: 401, body: "Access is denied" };
  return ok({
    userId: user.id,
    name: user.name,
    fullName: user.name,
    email: `${user.name}@example.com`,
    emailVerified: true,
    isTrial: false,
  });
}

/** Whether an endpoint works without a Bearer token. */
export const isAnonymous = (endpoint: string) => endpoint === "auth/accesstokenrequest";
