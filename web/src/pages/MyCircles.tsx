/** Home: the circles I belong to. */
import { Link as RouterLink } from "react-router";
import Button from "@mui/material/Button";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemText from "@mui/material/ListItemText";
import Typography from "@mui/material/Typography";
import { useMyMemberships } from "../api/queries";
import { QueryState } from "../components/QueryState";

export function MyCircles() {
  const query = useMyMemberships();
  return (
    <section aria-labelledby="my-circles-title">
      <Typography variant="h4" component="h1" id="my-circles-title" gutterBottom>
        My circles
      </Typography>
      <QueryState query={query}>
        {(memberships) =>
          memberships.length === 0 ? (
            <Typography>You are not in a circle yet.</Typography>
          ) : (
            <List>
              {memberships.map((membership) => (
                <ListItem key={membership.id} divider>
                  <ListItemText primary={membership.circle_name} secondary={`${membership.role} · ${membership.status}`} />
                </ListItem>
              ))}
            </List>
          )
        }
      </QueryState>
      <Button component={RouterLink} to="/circles" variant="outlined" sx={{ mt: 2 }}>
        Find a circle
      </Button>
    </section>
  );
}
