/**
 * Server state for pages: each query calls the typed client and throws ApiProblem on a
 * problem+json answer, so pages render `error.shown` and TanStack Query owns caching.
 */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api } from "./client";
import { ApiProblem, toShown } from "./problems";

export const queryKeys = {
  myMemberships: ["members", "me", "memberships"] as const,
  circles: ["circles"] as const,
};

export function useMyMemberships() {
  return useQuery({
    queryKey: queryKeys.myMemberships,
    queryFn: async () => {
      const { data, error, response } = await api.GET("/api/v1/members/me/memberships");
      if (!data) throw new ApiProblem(toShown(error, response));
      return data;
    },
  });
}

export function useCircles() {
  return useInfiniteQuery({
    queryKey: queryKeys.circles,
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) => {
      const { data, error, response } = await api.GET("/api/v1/circles", {
        params: { query: { limit: 20, ...(pageParam ? { cursor: pageParam } : {}) } },
      });
      if (!data) throw new ApiProblem(toShown(error, response));
      return data;
    },
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
}
