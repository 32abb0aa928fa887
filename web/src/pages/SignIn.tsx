/** Sign in with email and password; a second step asks for the emailed code when auth wants one. */
import { useState, type FormEvent } from "react";
import { Link as RouterLink, useNavigate } from "react-router";
import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Typography from "@mui/material/Typography";
import { Field } from "../components/Field";
import { ProblemAlert } from "../components/ProblemAlert";
import type { ShownProblem } from "../api/problems";
import { useSession } from "../auth/session";

export function SignIn() {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const [problem, setProblem] = useState<ShownProblem | null>(null);
  const [needsCode, setNeedsCode] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    const result = await signIn({
      email: String(form.get("email")),
      password: String(form.get("password")),
      code: needsCode ? String(form.get("code")) : undefined,
    });
    setBusy(false);
    if (result?.type === "sign-in-code-required") {
      setNeedsCode(true);
      setProblem(null);
      return;
    }
    setProblem(result);
    if (!result) navigate("/", { replace: true });
  }

  return (
    <form onSubmit={submit} noValidate aria-labelledby="sign-in-title">
      <Typography variant="h4" component="h1" id="sign-in-title" gutterBottom>
        Sign in
      </Typography>
      <ProblemAlert problem={problem} />
      <Field label="Email" name="email" type="email" autoComplete="email" error={problem?.fields.email} />
      <Field label="Password" name="password" type="password" autoComplete="current-password" error={problem?.fields.password} />
      {needsCode && (
        <>
          <Typography sx={{ mt: 2 }}>We emailed you a sign-in code. Enter it to finish signing in.</Typography>
          <Field label="Code" name="code" inputMode="numeric" autoComplete="one-time-code" error={problem?.fields.code} />
        </>
      )}
      <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={busy}>
        Sign in
      </Button>
      <Typography sx={{ mt: 3 }}>
        New here?{" "}
        <Link component={RouterLink} to="/sign-up">
          Create an account
        </Link>
      </Typography>
    </form>
  );
}
