/**
 * Agent tags (issue 15): short labels admins put on machines so a job or a rollout can name a group of them
 * (`ring-test`, `kiosk`, `accounting`). One schema for every place a tag is accepted (the agents routes, job
 * targets, rollout rings), so a tag the API stored can always be named again.
 */
import { Type } from '@sinclair/typebox';

/** A tag: lower case letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 63 characters. */
export const TAG_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';

/** How many tags one agent may carry: tags name groups, not facts (facts are inventory). */
export const MAX_TAGS_PER_AGENT = 32;

/** The TypeBox schema of one tag. */
export const TagName = Type.String({ pattern: TAG_PATTERN, maxLength: 63 });

/** A request to change an agent's tags. */
export const TagChange = Type.Object(
  {
    add: Type.Array(TagName, { maxItems: MAX_TAGS_PER_AGENT, uniqueItems: true, default: [] }),
    remove: Type.Array(TagName, { maxItems: MAX_TAGS_PER_AGENT, uniqueItems: true, default: [] }),
  },
  { additionalProperties: false },
);
