/** The page-level part of a problem+json answer, announced to screen readers. */
import Alert from "@mui/material/Alert";
import type { ShownProblem } from "../api/problems";

export function ProblemAlert({ problem }: { problem: ShownProblem | null }) {
  if (!problem) return null;
  return (
    <Alert severity="error" role="alert" sx={{ my: 2 }}>
      {problem.message}
    </Alert>
  );
}
