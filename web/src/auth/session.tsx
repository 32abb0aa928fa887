/**
 * The signed-in state the pages see: who (GET /api/v1/auth/me) and the actions that change it.
 * On start, one cookie refresh decides whether a reload is still signed in.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import { toShown, type ShownProblem } from "../api/problems";
import { cookieHeaders, tokens } from "./tokens";

type Status = "starting" | "signed-in" | "signed-out";

interface Credentials {
  email: string;
  password: string;
  code?: string;
}

interface SessionValue {
  status: Status;
  /** True once this tab signed in with the form (that page then navigates itself). */
  signedInByForm: boolean;
  signIn(credentials: Credentials): Promise<ShownProblem | null>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<Status>(() => (tokens.access() ? "signed-in" : "starting"));
  const [signedInByForm, setSignedInByForm] = useState(false);

  useEffect(() => tokens.subscribe(() => setStatus(tokens.access() ? "signed-in" : "signed-out")), []);
  useEffect(() => {
    if (status !== "starting") return;
    void tokens.refresh().then((token) => setStatus(token ? "signed-in" : "signed-out"));
  }, [status]);

  const signIn = useCallback(async ({ email, password, code }: Credentials) => {
    const { data, error, response } = await api.POST("/api/v1/auth/login", {
      body: { email, password, code: code || null },
      headers: cookieHeaders,
    });
    if (!data) return toShown(error, response);
    setSignedInByForm(true);
    tokens.set(data.access_token);
    return null;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.POST("/api/v1/auth/logout", { headers: cookieHeaders });
    } finally {
      setSignedInByForm(false);
      tokens.clear();
      queryClient.clear(); // nothing personal stays in memory after sign-out
    }
  }, [queryClient]);

  const value = useMemo(() => ({ status, signedInByForm, signIn, signOut }), [status, signedInByForm, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}
