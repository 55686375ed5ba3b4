import { defineConfig, type Plugin } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { gzipSync } from 'node:zlib';

/**
 * Writes a .gz beside each JavaScript and CSS asset (gzip -9), so the server
 * can send hashed, immutable assets compressed without compressing per
 * request: serve NAME.gz with Content-Encoding: gzip when the client accepts it.
 */
function precompress(): Plugin {
  return {
    name: 'herder-precompress',
    apply: 'build',
    generateBundle(_options, bundle) {
      for (const [name, item] of Object.entries(bundle)) {
        if (!/\.(js|css)$/.test(name)) continue;
        const source = item.type === 'chunk' ? item.code : item.source;
        this.emitFile({ type: 'asset', fileName: `${name}.gz`, source: gzipSync(source, { level: 9 }) });
      }
    },
  };
}

// The build lands in server/ui/dist, which the herder binary embeds.
// `npm run dev` proxies the API to a herder serving on HERDER_API
// (default http://127.0.0.1:8080).
export default defineConfig({
  plugins: [react(), precompress()],
  build: {
    outDir: '../server/ui/dist',
    emptyOutDir: true,
    target: 'es2022',
    // Report gzip sizes: docs/ui.md quotes them against the 300 KB budget.
    reportCompressedSize: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': process.env.HERDER_API ?? 'http://127.0.0.1:8080',
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-setup.ts'],
  },
});
