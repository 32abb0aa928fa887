/** Colours chosen for WCAG AA contrast on white and on the app bar. */
import { createTheme } from "@mui/material/styles";

export const theme = createTheme({
  palette: {
    primary: { main: "#2f4f3a" },
    secondary: { main: "#f4efe6" },
  },
});
