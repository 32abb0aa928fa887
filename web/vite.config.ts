/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { VitePWA } from "vite-plugin-pwa";

// `make web-dev`: Vite serves the app and forwards the API to the running gateway.
const gateway = process.env.GATEWAY_URL ?? `http://127.0.0.1:${process.env.GATEWAY_PORT ?? "8000"}`;

export default defineConfig({
  plugins: [
    react(),
    VitePWA({
      registerType: "prompt",
      injectRegister: false, // registered by UpdatePrompt (no inline script: the CSP forbids it)
      filename: "sw.js",
      manifestFilename: "manifest.webmanifest",
      includeAssets: ["icon.svg"],
      manifest: {
        name: "Men's Circles",
        short_name: "Circles",
        description: "Your men's circles: meetings, events and payments.",
        start_url: "/",
        scope: "/",
        display: "standalone",
        theme_color: "#2f4f3a",
        background_color: "#ffffff",
        icons: [
          { src: "/icon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" },
          { src: "/icon.svg", sizes: "any", type: "image/svg+xml", purpose: "maskable" },
        ],
      },
      workbox: {
        // The app shell: every built file; any navigation outside the API gets index.html.
        globPatterns: ["**/*.{js,css,html,svg,webmanifest}"],
        navigateFallback: "/index.html",
        navigateFallbackDenylist: [/^\/api\//, /^\/docs/, /^\/openapi\.json/, /^\/\.well-known\//, /^\/metrics/],
      },
    }),
  ],
  server: {
    proxy: {
      "/api": { target: gateway, changeOrigin: false, ws: true },
      "/.well-known": { target: gateway },
    },
  },
  // The first-page budget (200 KB gzipped) is held by tests/budget.test.ts, not by this warning.
  build: { target: "es2022", sourcemap: false, chunkSizeWarningLimit: 1000 },
  test: {
    environment: "jsdom",
    setupFiles: ["./tests/setup.ts"],
    include: ["tests/**/*.test.{ts,tsx}"],
    testTimeout: 20_000, // two cores shared by many: user-event typing is slow here
  },
});
