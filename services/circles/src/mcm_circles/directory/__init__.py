"""The staff directory: facilitators, ptms and staff above them find members by display name and
see their circles; never contact details (those stay in auth), never a member who hid himself."""
