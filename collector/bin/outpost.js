#!/usr/bin/env node
// The bundle (`pnpm build`): see collector/scripts/bundle.mjs.
import '../dist/bundle/outpost.mjs';
