/** Loading, error (the problem's message) or the data, for any query. */
import type { ReactNode } from "react";
import type { UseQueryResult } from "@tanstack/react-query";
import CircularProgress from "@mui/material/CircularProgress";
import { ApiProblem } from "../api/problems";
import { ProblemAlert } from "./ProblemAlert";

export function QueryState<T>({ query, children }: { query: Pick<UseQueryResult<T>, "data" | "error" | "isPending">; children: (data: T) => ReactNode }) {
  if (query.isPending) return <CircularProgress aria-label="Loading" />;
  if (query.error) {
    const shown = query.error instanceof ApiProblem ? query.error.shown : { status: 0, type: "", message: query.error.message, fields: {} };
    return <ProblemAlert problem={shown} />;
  }
  return <>{query.data !== undefined && children(query.data)}</>;
}
