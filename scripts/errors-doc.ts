/** Writes docs/errors.md from the error catalogue: `pnpm docs:errors`. A test fails when the two disagree. */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERRORS, type ErrorSpec } from '@outpost/shared';

const rows = (Object.entries(ERRORS) as [string, ErrorSpec][]).map(
  ([code, e]) => `| \`${code}\` | ${e.http} | ${e.ws ?? '—'} | ${e.message} | ${e.hint.replace(/\|/g, '\\|')} |`,
);
const text = `# Error codes

Every error Outpost reports carries one of these codes: in API responses (\`error.code\`), as the reason of a
WebSocket close (with the close code below), and in CLI output (\`error CODE: message\` then \`hint: …\`).
The catalogue lives in \`shared/src/errors.ts\`; this page is generated from it (\`pnpm docs:errors\`) and a test
keeps the two in step.

| code | HTTP | WebSocket close | message | hint |
| --- | --- | --- | --- | --- |
${rows.join('\n')}
`;
writeFileSync(fileURLToPath(new URL('../docs/errors.md', import.meta.url)), text);
process.stdout.write(`wrote docs/errors.md (${rows.length} codes)\n`);
