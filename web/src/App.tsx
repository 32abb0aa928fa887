/**
 * Routes (ARCHITECTURE §13) and the layout around them. Pages that need a session redirect to
 * /sign-in once the start-up refresh has decided there is none.
 */
import type { ReactNode } from "react";
import { Navigate, Outlet, Route, Routes, Link as RouterLink } from "react-router";
import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import CircularProgress from "@mui/material/CircularProgress";
import Container from "@mui/material/Container";
import Toolbar from "@mui/material/Toolbar";
import Typography from "@mui/material/Typography";
import { useSession } from "./auth/session";
import { Circles } from "./pages/Circles";
import { MyCircles } from "./pages/MyCircles";
import { SignIn } from "./pages/SignIn";
import { SignUp } from "./pages/SignUp";
import { VerifyEmail } from "./pages/VerifyEmail";
import { UpdatePrompt } from "./components/UpdatePrompt";

function Layout() {
  const { status, signOut } = useSession();
  return (
    <>
      <AppBar position="static" component="header">
        <Toolbar component="nav" aria-label="Main">
          <Typography variant="h6" component={RouterLink} to="/" sx={{ flexGrow: 1, color: "inherit", textDecoration: "none" }}>
            Men's Circles
          </Typography>
          {status === "signed-in" && (
            <>
              <Button color="inherit" component={RouterLink} to="/circles">
                Circles
              </Button>
              <Button color="inherit" onClick={() => void signOut()}>
                Sign out
              </Button>
            </>
          )}
        </Toolbar>
      </AppBar>
      <Container component="main" maxWidth="sm" sx={{ py: 3 }}>
        <Outlet />
      </Container>
      <UpdatePrompt />
    </>
  );
}

function SignedIn({ children }: { children: ReactNode }) {
  const { status } = useSession();
  if (status === "starting") {
    return (
      <Box sx={{ display: "flex", justifyContent: "center", mt: 4 }}>
        <CircularProgress aria-label="Loading" />
      </Box>
    );
  }
  return status === "signed-in" ? <>{children}</> : <Navigate to="/sign-in" replace />;
}

/** Sign-in pages: a visitor who is already signed in (a reload, the cookie) goes home; one who
 * just used the form stays until that page navigates (sign-up goes on to verify the email). */
function SignedOut({ children }: { children: ReactNode }) {
  const { status, signedInByForm } = useSession();
  return status === "signed-in" && !signedInByForm ? <Navigate to="/" replace /> : <>{children}</>;
}

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route path="/" element={<SignedIn><MyCircles /></SignedIn>} />
        <Route path="/circles" element={<SignedIn><Circles /></SignedIn>} />
        <Route path="/verify-email" element={<SignedIn><VerifyEmail /></SignedIn>} />
        <Route path="/sign-in" element={<SignedOut><SignIn /></SignedOut>} />
        <Route path="/sign-up" element={<SignedOut><SignUp /></SignedOut>} />
        <Route path="*" element={<Typography component="h1" variant="h4">Page not found</Typography>} />
      </Route>
    </Routes>
  );
}
