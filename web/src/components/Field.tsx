/** A labelled text field whose label is visible and is the control's accessible name. */
import TextField from "@mui/material/TextField";

interface FieldProps {
  label: string;
  name: string;
  type?: string;
  autoComplete?: string;
  error?: string | undefined;
  inputMode?: "numeric" | "email" | "text";
  required?: boolean;
}

export function Field({ label, name, type = "text", autoComplete, error, inputMode, required = true }: FieldProps) {
  return (
    <TextField
      label={label}
      name={name}
      id={`field-${name}`}
      type={type}
      autoComplete={autoComplete}
      required={required}
      fullWidth
      margin="normal"
      error={Boolean(error)}
      helperText={error}
      slotProps={{ htmlInput: inputMode ? { inputMode } : {} }}
    />
  );
}
