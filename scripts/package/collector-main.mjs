/** The collector's single-executable entry point: the `outpost` CLI (serve and the technicians' commands). */
await import('../../collector/dist/cli.js');
