/** Create an account, then sign in at once so the emailed code can be verified next. */
import { useState, type FormEvent } from "react";
import { Link as RouterLink, useNavigate } from "react-router";
import Button from "@mui/material/Button";
import Link from "@mui/material/Link";
import Typography from "@mui/material/Typography";
import { api } from "../api/client";
import { toShown, type ShownProblem } from "../api/problems";
import { useSession } from "../auth/session";
import { Field } from "../components/Field";
import { ProblemAlert } from "../components/ProblemAlert";

export function SignUp() {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const [problem, setProblem] = useState<ShownProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email"));
    const password = String(form.get("password"));
    setBusy(true);
    const { error, response } = await api.POST("/api/v1/auth/register", {
      body: { email, password, display_name: String(form.get("display_name")) },
    });
    if (error !== undefined || !response.ok) {
      setBusy(false);
      setProblem(toShown(error, response));
      return;
    }
    const failed = await signIn({ email, password });
    setBusy(false);
    if (failed) {
      setProblem(failed);
      return;
    }
    navigate("/verify-email", { replace: true });
  }

  return (
    <form onSubmit={submit} noValidate aria-labelledby="sign-up-title">
      <Typography variant="h4" component="h1" id="sign-up-title" gutterBottom>
        Create your account
      </Typography>
      <ProblemAlert problem={problem} />
      <Field label="Display name" name="display_name" autoComplete="nickname" error={problem?.fields.display_name} />
      <Field label="Email" name="email" type="email" autoComplete="email" error={problem?.fields.email} />
      <Field label="Password" name="password" type="password" autoComplete="new-password" error={problem?.fields.password} />
      <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={busy}>
        Create account
      </Button>
      <Typography sx={{ mt: 3 }}>
        Already a member?{" "}
        <Link component={RouterLink} to="/sign-in">
          Sign in
        </Link>
      </Typography>
    </form>
  );
}
