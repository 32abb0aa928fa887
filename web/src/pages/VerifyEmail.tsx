/** Enter the six-digit code auth emailed at sign-up. */
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import Button from "@mui/material/Button";
import Typography from "@mui/material/Typography";
import { api } from "../api/client";
import { toShown, type ShownProblem } from "../api/problems";
import { Field } from "../components/Field";
import { ProblemAlert } from "../components/ProblemAlert";

export function VerifyEmail() {
  const navigate = useNavigate();
  const [problem, setProblem] = useState<ShownProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code")).trim();
    setBusy(true);
    const { error, response } = await api.POST("/api/v1/auth/verify-email", { body: { code } });
    setBusy(false);
    if (!response.ok) {
      setProblem(toShown(error, response));
      return;
    }
    navigate("/", { replace: true });
  }

  return (
    <form onSubmit={submit} noValidate aria-labelledby="verify-title">
      <Typography variant="h4" component="h1" id="verify-title" gutterBottom>
        Verify your email
      </Typography>
      <Typography>We sent a six-digit code to your email address.</Typography>
      <ProblemAlert problem={problem} />
      <Field label="Code" name="code" inputMode="numeric" autoComplete="one-time-code" error={problem?.fields.code ?? (problem ? problem.message : undefined)} />
      <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={busy}>
        Verify
      </Button>
    </form>
  );
}
