/** Every circle I may see, a cursor page at a time. */
import Button from "@mui/material/Button";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemText from "@mui/material/ListItemText";
import Typography from "@mui/material/Typography";
import { useCircles } from "../api/queries";
import { QueryState } from "../components/QueryState";

export function Circles() {
  const query = useCircles();
  return (
    <section aria-labelledby="circles-title">
      <Typography variant="h4" component="h1" id="circles-title" gutterBottom>
        Circles
      </Typography>
      <QueryState query={query}>
        {(data) => {
          const circles = data.pages.flatMap((page) => page.items);
          if (circles.length === 0) return <Typography>No circles yet.</Typography>;
          return (
            <>
              <List>
                {circles.map((circle) => (
                  <ListItem key={circle.id} divider>
                    <ListItemText
                      primary={circle.name}
                      secondary={`${circle.location.online ? "Online" : (circle.location.city ?? "")} · ${circle.open_seats} open seats`}
                    />
                  </ListItem>
                ))}
              </List>
              {query.hasNextPage && (
                <Button onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
                  Show more circles
                </Button>
              )}
            </>
          );
        }}
      </QueryState>
    </section>
  );
}
