#!/usr/bin/env node
// The bundle (`pnpm build`), one file: see agent/scripts/bundle.mjs.
import '../dist/outpost-agent.mjs';
