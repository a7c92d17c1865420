/**
 * Vite builds the console into `dist/` (served by the collector). No framework plugin: esbuild compiles the JSX
 * for Preact directly, which keeps Babel out of the build. Asset names carry a content hash (cached immutable).
 */
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Keep the CSS of xterm and uPlot in files: the CSP allows styles from this origin.
    cssCodeSplit: true,
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        // The terminal is heavy and only the machine page needs it: its own chunk, loaded on demand.
        manualChunks: (id) => (id.includes('@xterm') ? 'xterm' : id.includes('uplot') ? 'uplot' : undefined),
      },
    },
  },
  server: {
    // `pnpm --filter @outpost/console dev` proxies the API to a local collector.
    proxy: { '/api': { target: 'https://127.0.0.1:8443', secure: false, ws: true } },
  },
});
