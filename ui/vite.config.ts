import { defineConfig } from "vite";

// The page is served by Tauri from the embedded ui/dist (no dev server, no remote assets).
export default defineConfig({
  // Relative asset URLs work under tauri://localhost and http://tauri.localhost alike.
  base: "./",
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK 2.4x and WebView2 both support ES2022.
    target: "es2022",
    // Never inline assets as data: URLs, so the CSP needs no data: source.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
