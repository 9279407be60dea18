/** Auth routes: loginKey (API key), validate (fresh token), logout. Error codes per reference A9. */
import { z } from "zod";
import { type Route, route } from "../state";

export const authRoutes: Record<string, Route> = {
  "/api/Auth/loginKey": route(
    z.object({ userName: z.string().min(1), apiKey: z.string().min(1) }),
    (state, _user, body) => {
      const user = state.users.get(body.userName);
      if (!user) return { errorCode: 1, errorMessage: null, payload: { token: null } };
      if (user.apiKey !== body.apiKey) return { errorCode: 3, errorMessage: null, payload: { token: null } };
      return { errorCode: 0, errorMessage: null, payload: { token: state.tokens.issue(user.userName) } };
    },
    false,
  ),
  "/api/Auth/validate": route(z.unknown(), (state, user) =>
    user
      ? { errorCode: 0, errorMessage: null, payload: { newToken: state.tokens.issue(user) } }
      : { errorCode: 1, errorMessage: "Invalid session." },
  ),
  "/api/Auth/logout": route(z.unknown(), () => ({ errorCode: 0, errorMessage: null })),
};
